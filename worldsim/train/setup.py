"""Everything a run needs before its first step: run directory, model, optimizer, EMA, resume."""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
import yaml
from torch import nn

from worldsim.config import to_dict
from worldsim.data.atomic import write_text_atomic
from worldsim.model.world_model import WorldModel
from worldsim.train.config import TrainConfig
from worldsim.train.ema import EMA
from worldsim.train.init_weights import architecture, load_initial_weights
from worldsim.train.run_checkpoints import (
    config_differences,
    latest_checkpoint,
    load_run_checkpoint,
    saved_model_config,
)

# The "final norm and output layer" of Direct Forcing's fine-tuning stage: WorldModel.head holds the
# adaLN-modulated final LayerNorm and the linear map to patches.
OUTPUT_PARAMETER_PREFIX = "head."


def resolve_precision(config: TrainConfig, device: torch.device) -> torch.dtype | None:
    """-> autocast dtype (None = fp32). GPU-only options on a CPU device are errors."""
    if config.precision == "bf16" and device.type != "cuda":
        raise ValueError("precision: bf16 autocast needs a CUDA device (this run is on the CPU; use fp32/auto)")
    if config.compile and device.type != "cuda":
        raise ValueError("compile: torch.compile training is supported on CUDA only (set compile=false)")
    if config.precision == "bf16" or (config.precision == "auto" and device.type == "cuda"):
        return torch.bfloat16
    return None


def check_clip_fits(config: TrainConfig, device: torch.device) -> None:
    """Refuse a clip length whose training step cannot fit in the device's memory, before any work."""
    from worldsim.model.memory import training_bytes_lower_bound
    from worldsim.model.ssd_scan import resolve_backend

    data = config.data
    backend = resolve_backend(config.model.ssm_backend, device)
    need = training_bytes_lower_bound(config.model, data.batch_size, data.clip_length, backend)
    have = _memory_bytes(device)
    if have is not None and need > have:
        raise ValueError(
            f"data.clip_length={data.clip_length} with data.batch_size={data.batch_size} needs at least "
            f"{need / 2**30:,.1f} GiB for one training step ({backend} SSM scan), this {device.type} device has "
            f"{have / 2**30:,.1f} GiB: lower data.clip_length or data.batch_size"
        )


def _memory_bytes(device: torch.device) -> int | None:
    """Total memory of a CUDA device or of this machine (None when the system does not say)."""
    if device.type == "cuda":
        return torch.cuda.get_device_properties(device).total_memory
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (AttributeError, ValueError, OSError):
        return None


def prepare_run_dir(out: Path, resume: bool) -> None:
    """Create `out` and prove it is writable, before anything expensive happens."""
    out = Path(out)
    try:
        out.mkdir(parents=True, exist_ok=True)
        probe = out / f".write-test-{os.getpid()}"
        probe.write_text("ok")
        probe.unlink()
    except OSError as error:
        raise ValueError(f"--out {out}: cannot write there ({error.strerror or error})") from error
    if resume and latest_checkpoint(out) is None:
        print(f"--resume: no checkpoint under {out} yet; starting a new run", file=sys.stderr)
    if not resume and latest_checkpoint(out) is not None:
        raise ValueError(f"--out {out} already holds checkpoints; pass --resume to continue it or choose a new --out")


def save_config(out: Path, config: TrainConfig) -> None:
    write_text_atomic(Path(out) / "config.yaml", yaml.safe_dump(to_dict(config), sort_keys=False))


def trainable_parameters(model: nn.Module, config: TrainConfig) -> list[tuple[str, nn.Parameter]]:
    """All parameters, or only the output head for Direct Forcing with train_only_output."""
    named = list(model.named_parameters())
    if config.direct_forcing.enabled and config.direct_forcing.train_only_output:
        named = [(n, p) for n, p in named if n.startswith(OUTPUT_PARAMETER_PREFIX)]
        if not named:
            raise ValueError(f"direct_forcing.train_only_output: no parameter named {OUTPUT_PARAMETER_PREFIX}*")
    chosen = {id(p) for _, p in named}
    for parameter in model.parameters():
        parameter.requires_grad_(id(parameter) in chosen)
    return named


# Parameters with two or more dimensions that are not matrices of a map: the pack's gate logits (decay
# would pull every gate towards 0.5, i.e. forgetting within a few segments), attention bias tables and the
# odometry's per-action moves (decay would shrink every step the pose takes).
NOT_DECAYED_TABLES = ("embed", "pack.persist", "position_bias", "odometry.advance")


def decays(name: str, parameter: nn.Parameter) -> bool:
    """Whether AdamW's weight decay applies: matrices only (not norms, biases, embeddings, gates, bias tables)."""
    return parameter.dim() >= 2 and not any(table in name for table in NOT_DECAYED_TABLES)


def make_optimizer(named: list[tuple[str, nn.Parameter]], config: TrainConfig, fused: bool) -> torch.optim.AdamW:
    """AdamW; weight decay on matrices only (`decays`)."""
    decay = [p for n, p in named if decays(n, p)]
    no_decay = [p for n, p in named if not decays(n, p)]
    groups = [{"params": decay, "weight_decay": config.optim.weight_decay},
              {"params": no_decay, "weight_decay": 0.0}]
    return torch.optim.AdamW(groups, lr=config.optim.lr, betas=(config.optim.beta1, config.optim.beta2),
                             fused=fused or None)


@dataclass
class RunState:
    model: nn.Module
    ema: EMA
    optimizer: torch.optim.AdamW
    step: int
    train_state: dict[str, Any] | None  # what the resumed checkpoint saved (None on a fresh run)
    init_summary: str | None = None  # init_shared: what init_from gave the model (printed at start)


def build_run(config: TrainConfig, out: Path, resume: bool, device: torch.device) -> RunState:
    """Fresh model (seeded), `init_from` weights, or the run directory's latest checkpoint (--resume)."""
    checkpoint_dir = latest_checkpoint(out) if resume else None
    init_summary = None
    if checkpoint_dir is not None:
        differences = config_differences({"model": architecture(saved_model_config(checkpoint_dir))},
                                         {"model": architecture(to_dict(config.model))})
        if differences:
            raise ValueError(
                f"--resume: the model config differs from the checkpoint {checkpoint_dir}: " + "; ".join(differences)
            )
        model, ema_model, train_state = load_run_checkpoint(checkpoint_dir, device)
        model.train()
    else:
        torch.manual_seed(config.seed)
        model, train_state = WorldModel(config.model).to(device), None
        if config.init_from:
            init_summary = load_initial_weights(config, model, device)
        ema_model = None
    named = trainable_parameters(model, config)
    optimizer = make_optimizer(named, config, fused=device.type == "cuda")
    ema = EMA(model, config.optim.ema_decay)
    step = 0
    if train_state is not None:
        ema.shadow.load_state_dict(ema_model.state_dict())
        ema.load_state_dict(train_state["ema"])
        optimizer.load_state_dict(train_state["optimizer"])
        step = int(train_state["step"])
    return RunState(model, ema, optimizer, step, train_state, init_summary)
