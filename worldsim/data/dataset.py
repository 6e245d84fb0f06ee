"""A dataset: a directory of `episode_<n>/` directories plus `index.json`, a summary rewritten atomically
after each finished episode. Readers trust the episode directories; the index is for people and tools."""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from pathlib import Path

from worldsim.actions import ActionSpace
from worldsim.data.atomic import write_json_atomic
from worldsim.data.episode import (
    META_FILE,
    TEMP_PREFIX,
    Episode,
    EpisodeError,
    EpisodeMeta,
    check_episode_files,
    episode_index,
    episode_name,
    read_episode,
    read_meta,
)

INDEX_FILE = "index.json"
LISTED_PROBLEMS = 5  # broken episodes named in an error; `worldsim data check` lists them all
DATASET_FORMAT = "worldsim-dataset"
DATASET_FORMAT_VERSION = 1


class DatasetError(ValueError):
    """A dataset directory that cannot be used as asked; the message names the directory or episodes."""


@dataclass(frozen=True)
class DatasetInfo:
    """The episodes of a consistent dataset (same resolution and action space), in episode order."""

    path: Path
    names: tuple[str, ...]
    metas: tuple[EpisodeMeta, ...]
    height: int
    width: int
    action_space: ActionSpace

    @property
    def lengths(self) -> tuple[int, ...]:
        return tuple(meta.length for meta in self.metas)

    @property
    def total_frames(self) -> int:
        return sum(self.lengths)

    def read(self, name: str, mmap: bool = True) -> Episode:
        return read_episode(self.path / name, mmap=mmap)


def episode_dirs(dataset_dir: Path) -> list[Path]:
    """Finished episode directories, sorted by number. Temp directories are not included."""
    found = [(episode_index(p.name), p) for p in Path(dataset_dir).iterdir() if p.is_dir()]
    return [path for index, path in sorted((i, p) for i, p in found if i is not None)]


def misnamed_episode_dirs(dataset_dir: Path) -> list[Path]:
    """Directories holding a meta.json whose name is not episode_<6+ digits>: readers skip them."""
    return sorted(
        p for p in Path(dataset_dir).iterdir()
        if p.is_dir() and episode_index(p.name) is None and not p.name.startswith(TEMP_PREFIX)
        and (p / META_FILE).is_file()
    )


def misnamed_hint(paths: list[Path]) -> str:
    """'episode_0 (rename to episode_000000), ...' for misnamed_episode_dirs (the number: the name's
    digits, else its rank)."""
    hints = []
    for rank, path in enumerate(paths):
        digits = "".join(ch for ch in path.name if ch.isdigit())
        hints.append(f"{path.name} (rename to {episode_name(int(digits) if digits else rank)})")
    return ", ".join(hints)


def no_episodes_message(dataset_dir: Path) -> str:
    message = (f"{dataset_dir}: no episodes: readers take directories named episode_ + 6 or more digits "
               f"(episode_000000, ...)")
    misnamed = misnamed_episode_dirs(dataset_dir)
    return message + (f"; found {misnamed_hint(misnamed)}" if misnamed else "")


def temp_dirs(dataset_dir: Path) -> list[Path]:
    """Unfinished episodes: left by a recording that was killed, or still being written."""
    return sorted(p for p in Path(dataset_dir).iterdir() if p.is_dir() and p.name.startswith(TEMP_PREFIX))


def open_dataset(dataset_dir: Path | str, check_arrays: bool = True) -> DatasetInfo:
    """Read every episode's meta.json and check they agree; with `check_arrays`, also every array's header
    and size against it (fast: no array data is read). Any broken episode is an error naming it, so a
    training run stops before its first step instead of when the episode is sampled."""
    dataset_dir = Path(dataset_dir)
    if not dataset_dir.is_dir():
        raise FileNotFoundError(f"dataset directory not found: {dataset_dir}")
    dirs = episode_dirs(dataset_dir)
    if not dirs:
        raise DatasetError(no_episodes_message(dataset_dir))
    metas, broken = [], []
    for path in dirs:
        try:
            metas.append(read_meta(path))
            if check_arrays:
                check_episode_files(path, metas[-1])
        except EpisodeError as error:
            broken.append(str(error))
    if broken:
        listed = "\n  ".join(broken[:LISTED_PROBLEMS]) + ("\n  ..." if len(broken) > LISTED_PROBLEMS else "")
        raise DatasetError(
            f"{dataset_dir}: {len(broken)} of {len(dirs)} episodes are broken (delete or re-record them; "
            f"`worldsim data check {dataset_dir}` lists them all):\n  {listed}"
        )
    for path, meta in zip(dirs[1:], metas[1:]):
        _check_agree(dirs[0].name, metas[0], path.name, meta, dataset_dir)
    return DatasetInfo(
        path=dataset_dir,
        names=tuple(path.name for path in dirs),
        metas=tuple(metas),
        height=metas[0].height,
        width=metas[0].width,
        action_space=metas[0].action_space,
    )


def check_can_append(dataset_dir: Path | str, action_space: ActionSpace, height: int, width: int) -> None:
    """Raise DatasetError if `dataset_dir` holds episodes of another resolution or action space."""
    dataset_dir = Path(dataset_dir)
    if not dataset_dir.is_dir():
        return
    for path in episode_dirs(dataset_dir):
        try:
            meta = read_meta(path)
        except EpisodeError:
            continue  # a broken episode is `check`'s business, not a reason to refuse new ones
        if (meta.height, meta.width) != (height, width):
            raise DatasetError(
                f"{dataset_dir}: cannot append {height}x{width} frames to a dataset of "
                f"{meta.height}x{meta.width} frames ({path.name}); record into another directory"
            )
        if meta.action_space != action_space:
            raise DatasetError(
                f"{dataset_dir}: cannot append episodes with action space {action_space.to_dict()} to a "
                f"dataset whose action space is {meta.action_space.to_dict()} ({path.name})"
            )
        return


def write_index(dataset_dir: Path | str) -> Path:
    """Rewrite index.json from the episodes' meta.json files (unreadable episodes are left out)."""
    dataset_dir = Path(dataset_dir)
    entries, first = [], None
    for path in episode_dirs(dataset_dir):
        try:
            meta = read_meta(path)
        except EpisodeError:
            continue
        first = first or meta
        entries.append({"name": path.name, "length": meta.length, "source": meta.source})
    index = {
        "format": DATASET_FORMAT,
        "format_version": DATASET_FORMAT_VERSION,
        "updated": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "num_episodes": len(entries),
        "total_frames": sum(entry["length"] for entry in entries),
        "height": first.height if first else None,
        "width": first.width if first else None,
        "action_space": first.action_space.to_dict() if first else None,
        "episodes": entries,
    }
    path = dataset_dir / INDEX_FILE
    write_json_atomic(path, index)
    return path


def _check_agree(name_a: str, a: EpisodeMeta, name_b: str, b: EpisodeMeta, dataset_dir: Path) -> None:
    if (a.height, a.width) != (b.height, b.width):
        raise DatasetError(
            f"{dataset_dir}: episodes disagree on resolution: {name_a} is {a.height}x{a.width}, "
            f"{name_b} is {b.height}x{b.width}"
        )
    if a.action_space != b.action_space:
        raise DatasetError(
            f"{dataset_dir}: episodes disagree on action space: {name_a} has {a.action_space.to_dict()}, "
            f"{name_b} has {b.action_space.to_dict()}"
        )
