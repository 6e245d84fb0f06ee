"""A run's checkpoints: checkpoints/step_<N>/{model,ema}.safetensors + train_state.pt, and `latest`.

Each checkpoint directory is written under a temp name and renamed, then `checkpoints/latest` (a text
file naming it) is replaced atomically, so a kill at any moment leaves the previous checkpoint usable.
`<run>/latest.safetensors` is a copy of the newest EMA weights: the one file needed to play.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any

import torch
from torch import nn

from worldsim.checkpoint import PlayBlock, load_checkpoint, read_checkpoint_header, save_checkpoint
from worldsim.data.atomic import write_text_atomic

CHECKPOINT_DIR = "checkpoints"
LATEST_FILE = "latest"


def save_run_checkpoint(
    run_dir: Path, step: int, model: nn.Module, ema_model: nn.Module, play: PlayBlock,
    train_state: dict[str, Any], metadata: dict[str, Any], keep: int,
) -> Path:
    root = Path(run_dir) / CHECKPOINT_DIR
    root.mkdir(parents=True, exist_ok=True)
    name = f"step_{step:08d}"
    final = root / name
    tmp = root / f".tmp-{name}-{os.getpid()}"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir()
    info = {**metadata, "step": step}
    save_checkpoint(tmp / "model.safetensors", model, play, {**info, "weights": "raw"})
    save_checkpoint(tmp / "ema.safetensors", ema_model, play, {**info, "weights": "ema"})
    torch.save(train_state, tmp / "train_state.pt")
    if final.exists():
        shutil.rmtree(final)
    os.replace(tmp, final)
    write_text_atomic(root / LATEST_FILE, name)
    save_checkpoint(Path(run_dir) / "latest.safetensors", ema_model, play, {**info, "weights": "ema"})
    for old in sorted(p for p in root.iterdir() if p.is_dir() and p.name.startswith("step_"))[:-keep]:
        shutil.rmtree(old, ignore_errors=True)
    return final


def latest_checkpoint(run_dir: Path) -> Path | None:
    root = Path(run_dir) / CHECKPOINT_DIR
    pointer = root / LATEST_FILE
    if not pointer.is_file():
        return None
    path = root / pointer.read_text().strip()
    if not (path / "train_state.pt").is_file():
        raise ValueError(f"{pointer} names {path}, which is missing or incomplete")
    return path


def load_run_checkpoint(path: Path, device: torch.device) -> tuple[nn.Module, nn.Module, dict[str, Any]]:
    """-> (raw model, EMA model, training state) of checkpoint directory `path`."""
    model, _, _ = load_checkpoint(path / "model.safetensors", device)
    ema_model, _, _ = load_checkpoint(path / "ema.safetensors", device)
    train_state = torch.load(path / "train_state.pt", map_location="cpu", weights_only=True)
    return model, ema_model, train_state


def saved_model_config(path: Path) -> dict[str, Any]:
    return read_checkpoint_header(path / "model.safetensors")["model_config"]


def config_differences(saved: dict[str, Any], current: dict[str, Any], prefix: str = "") -> list[str]:
    """Dotted keys whose values differ, e.g. ['model.width: 256 -> 384']."""
    differences = []
    for key in sorted(set(saved) | set(current)):
        name = f"{prefix}{key}"
        old, new = saved.get(key, "<absent>"), current.get(key, "<absent>")
        if isinstance(old, dict) and isinstance(new, dict):
            differences += config_differences(old, new, f"{name}.")
        elif _plain(old) != _plain(new):
            differences.append(f"{name}: {old} -> {new}")
    return differences


def _plain(value: Any) -> Any:
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value
