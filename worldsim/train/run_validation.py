"""A run's validation at `logging.validate_every`: the EMA weights on held-out clips (one-step, rollout,
still PSNR, drift, a PNG strip) and, with `logging.memory_outbound`, the retrace memory gain."""

from __future__ import annotations

from pathlib import Path

import torch
from torch import nn
from tqdm import tqdm

from worldsim.actions import ActionSpace
from worldsim.env.rollout import Batch
from worldsim.eval.validation import memory_validation_clips, validate, validate_memory
from worldsim.train.config import TrainConfig
from worldsim.train.held_out import held_out_clips


class RunValidator:
    """Builds its clips on first use (held-out mazes or episodes, retrace walks) and keeps them for the run."""

    def __init__(self, config: TrainConfig, device: torch.device):
        self.config, self.device = config, device
        self.clips: Batch | None = None
        self.clips_loaded = False
        self.memory_clips: Batch | None = None

    def metrics(self, model: nn.Module, step: int, samples: Path, action_space: ActionSpace) -> dict[str, float] | None:
        """Validation metrics of `model` at `step` (strip written under `samples`); None: nothing to validate."""
        config, logging = self.config, self.config.logging
        if not self.clips_loaded:
            self.clips, why_not = held_out_clips(config, self.device)
            self.clips_loaded = True
            if why_not is not None:
                tqdm.write(f"no validation in this run: {why_not}")
        if self.clips is None:
            return None
        metrics = validate(model, self.clips, logging.validation_context, logging.validation_rollout,
                           logging.sampling_steps, samples / f"step_{step:08d}.png", seed=config.seed,
                           action_space=action_space)
        if logging.memory_outbound > 0:
            if self.memory_clips is None:
                self.memory_clips = memory_validation_clips(config.data.maze, logging.validation_clips,
                                                            logging.memory_outbound, self.device)
            metrics |= validate_memory(model, self.memory_clips, logging.memory_outbound + 1,
                                       logging.sampling_steps, seed=config.seed)
        return metrics
