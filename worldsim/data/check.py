"""`worldsim data check`: open every episode fully and report what is broken, by episode name."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from tqdm import tqdm

from worldsim.data.dataset import (
    INDEX_FILE,
    DatasetError,
    episode_dirs,
    misnamed_episode_dirs,
    misnamed_hint,
    no_episodes_message,
    temp_dirs,
)
from worldsim.data.episode import EpisodeError, read_episode


@dataclass
class CheckReport:
    """`broken` maps an episode name to the reason; stale temp dirs and a stale index are warnings only."""

    dataset_dir: Path
    checked: int = 0
    broken: dict[str, str] = field(default_factory=dict)
    stale_temp_dirs: list[Path] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.broken


def check_dataset(dataset_dir: Path | str, progress: bool = True) -> CheckReport:
    """Verify shapes, dtypes, lengths, meta.json, action ranges, the no-op at step 0 and that all
    episodes share one resolution and action space (the first readable episode is the reference)."""
    dataset_dir = Path(dataset_dir)
    if not dataset_dir.is_dir():
        raise FileNotFoundError(f"dataset directory not found: {dataset_dir}")
    report = CheckReport(dataset_dir=dataset_dir, stale_temp_dirs=temp_dirs(dataset_dir))
    dirs = episode_dirs(dataset_dir)
    if not dirs:
        raise DatasetError(no_episodes_message(dataset_dir))
    misnamed = misnamed_episode_dirs(dataset_dir)
    if misnamed:
        report.warnings.append(f"ignored, not named episode_<6+ digits>: {misnamed_hint(misnamed)}")
    reference = None
    for path in tqdm(dirs, desc="checking episodes", unit="episode", disable=not progress):
        report.checked += 1
        try:
            episode = read_episode(path, mmap=True)
            _check_first_action(episode)
        except EpisodeError as error:
            report.broken[path.name] = str(error)
            continue
        meta = episode.meta
        if reference is None:
            reference = (path.name, meta)
        elif (meta.height, meta.width) != (reference[1].height, reference[1].width):
            report.broken[path.name] = (
                f"resolution {meta.height}x{meta.width} differs from {reference[0]} "
                f"({reference[1].height}x{reference[1].width})"
            )
        elif meta.action_space != reference[1].action_space:
            report.broken[path.name] = f"action space differs from {reference[0]}"
    report.warnings.extend(_index_warnings(dataset_dir, [path.name for path in dirs]))
    return report


def _check_first_action(episode) -> None:
    """Frame 0 comes from reset, so actions[0] must be the no-op (docs/architecture.md)."""
    space = episode.action_space
    if episode.length == 0:
        raise EpisodeError(f"{episode.path}: episode has no frames")
    if episode.discrete is not None and int(episode.discrete[0]) != space.noop:
        raise EpisodeError(
            f"{episode.path}: actions_discrete[0] is {int(episode.discrete[0])}, "
            f"expected the no-op {space.noop}"
        )
    if episode.continuous is not None and np.any(episode.continuous[0] != 0):
        raise EpisodeError(
            f"{episode.path}: actions_continuous[0] is {episode.continuous[0].tolist()}, expected zeros"
        )


def _index_warnings(dataset_dir: Path, names: list[str]) -> list[str]:
    index_path = dataset_dir / INDEX_FILE
    fix = f"`worldsim data index {dataset_dir}` writes it; readers do not need it"
    if not index_path.is_file():
        return [f"{INDEX_FILE} missing ({fix})"]
    try:
        listed = [str(entry["name"]) for entry in json.loads(index_path.read_text())["episodes"]]
    except (OSError, ValueError, KeyError, TypeError, RecursionError) as error:  # ValueError: bad JSON, not UTF-8
        return [f"{index_path} unreadable ({error}; {fix})"]
    if sorted(listed) != sorted(names):
        return [f"{INDEX_FILE} lists {len(listed)} episodes, the directory holds {len(names)} ({fix})"]
    return []
