"""Training clips, as dicts of frames uint8 (B, T, H, W, 3), discrete int64 (B, T), continuous (B, T, C).

Sources with one interface (`next_batch`, `state_dict`, `load_state_dict`, `close`) so that a resumed run
continues with exactly the batches it would have seen:
- `MazeClipSource`: the built-in maze rendered on the training device, no disk. Each clip is a pure
  function of (seed, global sample index), so the data position is just the batch counter.
- `MazeWorkerSource` (data.maze_workers > 0, maze_workers.py): the same batches, rendered on CPU in
  worker processes.
- `DatasetClipSource`: a recorded dataset through the data package's memory-mapped clip loader with
  worker processes; on resume the loader is rebuilt with the same seed and the consumed batches skipped.

Global sample index: with world size N and per-rank batch b, rank r's row j of batch i is clip
i·N·b + r·b + j, so a one-process run with batch N·b sees the same clips in the same order (ddp_check).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import torch

from worldsim.actions import ActionSpace
from worldsim.env.rollout import Batch
from worldsim.train.config import DataConfig
from worldsim.train.maze_pools import MazePools
from worldsim.train.maze_workers import MazeWorkerSource


class MazeClipSource:
    """Clips of fresh training mazes (seeds < HELD_OUT_SEED_BASE, disjoint from validation), rendered on the
    training device in this process, `data.maze_pool` batches at a time (maze_pools)."""

    def __init__(self, config: DataConfig, device: torch.device, seed: int, rank: int = 0, world_size: int = 1,
                 clip_length: int | None = None):
        self.config = config
        self.pools = MazePools.of(config, seed, clip_length or config.clip_length, rank, world_size)
        self.world = self.pools.make_world(device)
        self.position = 0
        self._pool: tuple[int, Batch] | None = None  # (pool index, the rendered pool)

    @property
    def action_space(self) -> ActionSpace:
        return self.world.action_space

    def next_batch(self) -> Batch:
        index, offset = divmod(self.position, self.config.maze_pool)
        if self._pool is None or self._pool[0] != index:
            self._pool = (index, self.pools.render(self.world, index))
        self.position += 1
        return self.pools.batch(self._pool[1], offset)

    def state_dict(self) -> dict[str, Any]:
        return {"position": self.position}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.position = int(state["position"])

    def close(self) -> None:
        """Nothing to release (the interface of sources that own processes)."""


class DatasetClipSource:
    """Clips of a recorded dataset (worldsim record) through `worldsim.data` 's clip loader."""

    def __init__(self, config: DataConfig, device: torch.device, seed: int, rank: int = 0, world_size: int = 1,
                 clip_length: int | None = None):
        from worldsim.data.clips import ClipDataset

        self.config = config
        self.clip_length = clip_length or config.clip_length
        self.device = device
        self.loader_seed = seed * 1009  # one global order; each rank reads its rows of every global batch
        self.rank, self.world_size = rank, world_size
        # up front, not when the loader first runs: every episode's headers and sizes, and the clip length
        self.info = ClipDataset(config.dataset_dir, self.clip_length, config.holdout_every).info
        self.position = 0
        self._iterator: Iterator[Batch] | None = None
        self._epoch = 0

    @property
    def action_space(self) -> ActionSpace:
        return self.info.action_space

    def _make_iterator(self) -> Iterator[Batch]:
        from worldsim.data.loader import make_clip_loader

        while True:  # one pass per epoch with its own seed, so the order stays reproducible
            loader = make_clip_loader(
                self.config.dataset_dir, clip_length=self.clip_length, batch_size=self.config.batch_size,
                num_workers=self.config.num_workers, seed=self.loader_seed + 7919 * self._epoch,
                pin_memory=self.device.type == "cuda", rank=self.rank, world_size=self.world_size,
                holdout_every=self.config.holdout_every,
            )
            yield from loader
            self._epoch += 1

    def next_batch(self) -> Batch:
        if self._iterator is None:
            self._iterator = self._make_iterator()
            for _ in range(self.position):  # resume: replay the consumed part of the order
                next(self._iterator)
        batch = next(self._iterator)
        self.position += 1
        # a dataset without continuous actions (e.g. Atari) has no "continuous" key: (B, T, 0) keeps one
        # shape; one without discrete actions no "discrete" key: zeros (the trainer passes None to a model
        # without discrete actions)
        frames = torch.as_tensor(batch["frames"])
        continuous = batch.get("continuous", torch.zeros(*frames.shape[:2], 0))
        discrete = batch.get("discrete", torch.zeros(*frames.shape[:2], dtype=torch.long))
        return {
            key: torch.as_tensor(value).to(self.device, non_blocking=True)
            for key, value in (("frames", frames), ("discrete", discrete), ("continuous", continuous))
        }

    def state_dict(self) -> dict[str, Any]:
        return {"position": self.position}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.position = int(state["position"])
        self._iterator = None
        self._epoch = 0

    def close(self) -> None:
        """The loader's workers end with its iterator; a later next_batch rebuilds it at `position`."""
        self._iterator = None
        self._epoch = 0


def make_clip_source(config: DataConfig, device: torch.device, seed: int, rank: int = 0, world_size: int = 1,
                     clip_length: int | None = None) -> MazeClipSource | MazeWorkerSource | DatasetClipSource:
    if config.source == "dataset":
        return DatasetClipSource(config, device, seed, rank, world_size, clip_length)
    if config.maze_workers > 0:
        return MazeWorkerSource(config, device, seed, rank, world_size, clip_length)
    return MazeClipSource(config, device, seed, rank, world_size, clip_length)
