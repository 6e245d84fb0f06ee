import json

import numpy as np
import pytest
from decoded_video import count_video_frames

from worldsim.app.headless import load_actions, run_headless
from worldsim.cli import main
from worldsim.env.maze_world import MazeConfig, MazeWorld


def test_headless_play_with_an_action_file_writes_a_readable_video(tmp_path):
    actions = tmp_path / "actions.json"
    actions.write_text(json.dumps([0] + [1] * 10 + [3] * 9))
    out = tmp_path / "x.mp4"
    assert main(["play", "--world", "maze", "--headless", "--actions", str(actions), "--out", str(out)]) == 0
    assert count_video_frames(out) == 20
    assert not list(tmp_path.glob(".*"))  # temp file renamed away


def test_headless_frames_follow_the_actions(tmp_path):
    np.save(tmp_path / "a.npy", np.array([0, 1, 1, 4, 4], dtype=np.int64))
    world = MazeWorld(MazeConfig(height=16, width=16))
    result = run_headless(world, load_actions(tmp_path / "a.npy"), 5, seed=2, out=None)
    reference = MazeWorld(MazeConfig(height=16, width=16))
    reference.reset(2)
    for action in (1, 1, 4, 4):
        reference.step(np.array([action]))
    assert result.frames == 5 and world.step_count == 4
    assert np.allclose(world.pose.numpy(), reference.pose.numpy())


@pytest.mark.parametrize("content, message", [("[1, 2.5]", "integer"), ("{", "JSON"), ("[99]", "out of range")])
def test_bad_action_files_are_named(tmp_path, content, message):
    path = tmp_path / "bad.json"
    path.write_text(content)
    with pytest.raises(ValueError, match=message):
        run_headless(MazeWorld(MazeConfig(height=16, width=16)), load_actions(path), 2, seed=0, out=None)


def test_headless_policy_play_writes_the_requested_frames(tmp_path):
    out = tmp_path / "x.mp4"
    assert main(["play", "--world", "maze", "--headless", "--frames", "20", "--out", str(out)]) == 0
    assert count_video_frames(out) == 20
