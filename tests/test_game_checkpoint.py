"""A checkpoint trained on a recorded game (not the maze) plays from --context frames, or by default from
its dataset's first held-out episode, through `worldsim play` and the engine; `worldsim eval --data`
scores it on episodes it never trained on."""

from __future__ import annotations

import shutil

import cv2
import numpy as np
import pytest
import torch
from test_train_dataset_fit import FAST, SMOKE, write_dataset

from worldsim.cli import main
from worldsim.data.episode import read_episode


@pytest.fixture(scope="module")
def game_run(tmp_path_factory):
    """(dataset with 3 actions at 16x16, 4 episodes, the odd ones held out; checkpoint of 1 training step)."""
    root = tmp_path_factory.mktemp("own_game")
    data = write_dataset(root / "data", episodes=4, length=10)
    argv = ["train", "--config", str(SMOKE), "--data", str(data), "--out", str(root / "run"), "--no-progress",
            *FAST, "data.holdout_every=2"]
    assert main(argv) == 0
    return data, root / "run" / "latest.safetensors"


def test_play_from_an_episode_and_from_images(game_run, tmp_path, capsys) -> None:
    data, checkpoint = game_run
    base = ["play", "--checkpoint", str(checkpoint), "--device", "cpu", "--headless", "--frames", "4"]
    assert main([*base, "--context", str(data / "episode_000002"), "--out", str(tmp_path / "a.mp4")]) == 0, \
        capsys.readouterr().err
    assert "played 4 frames" in capsys.readouterr().out and (tmp_path / "a.mp4").stat().st_size > 0
    images = []
    for index in range(2):
        images.append(tmp_path / f"{index}.png")
        cv2.imwrite(str(images[-1]), np.full((32, 24, 3), 60 * index, np.uint8))  # resized to 16x16
    assert main([*base, "--context", *map(str, images)]) == 0, capsys.readouterr().err


def test_without_context_the_dataset_gives_the_first_frames(game_run, tmp_path, capsys) -> None:
    data, checkpoint = game_run
    assert main(["play", "--checkpoint", str(checkpoint), "--device", "cpu", "--headless", "--frames", "3"]) == 0
    assert "first frames: " in capsys.readouterr().err  # the maze default failed here before
    from worldsim.engine import WorldModelEngine

    engine = WorldModelEngine.from_checkpoint(checkpoint, "cpu")
    assert engine.context_source.path.name == "episode_000001"  # held out: never trained on
    frame, _ = engine.reset(0)
    np.testing.assert_array_equal(frame[0].numpy(), read_episode(data / "episode_000001").frames[0])
    assert engine.step(torch.tensor([2]))[0].shape == (1, 16, 16, 3)


def test_a_game_checkpoint_far_from_its_dataset_asks_for_context(game_run, tmp_path, capsys) -> None:
    _, checkpoint = game_run
    moved = tmp_path / "moved.safetensors"
    shutil.copy(checkpoint, moved)
    shutil.copytree(game_run[0], tmp_path / "kept")
    shutil.rmtree(game_run[0])  # the dataset named in the play block is gone
    try:
        assert main(["play", "--checkpoint", str(moved), "--device", "cpu", "--headless", "--frames", "2"]) == 1
        err = capsys.readouterr().err
        assert f"{moved}: trained on the dataset" in err and "--context EPISODE_DIR" in err
        argv = ["play", "--checkpoint", str(moved), "--device", "cpu", "--side-by-side",
                "--context", str(tmp_path / "kept" / "episode_000000")]
        assert main(argv) == 1 and "drop --context" in capsys.readouterr().err
    finally:
        shutil.copytree(tmp_path / "kept", game_run[0])
    assert main(["play", "--checkpoint", str(checkpoint), "--device", "cpu", "--side-by-side"]) == 1
    assert "was not trained on it" in capsys.readouterr().err


