"""Playing without a window (demos, tests, servers): a scripted policy or an action file drives the world,
and the frames go to an MP4."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm

from worldsim.data.video import DEFAULT_VIDEO_SCALE, VideoFileWriter
from worldsim.env.maze_world import MazeConfig, MazeWorld
from worldsim.world import Policy, World


class ActionSequence:
    """Replays a list of discrete actions (alignment as in episodes: actions[0] is for the reset frame)."""

    def __init__(self, actions: np.ndarray, where: str = "actions") -> None:
        self.actions = np.asarray(actions)
        self.where = where
        self.position = 1  # actions[0] belongs to the reset frame
        self.batch_size = 1

    def reset(self, world: World, seed: int) -> None:
        world.action_space.check_discrete(self.actions, self.where)
        self.batch_size = world.batch_size
        self.position = 1

    def act(self) -> tuple[torch.Tensor, None]:
        if self.position >= len(self.actions):
            raise IndexError(f"{self.where}: ran out of actions after {len(self.actions)} frames")
        action = int(self.actions[self.position])
        self.position += 1
        return torch.full((self.batch_size,), action, dtype=torch.long), None


def load_actions(path: Path | str) -> ActionSequence:
    """Discrete actions from .npy (int array (T,)) or .json (a list of ints, or {"discrete": [...]})."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"actions file not found: {path}")
    if path.suffix == ".npy":
        try:
            actions = np.load(path, allow_pickle=False)
        except (ValueError, OSError, EOFError) as error:
            raise ValueError(f"{path}: not a readable .npy file ({error})") from error
    elif path.suffix == ".json":
        try:
            data = json.loads(path.read_text())
        except (json.JSONDecodeError, UnicodeDecodeError) as error:
            raise ValueError(f"{path}: not valid JSON ({error})") from error
        actions = np.asarray(data["discrete"] if isinstance(data, dict) and "discrete" in data else data)
    else:
        raise ValueError(f"{path}: actions file must be .npy or .json")
    if actions.ndim != 1 or actions.size < 1 or not np.issubdtype(actions.dtype, np.integer):
        raise ValueError(f"{path}: expected a non-empty 1-D list of integer actions, got {actions.dtype} {actions.shape}")
    return ActionSequence(actions.astype(np.int64), where=str(path))


@dataclass
class HeadlessResult:
    frames: int
    seconds: float
    video: Path | None

    @property
    def frames_per_second(self) -> float:
        return self.frames / self.seconds if self.seconds > 0 else float("inf")


class ShadowMazeDriver:
    """A map-reading maze policy for a learned world: the policy walks a ground-truth maze built from the
    same seed as the model's first frame, and its actions go to the model too."""

    def __init__(self, policy: Policy, maze_config: MazeConfig) -> None:
        self.policy, self.maze_config = policy, maze_config
        self.maze: MazeWorld | None = None

    def reset(self, world: World, seed: int) -> None:
        self.maze = MazeWorld(self.maze_config, batch_size=world.batch_size)
        self.maze.reset(seed)
        self.policy.reset(self.maze, seed)

    def act(self) -> tuple[torch.Tensor | None, torch.Tensor | None]:
        discrete, continuous = self.policy.act()
        self.maze.step(discrete, continuous)
        return discrete, continuous


class _PolicyOnGroundTruth:
    """Side by side: the policy reads the ground-truth maze on the left, which the shared step moves."""

    def __init__(self, policy: Policy, maze: World) -> None:
        self.policy, self.maze = policy, maze

    def reset(self, world: World, seed: int) -> None:
        self.policy.reset(self.maze, seed)

    def act(self) -> tuple[torch.Tensor | None, torch.Tensor | None]:
        return self.policy.act()


def default_policy(world: World) -> str:
    """"wander" where a map-reading policy can drive (the maze, side by side with it, or a model started
    from it), "random" for every other world (games, models started from recorded context)."""
    from worldsim.engine.priming import MazeContext
    from worldsim.env.maze_world import MazeWorld

    maze_driven = (isinstance(world, MazeWorld) or isinstance(getattr(world, "left", None), MazeWorld)
                   or isinstance(getattr(world, "context_source", None), MazeContext))
    return "wander" if maze_driven else "random"


def policy_driver(policy: Policy, world: World) -> Policy:
    """Let a maze policy drive `world`, which may be a learned model started from a built-in maze."""
    from worldsim.engine.priming import MazeContext

    left = getattr(world, "left", None)
    if isinstance(left, MazeWorld):
        return _PolicyOnGroundTruth(policy, left)
    context = getattr(world, "context_source", None)
    if isinstance(context, MazeContext):
        return ShadowMazeDriver(policy, context.maze_config)
    return policy


def run_headless(
    world: World, driver: Policy, frames: int, seed: int, out: Path | None, fps: int = 30,
    video_scale: int = DEFAULT_VIDEO_SCALE, progress: bool = False,
) -> HeadlessResult:
    """`frames` frames of batch element 0 (the reset frame, then frames-1 steps) into the MP4 `out`;
    `progress` shows a bar with the rate and time left on stderr."""
    if frames < 1:
        raise ValueError(f"frames must be >= 1, got {frames}")
    video = VideoFileWriter(out, fps, video_scale) if out is not None else None
    bar = tqdm(total=frames, desc="play", unit="frame", disable=not progress, dynamic_ncols=True)
    try:
        observation, _ = world.reset(seed)
        driver.reset(world, seed)
        start = time.perf_counter()
        for index in range(frames):
            if index:
                observation, _ = world.step(*driver.act())
            frame = observation[0].cpu().numpy()
            if video is not None:
                video.add(frame)
            bar.update(1)
        seconds = time.perf_counter() - start
    except BaseException:
        if video is not None:
            video.discard()
        raise
    finally:
        bar.close()
    return HeadlessResult(frames, seconds, video.close() if video is not None else None)
