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


def test_videos_are_h264_enlarged_with_nearest_neighbour_pixels(tmp_path):
    import cv2

    from worldsim.data.video import VideoFileWriter

    frame = np.zeros((8, 6, 3), dtype=np.uint8)
    frame[:4] = (250, 20, 20)  # top half red, bottom half black: survives compression as two flat blocks
    writer = VideoFileWriter(tmp_path / "v.mp4", fps=10, scale=4)
    for _ in range(3):
        writer.add(frame)
    writer.close()
    video = cv2.VideoCapture(str(tmp_path / "v.mp4"))
    codec = int(video.get(cv2.CAP_PROP_FOURCC)).to_bytes(4, "little").decode()
    ok, decoded = video.read()
    video.release()
    assert codec in ("avc1", "h264") and ok and decoded.shape == (32, 24, 3)
    assert decoded[4, 12, 2] > 200 and decoded[28, 12].max() < 40  # BGR: red above, black below


def test_odd_sized_frames_are_padded_for_h264(tmp_path):
    from worldsim.data.video import VideoFileWriter

    writer = VideoFileWriter(tmp_path / "odd.mp4", fps=10, scale=1)
    for _ in range(2):
        writer.add(np.full((105, 81, 3), 90, dtype=np.uint8))
    assert writer.close() == tmp_path / "odd.mp4" and count_video_frames(tmp_path / "odd.mp4") == 2


def test_frames_zero_is_an_error_before_anything_plays(tmp_path, capsys):
    out = tmp_path / "x.mp4"
    assert main(["play", "--world", "maze", "--headless", "--frames", "0", "--out", str(out)]) == 1
    assert "--frames must be >= 1, got 0" in capsys.readouterr().err and not out.exists()


def test_headless_without_out_says_the_frames_are_not_saved(capsys):
    assert main(["play", "--world", "maze", "--headless", "--frames", "3"]) == 0
    captured = capsys.readouterr()
    assert "without --out" in captured.err and "played 3 frames" in captured.out


def test_headless_play_shows_progress(tmp_path, capsys):
    assert main(["play", "--world", "maze", "--headless", "--frames", "4", "--out", str(tmp_path / "x.mp4")]) == 0
    err = capsys.readouterr().err
    assert "play: 100%" in err and "4/4" in err


def test_a_video_without_its_encoder_is_refused_before_any_frame(tmp_path, monkeypatch):
    import sys

    from worldsim.data.video import VideoEncoderMissing, VideoFileWriter

    monkeypatch.setitem(sys.modules, "imageio_ffmpeg", None)
    with pytest.raises(VideoEncoderMissing, match=r"x\.mp4: .*pip install imageio-ffmpeg"):
        VideoFileWriter(tmp_path / "x.mp4", fps=10)
    assert not list(tmp_path.iterdir())
