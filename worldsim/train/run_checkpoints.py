"""A run's checkpoints: checkpoints/step_<N>/{model,ema}.safetensors + train_state.pt, and `latest`.

Each checkpoint directory is written under a temp name and renamed, then `checkpoints/latest` (a text
file naming it) is replaced atomically, so a kill at any moment leaves the previous checkpoint usable.
When a step is saved again (a resumed finished run, a stop right after a periodic save) `latest` names
the complete new copy while the old folder is deleted, and only then the final name. Temp folders of
processes that no longer run are deleted at the next save.
`<run>/latest.safetensors` is a copy of the newest EMA weights: the one file needed to play.
"""

from __future__ import annotations

import os
import re
import shutil
import uuid
from pathlib import Path
from typing import Any

import torch
from torch import nn

from worldsim.checkpoint import (
    CheckpointError,
    PlayBlock,
    load_checkpoint,
    read_checkpoint_header,
    save_checkpoint,
)
from worldsim.data.atomic import write_text_atomic

CHECKPOINT_DIR = "checkpoints"
LATEST_FILE = "latest"
STEP_DIR = re.compile(r"^step_\d{8,}$")
TEMP_DIR = re.compile(r"^\.tmp-step_\d{8,}-(\d+)(?:-[0-9a-f]+)?$")  # being written by process <pid>
TEMP_FILE = re.compile(r"^\..+\.tmp-(\d+)$")  # data.atomic's temp file of process <pid>: .latest.tmp-<pid>
TRAIN_STATE_KEYS = ("step", "optimizer", "ema", "data")
PLAYABLE_FILE = "latest.safetensors"  # <run>/latest.safetensors: the newest EMA weights, one file to play


def save_run_checkpoint(
    run_dir: Path, step: int, model: nn.Module, ema_model: nn.Module, play: PlayBlock,
    train_state: dict[str, Any], metadata: dict[str, Any], keep: int,
) -> Path:
    """Write checkpoint `step`, point `latest` at it, keep the newest `keep` folders (0: all)."""
    root = Path(run_dir) / CHECKPOINT_DIR
    root.mkdir(parents=True, exist_ok=True)
    name = checkpoint_name(step)
    final = root / name
    # unique: a restarted process may get the pid of the killed one whose temp folder `latest` still names
    tmp = root / f".tmp-{name}-{os.getpid()}-{uuid.uuid4().hex[:8]}"
    tmp.mkdir()
    info = {**metadata, "step": step}
    try:
        save_checkpoint(tmp / "model.safetensors", model, play, {**info, "weights": "raw"})
        save_checkpoint(tmp / "ema.safetensors", ema_model, play, {**info, "weights": "ema"})
        torch.save(train_state, tmp / "train_state.pt")
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    if final.exists():
        write_text_atomic(root / LATEST_FILE, tmp.name)  # complete: latest may name it until the swap ends
        shutil.rmtree(final)
    os.replace(tmp, final)
    write_text_atomic(root / LATEST_FILE, name)
    save_checkpoint(Path(run_dir) / PLAYABLE_FILE, ema_model, play, {**info, "weights": "ema"})
    if keep > 0:  # the one just written always stays
        older = sorted(p for p in root.iterdir() if p.is_dir() and STEP_DIR.match(p.name) and p.name != name)
        for old in older[: max(0, len(older) - (keep - 1))]:
            shutil.rmtree(old, ignore_errors=True)
    for folder in (root, Path(run_dir)):  # `latest` names `final` now: no temp folder is needed any more
        remove_stale_temps(folder)
    return final


def remove_stale_temps(folder: Path) -> None:
    """Delete temp folders/files of `folder` whose writer process is gone (killed runs leak them)."""
    for entry in folder.iterdir():
        match = TEMP_DIR.match(entry.name) or TEMP_FILE.match(entry.name)
        if match is None or _running(int(match.group(1))):
            continue
        if entry.is_dir():
            shutil.rmtree(entry, ignore_errors=True)
        else:
            entry.unlink(missing_ok=True)


def _running(pid: int) -> bool:
    """Whether another process `pid` runs (our own pid: our temps are all finished by now)."""
    if pid == os.getpid():
        return False
    if os.name != "posix":
        return True  # no cheap check: never delete
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OverflowError):
        return True
    return True


def checkpoint_name(step: int) -> str:
    """The folder of step `step`'s checkpoint under checkpoints/, e.g. step_00020000."""
    return f"step_{step:08d}"


def latest_checkpoint(run_dir: Path) -> Path | None:
    root = Path(run_dir) / CHECKPOINT_DIR
    pointer = root / LATEST_FILE
    if not pointer.is_file():
        return None
    try:
        name = pointer.read_text().strip()
    except (OSError, UnicodeDecodeError) as error:
        raise ValueError(f"{pointer}: unreadable ({error}); delete it to start a new run") from error
    if not (STEP_DIR.match(name) or TEMP_DIR.match(name)):
        raise ValueError(f"{pointer} names {name[:80]!r}, not a step_<N> folder of {root}; write the name of "
                         "one into it or delete it to start a new run")
    path = root / name
    if not (path / "train_state.pt").is_file():
        raise ValueError(f"{pointer} names {path}, which is missing or incomplete")
    return path


def load_run_checkpoint(path: Path, device: torch.device) -> tuple[nn.Module, nn.Module, dict[str, Any]]:
    """-> (raw model, EMA model, training state) of checkpoint directory `path`."""
    train_state = load_train_state(path / "train_state.pt")
    model, _, _ = load_checkpoint(path / "model.safetensors", device)
    ema_model, _, _ = load_checkpoint(path / "ema.safetensors", device)
    return model, ema_model, train_state


def load_train_state(file: Path) -> dict[str, Any]:
    """The optimizer, EMA and data position of a run (torch.load with weights_only: no code runs)."""
    try:
        train_state = torch.load(file, map_location="cpu", weights_only=True)
    except Exception as error:  # a damaged zip or pickle raises almost any type (IndexError, ...)
        raise CheckpointError(f"{file}: unreadable training state ({type(error).__name__}: {error})") from error
    if not isinstance(train_state, dict) or not all(key in train_state for key in TRAIN_STATE_KEYS):
        raise CheckpointError(f"{file}: not a training state (expected a dict with keys {list(TRAIN_STATE_KEYS)})")
    return train_state


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
