"""What a play session's first frames do to the frames that follow: on held-out mazes, the model primed with
the maze's first frame alone (what `worldsim play` does) vs the first frame and one turn on the spot
(`worldsim play --look-around`, engine.priming.MazeContext), then driven along the same wander walk as the true maze; PSNR against the
truth per frame, summarised over frames 1-10, 11-30 and 31-N, next to repeating the first frame.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
from tqdm import tqdm

from worldsim.checkpoint import load_checkpoint
from worldsim.engine.engine import WorldModelEngine
from worldsim.engine.priming import MazeContext
from worldsim.env.maze_world import MazeWorld
from worldsim.env.memory_walks import steps_per_turn
from worldsim.env.policies import make_policy
from worldsim.env.rollout import HELD_OUT_SEED_BASE, drive, held_out_seeds
from worldsim.eval.metrics import psnr
from worldsim.frames import to_model

PRIMINGS = {"first_frame": False, "look_around": True}
WINDOWS = ((1, 10), (11, 30), (31, None))  # frames after the start, inclusive


def priming_benchmark(path: Path, mazes: int, frames: int, steps: int, seed: int, device: torch.device,
                      progress: bool = True) -> dict[str, Any]:
    """PSNR (dB) of `frames` generated frames after each priming, per window and per frame."""
    if mazes < 1 or frames < 1:
        raise ValueError(f"eval priming: --mazes and --frames must be >= 1, got {mazes} and {frames}")
    model, play, metadata = load_checkpoint(path, device)
    if play.maze is None:
        raise ValueError(f"{path}: not trained on the built-in maze; eval priming walks held-out mazes")
    maze = play.maze_config()
    world = MazeWorld(maze, mazes, device)
    first, _ = world.reset(held_out_seeds(mazes))
    policy = make_policy("wander", 0.0)
    policy.reset(world, seed)
    truth = drive(world, first, policy.act, frames)  # frames uint8 (B, 1 + frames, H, W, 3)
    truth_frames = to_model(truth["frames"])  # (B, 1 + frames, 3, H, W)
    curves = {"repeat_first_frame": psnr(truth_frames[:, :1], truth_frames[:, 1:]).mean(0)}
    bar = tqdm(total=frames * len(PRIMINGS), desc="eval priming", unit="frame", disable=not progress, leave=False)
    for name, look_around in PRIMINGS.items():
        engine = WorldModelEngine(model, play.action_space, MazeContext(maze, play.action_space, look_around),
                                  batch_size=mazes, steps=steps, use_cuda_graph=device.type == "cuda")
        start, _ = engine.reset(HELD_OUT_SEED_BASE)  # the mazes of held_out_seeds(mazes), as the truth's
        if not torch.equal(start.cpu(), truth["frames"][:, 0].cpu()):
            raise RuntimeError("eval priming: the model starts from another view than the true maze")
        generated = []
        for t in range(1, frames + 1):
            frame, _ = engine.step(truth["discrete"][:, t], truth["continuous"][:, t])
            generated.append(frame)
            bar.update(1)
        curves[name] = psnr(to_model(torch.stack(generated, 1)), truth_frames[:, 1:]).mean(0)
    bar.close()
    return {
        "checkpoint": str(path), "step": metadata.get("step"),
        "settings": {"mazes": mazes, "frames": frames, "steps": steps, "seed": seed, "device": str(device),
                     "look_around_frames": steps_per_turn(world) + 1},
        "windows": {_window_name(window): {name: _mean(curve, window) for name, curve in curves.items()}
                    for window in WINDOWS if window[0] <= frames},
        "per_frame": {name: [round(float(v), 3) for v in curve] for name, curve in curves.items()},
    }


def _window_name(window: tuple[int, int | None]) -> str:
    start, end = window
    return f"frames {start}-{'end' if end is None else end}"


def _mean(curve: torch.Tensor, window: tuple[int, int | None]) -> float:
    start, end = window
    return float(curve[start - 1: end].mean())
