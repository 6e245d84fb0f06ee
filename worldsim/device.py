"""The torch device a command runs on, from what the user asked for ("auto", "cpu", "cuda", "cuda:1")."""

from __future__ import annotations

import torch


def resolve_device(requested: str | torch.device) -> torch.device:
    """"auto" picks CUDA when present, else the CPU; CUDA asked for without a GPU is an error, not a silent
    CPU run."""
    if str(requested) == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        device = torch.device(requested)
    except (RuntimeError, TypeError) as error:
        raise ValueError(f"device {requested!r}: not a device (use auto, cpu, cuda or cuda:N)") from error
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"device {device}: cuda requested but no CUDA GPU is available (use cpu or auto)")
    return device
