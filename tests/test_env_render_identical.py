"""Raycaster caches (per scene, batch size and resolution) and landmark culling never change a frame, and the
built-in world still renders the frames the shipped checkpoint was trained on."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import torch

from worldsim.env.maze_world import MazeConfig, MazeWorld
from worldsim.env.raycaster import Raycaster

REFERENCE = Path(__file__).parent / "data" / "maze_seed5_frames.npz"


def fresh_render(world: MazeWorld, pose: torch.Tensor) -> torch.Tensor:
    """Frames from a new Raycaster (no cached tables or buffers) at the world's resolution."""
    cfg = world.config
    raycaster = Raycaster(cfg.height, cfg.width, cfg.fov_deg, cfg.grid_size, world.device)
    return raycaster.render(world.scene, pose)


def landmark_poses(world: MazeWorld, per_landmark: int = 12, seed: int = 0) -> torch.Tensor:
    """(N, B, 3) poses near each world's landmarks, most facing them, some inside or on their squares."""
    generator = torch.Generator().manual_seed(seed)
    per_world = []
    for layout in world.layouts:
        poses = []
        for row, col in layout.landmark_squares.tolist():
            centre = torch.tensor([col + 0.5, row + 0.5])
            for k in range(per_landmark):
                spread = 0.45 if k < 3 else 5.0  # inside the square, else up to 5 squares away
                xy = (centre + (torch.rand(2, generator=generator) - 0.5) * 2 * spread).clamp(0.01, 18.99)
                yaw = math.atan2(centre[1] - xy[1], centre[0] - xy[0]) + (torch.rand(1, generator=generator) - 0.5)
                poses.append(torch.cat([xy, yaw.reshape(1)]))
            poses.append(torch.tensor([col + 1.0, row + 1.0, 1.25 * math.pi]))  # on the far corner
        per_world.append(torch.stack(poses))
    return torch.stack(per_world, dim=1).float()  # (N, B, 3)


def test_warm_caches_render_like_a_fresh_raycaster() -> None:
    world = MazeWorld(MazeConfig(height=32, width=32), batch_size=2)
    world.reset(3)
    generator = torch.Generator().manual_seed(7)
    for _ in range(20):
        frames, info = world.step(torch.randint(0, 9, (2,), generator=generator))
        assert torch.equal(frames, fresh_render(world, info["pose"]))
    world.reset(4)  # a new scene: its tables replace the cached ones
    frames, info = world.step(torch.ones(2, dtype=torch.long))
    assert torch.equal(frames, fresh_render(world, info["pose"]))
    assert torch.equal(world.render(info["pose"]), frames)
    single = MazeWorld(MazeConfig(height=32, width=32), batch_size=1)
    single.raycaster = world.raycaster  # another batch size resizes its buffers
    for seed in (8, 9):
        frames, info = single.reset(seed)
        assert torch.equal(frames, fresh_render(single, info["pose"]))
        frames, info = world.reset(seed)
        assert torch.equal(frames, fresh_render(world, info["pose"]))


def test_changing_resolution_in_one_process_matches_fresh_renders() -> None:
    big = MazeWorld(MazeConfig(height=64, width=64), batch_size=1)
    big.reset(5)
    for _ in range(5):
        big.step(torch.tensor([1]))
    small = MazeWorld(MazeConfig(height=32, width=48), batch_size=1)
    frames, info = small.reset(5)
    for _ in range(5):
        frames, info = small.step(torch.tensor([1]))
        assert frames.shape == (1, 32, 48, 3)
        assert torch.equal(frames, fresh_render(small, info["pose"]))
    odd = MazeWorld(MazeConfig(height=37, width=23), batch_size=3)  # odd height: a middle row of wall
    frames, info = odd.reset(5)
    assert frames.is_contiguous() and torch.equal(frames, fresh_render(odd, info["pose"]))


def test_landmark_culling_is_exact() -> None:
    """The CPU cull (host syncs) draws exactly what the unculled GPU path draws, landmarks in view or not."""
    for batch, (height, width) in ((1, (64, 64)), (3, (32, 48))):
        world = MazeWorld(MazeConfig(height=height, width=width), batch_size=batch)
        world.reset(21)
        culled = world.raycaster
        unculled = Raycaster(height, width, world.config.fov_deg, world.config.grid_size, "cpu")
        unculled.on_cpu = False
        drawn = 0
        for pose in landmark_poses(world):
            frames = culled.render(world.scene, pose)
            assert torch.equal(frames, unculled.render(world.scene, pose))
            drawn += int(((frames.int().amax(-1) - frames.int().amin(-1)) > 150).any())
        assert drawn > 5, "the poses should show landmarks"


def test_buffers_work_in_and_out_of_inference_mode() -> None:
    world = MazeWorld(MazeConfig(height=16, width=16), batch_size=2)
    with torch.inference_mode():
        world.reset(0)  # buffers made inside inference mode, then written outside it
    frames, info = world.step(torch.ones(2, dtype=torch.long))
    assert torch.equal(frames, fresh_render(world, info["pose"]))
    with torch.inference_mode():
        frames, info = world.step(torch.ones(2, dtype=torch.long))
    assert torch.equal(frames, fresh_render(world, info["pose"]))


def test_frames_match_the_recorded_reference() -> None:
    """Frames (2 worlds, every 8th of 121 steps) recorded when the shipped checkpoint was trained: a change to
    the renderer, maze generator or motion that alters them would leave that checkpoint playing another world.
    Exact on the machine that recorded them; a ±1 rounding difference from another CPU's exp is allowed."""
    reference = np.load(REFERENCE)
    world = MazeWorld(MazeConfig(), batch_size=2)
    frames = [world.reset(5)[0]]
    for action in torch.from_numpy(reference["actions"]):
        frames.append(world.step(action)[0])
    rendered = torch.stack(frames, 1)[:, ::8].numpy().astype(np.int16)  # (2, 16, 64, 64, 3)
    difference = np.abs(rendered - reference["frames"])
    assert rendered.shape == reference["frames"].shape
    assert difference.max() <= 1 and (difference > 0).mean() < 1e-3, (
        f"{(difference > 0).mean():.2%} of values differ, by up to {difference.max()}")
