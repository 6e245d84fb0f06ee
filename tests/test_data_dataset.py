"""Dataset directory: validation on open, refusal to append incompatible episodes, index.json, check."""

from __future__ import annotations

import json

import numpy as np
import pytest
from test_data_episode import write_episode
from test_data_fakes import FAKE_SPACE

from worldsim.actions import ActionSpace
from worldsim.data.check import check_dataset
from worldsim.data.dataset import INDEX_FILE, DatasetError, open_dataset
from worldsim.data.episode import FRAMES_FILE, META_FILE
from worldsim.data.writer import EpisodeWriter


def test_open_dataset_reads_every_episode_meta(tmp_path) -> None:
    for seed in range(3):
        write_episode(tmp_path, length=4 + seed, seed=seed)
    info = open_dataset(tmp_path)
    assert info.names == ("episode_000000", "episode_000001", "episode_000002")
    assert info.lengths == (4, 5, 6) and info.total_frames == 15
    assert (info.height, info.width, info.action_space) == (4, 3, FAKE_SPACE)
    assert info.read("episode_000002").frames[0, 0, 0, 0] == 2


def test_missing_and_empty_directories_are_clear_errors(tmp_path) -> None:
    with pytest.raises(FileNotFoundError, match="dataset directory not found: .*nowhere"):
        open_dataset(tmp_path / "nowhere")
    with pytest.raises(DatasetError, match="no episodes"):
        open_dataset(tmp_path)


def test_mismatched_resolution_names_both_episodes(tmp_path) -> None:
    write_episode(tmp_path, height=4)
    bad = write_episode(tmp_path / "other", height=6)
    bad.rename(tmp_path / "episode_000001")  # bypasses the writer's own check
    with pytest.raises(DatasetError, match="episode_000000 is 4x3, episode_000001 is 6x3"):
        open_dataset(tmp_path)
    report = check_dataset(tmp_path, progress=False)
    assert list(report.broken) == ["episode_000001"] and "resolution 6x3" in report.broken["episode_000001"]


def test_appending_another_resolution_or_action_space_fails_before_writing(tmp_path) -> None:
    write_episode(tmp_path, height=4)
    with pytest.raises(DatasetError, match="cannot append 6x3 frames to a dataset of 4x3"):
        write_episode(tmp_path, height=6)
    with pytest.raises(DatasetError, match="cannot append episodes with action space"):
        write_episode(tmp_path, space=ActionSpace(discrete=("a", "b", "c")))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["episode_000000", INDEX_FILE]


def test_index_is_rewritten_after_each_episode(tmp_path) -> None:
    write_episode(tmp_path, length=4)
    assert json.loads((tmp_path / INDEX_FILE).read_text())["total_frames"] == 4
    write_episode(tmp_path, length=7, seed=3)
    index = json.loads((tmp_path / INDEX_FILE).read_text())
    assert index["num_episodes"] == 2 and index["total_frames"] == 11
    assert [entry["name"] for entry in index["episodes"]] == ["episode_000000", "episode_000001"]
    assert index["episodes"][1]["source"]["seed"] == 3
    assert (index["height"], index["width"], index["action_space"]) == (4, 3, FAKE_SPACE.to_dict())


def test_check_lists_broken_episodes_with_reasons_and_stale_temp_dirs(tmp_path) -> None:
    good = write_episode(tmp_path, length=5)
    truncated = write_episode(tmp_path, length=5)
    corrupt = write_episode(tmp_path, length=5)
    frames = truncated / FRAMES_FILE
    frames.write_bytes(frames.read_bytes()[:-10])
    (corrupt / META_FILE).write_text("not json")
    crashed = EpisodeWriter(tmp_path, FAKE_SPACE, fps=10, source={})  # never closed: a killed recorder
    crashed.add(np.zeros((4, 3, 3), np.uint8), 0, np.zeros(1))
    report = check_dataset(tmp_path, progress=False)
    assert not report.ok and report.checked == 3
    assert set(report.broken) == {truncated.name, corrupt.name}
    assert "truncated" in report.broken[truncated.name] and "not valid JSON" in report.broken[corrupt.name]
    assert report.stale_temp_dirs == [crashed.temp_dir]
    assert good.name not in report.broken


def test_check_requires_the_noop_at_step_zero(tmp_path) -> None:
    path = write_episode(tmp_path, length=5)
    actions = np.load(path / "actions_discrete.npy")
    actions[0] = 1
    np.save(path / "actions_discrete.npy", actions)
    report = check_dataset(tmp_path, progress=False)
    assert "actions_discrete[0] is 1, expected the no-op 0" in report.broken[path.name]


def test_stale_temp_dirs_alone_do_not_fail_the_check(tmp_path) -> None:
    write_episode(tmp_path)
    EpisodeWriter(tmp_path, FAKE_SPACE, fps=10, source={})
    report = check_dataset(tmp_path, progress=False)
    assert report.ok and len(report.stale_temp_dirs) == 1
    assert open_dataset(tmp_path).names == ("episode_000000",)
