"""The recall toy: the smallest world in which only memory can tell what comes next, and its score.

An episode (16x16 frames, actions noop / recall): a pattern of 2x2 squares in palette colours shows at
steps 0-2, uniform gray follows, and from the step of the action `recall` (drawn from 8..20) to the end the
same pattern shows again. Nothing in the frames before the recall step says which pattern returns: a model
that draws it must have kept it from steps 0-2, 6 to 18 frames before, beyond configs/recall_toy.yaml's
attention window (attn_window 2). Its 4 stacked attention layers reach 8 frames back (worldsim.eval.memory.
attention_reach): enough for recall steps 8-10 in principle, for none later.

With `patterns` K > 1 (`--patterns K`), K patterns show in turn for 3 frames each (steps 0-2, 3-5, ...),
gray after, and the action recall_k at the recall step shows pattern k from there to the end: the model must
choose among scenes kept at the same screen positions. The recall steps start 3(K-1) later (11..20 for K=2)
so that the gap after the last pattern stays 5 frames and the 24-frame episode holds. The data's meta.json
source records K (absent: 1), and the scores come per recalled pattern too.

The score, on the episodes a checkpoint never trained on (worldsim.data.holdout): PSNR of the generated
recall frame, primed with the true frames 0..r-1 ("whole") or only the last `window` of them ("window",
default the model's attn_window); memory gain = whole − window. The window must not reach a pattern:
attn_window = 2 primes frames r-2, r-1 (gray for every r >= 5), while the attention's stacked reach
(depth x attn_window = 8 for configs/recall_toy.yaml) would prime frames 0-2 for r <= 10. copy_last
(repeat the gray frame r-1) is what a model without memory can at best hope for, up to a lucky colour guess.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import Tensor, nn
from tqdm import tqdm

from worldsim.actions import ActionSpace
from worldsim.checkpoint import load_checkpoint, read_checkpoint_configs
from worldsim.data.dataset import DatasetInfo, open_dataset
from worldsim.data.holdout import held_out_names
from worldsim.data.writer import EpisodeWriter
from worldsim.diffusion.sampler import check_sampling, denoise_frame
from worldsim.eval.memory import attention_reach, commit_true_frames
from worldsim.eval.metrics import psnr
from worldsim.eval.settings import RecallToySettings
from worldsim.frames import to_model
from worldsim.model.world_model import count_parameters

SOURCE_ENV = "recall_toy"
ACTION_SPACE = ActionSpace(discrete=("noop", "recall"))  # one pattern (the default)
# 8 well-separated colours (Sasha Trubetskoy's list of 20 distinct colours, first 8)
PALETTE = np.array([[230, 25, 75], [60, 180, 75], [255, 225, 25], [0, 130, 200], [245, 130, 48],
                    [145, 30, 180], [70, 240, 240], [240, 50, 230]], np.uint8)
GRAY = 128
FPS = 10.0


def pattern_frame(colours: np.ndarray, size: int) -> np.ndarray:
    """Palette indices (2, 2) -> uint8 (size, size, 3): each index fills its quarter of the frame."""
    half = size // 2
    return PALETTE[colours].repeat(half, axis=0).repeat(half, axis=1)


def action_space(patterns: int) -> ActionSpace:
    """noop, then the action recalling each pattern: `recall` for one, recall_1..recall_K for K."""
    recalls = ("recall",) if patterns == 1 else tuple(f"recall_{k}" for k in range(1, patterns + 1))
    return ActionSpace(discrete=("noop", *recalls))


def toy_episode(index: int, settings: RecallToySettings) -> tuple[np.ndarray, np.ndarray]:
    """Episode `index` -> frames uint8 (length, size, size, 3), discrete actions int64 (length,). Drawn from
    its own generator (seed, index): the same episode whatever was written before it. Pattern k (from 0)
    shows at steps k * pattern_steps..(k + 1) * pattern_steps - 1; action k + 1 at the recall step shows it
    from there to the end."""
    s = settings
    rng = np.random.default_rng([s.seed, index])
    patterns = [pattern_frame(rng.integers(0, len(PALETTE), (2, 2)), s.size) for _ in range(s.patterns)]
    recall = int(rng.integers(s.recall_start, s.recall_last + 1))
    which = int(rng.integers(0, s.patterns)) if s.patterns > 1 else 0  # one pattern: draws as before K
    frames = np.full((s.length, s.size, s.size, 3), GRAY, np.uint8)
    for k, pattern in enumerate(patterns):
        frames[k * s.pattern_steps: (k + 1) * s.pattern_steps] = pattern
    frames[recall:] = patterns[which]
    actions = np.full(s.length, ACTION_SPACE.noop, np.int64)
    actions[recall] = 1 + which
    return frames, actions


def write_recall_toy(out: Path, settings: RecallToySettings | None = None,
                     progress: bool = True) -> Path:
    """Write the dataset to `out` (absent or empty: episode numbers decide which episodes are held out),
    in a hidden folder beside it renamed into place when complete. Returns `out`."""
    out, settings = Path(out), settings or RecallToySettings()
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise FileExistsError(f"recall toy: {out} exists and is not an empty folder: write to a new one")
    temp = out.with_name(f".{out.name}.tmp-{os.getpid()}")
    shutil.rmtree(temp, ignore_errors=True)
    try:
        source = {"env": SOURCE_ENV, "seed": settings.seed}
        if settings.patterns > 1:  # absent: one pattern, as the toy wrote before K existed
            source["patterns"] = settings.patterns
        space = action_space(settings.patterns)
        for index in tqdm(range(settings.episodes), desc="recall toy", unit="episode", disable=not progress):
            frames, actions = toy_episode(index, settings)
            writer = EpisodeWriter(temp, space, FPS, source | {"episode": index})
            for frame, action in zip(frames, actions):
                writer.add(frame, discrete=int(action))
            writer.close()  # also rewrites index.json, as `worldsim data index` does
        if out.exists():
            out.rmdir()  # empty, checked above
        os.rename(temp, out)
    finally:
        shutil.rmtree(temp, ignore_errors=True)
    return out


def open_recall_toy(data: Path | str) -> tuple[DatasetInfo, int]:
    """The DatasetInfo of `data` and its number of patterns, refused unless every episode was written by
    write_recall_toy with one number of patterns."""
    info = open_dataset(data, check_arrays=False)
    counts = set()
    for name, meta in zip(info.names, info.metas):
        if meta.source.get("env") != SOURCE_ENV:
            env = meta.source.get("env")
            raise ValueError(f"eval recall-toy: {info.path / name} comes from env {env!r}, not the recall "
                             f"toy: write one with `worldsim eval recall-toy --write-data DIR`")
        counts.add(meta.source.get("patterns", 1))
    if len(counts) > 1:
        raise ValueError(f"eval recall-toy: {info.path} mixes episodes of {sorted(counts)} patterns: "
                         f"write it again with --write-data")
    patterns = counts.pop()
    expected = action_space(patterns)
    if info.action_space != expected:
        raise ValueError(f"eval recall-toy: {info.path} has actions {list(info.action_space.discrete)}, the "
                         f"recall toy of {patterns} pattern(s) {list(expected.discrete)}: write it again "
                         f"with --write-data")
    return info, patterns


def held_out_episodes(info: DatasetInfo, paths: Sequence[Path]) -> list[str]:
    """The episodes of `info` that none of the checkpoints trained on: the trainer's held-out rule
    (worldsim.data.holdout) with the checkpoints' data.holdout_every, which must agree. Also refuses a
    checkpoint of another frame size or action space, naming it."""
    every = set()
    for path in paths:
        if not Path(path).is_file():
            raise FileNotFoundError(f"eval recall-toy: no checkpoint at {path}")
        play = read_checkpoint_configs(path)[1]
        if play.action_space != info.action_space or tuple(play.frame_size) != (info.height, info.width):
            height, width = play.frame_size
            raise ValueError(f"eval recall-toy: {path} plays {height}x{width} frames with actions "
                             f"{list(play.action_space.discrete)}, not the recall toy's {info.height}x"
                             f"{info.width} frames with {list(info.action_space.discrete)}: train one with "
                             f"`worldsim train --config configs/recall_toy.yaml --data {info.path}`")
        if play.dataset is None or play.holdout_every < 1:
            raise ValueError(f"eval recall-toy: {path} held no episode out of training (data.holdout_every "
                             f"{play.holdout_every}): no episode is known to be unseen; train with the "
                             f"default 10")
        if Path(play.dataset).resolve() != info.path.resolve():
            print(f"eval recall-toy: {path} trained on {play.dataset}, scored on the held-out episodes of "
                  f"{info.path}: unseen only if both were written with the same --episodes and --seed",
                  flush=True)
        every.add(play.holdout_every)
    if len(every) > 1:
        raise ValueError(f"eval recall-toy: the checkpoints held out different episodes (data.holdout_every "
                         f"{sorted(every)}): score them separately")
    names = held_out_names(info.names, every.pop())
    if not names:
        raise ValueError(f"eval recall-toy: {info.path} has no held-out episode ({len(info.names)} episodes)")
    return names


def score_recall_toy(data: Path | str, paths: Sequence[Path], device: torch.device, steps: int | None = None,
                     window: int = 0, seed: int = 0, progress: bool = True) -> dict[str, Any]:
    """Each checkpoint's recall-frame PSNR on the held-out episodes of `data` -> {"settings", "checkpoints"}.
    `steps`: Euler steps per frame (None: each checkpoint's own); `window`: the shorter priming's frames
    (0: each checkpoint's attn_window); `seed`: the noise, one draw per episode shared by every priming."""
    if window < 0:
        raise ValueError(f"eval recall-toy: window must be >= 0 (0: the model's attn_window), got {window}")
    info, patterns = open_recall_toy(data)
    names = held_out_episodes(info, paths)
    episodes = [info.read(name, mmap=False) for name in names]
    clips = {"frames": torch.from_numpy(np.stack([episode.frames for episode in episodes])).to(device),
             "discrete": torch.from_numpy(np.stack([episode.discrete for episode in episodes])).to(device),
             "continuous": None}  # frames uint8 (N, L, H, W, 3), discrete (N, L)
    generator = torch.Generator().manual_seed(seed)
    noise = torch.randn((len(names), 3, info.height, info.width), generator=generator)
    results = []
    for path in paths:
        model, play, metadata = load_checkpoint(path, device)
        model.eval()
        row = {"checkpoint": str(path), "step": metadata.get("step"), "temporal": model.config.temporal,
               "parameters": count_parameters(model), "sampling_steps": steps or play.sampling_steps,
               "window": window or int(model.config.attn_window),
               "attention_reach_frames": attention_reach(model.config)}
        row |= _score(model, clips, noise.to(device), row["window"], row["sampling_steps"], progress)
        results.append(row)
    settings = {"data": str(info.path), "patterns": patterns, "episodes": len(names),
                "first_episodes": names[:3], "seed": seed, "steps": steps, "window": window,
                "device": str(device)}
    return {"settings": settings, "checkpoints": results}


def _score(model: nn.Module, clips: dict[str, Any], noise: Tensor, window: int, steps: int,
           progress: bool) -> dict[str, Any]:
    """Recall-frame PSNR (mean over episodes, per recall step and per recalled pattern) whole / window /
    copy-last; the episodes that recall at one step are one batch."""
    check_sampling(steps, 1.0)
    frames, discrete = clips["frames"], clips["discrete"]
    recall = (discrete != ACTION_SPACE.noop).int().argmax(1)  # (N,): the recall step
    rows = torch.arange(len(recall), device=recall.device)
    recalled = discrete[rows, recall]  # (N,): 1..K, the pattern shown from the recall step on
    gray = (frames == GRAY).flatten(2).all(-1)  # (N, L): frame t is all gray (no palette colour is gray)
    pattern_end = int(gray.int().argmax(1).max())  # the patterns show at steps 0..pattern_end-1
    reaching = recall - window < pattern_end
    if bool(reaching.any()):
        raise ValueError(f"eval recall-toy: a window of {window} frames before recall step "
                         f"{int(recall[reaching].min())} shows a pattern (steps 0-{pattern_end - 1}): use "
                         f"--window {int(recall.min()) - pattern_end} or less")
    target = to_model(frames[rows, recall])  # (N, 3, H, W)
    scores = {"whole": torch.zeros(len(recall), device=noise.device),
              "window": torch.zeros(len(recall), device=noise.device),
              "copy_last": psnr(to_model(frames[rows, recall - 1]), target)}
    steps_seen = sorted(set(recall.tolist()))
    for step in tqdm(steps_seen, desc="recall steps", disable=not progress):
        group = (recall == step).nonzero().flatten()
        batch = {"frames": frames[group], "discrete": discrete[group], "continuous": None}
        for name, start in (("whole", 0), ("window", step - window)):
            scores[name][group] = _recall_psnr(model, batch, start, step, noise[group], steps)
    whole, short, copy_last = scores["whole"], scores["window"], scores["copy_last"]
    by_step = [{"recall_step": step, "episodes": int((recall == step).sum()),
                "psnr_whole": float(whole[recall == step].mean()),
                "psnr_window": float(short[recall == step].mean())} for step in steps_seen]
    by_pattern = [{"pattern": k, "episodes": int((recalled == k).sum()),
                   "psnr_whole": float(whole[recalled == k].mean()),
                   "psnr_window": float(short[recalled == k].mean()),
                   "memory_gain": float((whole - short)[recalled == k].mean()),
                   "psnr_copy_last": float(copy_last[recalled == k].mean())}
                  for k in sorted(set(recalled.tolist()))]
    return {"psnr_whole": float(whole.mean()), "psnr_window": float(short.mean()),
            "memory_gain": float((whole - short).mean()), "psnr_copy_last": float(copy_last.mean()),
            "whole_minus_copy_last": float((whole - copy_last).mean()), "by_recall_step": by_step,
            "by_pattern": by_pattern}


@torch.no_grad()
def _recall_psnr(model: nn.Module, clips: dict[str, Any], start: int, step: int, noise: Tensor,
                 sampling_steps: int) -> Tensor:
    """Commit the true frames start..step-1, generate frame `step` from `noise` (B, 3, H, W) -> PSNR (B,)."""
    state = model.init_state(noise.shape[0], noise.device)
    commit_true_frames(model, clips, state, range(start, step))
    frame = denoise_frame(model, state, noise, None, clips["discrete"][:, step], None, sampling_steps)
    return psnr(frame, to_model(clips["frames"][:, step]))


def format_score(row: dict[str, Any]) -> str:
    """One line per checkpoint, then one per recalled pattern when there are several."""
    line = (f"{row['checkpoint']} (step {row['step']}, {row['temporal']}): recall frame whole history "
            f"{row['psnr_whole']:.2f} dB, last {row['window']} frames {row['psnr_window']:.2f} dB, "
            f"memory gain {row['memory_gain']:+.2f} dB; copy-last {row['psnr_copy_last']:.2f} dB")
    lines = [line]
    if len(row["by_pattern"]) > 1:
        lines += [f"  pattern {group['pattern']} ({group['episodes']} episodes): whole "
                  f"{group['psnr_whole']:.2f} dB, last {row['window']} frames {group['psnr_window']:.2f} dB, "
                  f"memory gain {group['memory_gain']:+.2f} dB; copy-last {group['psnr_copy_last']:.2f} dB"
                  for group in row["by_pattern"]]
    return "\n".join(lines)
