"""Compare checkpoints on the same held-out mazes: one-step, rollout (mean, last frame) and standing-still PSNR.

Every checkpoint sees the same clips (the trainer's validation mazes and policy seed, so the numbers
compare with a run's metrics.jsonl) and, per commit-noise level, the same sampling noise. The maze
comes from the first checkpoint's play block; all checkpoints must share its frame size and actions.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch

from worldsim.eval.settings import CompareSettings


def compare_checkpoints(paths: Sequence[Path], settings: CompareSettings, device: torch.device) -> list[dict[str, Any]]:
    """One result row per (checkpoint, commit-noise level), printed as it is measured."""
    from worldsim.checkpoint import load_checkpoint
    from worldsim.eval.validation import validate, validation_clips

    for path in paths:
        if not Path(path).is_file():
            raise FileNotFoundError(f"eval: no checkpoint at {path}")
    s = settings
    data, reference = None, None
    results = []
    for path in paths:
        model, play, metadata = load_checkpoint(path, device)
        maze = play.maze_config()
        if data is None:
            clips = validation_clips(maze, s.clips, s.skip + s.context + s.rollout, device)
            data, reference = {key: value[:, s.skip :] for key, value in clips.items()}, (path, maze)
        elif maze != reference[1]:
            raise ValueError(f"eval: {path} was trained on a different maze or action space than {reference[0]} "
                             f"({maze} vs {reference[1]}); compare them separately")
        for level in s.commit_noise:
            metrics = validate(model, data, s.context, s.rollout, s.steps, commit_noise_level=level,
                               action_space=play.action_space)
            results.append({"checkpoint": str(path), "step": metadata.get("step"), "commit_noise_level": level,
                            **metrics})
            print(f"{path}  step {metadata.get('step')}  commit {level:.2f}  one-step {metrics['psnr_one_step']:.2f}"
                  f"  rollout {metrics['psnr_rollout']:.2f}  last {metrics['psnr_rollout_last']:.2f}"
                  f"  still {metrics['psnr_still']:.2f}  drift {metrics['drift_psnr']:.2f} dB", flush=True)
        del model
        if device.type == "cuda":
            torch.cuda.empty_cache()
    return results
