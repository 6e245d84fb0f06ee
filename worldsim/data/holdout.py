"""Episodes held out of training for validation, by a rule on the episode number alone: an episode's role
never changes when episodes are appended, so a resumed run trains and validates on the same episodes.

Episode n (directory episode_<n>) is held out when (n + 1) % every == 0: with every = 10 (the default
of `data.holdout_every`) episodes 9, 19, 29, ..., one in ten; every = 0 holds out none.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
from torch import Tensor

from worldsim.data.dataset import DatasetError, DatasetInfo
from worldsim.data.episode import episode_index


def is_held_out(name: str, every: int) -> bool:
    index = episode_index(name)
    return every > 0 and index is not None and (index + 1) % every == 0


def held_out_names(names: Sequence[str], every: int) -> list[str]:
    return [name for name in names if is_held_out(name, every)]


def episode_clips(info: DatasetInfo, names: Sequence[str], count: int, length: int) -> dict[str, Tensor]:
    """`count` clips of `length` frames from the episodes `names` (e.g. the held-out ones): each long-enough
    episode's first clip (from its reset frame) in the given order, then each one's second (frames
    length.., non-overlapping), and so on. -> frames uint8 (B, L, H, W, 3), discrete int64 (B, L) (zeros
    without discrete actions), continuous float32 (B, L, C) (C may be 0). DatasetError when no episode of
    `names` is `length` frames long."""
    lengths = dict(zip(info.names, info.lengths))
    usable = [name for name in names if lengths[name] >= length]
    if not usable:
        longest = f" (longest: {max(lengths[name] for name in names)} frames)" if names else ""
        raise DatasetError(f"{info.path}: none of the {len(names)} validation episodes has the {length} "
                           f"frames a clip needs{longest}")
    starts = [(name, k * length) for k in range(max(lengths[n] for n in usable) // length) for name in usable
              if (k + 1) * length <= lengths[name]][:count]
    clips = [_clip(info, name, start, length) for name, start in starts]
    return {key: torch.stack([clip[key] for clip in clips]) for key in clips[0]}


def _clip(info: DatasetInfo, name: str, start: int, length: int) -> dict[str, Tensor]:
    episode = info.read(name)
    window = slice(start, start + length)
    discrete = np.zeros(length, np.int64) if episode.discrete is None else episode.discrete[window]
    continuous = np.zeros((length, 0), np.float32)
    if episode.continuous is not None:
        continuous = episode.continuous[window]
    return {
        "frames": torch.from_numpy(np.array(episode.frames[window])),
        "discrete": torch.from_numpy(np.array(discrete)),
        "continuous": torch.from_numpy(np.array(continuous)),
    }
