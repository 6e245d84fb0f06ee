"""Euler steps per generated frame: the one default for training validation, evaluation and play.

DEFAULT_SAMPLING_STEPS = 3: the shipped weights were trained and validated with 3, and 3 steps + the commit
pass give 127.6 frames/s on an H100 (target 120; docs/playing.md). More steps sharpen a frame a little and
cost one model pass each.

Device rule: a CPU plays at most CPU_MAX_SAMPLING_STEPS = 2, because three model passes per frame (2 steps +
the commit) is what keeps a 2-core x86 CPU at 5.6 frames/s (target 5; docs/playing.md).

No torch import: command lines read these for their --help.
"""

from __future__ import annotations

from typing import Any

DEFAULT_SAMPLING_STEPS = 3
CPU_MAX_SAMPLING_STEPS = 2
MAX_SAMPLING_STEPS = 1000  # a checkpoint asking for more is damaged (each step is one model pass per frame)


def play_steps(device: Any, trained: int = DEFAULT_SAMPLING_STEPS) -> int:
    """The default Euler steps for playing on `device` (a torch.device): the trained ones, capped on a CPU."""
    return min(trained, CPU_MAX_SAMPLING_STEPS) if device.type == "cpu" else trained
