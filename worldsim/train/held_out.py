"""The trainer's validation clips: held-out mazes (source: maze) or held-out episodes (source: dataset,
worldsim.data.holdout), `logging.validation_clips` clips of validation_context + validation_rollout frames."""

from __future__ import annotations

import torch

from worldsim.env.rollout import Batch
from worldsim.train.config import TrainConfig


def held_out_clips(config: TrainConfig, device: torch.device) -> tuple[Batch | None, str | None]:
    """(clips on `device`, None), or (None, why there is nothing to validate on)."""
    logging, data = config.logging, config.data
    length = logging.validation_context + logging.validation_rollout
    if logging.validation_clips < 1:
        return None, "logging.validation_clips is 0"
    if data.source == "maze":
        from worldsim.eval.validation import validation_clips

        return validation_clips(data.maze, logging.validation_clips, length, device), None
    from worldsim.data.dataset import DatasetError, open_dataset
    from worldsim.data.holdout import episode_clips, held_out_names

    info = open_dataset(data.dataset_dir, check_arrays=False)
    held_out = held_out_names(info.names, data.holdout_every)
    if not held_out:
        return None, (f"{info.path}: no episode held out (data.holdout_every={data.holdout_every} holds out "
                      f"episodes n with (n + 1) % holdout_every == 0)")
    try:
        clips = episode_clips(info, held_out, logging.validation_clips, length)
    except DatasetError as error:
        return None, (f"{error}: record more or longer episodes, or lower logging.validation_context / "
                      f"validation_rollout")
    return {key: value.to(device) for key, value in clips.items()}, None
