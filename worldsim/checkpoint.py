"""Model checkpoints: safetensors weights with the ModelConfig and the play block embedded as JSON metadata.

One file is enough to play: `load_checkpoint` rebuilds the network from the embedded config and returns the
`PlayBlock`, the only hand-off from training to play and evaluation (they never read the trainer's config).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError, safe_open
from safetensors.torch import load_file, save_file
from torch import nn

from worldsim.actions import ActionSpace
from worldsim.config import ConfigError, from_dict, to_dict
from worldsim.data.atomic import atomic_path
from worldsim.env.maze_world import MazeConfig
from worldsim.sampling_steps import DEFAULT_SAMPLING_STEPS

CHECKPOINT_FORMAT = "worldsim-checkpoint"
CHECKPOINT_FORMAT_VERSION = 1  # the "play" header entry is optional: older checkpoints get one derived


class CheckpointError(ValueError):
    """A checkpoint file that cannot be loaded; the message names the file and the reason."""


@dataclass(frozen=True)
class PlayBlock:
    """What playing or evaluating a checkpoint needs to know about its training. Either `maze` or `dataset`
    names the world it was trained on; neither: unknown (weights saved outside the trainer)."""

    action_space: ActionSpace
    frame_size: tuple[int, int]  # (height, width) in pixels
    sampling_steps: int = DEFAULT_SAMPLING_STEPS  # Euler steps per frame the weights were validated with
    maze: MazeConfig | None = None  # the built-in maze's settings
    dataset: str | None = None  # the recorded dataset's directory, as given to the trainer

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
                "maze": None if self.maze is None else to_dict(self.maze), "dataset": self.dataset}

    @classmethod
    def from_dict(cls, data: dict[str, Any], action_space: ActionSpace) -> PlayBlock:
        unknown = set(data) - {"frame_size", "sampling_steps", "maze", "dataset"}
        if unknown:
            raise ValueError(f"play: unknown key(s) {sorted(unknown)}")
        maze = None if data.get("maze") is None else from_dict(MazeConfig, data["maze"], "play.maze")
        height, width = (int(size) for size in data["frame_size"])
        return cls(action_space, (height, width), int(data["sampling_steps"]), maze, data.get("dataset"))


def legacy_play_block(
    metadata: dict[str, Any], action_space: ActionSpace, frame_size: tuple[int, int]
) -> PlayBlock:
    """The play block of a checkpoint written before it had one, from the trainer's config in `metadata`."""
    train_config = metadata.get("train_config", {})
    steps = metadata.get("sampling_steps", train_config.get("logging", {}).get("sampling_steps"))
    data = train_config.get("data", {})
    maze = None
    if data.get("source", "maze") == "maze" and data.get("maze"):
        maze = from_dict(MazeConfig, data["maze"], "train_config.data.maze")
        maze.height, maze.width = frame_size
        maze.continuous_yaw = "yaw_delta_rad" in action_space.continuous
    dataset = data.get("dataset_dir") if data.get("source") == "dataset" else None
    return PlayBlock(action_space, frame_size, int(steps or DEFAULT_SAMPLING_STEPS), maze, dataset)


def save_checkpoint(path: str | Path, model: nn.Module, play: PlayBlock, metadata: dict | None = None) -> None:
    """Write `model`'s weights, config and play block to `path` (a temp file beside it, then renamed)."""
    path = Path(path)
    config = getattr(model, "config", None)
    if config is None:
        raise CheckpointError(f"{path}: the model has no .config to embed")
    if not isinstance(play, PlayBlock):
        raise TypeError(f"save_checkpoint: play must be a PlayBlock (PlayBlock(action_space, frame_size)), "
                        f"got {type(play).__name__}")
    _check_play(path, play, (int(config.image_height), int(config.image_width)))
    header = {
        "format": CHECKPOINT_FORMAT,
        "format_version": str(CHECKPOINT_FORMAT_VERSION),
        "model_config": json.dumps(to_dict(config)),
        "action_space": json.dumps(play.action_space.to_dict()),
        "play": json.dumps(play.to_dict()),
        "metadata": json.dumps(metadata or {}),
    }
    # Clones break storage sharing (safetensors refuses shared tensors) and move weights to the CPU.
    tensors = {name: value.detach().to("cpu").contiguous().clone() for name, value in model.state_dict().items()}
    with atomic_path(path) as tmp:
        save_file(tensors, str(tmp), metadata=header)


