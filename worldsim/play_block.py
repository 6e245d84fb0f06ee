"""The play block: what playing or evaluating a checkpoint needs to know about its training (the world, the
action space, the frame size, the sampling steps), stored in the checkpoint's header beside the ModelConfig
(worldsim/checkpoint.py), and derived from the trainer's config for checkpoints written before it existed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from worldsim.actions import ActionSpace
from worldsim.config import ConfigError, from_dict, to_dict
from worldsim.env.maze_world import MazeConfig
from worldsim.sampling_steps import DEFAULT_SAMPLING_STEPS


@dataclass(frozen=True)
class PlayBlock:
    """What playing or evaluating a checkpoint needs to know about its training. Either `maze` or `dataset`
    names the world it was trained on; neither: unknown (weights saved outside the trainer)."""

    action_space: ActionSpace
    frame_size: tuple[int, int]  # (height, width) in pixels
    sampling_steps: int = DEFAULT_SAMPLING_STEPS  # Euler steps per frame the weights were validated with
    maze: MazeConfig | None = None  # the built-in maze's settings
    dataset: str | None = None  # the recorded dataset's directory, as given to the trainer
    holdout_every: int = 0  # the dataset's episodes held out of training (worldsim.data.holdout); 0: none

    def maze_config(self) -> MazeConfig:
        """The built-in maze to start from: the one trained on, else the default maze at this frame size."""
        if self.maze is not None:
            return self.maze
        height, width = self.frame_size
        mouse_look = "yaw_delta_rad" in self.action_space.continuous
        return MazeConfig(height=height, width=width, continuous_yaw=mouse_look)

    def to_dict(self) -> dict[str, Any]:
        """The header's "play" entry (the action space has its own entry)."""
        return {"frame_size": list(self.frame_size), "sampling_steps": self.sampling_steps,
                "maze": None if self.maze is None else to_dict(self.maze), "dataset": self.dataset,
                "holdout_every": self.holdout_every}

    @classmethod
    def from_dict(cls, data: dict[str, Any], action_space: ActionSpace) -> PlayBlock:
        """Parse the header's "play" entry, read from a file: a damaged value is a ValueError naming its key
        (load_checkpoint adds the file and checks the values against the model)."""
        unknown = set(data) - {"frame_size", "sampling_steps", "maze", "dataset", "holdout_every"}
        if unknown:
            raise ValueError(f"play: unknown key(s) {sorted(unknown)}")
        frame_size = data.get("frame_size")
        if not (isinstance(frame_size, list) and len(frame_size) == 2 and all(map(_is_int, frame_size))):
            raise ValueError(f"play.frame_size must be [height, width] in pixels, got {str(frame_size)[:80]}")
        dataset = data.get("dataset")
        if dataset is not None and not isinstance(dataset, str):
            raise ValueError(f"play.dataset must be a folder name or null, got {str(dataset)[:80]}")
        maze = None if data.get("maze") is None else _maze(data["maze"], "play.maze")
        steps = _steps(data.get("sampling_steps"), "play.sampling_steps")
        holdout_every = data.get("holdout_every", 0)  # absent in checkpoints written before it existed
        if not _is_int(holdout_every) or holdout_every < 0:
            raise ValueError(f"play.holdout_every must be an integer >= 0, got {str(holdout_every)[:80]}")
        return cls(action_space, (frame_size[0], frame_size[1]), steps, maze, dataset, holdout_every)


def legacy_play_block(
    metadata: dict[str, Any], action_space: ActionSpace, frame_size: tuple[int, int]
) -> PlayBlock:
    """The play block of a checkpoint written before it had one, from the trainer's config in `metadata`."""
    steps, steps_key = metadata.get("sampling_steps"), "metadata sampling_steps"
    if steps is None:
        steps, steps_key = _setting(metadata, "train_config", "logging", "sampling_steps")
    source, _ = _setting(metadata, "train_config", "data", "source")
    maze_data, maze_key = _setting(metadata, "train_config", "data", "maze")
    dataset, _ = _setting(metadata, "train_config", "data", "dataset_dir")
    maze = None
    if (source or "maze") == "maze" and maze_data:
        maze = _maze(maze_data, maze_key)
        maze.height, maze.width = frame_size
        maze.continuous_yaw = "yaw_delta_rad" in action_space.continuous
    dataset = str(dataset) if source == "dataset" and dataset is not None else None
    steps = DEFAULT_SAMPLING_STEPS if steps is None else _steps(steps, steps_key)
    return PlayBlock(action_space, frame_size, steps, maze, dataset)


def _setting(metadata: dict[str, Any], *keys: str) -> tuple[Any, str]:
    """(metadata[k1][k2]..., "metadata k1.k2...") with None when absent; a level that is not an object is a
    ValueError naming it."""
    node: Any = metadata
    for depth, key in enumerate(keys):
        if not isinstance(node, dict):
            raise ValueError(  # noqa: TRY004 - bad file content: a ValueError, which load_checkpoint names
                f"metadata {'.'.join(keys[:depth])} is not an object: {str(node)[:80]}")
        node = node.get(key)
        if node is None:
            break
    return node, f"metadata {'.'.join(keys)}"


def _maze(data: Any, where: str) -> MazeConfig:
    try:
        return from_dict(MazeConfig, data, where)
    except ConfigError:
        raise
    except (ValueError, TypeError) as error:  # MazeConfig's own bounds do not know where the values came from
        raise ValueError(f"{where}: {error}") from error


def _steps(value: Any, where: str) -> int:
    if not _is_int(value):
        raise ValueError(f"{where} must be an integer, got {str(value)[:80]}")
    return value


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)