def test_eval_on_the_held_out_episodes_of_its_dataset(game_run, tmp_path, capsys) -> None:
    import json

    data, checkpoint = game_run
    argv = ["eval", "--data", str(data), str(checkpoint), "--clips", "2", "--context", "3", "--rollout", "2",
            "--steps", "1", "--device", "cpu", "--strip", str(tmp_path / "strip.png"), "--out", str(tmp_path / "eval.json")]
    assert main(argv) == 0, capsys.readouterr().err
    out = capsys.readouterr().out
    assert "2 of 4 episodes of" in out and "unseen in training (episode_000001, episode_000003)" in out
    [row] = json.loads((tmp_path / "eval.json").read_text())["results"]
    assert all(0 < row[key] < 100 for key in ("psnr_one_step", "psnr_rollout", "psnr_rollout_last", "psnr_still"))
    assert row["rollout_minus_copy_last"] == pytest.approx(row["psnr_rollout"] - row["psnr_copy_last"], abs=1e-4)
    assert cv2.imread(str(tmp_path / "strip.png")).shape == (2 * 16, 2 * 16, 3)  # truth over the 2 rollout frames
    other = write_dataset(tmp_path / "other", episodes=1, length=10)  # never trained on: all of it counts
    assert main([*argv[:2], str(other), *argv[3:-2]]) == 0
    assert "1 of 1 episodes" in capsys.readouterr().out
    wrong = write_dataset(tmp_path / "wrong", size=32, episodes=1, length=10)
    assert main([*argv[:2], str(wrong), *argv[3:-2]]) == 1
    assert "has 32x32 frames" in capsys.readouterr().err
    assert main(["eval", str(checkpoint), "--device", "cpu"]) == 1  # held-out mazes: not its world
    assert f"not the built-in maze: evaluate it on recorded episodes with --data {data}" in capsys.readouterr().err


def test_eval_refuses_a_dataset_the_checkpoint_trained_on_entirely(tmp_path, capsys) -> None:
    data = write_dataset(tmp_path / "data", episodes=2, length=10)
    argv = ["train", "--config", str(SMOKE), "--data", str(data), "--out", str(tmp_path / "run"), "--no-progress",
            *FAST, "data.holdout_every=0"]
    assert main(argv) == 0
    assert main(["eval", "--data", str(data), str(tmp_path / "run" / "latest.safetensors"), "--device", "cpu"]) == 1
    assert "trained on every episode of" in capsys.readouterr().err


def test_a_game_with_continuous_actions_only_trains_validates_plays_and_evaluates(tmp_path, capsys) -> None:
    from worldsim.actions import ActionSpace
    from worldsim.data.writer import EpisodeWriter

    space, rng = ActionSpace(continuous=("steer", "throttle")), np.random.default_rng(1)
    for _ in range(2):
        writer = EpisodeWriter(tmp_path / "data", space, fps=10.0, source={})
        for t in range(10):
            steer = rng.uniform(-1, 1, 2).astype(np.float32) if t else np.zeros(2, np.float32)
            writer.add(rng.integers(0, 256, (16, 16, 3), dtype=np.uint8), None, steer)
        writer.close()
    data, run = tmp_path / "data", tmp_path / "run"
    argv = ["train", "--config", str(SMOKE), "--data", str(data), "--out", str(run), "--no-progress", *FAST,
            "data.holdout_every=2", "logging.validate_every=1", "logging.validation_clips=1"]
    assert main(argv) == 0, capsys.readouterr().err
    assert "0 discrete / 2 continuous actions" in capsys.readouterr().out
    checkpoint = str(run / "latest.safetensors")
    assert main(["play", "--checkpoint", checkpoint, "--device", "cpu", "--headless", "--frames", "3"]) == 0
    assert main(["eval", "--data", str(data), checkpoint, "--device", "cpu", "--clips", "1", "--context", "2",
                 "--rollout", "2", "--steps", "1"]) == 0, capsys.readouterr().err
