"""Validation on held-out mazes: one-step prediction PSNR, autoregressive rollout PSNR, a PNG strip.

Each of `clips` held-out trajectories (seeds ≥ HELD_OUT_SEED_BASE, revisiting policy) has `context`
ground-truth frames fed into the model state, then `rollout` more frames:
- one-step: each of those frames is generated from the ground-truth past (state copied, then the true
  frame committed), so only one frame's error counts;
- rollout: the frames are generated one after another from the model's own past and the true actions;
- still: as many frames generated with the action space's no-op (zero yaw), whose truth is the last
  context frame: in a static world a model that stands still must keep showing it;
- copy-last: the trivial baseline, the last context frame scored against each rollout frame (a model that
  beats it predicts motion; in a mostly static game such as Breakout it is a high bar).
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch
from torch import Tensor, nn

from worldsim.actions import ActionSpace
from worldsim.data.atomic import atomic_path
from worldsim.diffusion.sampler import generate_frame
from worldsim.env.maze_world import MazeConfig, MazeWorld
from worldsim.env.rollout import Batch, held_out_seeds, rollout_maze_clips
from worldsim.eval.metrics import drift, psnr, sharpness
from worldsim.frames import to_model, to_uint8

MEMORY_MAZE_OFFSET = 500  # held-out maze seeds of the memory tests start here, apart from validation's


def validation_clips(maze: MazeConfig, clips: int, length: int, device: torch.device) -> Batch:
    world = MazeWorld(maze, clips, device)
    return rollout_maze_clips(world, held_out_seeds(clips), length, "revisit", policy_seed=12345)


def validate(
    model: nn.Module, data: Batch, context: int, rollout: int, steps: int, sample_path: Path | None = None,
    seed: int = 0, commit_noise_level: float = 1.0, *, action_space: ActionSpace,
    on_frame: Callable[[], None] | None = None,
) -> dict[str, float]:
    """Metrics of `model` (eval mode) on `data` (frames uint8 (B, context+rollout, H, W, 3) + actions):
    validate_per_clip's, averaged over the clips."""
    return mean_over_clips(validate_per_clip(model, data, context, rollout, steps, sample_path, seed,
                                             commit_noise_level, action_space=action_space, on_frame=on_frame))


def mean_over_clips(scores: dict[str, Tensor]) -> dict[str, float]:
    """validate_per_clip's scores -> the numbers metrics.jsonl and eval.json report."""
    return {name: float(value.mean()) for name, value in scores.items()}


