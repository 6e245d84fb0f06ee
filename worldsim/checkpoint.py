"""Model checkpoints: safetensors weights with the ModelConfig and ActionSpace embedded as JSON metadata.

One file is enough to play: `load_checkpoint` rebuilds the network from the embedded config.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError, safe_open
from safetensors.torch import load_file, save_file
from torch import nn

from worldsim.actions import ActionSpace
from worldsim.config import ConfigError, from_dict, to_dict

CHECKPOINT_FORMAT = "worldsim-checkpoint"
CHECKPOINT_FORMAT_VERSION = 1


class CheckpointError(ValueError):
    """A checkpoint file that cannot be loaded; the message names the file and the reason."""


def save_checkpoint(
    path: str | Path, model: nn.Module, action_space: ActionSpace, metadata: dict | None = None
) -> None:
    """Write `model`'s weights and config to `path` (temp file in the same directory, then rename)."""
    path = Path(path)
    config = getattr(model, "config", None)
    if config is None:
        raise CheckpointError(f"{path}: the model has no .config to embed")
    header = {
        "format": CHECKPOINT_FORMAT,
        "format_version": str(CHECKPOINT_FORMAT_VERSION),
        "model_config": json.dumps(to_dict(config)),
        "action_space": json.dumps(action_space.to_dict()),
        "metadata": json.dumps(metadata or {}),
    }
    # Clones break storage sharing (safetensors refuses shared tensors) and move weights to the CPU.
    tensors = {name: value.detach().to("cpu").contiguous().clone() for name, value in model.state_dict().items()}
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    try:
        save_file(tensors, str(tmp), metadata=header)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def read_checkpoint_header(path: str | Path) -> dict[str, Any]:
    """The embedded metadata of a checkpoint, decoded: format, model_config, action_space, metadata."""
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
            "metadata": json.loads(header.get("metadata", "{}")),
        }
    except (KeyError, ValueError) as error:
        raise CheckpointError(f"{path}: damaged worldsim checkpoint header ({error})") from error


def load_checkpoint(path: str | Path, device: str | torch.device = "cpu") -> tuple[nn.Module, ActionSpace, dict]:
    """Rebuild the WorldModel from `path` -> (model in eval mode on `device`, action space, metadata)."""
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
    except (ConfigError, ValueError, TypeError) as error:
        raise CheckpointError(f"{path}: embedded config is invalid: {error}") from error
    try:
        weights = load_file(str(path), device="cpu")
    except (SafetensorError, OSError) as error:
        raise CheckpointError(f"{path}: corrupt weights ({error})") from error
    model = WorldModel(config)
    _check_weights(path, model, weights)
    model.load_state_dict(weights)
    return model.to(device).eval(), action_space, header["metadata"]


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
