"""Compare checkpoints on the same held-out clips: one-step, rollout (mean, last frame), standing-still PSNR.

Every checkpoint sees the same clips and, per commit-noise level, the same sampling noise. Without a
dataset the clips are the trainer's validation mazes and policy seed (so the numbers compare with a run's
metrics.jsonl); the maze comes from the first checkpoint's play block and all checkpoints must share its
frame size and actions. With `settings.data` they are cut from that dataset's episodes that no checkpoint
trained on (unseen_episodes): its held-out episodes for a checkpoint trained on it, all of them otherwise.
Every checkpoint after the first is also compared with it clip by clip (`versus_first`: the mean difference
and its standard error per metric), which says whether a gain is larger than the spread between clips.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch
from tqdm import tqdm

from worldsim.actions import maze_action_space
from worldsim.checkpoint import PlayBlock
from worldsim.data.dataset import DatasetInfo
from worldsim.env.rollout import Batch
from worldsim.eval.settings import CompareSettings


def compare_checkpoints(paths: Sequence[Path], settings: CompareSettings, device: torch.device,
                        progress: bool = True, strip: Path | None = None) -> list[dict[str, Any]]:
    """One result row per (checkpoint, commit-noise level), printed as it is measured. Every checkpoint is
    checked against the clips (from their headers) before the first is scored; `progress` shows a bar over
    all generated frames with the time left; `strip`: a PNG of the first clip's rollout by the first
    checkpoint at the first commit-noise level (truth on top)."""
    from worldsim.checkpoint import load_checkpoint
    from worldsim.eval.validation import mean_over_clips, validate_per_clip

    s = settings
    data = comparable_clips(paths, s, device)
    results = []
    first_scores: dict[float, dict[str, torch.Tensor]] = {}  # per commit level: the first checkpoint's clips
    bar = tqdm(total=len(paths) * len(s.commit_noise) * 3 * s.rollout, desc="eval", unit="frame",
               disable=not progress, dynamic_ncols=True)
    try:
        for index, path in enumerate(paths):
            model, play, metadata = load_checkpoint(path, device)
            for level in s.commit_noise:
                first = index == 0 and level == s.commit_noise[0]
                scores = validate_per_clip(model, data, s.context, s.rollout, s.steps,
                                           strip if first else None, commit_noise_level=level,
                                           action_space=play.action_space, on_frame=lambda: bar.update(1))
                metrics = mean_over_clips(scores)
                row = {"checkpoint": str(path), "step": metadata.get("step"), "commit_noise_level": level,
                       **metrics}
                tqdm.write(f"{path}  step {metadata.get('step')}  commit {level:.2f}  one-step "
                           f"{metrics['psnr_one_step']:.2f}  rollout {metrics['psnr_rollout']:.2f}  last "
                           f"{metrics['psnr_rollout_last']:.2f}  still {metrics['psnr_still']:.2f}  copy-last "
                           f"{metrics['psnr_copy_last']:.2f}  drift {metrics['drift_psnr']:.2f} dB")
                if index == 0:
                    first_scores[level] = scores
                else:
                    row["versus_first"] = versus_first(scores, first_scores[level])
                    tqdm.write(f"  vs {paths[0]}: " + "  ".join(
                        f"{PAIRED_NAMES[name]} {d['difference']:+.2f} ± {d['standard_error']:.2f}"
                        for name, d in row["versus_first"].items()) + f" dB (± one standard error over "
                        f"{len(scores['psnr_rollout'])} clips)")
                results.append(row)
            del model
            if device.type == "cuda":
                torch.cuda.empty_cache()
    finally:
        bar.close()
    return results


# the per-clip metrics compared clip by clip with the first checkpoint, and their short names
PAIRED_NAMES = {"psnr_one_step": "one-step", "psnr_rollout": "rollout", "psnr_rollout_last": "last",
                "psnr_still": "still"}


def versus_first(scores: dict[str, torch.Tensor],
                 first: dict[str, torch.Tensor]) -> dict[str, dict[str, float]]:
    """Per metric: the mean difference from the first checkpoint on the same clips and its standard error."""
    from worldsim.eval.metrics import paired_difference

    paired = {name: paired_difference(scores[name], first[name]) for name in PAIRED_NAMES}
    return {name: {"difference": mean, "standard_error": error} for name, (mean, error) in paired.items()}


def comparable_clips(paths: Sequence[Path], settings: CompareSettings, device: torch.device) -> Batch:
    """The clips every checkpoint is scored on; an error naming the checkpoint that does not fit them (read
    from the checkpoints' headers alone, so nothing is scored before all are known to fit)."""
    from worldsim.checkpoint import read_checkpoint_configs
    from worldsim.eval.validation import validation_clips

    for path in paths:
        if not Path(path).is_file():
            raise FileNotFoundError(f"eval: no checkpoint at {path}")
    s = settings
    plays = [read_checkpoint_configs(path)[1] for path in paths]
    if s.data is not None:
        data, reference = dataset_clips(s, plays[0], paths[0], device)
        for path, play in zip(paths, plays):
            check_dataset_checkpoint(play, path, *reference)
        return data
    check_same_maze(paths, plays, "eval")
    clips = validation_clips(plays[0].maze_config(), s.clips, s.skip + s.context + s.rollout, device)
    return {key: value[:, s.skip :] for key, value in clips.items()}


def check_same_maze(paths: Sequence[Path], plays: Sequence[PlayBlock], command: str) -> None:
    """Every checkpoint was trained on the built-in maze, the first one's maze, frame size and actions."""
    for path, play in zip(paths, plays):
        if play.maze is None and play.action_space != maze_action_space(play.maze_config().continuous_yaw):
            trained_on = f"the dataset {play.dataset}" if play.dataset else "another world"
            raise ValueError(f"{command}: {path} was trained on {trained_on}, not the built-in maze: evaluate "
                             f"it on recorded episodes with --data {play.dataset or 'DIR'} (worldsim eval)")
        if play.maze_config() != plays[0].maze_config():
            raise ValueError(f"{command}: {path} was trained on a different maze or action space than "
                             f"{paths[0]} ({play.maze_config()} vs {plays[0].maze_config()}); compare them "
                             "separately")


def unseen_episodes(play: PlayBlock, info: DatasetInfo) -> list[str]:
    """The episodes of `info` that the checkpoint with this play block never trained on."""
    from worldsim.data.holdout import held_out_names

    if play.dataset is not None and Path(play.dataset).resolve() == info.path.resolve():
        return held_out_names(info.names, play.holdout_every)
    return list(info.names)


def dataset_clips(settings: CompareSettings, play: PlayBlock, path: Path,
                  device: torch.device) -> tuple[Batch, tuple[DatasetInfo, list[str]]]:
    """Clips of settings.data's episodes that the checkpoint at `path` never trained on (skip frames
    dropped), and (dataset, the episodes they come from) for checking the other checkpoints."""
    from worldsim.data.dataset import open_dataset
    from worldsim.data.holdout import episode_clips

    s, info = settings, open_dataset(settings.data, check_arrays=False)
    names = unseen_episodes(play, info)
    if not names:
        raise ValueError(f"eval: {path} trained on every episode of {info.path} (episodes are held out only "
                         f"with data.holdout_every > 0): evaluate it on other recordings of the game")
    print(f"eval: {len(names)} of {len(info.names)} episodes of {info.path} unseen in training "
          f"({', '.join(names[:3])}{', ...' if len(names) > 3 else ''})", flush=True)
    clips = episode_clips(info, names, s.clips, s.skip + s.context + s.rollout)
    return {key: value[:, s.skip :].to(device) for key, value in clips.items()}, (info, names)


def check_dataset_checkpoint(play: PlayBlock, path: Path, info: DatasetInfo, names: list[str]) -> None:
    """The checkpoint plays the dataset's frames and actions and never trained on the episodes `names`."""
    if play.action_space != info.action_space or tuple(play.frame_size) != (info.height, info.width):
        raise ValueError(f"eval: {path} plays {play.frame_size[0]}x{play.frame_size[1]} frames with actions "
                         f"{list(play.action_space.discrete)}, {info.path} has {info.height}x{info.width} "
                         f"frames with {list(info.action_space.discrete)}: evaluate it on its own dataset")
    seen = sorted(set(names) - set(unseen_episodes(play, info)))
    if seen:
        raise ValueError(f"eval: {path} trained on {', '.join(seen[:3])} of {info.path}, which the first "
                         f"checkpoint is evaluated on: compare checkpoints with the same held-out episodes "
                         f"(data.holdout_every)")