@torch.no_grad()
def validate_per_clip(
    model: nn.Module, data: Batch, context: int, rollout: int, steps: int, sample_path: Path | None = None,
    seed: int = 0, commit_noise_level: float = 1.0, *, action_space: ActionSpace,
    on_frame: Callable[[], None] | None = None,
) -> dict[str, Tensor]:
    """Each metric per clip, shape (B,) (the drifts, measured over all clips: shape ()), so that two
    checkpoints scored on the same clips can be compared clip by clip (metrics.paired_difference).

    `commit_noise_level` is the rollout's context level for its own frames, as in the engine (1.0 = clean).
    `on_frame` is called after each of the 3 × rollout generated frames (progress bars).
    """
    on_frame = on_frame or (lambda: None)
    was_training = model.training
    model.eval()
    frames = to_model(data["frames"])  # (B, L, 3, H, W)
    discrete, continuous = data["discrete"], data["continuous"]
    use_discrete = action_space.num_discrete > 0  # the checkpoint's: a model without them takes None
    use_continuous = model.config.num_continuous_actions > 0
    batch = frames.shape[0]
    device = frames.device
    generator = torch.Generator(device).manual_seed(seed)

    def act(f: int) -> tuple[Tensor | None, Tensor | None]:
        return discrete[:, f] if use_discrete else None, continuous[:, f] if use_continuous else None

    ones = torch.ones(batch, device=device)
    state = model.init_state(batch, device)
    for f in range(context):
        model.step(frames[:, f], ones, *act(f), state, commit=True)
    rollout_state, still_state = copy.deepcopy(state), copy.deepcopy(state)
    one_step = []
    for f in range(context, context + rollout):
        prediction = generate_frame(model, copy.deepcopy(state), *act(f), steps, generator)
        one_step.append(psnr(prediction, frames[:, f]))
        model.step(frames[:, f], ones, *act(f), state, commit=True)
        on_frame()
    generated = []
    for f in range(context, context + rollout):
        generated.append(generate_frame(model, rollout_state, *act(f), steps, generator, commit_noise_level))
        on_frame()
    generated_frames = torch.stack(generated, 1)
    rollout_psnr = psnr(generated_frames, frames[:, context:])  # (B, rollout)
    copy_last_psnr = psnr(frames[:, context - 1 : context], frames[:, context:])  # (B, rollout)
    noop_discrete, noop_continuous = action_space.noop_batch(batch, device=device)
    noop = noop_discrete, noop_continuous if use_continuous else None
    still = []
    for _ in range(rollout):
        still.append(psnr(generate_frame(model, still_state, *noop, steps, generator, commit_noise_level),
                          frames[:, context - 1]))
        on_frame()
    if sample_path is not None:
        write_strip(sample_path, data["frames"][0, context:], to_uint8(generated_frames[0]))
    model.train(was_training)
    return {
        "psnr_one_step": torch.stack(one_step, 1).mean(1).cpu(),
        "psnr_rollout": rollout_psnr.mean(1).cpu(),
        "psnr_rollout_last": rollout_psnr[:, -1].cpu(),
        "psnr_still": torch.stack(still, 1).mean(1).cpu(),
        "psnr_copy_last": copy_last_psnr.mean(1).cpu(),
        "rollout_minus_copy_last": (rollout_psnr - copy_last_psnr).mean(1).cpu(),
        # seed 2's drift |M(first 15 %) - M(last 15 %)| of the rollout, M = PSNR and sharpness
        "drift_psnr": torch.tensor(drift(rollout_psnr)),
        "drift_sharpness": torch.tensor(drift(sharpness(generated_frames))),
    }


def write_strip(path: Path, truth: Tensor, prediction: Tensor) -> None:
    """PNG: ground-truth frames (T, H, W, 3) uint8 in the top row, predictions below. Atomic."""
    import matplotlib.image

    top = np.concatenate(list(truth.cpu().numpy()), axis=1)
    bottom = np.concatenate(list(prediction.cpu().numpy()), axis=1)
    with atomic_path(path) as tmp:
        matplotlib.image.imsave(tmp, np.concatenate([top, bottom], axis=0), format="png")


def memory_validation_clips(maze: MazeConfig, clips: int, outbound: int, device: torch.device) -> Batch:
    """Held-out retrace walks (the memory benchmark's): `outbound` frames out, half as many back."""
    from worldsim.env.memory_walks import retrace_clips

    return retrace_clips(MazeWorld(maze, clips, device), held_out_seeds(clips, MEMORY_MAZE_OFFSET), outbound,
                         max(1, outbound // 2), policy_seed=12345)


@torch.no_grad()
def validate_memory(model: nn.Module, clips: Batch, context: int, steps: int, seed: int = 0) -> dict[str, float]:
    """Retrace PSNR primed with the whole outbound walk, its gain over the attention window alone, and the
    gain over repeating the last true frame (worldsim eval memory's retrace test); `context` = outbound + 1."""
    from worldsim.eval.memory import score_rollouts
    from worldsim.eval.settings import MemorySettings

    was_training = model.training
    model.eval()
    back = clips["frames"].shape[1] - context
    scores = score_rollouts(model, clips, context, back, MemorySettings(steps=steps, seed=seed))
    model.train(was_training)
    return {"psnr_retrace": scores["psnr_full"], "memory_gain_retrace": scores["memory_gain"],
            "retrace_minus_copy_last": scores["full_minus_copy_last"]}
