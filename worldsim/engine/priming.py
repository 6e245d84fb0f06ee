"""Where a session's first frames come from: the model needs at least one real frame before it can dream.

Each source gives `Context`: frames uint8 (B, T, H, W, 3) and the actions that led to them (T ≥ 1),
committed to the model state by `WorldModelEngine.reset` before the first generated frame.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import cv2
import numpy as np
import torch
from torch import Tensor

from worldsim.actions import ActionSpace, maze_action_space
from worldsim.checkpoint import PlayBlock
from worldsim.env.maze_world import MazeConfig, MazeWorld
from worldsim.env.memory_walks import rotation_clips, steps_per_turn


@dataclass
class Context:
    frames: Tensor  # uint8 (B, T, H, W, 3)
    discrete: Tensor | None  # int64 (B, T)
    continuous: Tensor | None  # float32 (B, T, C)


class ContextSource(Protocol):
    def context(self, seed: int, batch_size: int) -> Context: ...


def check_same_action_space(model_space: ActionSpace, other: ActionSpace, what: str) -> None:
    if model_space != other:
        raise ValueError(
            f"the checkpoint's action space (discrete {list(model_space.discrete)}, continuous "
            f"{list(model_space.continuous)}) differs from {what}'s (discrete {list(other.discrete)}, "
            f"continuous {list(other.continuous)})"
        )


class MazeContext:
    """The built-in maze `seed` (seed+1, ... for the other batch elements) from its start pose: the first frame,
    and with `look_around` one full turn on the spot after it (steps_per_turn + 1 frames, ending on the first
    view again), so the model has seen everything around the player before it generates a frame. On held-out
    mazes that helped only a little, and only after the first 10 frames (`worldsim eval priming`,
    docs/playing.md "First frames"), so it is not the default."""

    def __init__(self, maze_config: MazeConfig, action_space: ActionSpace, look_around: bool = False) -> None:
        self.maze_config = maze_config
        self.action_space = action_space
        self.look_around = look_around
        check_same_action_space(action_space, maze_action_space(maze_config.continuous_yaw), "the built-in maze")

    def context(self, seed: int, batch_size: int) -> Context:
        world = MazeWorld(self.maze_config, batch_size=batch_size)
        if not self.look_around:
            frames, _ = world.reset(seed)
            return Context(frames[:, None].cpu(), *self.action_space.noop_batch(batch_size, 1))
        turn = rotation_clips(world, [seed + i for i in range(batch_size)], steps_per_turn(world) + 1)
        continuous = turn["continuous"].cpu() if self.action_space.num_continuous else None
        return Context(turn["frames"].cpu(), turn["discrete"].cpu(), continuous)


class EpisodeContext:
    """The first `length` frames and actions of a recorded episode (every batch element the same)."""

    def __init__(self, episode_dir: Path | str, action_space: ActionSpace, length: int = 1) -> None:
        from worldsim.data.episode import read_episode

        self.path = Path(episode_dir)
        episode = read_episode(episode_dir)
        check_same_action_space(action_space, episode.action_space, f"episode {episode.path}")
        if not 1 <= length <= episode.length:
            raise ValueError(f"{episode.path}: context of {length} frames asked, the episode has {episode.length}")
        self.frames = torch.from_numpy(np.array(episode.frames[:length]))
        self.discrete = None if episode.discrete is None else torch.from_numpy(np.array(episode.discrete[:length]))
        self.continuous = (
            None if episode.continuous is None else torch.from_numpy(np.array(episode.continuous[:length]))
        )

    def context(self, seed: int, batch_size: int) -> Context:
        def repeat(x: Tensor | None) -> Tensor | None:
            return None if x is None else x[None].expand(batch_size, *x.shape).contiguous()

        return Context(repeat(self.frames), repeat(self.discrete), repeat(self.continuous))


class ImageContext:
    """Image files (PNG, JPEG, ...) as context frames in the given order, resized to the model's size;
    the actions before them are no-ops."""

    def __init__(self, paths: Sequence[Path | str], action_space: ActionSpace, height: int, width: int) -> None:
        if not paths:
            raise ValueError("image context: give at least one image file")
        self.action_space = action_space
        self.frames = torch.from_numpy(np.stack([read_image(Path(p), height, width) for p in paths]))

    def context(self, seed: int, batch_size: int) -> Context:
        frames = self.frames[None].expand(batch_size, *self.frames.shape).contiguous()
        return Context(frames, *self.action_space.noop_batch(batch_size, len(self.frames)))


def read_image(path: Path, height: int, width: int) -> np.ndarray:
    """uint8 (height, width, 3) RGB; area-averaged when shrinking."""
    if not path.is_file():
        raise FileNotFoundError(f"context image not found: {path}")
    image = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if image is None:
        raise ValueError(f"{path}: not a readable image file (OpenCV could not decode it)")
    if image.shape[:2] != (height, width):
        shrinking = image.shape[0] > height or image.shape[1] > width
        image = cv2.resize(image, (width, height), interpolation=cv2.INTER_AREA if shrinking else cv2.INTER_LINEAR)
    return cv2.cvtColor(image, cv2.COLOR_BGR2RGB)


def context_from_paths(
    paths: Sequence[Path | str], action_space: ActionSpace, frame_size: tuple[int, int]
) -> ContextSource:
    """`--context`: one episode directory (its first frame and action) or image files (no-op actions)."""
    if len(paths) == 1 and Path(paths[0]).is_dir():
        return EpisodeContext(paths[0], action_space)
    return ImageContext(paths, action_space, *frame_size)


def default_context(play: PlayBlock, look_around: bool = False) -> ContextSource:
    """First frames when none are given, from the checkpoint's play block: the built-in maze it was trained
    on (MazeContext: with `look_around`, one turn on the spot); for a dataset checkpoint the dataset's first
    held-out episode (else its first episode) when the dataset is on this machine. Anything else is a
    ValueError that names --context."""
    from worldsim.data.dataset import DatasetError, open_dataset
    from worldsim.data.holdout import held_out_names

    maze_space = maze_action_space(play.maze_config().continuous_yaw)
    if play.maze is not None or (play.dataset is None and play.action_space == maze_space):
        return MazeContext(play.maze_config(), play.action_space, look_around)
    how = "start it from real frames with --context EPISODE_DIR (a recorded episode) or --context IMAGE ..."
    if play.dataset is None:
        raise ValueError(f"not trained on the built-in maze (its actions differ): {how}")
    try:
        info = open_dataset(play.dataset, check_arrays=False)
    except (OSError, DatasetError) as error:
        raise ValueError(
            f"trained on the dataset {play.dataset}, which cannot be read here ({error}): {how}"
        ) from error
    names = held_out_names(info.names, play.holdout_every) or list(info.names)
    return EpisodeContext(info.path / names[0], play.action_space)
