"""The on-disk episode: one directory of .npy arrays plus meta.json (see docs/dataset-format.md).

`actions[t]` is the action that led to `frames[t]`; `actions[0]` is the action space's no-op.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from worldsim.actions import ActionSpace
from worldsim.data.npy_header import HEADER_ERRORS, read_npy_header

FORMAT_NAME = "worldsim-episode"
FORMAT_VERSION = 1
FRAMES_FILE = "frames.npy"  # uint8 (T, H, W, 3)
DISCRETE_FILE = "actions_discrete.npy"  # int64 (T,)
CONTINUOUS_FILE = "actions_continuous.npy"  # float32 (T, C)
META_FILE = "meta.json"
EPISODE_NAME = re.compile(r"^episode_(\d{6,})$")
TEMP_PREFIX = ".episode"  # unfinished episodes live in ".episode_<n>.tmp-<pid>" until renamed
BOUND_TOLERANCE = 1e-5  # continuous actions may exceed the bound by float rounding only
# Optional per-step extras with a fixed meaning (docs/dataset-format.md): reward[t] came with frame t,
# terminated/truncated[t] say the game ended at frame t. Checked for dtype and shape (T,) on reading.
SIGNAL_DTYPES = {"reward": np.float32, "terminated": np.bool_, "truncated": np.bool_}


class EpisodeError(ValueError):
    """An episode directory that is missing, truncated or inconsistent; the message names the file."""


def episode_name(index: int) -> str:
    return f"episode_{index:06d}"


def episode_index(name: str) -> int | None:
    """The number in "episode_000012", or None for any other name."""
    match = EPISODE_NAME.match(name)
    return int(match.group(1)) if match else None


def extra_file(name: str) -> str:
    return f"extra_{name}.npy"


@dataclass(frozen=True)
class EpisodeMeta:
    """Everything in meta.json. `extras` maps an extra array's name to its file (T, ...)."""

    length: int
    height: int
    width: int
    fps: float
    action_space: ActionSpace
    source: dict[str, Any] = field(default_factory=dict)
    created: str = ""
    extras: dict[str, str] = field(default_factory=dict)
    format_version: int = FORMAT_VERSION

    def to_dict(self) -> dict[str, Any]:
        return {
            "format": FORMAT_NAME,
            "format_version": self.format_version,
            "length": self.length,
            "height": self.height,
            "width": self.width,
            "fps": self.fps,
            "action_space": self.action_space.to_dict(),
            "source": self.source,
            "created": self.created,
            "extras": self.extras,
        }

    @classmethod
    def from_dict(cls, data: Any, where: str) -> EpisodeMeta:
        """Parse meta.json content; `where` (the file) is named in every error."""
        if not isinstance(data, dict):
            raise EpisodeError(f"{where}: expected a JSON object, got {type(data).__name__}")
        if data.get("format") != FORMAT_NAME:
            raise EpisodeError(f"{where}: 'format' is {data.get('format')!r}, expected {FORMAT_NAME!r}")
        version = data.get("format_version")
        if version != FORMAT_VERSION:
            raise EpisodeError(
                f"{where}: format_version {version!r} is not supported (expected {FORMAT_VERSION})"
            )
        for key in ("length", "height", "width"):
            value = data.get(key)
            if not isinstance(value, int) or isinstance(value, bool) or value < (0 if key == "length" else 1):
                raise EpisodeError(f"{where}: {key!r} must be a positive integer, got {value!r}")
        fps = data.get("fps")
        if not isinstance(fps, (int, float)) or isinstance(fps, bool) or not math.isfinite(fps) or fps <= 0:
            raise EpisodeError(f"{where}: 'fps' must be a finite number > 0, got {fps!r}")
        try:
            action_space = ActionSpace.from_dict(data.get("action_space"))
        except (ValueError, TypeError, AttributeError) as error:
            raise EpisodeError(f"{where}: bad 'action_space' ({error})") from error
        if action_space.num_discrete == 0 and action_space.num_continuous == 0:
            raise EpisodeError(f"{where}: action space has neither discrete nor continuous actions")
        source, extras = data.get("source", {}), data.get("extras", {})
        if not isinstance(source, dict):
            raise EpisodeError(f"{where}: 'source' must be an object, got {source!r}")
        if not isinstance(extras, dict) or not all(isinstance(v, str) for v in extras.values()):
            raise EpisodeError(f"{where}: 'extras' must map names to file names, got {extras!r}")
        return cls(
            length=data["length"],
            height=data["height"],
            width=data["width"],
            fps=float(fps),
            action_space=action_space,
            source=source,
            created=str(data.get("created", "")),
            extras=dict(extras),
            format_version=version,
        )


@dataclass(frozen=True)
class Episode:
    """A loaded episode; arrays are read-only memory maps unless read with mmap=False."""

    path: Path
    meta: EpisodeMeta
    frames: np.ndarray  # uint8 (T, H, W, 3)
    discrete: np.ndarray | None  # int64 (T,)
    continuous: np.ndarray | None  # float32 (T, C)
    extras: dict[str, np.ndarray] = field(default_factory=dict)  # name -> (T, ...)

    @property
    def name(self) -> str:
        return self.path.name

    @property
    def length(self) -> int:
        return self.meta.length

    @property
    def action_space(self) -> ActionSpace:
        return self.meta.action_space

    @property
    def reward(self) -> np.ndarray | None:
        """float32 (T,) if recorded: the reward that came with frame t (0 for frame 0)."""
        return self.extras.get("reward")

    @property
    def terminated(self) -> np.ndarray | None:
        return self.extras.get("terminated")  # bool (T,) if recorded

    @property
    def truncated(self) -> np.ndarray | None:
        return self.extras.get("truncated")  # bool (T,) if recorded


