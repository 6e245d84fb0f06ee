"""What changes with the optimizer step: the learning rate and the Direct Forcing clip curriculum."""

from __future__ import annotations

import math

from worldsim.train.config import DirectForcingConfig, OptimConfig, ScheduleConfig


def learning_rate(step: int, optim: OptimConfig, schedule: ScheduleConfig) -> float:
    """Linear warm-up from 0, then cosine decay to min_lr_ratio·lr at max_steps (step is 0-based)."""
    if step < schedule.warmup_steps:
        return optim.lr * (step + 1) / schedule.warmup_steps
    decay_steps = max(1, schedule.max_steps - schedule.warmup_steps)
    progress = min(1.0, (step - schedule.warmup_steps) / decay_steps)
    cosine = 0.5 * (1.0 + math.cos(math.pi * progress))
    return optim.lr * (schedule.min_lr_ratio + (1.0 - schedule.min_lr_ratio) * cosine)


def clips_for_step(step: int, config: DirectForcingConfig) -> int:
    """Curriculum (Wu et al. 2025, §6.4): start with `clips_start` clips per trajectory (an
    image-to-video-like task) and grow linearly to `clips_max` over `curriculum_steps` steps."""
    progress = min(1.0, step / max(1, config.curriculum_steps))
    return config.clips_start + int(progress * (config.clips_max - config.clips_start))
