"""Headless recorder: rounds of B worlds, per-episode seeds, early ends, alignment, interruption."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from test_data_fakes import FakePolicy, FakeWorld

from worldsim.data.check import check_dataset
from worldsim.data.dataset import open_dataset
from worldsim.data.recorder import record_policy_episodes


def record(out, batch_size=2, episodes=3, steps=6, seed=10, **world_options):
    world = FakeWorld(batch_size=batch_size, **world_options)
    return record_policy_episodes(world, FakePolicy(), out, episodes, steps, seed, fps=12, progress=False)


def test_records_the_requested_episodes_in_rounds_of_the_batch(tmp_path) -> None:
    paths = record(tmp_path, batch_size=2, episodes=3, steps=6)
    info = open_dataset(tmp_path)
    assert [p.name for p in paths] == list(info.names) == [f"episode_00000{i}" for i in range(3)]
    assert info.lengths == (6, 6, 6)
    assert [meta.source["seed"] for meta in info.metas] == [10, 11, 12]
    assert all(meta.source["policy"] == "fake" and meta.fps == 12 for meta in info.metas)


def test_actions_are_aligned_with_the_frames_they_led_to(tmp_path) -> None:
    record(tmp_path, batch_size=2, episodes=2, steps=6)
    for name in open_dataset(tmp_path).names:
        episode = open_dataset(tmp_path).read(name)
        seed = episode.meta.source["seed"]
        assert episode.discrete[0] == 0 and episode.continuous[0, 0] == 0  # the no-op before frame 0
        # FakeWorld stamps the action it just received into pixel (0, 0) of the frame it returns.
        np.testing.assert_array_equal(episode.frames[1:, 0, 0, 0], episode.discrete[1:])
        np.testing.assert_array_equal(episode.frames[:, 1, 1, 0], (seed * 7 + np.arange(6) * 3) % 256)
        np.testing.assert_array_equal(episode.extras["pose"][:, 1], np.arange(6))


def test_episode_content_depends_on_its_seed_not_on_the_batch(tmp_path) -> None:
    record(tmp_path / "b1", batch_size=1, episodes=3)
    record(tmp_path / "b3", batch_size=3, episodes=3)
    for name in open_dataset(tmp_path / "b1").names:
        one = open_dataset(tmp_path / "b1").read(name)
        three = open_dataset(tmp_path / "b3").read(name)
        np.testing.assert_array_equal(one.frames, three.frames)
        np.testing.assert_array_equal(one.discrete, three.discrete)
        np.testing.assert_array_equal(one.continuous, three.continuous)


def test_done_ends_the_episode_early(tmp_path) -> None:
    record(tmp_path, batch_size=1, episodes=2, steps=10, done_at_step=3)
    assert open_dataset(tmp_path).lengths == (4, 4)  # frames 0..3, the last one reported done


def test_recording_appends_to_an_existing_dataset(tmp_path) -> None:
    record(tmp_path, episodes=2, seed=0)
    record(tmp_path, episodes=2, seed=100)
    info = open_dataset(tmp_path)
    assert [meta.source["seed"] for meta in info.metas] == [0, 1, 100, 101]


def test_keyboard_interrupt_keeps_finished_episodes_and_leaves_nothing_half_written(tmp_path) -> None:
    # steps=5 -> 4 step() calls per round; call 6 falls in the second round.
    with pytest.raises(KeyboardInterrupt):
        record(tmp_path, batch_size=2, episodes=4, steps=5, interrupt_at_call=6)
    info = open_dataset(tmp_path)
    assert info.names == ("episode_000000", "episode_000001") and info.lengths == (5, 5)
    report = check_dataset(tmp_path, progress=False)
    assert report.ok and report.stale_temp_dirs == [] and report.warnings == []


def test_bad_arguments_are_rejected(tmp_path) -> None:
    with pytest.raises(ValueError, match="episodes and steps must be >= 1"):
        record(tmp_path, episodes=0)


def test_real_maze_frames_match_the_recorded_poses(tmp_path) -> None:
    from worldsim.env import maze_world
    config = maze_world.MazeConfig(height=16, width=16)
    world = maze_world.MazeWorld(config, batch_size=2)
    record_policy_episodes(world, FakePolicy(), tmp_path, episodes=2, steps=8, seed=5, progress=False)
    info = open_dataset(tmp_path)
    assert info.action_space == world.action_space and (info.height, info.width) == (16, 16)
    assert check_dataset(tmp_path, progress=False).ok
    # Ground truth: re-rendering each stored pose in the same mazes reproduces each stored frame.
    checker = maze_world.MazeWorld(config, batch_size=1)
    for name in info.names:
        episode = info.read(name)
        checker.reset(episode.meta.source["seed"])
        poses = torch.from_numpy(np.array(episode.extras["pose"]))
        rendered = torch.cat([checker.render(pose[None]) for pose in poses]).numpy()
        np.testing.assert_array_equal(rendered, episode.frames)
        assert len({tuple(p) for p in episode.extras["pose"].tolist()}) > 1  # the agent moved or turned