def read_meta(path: Path) -> EpisodeMeta:
    """Parse `path`/meta.json, raising EpisodeError for a missing or malformed file."""
    meta_path = Path(path) / META_FILE
    if not meta_path.is_file():
        raise EpisodeError(f"{meta_path}: missing (not an episode directory?)")
    try:
        data = json.loads(meta_path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError, RecursionError) as error:
        raise EpisodeError(f"{meta_path}: not valid JSON ({error})") from error
    except OSError as error:
        raise EpisodeError(f"{meta_path}: unreadable ({error})") from error
    return EpisodeMeta.from_dict(data, str(meta_path))


def read_episode(path: Path | str, mmap: bool = True) -> Episode:
    """Open an episode directory, checking every array's dtype and shape against meta.json and the
    actions against the action space. Raises EpisodeError naming the offending file."""
    path = Path(path)
    if not path.is_dir():
        raise EpisodeError(f"{path}: episode directory not found")
    meta = read_meta(path)
    space = meta.action_space
    frames = _load(path / FRAMES_FILE, np.uint8, (meta.length, meta.height, meta.width, 3), mmap)
    discrete = continuous = None
    if space.num_discrete:
        discrete = _load(path / DISCRETE_FILE, np.int64, (meta.length,), mmap)
        bad = np.flatnonzero((discrete < 0) | (discrete >= space.num_discrete))
        if bad.size:
            raise EpisodeError(
                f"{path / DISCRETE_FILE}: action {int(discrete[bad[0]])} at step {int(bad[0])} is out of "
                f"range [0, {space.num_discrete})"
            )
    if space.num_continuous:
        continuous = _load(path / CONTINUOUS_FILE, np.float32, (meta.length, space.num_continuous), mmap)
        finite = np.isfinite(continuous).all(axis=1)
        outside = np.abs(continuous).max(axis=1, initial=0.0) > space.continuous_bound + BOUND_TOLERANCE
        bad = np.flatnonzero(~finite | outside)
        if bad.size:
            raise EpisodeError(
                f"{path / CONTINUOUS_FILE}: action {continuous[bad[0]].tolist()} at step {int(bad[0])} "
                f"is not "
                f"finite or outside [-{space.continuous_bound}, {space.continuous_bound}]"
            )
    extras = {}
    for name, file in meta.extras.items():
        dtype, leading_only = (SIGNAL_DTYPES[name], False) if name in SIGNAL_DTYPES else (None, True)
        file_path = _extra_path(path, name, file)
        extras[name] = _load(file_path, dtype, (meta.length,), mmap, leading_only=leading_only)
    return Episode(
        path=path, meta=meta, frames=frames, discrete=discrete, continuous=continuous, extras=extras
    )


def check_episode_files(path: Path, meta: EpisodeMeta) -> None:
    """The fast part of `read_episode`: every array's header (dtype, shape, enough bytes) against
    meta.json, without reading data. Raises EpisodeError naming the file."""
    space = meta.action_space
    _check_header(path / FRAMES_FILE, np.uint8, (meta.length, meta.height, meta.width, 3))
    if space.num_discrete:
        _check_header(path / DISCRETE_FILE, np.int64, (meta.length,))
    if space.num_continuous:
        _check_header(path / CONTINUOUS_FILE, np.float32, (meta.length, space.num_continuous))
    for name, file in meta.extras.items():
        _check_header(_extra_path(path, name, file), None, (meta.length,), leading_only=True)


def _extra_path(path: Path, name: str, file: str) -> Path:
    """An extra's file, which must lie inside the episode folder (meta.json could name /etc/passwd)."""
    try:
        folder, target = path.resolve(), (path / file).resolve()
    except (OSError, ValueError) as error:
        raise EpisodeError(f"{path / META_FILE}: extra {name!r} names an unusable path {file!r} ({error})") from error
    if target == folder or not target.is_relative_to(folder):
        raise EpisodeError(f"{path / META_FILE}: extra {name!r} names {file!r}, outside the episode folder")
    return path / file


def _check_header(file: Path, dtype: type | None, shape: tuple[int, ...], leading_only: bool = False) -> None:
    if not file.is_file():
        raise EpisodeError(f"{file}: missing")
    try:
        header = read_npy_header(file)
    except OSError as error:
        raise EpisodeError(f"{file}: unreadable ({error})") from error
    except ValueError as error:
        raise EpisodeError(f"{file}: {error}") from error
    if dtype is not None and header.dtype != np.dtype(dtype):
        raise EpisodeError(f"{file}: dtype {header.dtype}, expected {np.dtype(dtype)}")
    if header.fortran_order:
        raise EpisodeError(f"{file}: stored in Fortran order, expected C order")
    actual = header.shape[:1] if leading_only else header.shape
    if actual != shape:
        what = "length" if leading_only else "shape"
        raise EpisodeError(f"{file}: {what} {actual}, expected {shape} from {META_FILE}")


def _load(
    file: Path, dtype: type | None, shape: tuple[int, ...], mmap: bool, leading_only: bool = False
) -> np.ndarray:
    """np.load after the header passed `_check_header` (so nothing larger than the file is allocated)."""
    _check_header(file, dtype, shape, leading_only)
    try:
        return np.load(file, mmap_mode="r" if mmap else None, allow_pickle=False)
    except (*HEADER_ERRORS, OSError) as error:
        raise EpisodeError(f"{file}: unreadable or truncated ({error})") from error
