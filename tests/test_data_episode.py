"""Episode format: EpisodeWriter round trip, atomic publication, and clear errors for damaged files."""

from __future__ import annotations

import json

import numpy as np
import pytest
from test_data_fakes import FAKE_SPACE

from worldsim.actions import ActionSpace
from worldsim.data.episode import (
    CONTINUOUS_FILE,
    DISCRETE_FILE,
    FRAMES_FILE,
    META_FILE,
    EpisodeError,
    read_episode,
)
from worldsim.data.npy_append import NpyAppender
from worldsim.data.writer import EpisodeWriter


def write_episode(dataset_dir, length=5, height=4, width=3, space=FAKE_SPACE, seed=0):
    """An episode whose frame t is filled with t + seed, action t is t % 3 (0 at t = 0)."""
    writer = EpisodeWriter(dataset_dir, space, fps=10, source={"env": "fake", "seed": seed})
    for t in range(length):
        frame = np.full((height, width, 3), t + seed, np.uint8)
        continuous = (
            np.array([0.0 if t == 0 else 0.1 * (t % 4)], np.float32) if space.num_continuous else None
        )
        writer.add(
            frame,
            t % 3 if space.num_discrete else None,
            continuous,
            {"pose": np.array([t, 0, 1], np.float32)},
        )
    return writer.close()


def test_npy_appender_writes_a_standard_npy(tmp_path) -> None:
    rows = np.arange(5 * 2 * 3, dtype=np.float32).reshape(5, 2, 3)
    appender = NpyAppender(tmp_path / "a.npy", (2, 3), np.float32)
    for row in rows:
        appender.append(row)
    appender.finish()
    np.testing.assert_array_equal(np.load(tmp_path / "a.npy"), rows)
    np.testing.assert_array_equal(np.load(tmp_path / "a.npy", mmap_mode="r"), rows)


def test_round_trip_keeps_frames_actions_extras_and_meta(tmp_path) -> None:
    path = write_episode(tmp_path, length=6)
    assert path.name == "episode_000000"
    episode = read_episode(path)
    assert episode.frames.shape == (6, 4, 3, 3) and episode.frames.dtype == np.uint8
    assert isinstance(episode.frames, np.memmap)
    np.testing.assert_array_equal(episode.frames[:, 0, 0, 0], np.arange(6))
    np.testing.assert_array_equal(episode.discrete, np.arange(6) % 3)
    assert episode.discrete.dtype == np.int64 and episode.continuous.dtype == np.float32
    np.testing.assert_allclose(episode.continuous[:, 0], [0.0, 0.1, 0.2, 0.3, 0.0, 0.1], rtol=1e-6)
    np.testing.assert_array_equal(episode.extras["pose"][:, 0], np.arange(6))
    meta = json.loads((path / META_FILE).read_text())
    assert meta["length"] == 6 and meta["height"] == 4 and meta["width"] == 3 and meta["fps"] == 10
    assert meta["action_space"] == FAKE_SPACE.to_dict() and meta["source"] == {"env": "fake", "seed": 0}
    assert meta["extras"] == {"pose": "extra_pose.npy"} and meta["created"]


def test_episodes_are_numbered_and_appended_never_overwritten(tmp_path) -> None:
    first = write_episode(tmp_path, seed=1)
    second = write_episode(tmp_path, seed=2)
    assert (first.name, second.name) == ("episode_000000", "episode_000001")
    assert read_episode(first).frames[0, 0, 0, 0] == 1 and read_episode(second).frames[0, 0, 0, 0] == 2


def test_unfinished_episode_is_invisible_and_discard_removes_it(tmp_path) -> None:
    writer = EpisodeWriter(tmp_path, FAKE_SPACE, fps=10, source={})
    writer.add(np.zeros((4, 3, 3), np.uint8), 0, np.zeros(1, np.float32))
    visible = [p.name for p in tmp_path.iterdir() if not p.name.startswith(".")]
    assert visible == []
    writer.discard()
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    ("frame", "discrete", "continuous", "message"),
    [
        (np.zeros((4, 3), np.uint8), 0, np.zeros(1), "uint8 \\(H, W, 3\\)"),
        (np.zeros((4, 3, 3), np.float32), 0, np.zeros(1), "uint8"),
        (np.zeros((4, 3, 3), np.uint8), 7, np.zeros(1), "discrete action 7 out of range"),
        (np.zeros((4, 3, 3), np.uint8), None, np.zeros(1), "needs a discrete action"),
        (np.zeros((4, 3, 3), np.uint8), 0, np.zeros(2), "trailing width 1"),
        (np.zeros((4, 3, 3), np.uint8), 0, np.array([np.nan]), "NaN"),
    ],
)
def test_bad_steps_are_rejected_with_the_reason(tmp_path, frame, discrete, continuous, message) -> None:
    writer = EpisodeWriter(tmp_path, FAKE_SPACE, fps=10, source={})
    with pytest.raises(ValueError, match=message):
        writer.add(frame, discrete, continuous)
    writer.discard()


