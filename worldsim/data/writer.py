"""Write one episode step by step into a hidden temp directory and rename it into place when complete,
so an interrupted recording never leaves a half-written episode where readers look."""

from __future__ import annotations

import datetime
import os
import shutil
import uuid
from pathlib import Path
from typing import Any

import numpy as np

from worldsim.actions import ActionSpace
from worldsim.data.atomic import write_json_atomic
from worldsim.data.dataset import check_can_append, write_index
from worldsim.data.episode import (
    CONTINUOUS_FILE,
    DISCRETE_FILE,
    FRAMES_FILE,
    META_FILE,
    TEMP_PREFIX,
    EpisodeMeta,
    episode_index,
    episode_name,
    extra_file,
)
from worldsim.data.npy_append import NpyAppender

MAX_RENAME_ATTEMPTS = 1000  # other writers may take the next number between our look and our rename


class EpisodeWriter:
    """Collects frames and actions of one episode; `close()` publishes it as `episode_<n>/`.

    Arrays grow on disk (no frame is kept in memory). `source` records where the episode came from
    (env id, seed, policy, ...). Call `discard()` if the episode must not be kept (e.g. on an exception).
    """

    def __init__(
        self, dataset_dir: Path | str, action_space: ActionSpace, fps: float, source: dict[str, Any]
    ) -> None:
        if fps <= 0:
            raise ValueError(f"fps must be positive, got {fps}")
        self.dataset_dir = Path(dataset_dir)
        self.action_space = action_space
        self.fps = float(fps)
        self.source = dict(source)
        self.dataset_dir.mkdir(parents=True, exist_ok=True)
        self.temp_dir = self.dataset_dir / f"{TEMP_PREFIX}.tmp-{os.getpid()}-{uuid.uuid4().hex[:8]}"
        self.temp_dir.mkdir()
        self._frames: NpyAppender | None = None
        self._discrete = (
            NpyAppender(self.temp_dir / DISCRETE_FILE, (), np.int64) if action_space.num_discrete else None
        )
        self._continuous = (
            NpyAppender(self.temp_dir / CONTINUOUS_FILE, (action_space.num_continuous,), np.float32)
            if action_space.num_continuous
            else None
        )
        self._extras: dict[str, NpyAppender] = {}
        self._open = True

    @property
    def length(self) -> int:
        return self._frames.length if self._frames else 0

    def add(
        self,
        frame: np.ndarray,
        discrete: int | None = None,
        continuous: np.ndarray | None = None,
        extras: dict[str, np.ndarray] | None = None,
    ) -> None:
        """Append frame t (uint8 (H, W, 3)) and the action that led to it. For t = 0 pass the no-op.

        `extras` are per-step arrays of a fixed shape (e.g. "pose": (3,)), stored as extra_<name>.npy.
        """
        if not self._open:
            raise ValueError(f"{self.temp_dir}: episode already closed or discarded")
        frame = np.asarray(frame)
        if frame.dtype != np.uint8 or frame.ndim != 3 or frame.shape[2] != 3:
            raise ValueError(f"frame must be uint8 (H, W, 3), got {frame.dtype} {frame.shape}")
        where = f"step {self.length} of {self.temp_dir.name}"
        if self._frames is not None and frame.shape != self._frames.row_shape:
            raise ValueError(
                f"{where}: frame shape {frame.shape}, earlier frames were {self._frames.row_shape}"
            )
        if self._discrete is not None:
            if discrete is None:
                raise ValueError(f"{where}: this action space needs a discrete action")
            self.action_space.check_discrete(int(discrete), where)
        if self._continuous is not None:
            if continuous is None:
                raise ValueError(f"{where}: this action space needs a continuous action")
            self.action_space.check_continuous(continuous, where)
        extras = {name: np.asarray(value) for name, value in (extras or {}).items()}
        if self.length and set(extras) != set(self._extras):
            raise ValueError(f"{where}: extras {sorted(extras)}, step 0 had {sorted(self._extras)}")
        for name, value in extras.items():
            if name in self._extras and value.shape != self._extras[name].row_shape:
                raise ValueError(
                    f"{where}: extra {name!r} of shape {value.shape}, expected {self._extras[name].row_shape}"
                )
        # Validated: now append, so a rejected step leaves no partial row behind.
        if self._frames is None:
            try:
                check_can_append(self.dataset_dir, self.action_space, frame.shape[0], frame.shape[1])
            except ValueError:
                self.discard()
                raise
            self._frames = NpyAppender(self.temp_dir / FRAMES_FILE, frame.shape, np.uint8)
            for name, value in extras.items():
                self._extras[name] = NpyAppender(self.temp_dir / extra_file(name), value.shape, value.dtype)
        for name, value in extras.items():
            self._extras[name].append(value)
        if self._discrete is not None:
            self._discrete.append(np.int64(discrete))
        if self._continuous is not None:
            bound = self.action_space.continuous_bound
            self._continuous.append(np.clip(np.asarray(continuous, dtype=np.float32), -bound, bound))
        self._frames.append(frame)

    def close(self) -> Path:
        """Finish every file, write meta.json, rename into `episode_<n>/` and return that path."""
        if not self._open:
            raise ValueError(f"{self.temp_dir}: episode already closed or discarded")
        if self._frames is None:
            raise ValueError(f"{self.temp_dir}: cannot close an episode with no frames")
        for array in self._arrays():
            array.finish()
        height, width, _ = self._frames.row_shape
        meta = EpisodeMeta(
            length=self.length,
            height=height,
            width=width,
            fps=self.fps,
            action_space=self.action_space,
            source=self.source,
            created=datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
            extras={name: extra_file(name) for name in self._extras},
        )
        write_json_atomic(self.temp_dir / META_FILE, meta.to_dict())
        final = self._publish()
        self._open = False
        write_index(self.dataset_dir)
        return final

    def discard(self) -> None:
        """Drop the unfinished episode and its temp directory."""
        for array in self._arrays():
            array.abandon()  # never raises, so the folder below is always removed
        shutil.rmtree(self.temp_dir, ignore_errors=True)
        self._open = False

    def _arrays(self) -> list[NpyAppender]:
        arrays = [self._frames, self._discrete, self._continuous, *self._extras.values()]
        return [array for array in arrays if array is not None]

    def _publish(self) -> Path:
        """Rename the temp dir to the next free episode number; rename fails if another writer won it."""
        for _ in range(MAX_RENAME_ATTEMPTS):
            final = self.dataset_dir / episode_name(next_episode_index(self.dataset_dir))
            try:
                os.rename(self.temp_dir, final)
                return final
            except OSError:
                if not final.exists():
                    raise
        raise OSError(f"{self.dataset_dir}: could not find a free episode number")


def next_episode_index(dataset_dir: Path) -> int:
    """One past the highest episode number in `dataset_dir` (0 when there is none)."""
    indices = [episode_index(entry.name) for entry in Path(dataset_dir).iterdir() if entry.is_dir()]
    return max((index for index in indices if index is not None), default=-1) + 1
