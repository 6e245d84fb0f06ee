"""Random clips of `clip_length` consecutive frames, read from memory-mapped episodes on demand.

Item i is a clip start position; positions are numbered over all episodes, so a uniform index is a
uniform draw over every valid (episode, start) pair. Episodes are opened lazily in each process, so the
dataset works in DataLoader workers (fork or spawn) without loading anything into memory up front.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch.utils.data import Dataset, Sampler

from worldsim.data.dataset import DatasetError, open_dataset
from worldsim.data.episode import Episode, read_episode
from worldsim.data.holdout import is_held_out


class ClipDataset(Dataset):
    """`dataset[i]` -> {"frames": uint8 (T, H, W, 3), "discrete": int64 (T,), "continuous": float32 (T, C),
    "episode": str, "start": int}; "discrete"/"continuous" only when the action space has them. Episodes
    held out for validation (`holdout_every`, see holdout.py) are never read."""

    def __init__(self, dataset_dir: Path | str, clip_length: int, holdout_every: int = 0) -> None:
        if clip_length < 1:
            raise ValueError(f"clip_length must be >= 1, got {clip_length}")
        self.info = open_dataset(dataset_dir)
        self.clip_length = clip_length
        names = [name for name in self.info.names if not is_held_out(name, holdout_every)]  # holdout.py
        if not names:
            raise DatasetError(f"{self.info.path}: all {len(self.info.names)} episodes are held out for "
                               f"validation (holdout_every={holdout_every}); record more episodes or raise "
                               f"data.holdout_every")
        lengths = dict(zip(self.info.names, self.info.lengths))
        usable = [(name, lengths[name]) for name in names if lengths[name] >= clip_length]
        skipped = len(names) - len(usable)
        if not usable:
            longest = max(lengths[name] for name in names)
            raise DatasetError(
                f"{self.info.path}: no episode has {clip_length} frames (longest: {longest}); "
                f"use a shorter clip length or record longer episodes"
            )
        if skipped:
            warnings.warn(
                f"{self.info.path}: skipping {skipped} of {len(names)} episodes shorter than "
                f"{clip_length} frames",
                stacklevel=2,
            )
        self.names = [name for name, _ in usable]
        starts = np.array([length - clip_length + 1 for _, length in usable], dtype=np.int64)
        self.first_position = np.concatenate([[0], np.cumsum(starts)])  # (E + 1,)
        self._episodes: dict[str, Episode] = {}
        self._owner_pid = os.getpid()

    def __len__(self) -> int:
        return int(self.first_position[-1])

    def locate(self, index: int) -> tuple[str, int]:
        """Clip position -> (episode name, start frame)."""
        if not 0 <= index < len(self):
            raise IndexError(f"clip index {index} out of range [0, {len(self)})")
        episode = int(np.searchsorted(self.first_position, index, side="right")) - 1
        return self.names[episode], int(index - self.first_position[episode])

    def __getitem__(self, index: int) -> dict[str, Any]:
        name, start = self.locate(int(index))
        episode = self._episode(name)
        window = slice(start, start + self.clip_length)
        clip: dict[str, Any] = {"frames": torch.from_numpy(np.array(episode.frames[window]))}
        if episode.discrete is not None:
            clip["discrete"] = torch.from_numpy(np.array(episode.discrete[window]))
        if episode.continuous is not None:
            clip["continuous"] = torch.from_numpy(np.array(episode.continuous[window]))
        clip["episode"] = name
        clip["start"] = start
        return clip

    def _episode(self, name: str) -> Episode:
        if self._owner_pid != os.getpid():  # forked worker: do not share the parent's file handles
            self._episodes, self._owner_pid = {}, os.getpid()
        if name not in self._episodes:
            self._episodes[name] = read_episode(self.info.path / name, mmap=True)
        return self._episodes[name]

    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        state["_episodes"] = {}  # memory maps would be pickled as whole arrays (spawned workers)
        return state


class UniformClipSampler(Sampler[int]):
    """`num_samples` clip positions drawn uniformly with replacement; the same seed gives the same order.

    With `world_size` > 1 the order is cut into global batches of world_size·`rank_batch` and this
    sampler yields only `rank` 's consecutive `rank_batch` rows of each (num_samples a multiple of it).
    """

    def __init__(self, num_positions: int, num_samples: int, seed: int, rank: int = 0, world_size: int = 1,
                 rank_batch: int = 1) -> None:
        if num_positions < 1 or num_samples < 1:
            raise ValueError(f"need positions and samples >= 1, got {num_positions} and {num_samples}")
        if world_size > 1 and num_samples % (world_size * rank_batch):
            raise ValueError(f"num_samples {num_samples} is not a multiple of the global batch")
        self.rank, self.world_size, self.rank_batch = rank, world_size, rank_batch
        self.num_positions = num_positions
        self.num_samples = num_samples
        self.seed = seed

    def __len__(self) -> int:
        return self.num_samples // self.world_size

    def __iter__(self) -> Iterator[int]:
        generator = torch.Generator().manual_seed(self.seed)
        order = torch.randint(self.num_positions, (self.num_samples,), generator=generator)
        if self.world_size > 1:
            order = order.reshape(-1, self.world_size, self.rank_batch)[:, self.rank].reshape(-1)
        return iter(order.tolist())