def read_checkpoint_header(path: str | Path) -> dict[str, Any]:
    """The embedded metadata of a checkpoint, decoded: format, model_config, action_space, play (None in
    checkpoints written before it existed), metadata."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"checkpoint not found: {path}")
    try:
        with safe_open(str(path), framework="pt") as file:
            header = file.metadata() or {}
    except (SafetensorError, OSError, ValueError) as error:
        raise CheckpointError(f"{path}: not a readable safetensors file ({error})") from error
    if header.get("format") != CHECKPOINT_FORMAT:
        raise CheckpointError(f"{path}: not a worldsim checkpoint (no '{CHECKPOINT_FORMAT}' format tag)")
    try:
        return {
            "format_version": int(header["format_version"]),
            "model_config": json.loads(header["model_config"]),
            "action_space": json.loads(header["action_space"]),
            "play": json.loads(header["play"]) if "play" in header else None,
            "metadata": json.loads(header.get("metadata", "{}")),
        }
    except (KeyError, ValueError) as error:
        raise CheckpointError(f"{path}: damaged worldsim checkpoint header ({error})") from error


def load_checkpoint(path: str | Path, device: str | torch.device = "cpu") -> tuple[nn.Module, PlayBlock, dict]:
    """Rebuild the WorldModel from `path` -> (model in eval mode on `device`, play block, metadata)."""
    from worldsim.model.config import ModelConfig
    from worldsim.model.world_model import WorldModel

    path = Path(path)
    header = read_checkpoint_header(path)
    if header["format_version"] > CHECKPOINT_FORMAT_VERSION:
        raise CheckpointError(
            f"{path}: checkpoint format version {header['format_version']} is newer than this worldsim "
            f"understands ({CHECKPOINT_FORMAT_VERSION})"
        )
    try:
        config = from_dict(ModelConfig, header["model_config"], where=f"{path}: model_config")
        action_space = ActionSpace.from_dict(header["action_space"])
        frame_size = (int(config.image_height), int(config.image_width))
        if header["play"] is None:
            play = legacy_play_block(header["metadata"], action_space, frame_size)
        else:
            play = PlayBlock.from_dict(header["play"], action_space)
    except (ConfigError, ValueError, TypeError, KeyError) as error:
        raise CheckpointError(f"{path}: embedded config is invalid: {error}") from error
    _check_play(path, play, frame_size)
    try:
        weights = load_file(str(path), device="cpu")
    except (SafetensorError, OSError) as error:
        raise CheckpointError(f"{path}: corrupt weights ({error})") from error
    model = WorldModel(config)
    _check_weights(path, model, weights)
    model.load_state_dict(weights)
    return model.to(device).eval(), play, header["metadata"]


def _check_play(path: Path, play: PlayBlock, frame_size: tuple[int, int]) -> None:
    if play.frame_size != frame_size:
        raise CheckpointError(
            f"{path}: play block frame size {play.frame_size} differs from the model's {frame_size}"
        )
    if play.maze is not None and (play.maze.height, play.maze.width) != frame_size:
        raise CheckpointError(f"{path}: play block maze renders {play.maze.height}x{play.maze.width} frames, "
                              f"the model makes {frame_size[0]}x{frame_size[1]}")
    if play.sampling_steps < 1:
        raise CheckpointError(f"{path}: play block sampling_steps must be >= 1, got {play.sampling_steps}")


def _check_weights(path: Path, model: nn.Module, weights: dict[str, torch.Tensor]) -> None:
    expected = {name: tuple(value.shape) for name, value in model.state_dict().items()}
    missing = sorted(set(expected) - set(weights))
    unexpected = sorted(set(weights) - set(expected))
    wrong = [
        f"{name} {tuple(weights[name].shape)} vs {shape}"
        for name, shape in expected.items()
        if name in weights and tuple(weights[name].shape) != shape
    ]
    problems = []
    if missing:
        problems.append(f"missing {missing[:5]}{' ...' if len(missing) > 5 else ''}")
    if unexpected:
        problems.append(f"unexpected {unexpected[:5]}{' ...' if len(unexpected) > 5 else ''}")
    if wrong:
        problems.append(f"wrong shape (file vs config) {wrong[:5]}")
    if problems:
        raise CheckpointError(f"{path}: weights do not match the embedded model config: {'; '.join(problems)}")
