"""Model checkpoints: safetensors weights with the ModelConfig and the play block embedded as JSON metadata.

One file is enough to play: `load_checkpoint` rebuilds the network from the embedded config and returns the
`PlayBlock`, the only hand-off from training to play and evaluation (they never read the trainer's config).
"""

from __future__ import annotations

import fnmatch
import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch
from safetensors import SafetensorError, safe_open
from safetensors.torch import load_file, save_file
from torch import nn

from worldsim.actions import ActionSpace
from worldsim.config import ConfigError, from_dict, to_dict
from worldsim.data.atomic import atomic_path
from worldsim.play_block import PlayBlock, legacy_play_block
from worldsim.sampling_steps import MAX_SAMPLING_STEPS

if TYPE_CHECKING:
    from worldsim.model.config import ModelConfig

CHECKPOINT_FORMAT = "worldsim-checkpoint"
CHECKPOINT_FORMAT_VERSION = 1  # the "play" header entry is optional: older checkpoints get one derived


class CheckpointError(ValueError):
    """A checkpoint file that cannot be loaded; the message names the file and the reason."""


def save_checkpoint(path: str | Path, model: nn.Module, play: PlayBlock, metadata: dict | None = None,
                    dtype: torch.dtype | None = None) -> None:
    """Write `model`'s weights, config and play block to `path` (a temp file beside it, then renamed);
    `dtype` (e.g. torch.bfloat16: half the size) stores the floating-point weights in that type, and loading
    casts them back to the model's."""
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
    if dtype is not None:
        tensors = {name: value.to(dtype) if value.is_floating_point() else value for name, value in tensors.items()}
    _check_finite(tensors, f"{path}: refusing to save weights that are not finite", "the run diverged")
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
        decoded = {
            "format_version": int(header["format_version"]),
            "model_config": json.loads(header["model_config"]),
            "action_space": json.loads(header["action_space"]),
            "play": json.loads(header["play"]) if "play" in header else None,
            "metadata": json.loads(header.get("metadata", "{}")),
        }
    except (KeyError, ValueError, RecursionError) as error:
        raise CheckpointError(f"{path}: damaged worldsim checkpoint header ({error})") from error
    for key in ("model_config", "action_space", "play", "metadata"):
        if not isinstance(decoded[key], dict) and not (key == "play" and decoded[key] is None):
            raise CheckpointError(f"{path}: damaged worldsim checkpoint header ({key} is not a JSON object)")
    return decoded


def read_checkpoint_configs(path: str | Path, fresh: tuple[str, ...] = ()) -> tuple[ModelConfig, PlayBlock, dict]:
    """(ModelConfig, play block, metadata) of `path`, checked, without reading the weights; parameters
    matching a glob pattern of `fresh` may be absent from the file."""
    from worldsim.model.config import ModelConfig

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
    _check_shapes(path, config, fresh)  # before anything is allocated: a damaged config could ask for GBs
    return config, play, header["metadata"]


def read_checkpoint_weights(
    path: str | Path, fresh: tuple[str, ...] = ()
) -> tuple[ModelConfig, PlayBlock, dict, dict[str, torch.Tensor]]:
    """(ModelConfig, play block, metadata, weights as stored, on the CPU) of `path`, checked; parameters
    matching a glob pattern of `fresh` may be absent (init_from: they keep the new model's initialisation)."""
    path = Path(path)
    config, play, metadata = read_checkpoint_configs(path, fresh)
    try:
        weights = load_file(str(path), device="cpu")
    except (SafetensorError, OSError) as error:
        raise CheckpointError(f"{path}: corrupt weights ({error})") from error
    _check_finite(weights, f"{path}: weights are not finite",
                  "the run that wrote them diverged; use an earlier checkpoint")
    return config, play, metadata, weights