def test_frame_size_change_within_an_episode_is_rejected(tmp_path) -> None:
    writer = EpisodeWriter(tmp_path, FAKE_SPACE, fps=10, source={})
    writer.add(np.zeros((4, 3, 3), np.uint8), 0, np.zeros(1))
    with pytest.raises(ValueError, match="frame shape \\(5, 3, 3\\)"):
        writer.add(np.zeros((5, 3, 3), np.uint8), 0, np.zeros(1))
    writer.add(np.zeros((4, 3, 3), np.uint8), 1, np.zeros(1))  # the rejected step left nothing behind
    assert read_episode(writer.close()).length == 2


def test_discrete_only_space_writes_no_continuous_file(tmp_path) -> None:
    space = ActionSpace(discrete=("noop", "fire", "down"))
    path = write_episode(tmp_path, space=space)
    assert not (path / CONTINUOUS_FILE).exists()
    episode = read_episode(path, mmap=False)
    assert episode.continuous is None and episode.discrete.shape == (5,)


def test_truncated_frames_file_names_the_file(tmp_path) -> None:
    path = write_episode(tmp_path, length=10)
    frames_file = path / FRAMES_FILE
    frames_file.write_bytes(frames_file.read_bytes()[:-50])
    for mmap in (True, False):
        with pytest.raises(EpisodeError, match=f"{path.name}/{FRAMES_FILE}.*(truncated|shape)"):
            read_episode(path, mmap=mmap)


def test_corrupt_meta_names_the_file(tmp_path) -> None:
    path = write_episode(tmp_path)
    (path / META_FILE).write_text('{"format": "worldsim-episode", "length": ')
    with pytest.raises(EpisodeError, match=f"{path.name}/{META_FILE}: not valid JSON"):
        read_episode(path)


def test_meta_with_a_wrong_length_is_caught(tmp_path) -> None:
    path = write_episode(tmp_path, length=5)
    meta = json.loads((path / META_FILE).read_text())
    meta["length"] = 9
    (path / META_FILE).write_text(json.dumps(meta))
    with pytest.raises(
        EpisodeError, match=f"{FRAMES_FILE}: shape \\(5, 4, 3, 3\\), expected \\(9, 4, 3, 3\\)"
    ):
        read_episode(path)


def test_out_of_range_action_in_a_file_names_the_step(tmp_path) -> None:
    path = write_episode(tmp_path, length=5)
    actions = np.load(path / DISCRETE_FILE)
    actions[3] = 42
    np.save(path / DISCRETE_FILE, actions)
    with pytest.raises(
        EpisodeError, match=f"{path.name}/{DISCRETE_FILE}: action 42 at step 3 is out of range"
    ):
        read_episode(path)


def test_continuous_action_beyond_the_bound_is_caught(tmp_path) -> None:
    path = write_episode(tmp_path, length=5)
    actions = np.load(path / CONTINUOUS_FILE)
    actions[2, 0] = 3.0
    np.save(path / CONTINUOUS_FILE, actions)
    with pytest.raises(EpisodeError, match="at step 2 is not finite or outside"):
        read_episode(path)


def test_wrong_dtype_and_missing_file_are_caught(tmp_path) -> None:
    path = write_episode(tmp_path, length=5)
    np.save(path / DISCRETE_FILE, np.zeros(5, np.int32))
    with pytest.raises(EpisodeError, match="dtype int32, expected int64"):
        read_episode(path)
    (path / DISCRETE_FILE).unlink()
    with pytest.raises(EpisodeError, match=f"{DISCRETE_FILE}: missing"):
        read_episode(path)
