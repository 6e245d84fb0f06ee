"""Held-out episodes (data.holdout_every): the rule on episode numbers, never in training clips, and the
validation clips cut from them."""

from __future__ import annotations

import numpy as np
import pytest

from worldsim.actions import ActionSpace
from worldsim.data.clips import ClipDataset
from worldsim.data.dataset import DatasetError, open_dataset
from worldsim.data.holdout import episode_clips, held_out_names, is_held_out
from worldsim.data.writer import EpisodeWriter


def write_numbered_episodes(directory, lengths: list[int]) -> None:
    """Episode n's frames are all n (so a clip tells which episode it came from)."""
    space = ActionSpace(discrete=("noop", "go"))
    for n, length in enumerate(lengths):
        writer = EpisodeWriter(directory, space, fps=10.0, source={})
        for t in range(length):
            writer.add(np.full((4, 4, 3), n, np.uint8), t % 2 if t else 0)
        writer.close()


def test_the_rule_depends_on_the_number_only() -> None:
    names = [f"episode_{n:06d}" for n in range(25)]
    assert held_out_names(names, 10) == ["episode_000009", "episode_000019"]
    assert held_out_names(names, 0) == [] and not is_held_out("episode_0", 1)  # misnamed: never read anyway
    assert held_out_names(names[:4], 4) == ["episode_000003"]


def test_training_never_reads_held_out_episodes(tmp_path) -> None:
    write_numbered_episodes(tmp_path, [6, 6, 6, 6])
    dataset = ClipDataset(tmp_path, clip_length=3, holdout_every=2)
    assert dataset.names == ["episode_000000", "episode_000002"]
    seen = {int(dataset[i]["frames"][0, 0, 0, 0]) for i in range(len(dataset))}
    assert seen == {0, 2}
    with pytest.raises(DatasetError, match="all 4 episodes are held out"):
        ClipDataset(tmp_path, clip_length=3, holdout_every=1)


def test_validation_clips_come_from_held_out_episodes_in_turn(tmp_path) -> None:
    write_numbered_episodes(tmp_path, [9, 9, 9, 4, 9, 9])  # held out with every=2: 1, 3 (too short), 5
    info = open_dataset(tmp_path)
    held_out = held_out_names(info.names, 2)
    clips = episode_clips(info, held_out, count=3, length=4)
    assert clips["frames"].shape == (3, 4, 4, 4, 3) and clips["continuous"].shape == (3, 4, 0)
    # first clips of episodes 1, 3, 5 (episode 3 has exactly 4 frames), then episode 1's second clip
    assert clips["frames"][:, 0, 0, 0, 0].tolist() == [1, 3, 5]
    more = episode_clips(info, held_out, count=8, length=4)
    assert more["frames"][:, 0, 0, 0, 0].tolist() == [1, 3, 5, 1, 5]
    assert more["discrete"][0].tolist() == [0, 1, 0, 1] and more["discrete"][3].tolist() == [0, 1, 0, 1]
    with pytest.raises(DatasetError, match=r"none of the 3 validation episodes has the 10 frames .*longest: 9"):
        episode_clips(info, held_out, count=2, length=10)