def load_checkpoint(path: str | Path, device: str | torch.device = "cpu") -> tuple[nn.Module, PlayBlock, dict]:
    """Rebuild the WorldModel from `path` -> (model in eval mode on `device`, play block, metadata)."""
    from worldsim.model.world_model import WorldModel

    config, play, metadata, weights = read_checkpoint_weights(path)
    model = WorldModel(config)
    model.load_state_dict(weights)
    return model.to(device).eval(), play, metadata


def _check_play(path: Path, play: PlayBlock, frame_size: tuple[int, int]) -> None:
    if play.frame_size != frame_size:
        raise CheckpointError(
            f"{path}: play block frame size {play.frame_size} differs from the model's {frame_size}"
        )
    if play.maze is not None and (play.maze.height, play.maze.width) != frame_size:
        raise CheckpointError(f"{path}: play block maze renders {play.maze.height}x{play.maze.width} frames, "
                              f"the model makes {frame_size[0]}x{frame_size[1]}")
    if not 1 <= play.sampling_steps <= MAX_SAMPLING_STEPS:
        raise CheckpointError(f"{path}: play block sampling_steps must be in [1, {MAX_SAMPLING_STEPS}], "
                              f"got {play.sampling_steps}")


def _check_finite(tensors: dict[str, torch.Tensor], what: str, why: str) -> None:
    """NaN weights would play as black frames without a word."""
    for name, tensor in tensors.items():
        if tensor.is_floating_point() and not bool(torch.isfinite(tensor).all()):
            raise CheckpointError(f"{what}: {name} contains NaN or inf ({why})")


def _check_shapes(path: Path, config: Any, fresh: tuple[str, ...] = ()) -> None:
    """Compare the file's tensor shapes (header only) with those `config` builds (on the meta device,
    which allocates nothing), except for absent parameters matching a `fresh` glob pattern; the layer
    count is compared first, so a huge depth costs no time either."""
    from worldsim.model.memory_pack import ADDED_PACK_PARAMETERS
    from worldsim.model.world_model import WorldModel

    try:
        with safe_open(str(path), framework="pt") as file:
            stored = {name: tuple(file.get_slice(name).get_shape()) for name in file.keys()}  # noqa: SIM118 (not a dict)
    except (SafetensorError, OSError, ValueError) as error:
        raise CheckpointError(f"{path}: corrupt weights ({error})") from error
    layers = {name.split(".")[1] for name in stored if name.startswith("layers.")}
    if len(layers) != config.depth:
        raise CheckpointError(f"{path}: weights do not match the embedded model config: the file holds "
                              f"{len(layers)} layers, the config says depth {config.depth}")
    with torch.device("meta"):
        expected = {name: tuple(value.shape) for name, value in WorldModel(config).state_dict().items()}
    missing = sorted(name for name in set(expected) - set(stored)
                     if not any(fnmatch.fnmatchcase(name, pattern) for pattern in fresh))
    unexpected = sorted(set(stored) - set(expected))
    wrong = [
        f"{name} {stored[name]} vs {shape}"
        for name, shape in expected.items()
        if name in stored and stored[name] != shape
    ]
    if missing and not unexpected and not wrong and all(
            any(fnmatch.fnmatchcase(name, p) for p in ADDED_PACK_PARAMETERS) for name in missing):
        raise CheckpointError(
            f"{path}: a pack+local checkpoint from before SemanticPack had its persistence gate and position "
            f"bias (no {', '.join(ADDED_PACK_PARAMETERS)}); its pack rewrote the memory every segment and "
            f"cannot play under this version. Continue training from it with init_from={path} (those "
            f"parameters start from their initialisation, pack_memory_frames) or retrain")
    problems = []
    if missing:
        problems.append(f"missing {missing[:5]}{' ...' if len(missing) > 5 else ''}")
    if unexpected:
        problems.append(f"unexpected {unexpected[:5]}{' ...' if len(unexpected) > 5 else ''}")
    if wrong:
        problems.append(f"wrong shape (file vs config) {wrong[:5]}")
    if problems:
        raise CheckpointError(f"{path}: weights do not match the embedded model config: {'; '.join(problems)}")
