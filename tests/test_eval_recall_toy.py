"""The recall toy: its episodes are exactly the rule (pattern, gray, the pattern again from the recall
action on), the dataset passes `worldsim data check`, and `worldsim eval recall-toy` scores checkpoints on
the trainer's held-out episodes with clear errors for anything that is not the toy."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
import torch

from worldsim.actions import maze_action_space
from worldsim.checkpoint import PlayBlock, save_checkpoint
from worldsim.cli import main
from worldsim.data.episode import read_meta
from worldsim.data.holdout import held_out_names
from worldsim.data.writer import EpisodeWriter
from worldsim.eval.recall_toy import ACTION_SPACE, GRAY, PALETTE, pattern_frame, score_recall_toy, toy_episode
from worldsim.eval.settings import RecallToySettings
from worldsim.model import WorldModel, tiny_model_config

EPISODES = 30  # held out (data.holdout_every 10): episodes 9, 19, 29
TOY = ["eval", "recall-toy", "--no-progress"]
SETTINGS = RecallToySettings(episodes=EPISODES)


@pytest.fixture(scope="module")
def toy(tmp_path_factory: pytest.TempPathFactory) -> Path:
    data = tmp_path_factory.mktemp("toy") / "data"
    assert main([*TOY, "--write-data", str(data), "--episodes", str(EPISODES)]) == 0
    return data


def checkpoint(path: Path, data: Path, seed: int = 0, **model: object) -> Path:
    """An untrained tiny model for the toy (weights moved off their zero start: outputs depend on them)."""
    torch.manual_seed(seed)
    config = tiny_model_config(num_discrete_actions=2, num_continuous_actions=0, **model)
    network = WorldModel(config)
    with torch.no_grad():
        for parameter in network.parameters():
            parameter.add_(0.05 * torch.randn_like(parameter))
    save_checkpoint(path, network, PlayBlock(ACTION_SPACE, (16, 16), sampling_steps=1, dataset=str(data),
                                             holdout_every=10), {"step": 0})
    return path


def test_pattern_frame_fills_each_quarter_with_its_palette_colour() -> None:
    frame = pattern_frame(np.array([[0, 1], [2, 3]]), 4)
    expected = np.empty((4, 4, 3), np.uint8)
    expected[:2, :2], expected[:2, 2:], expected[2:, :2], expected[2:, 2:] = PALETTE[:4]
    np.testing.assert_array_equal(frame, expected)


def test_episodes_follow_the_rule_and_are_the_same_on_every_run() -> None:
    recall_steps = set()
    for index in range(40):
        frames, actions = toy_episode(index, SETTINGS)
        recall = int(np.flatnonzero(actions)[0])
        recall_steps.add(recall)
        assert frames.shape == (24, 16, 16, 3) and frames.dtype == np.uint8
        assert 8 <= recall <= 20
        assert actions.tolist() == [int(t == recall) for t in range(24)]  # recall once, noop at step 0
        pattern = frames[0]
        quarters = [pattern[:8, :8], pattern[:8, 8:], pattern[8:, :8], pattern[8:, 8:]]
        assert all(any((quarter == colour).all() for colour in PALETTE) for quarter in quarters)
        for t in range(24):
            shown = pattern if t < 3 or t >= recall else np.full_like(pattern, GRAY)
            np.testing.assert_array_equal(frames[t], shown, err_msg=f"episode {index} step {t}")
        again = toy_episode(index, SETTINGS)
        np.testing.assert_array_equal(again[0], frames)
        np.testing.assert_array_equal(again[1], actions)
    assert len(recall_steps) > 5  # drawn, not fixed
    assert not np.array_equal(toy_episode(0, SETTINGS)[0], toy_episode(0, RecallToySettings(seed=1))[0])


def test_written_dataset_is_the_episodes_and_passes_data_check(toy: Path) -> None:
    for index in (0, 9, EPISODES - 1):
        episode = toy / f"episode_{index:06d}"
        frames, actions = toy_episode(index, SETTINGS)
        np.testing.assert_array_equal(np.load(episode / "frames.npy"), frames)
        np.testing.assert_array_equal(np.load(episode / "actions_discrete.npy"), actions)
        assert read_meta(episode).source == {"env": "recall_toy", "seed": 0, "episode": index}
    assert json.loads((toy / "index.json").read_text())["num_episodes"] == EPISODES
    assert main(["data", "check", str(toy), "--no-progress"]) == 0


def test_write_data_refuses_a_folder_that_is_not_empty(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    (tmp_path / "keep.txt").write_text("mine")
    assert main([*TOY, "--write-data", str(tmp_path), "--episodes", "2"]) == 1
    assert "not an empty folder" in capsys.readouterr().err
    assert [p.name for p in tmp_path.iterdir()] == ["keep.txt"]


def test_score_copy_last_is_gray_against_the_pattern(toy: Path, tmp_path: Path) -> None:
    path = checkpoint(tmp_path / "ssm.safetensors", toy)
    out = tmp_path / "score.json"
    assert main([*TOY, "--data", str(toy), str(path), "--out", str(out)]) == 0
    result = json.loads(out.read_text())
    row = result["checkpoints"][0]
    assert result["settings"]["episodes"] == 3 and row["window"] == 2 and row["sampling_steps"] == 1
    assert all(math.isfinite(row[key]) for key in ("psnr_whole", "psnr_window", "psnr_copy_last"))
    expected = []  # by hand: the gray frame before the recall step against the pattern, in [-1, 1]
    for name in held_out_names([f"episode_{n:06d}" for n in range(EPISODES)], 10):
        pattern = toy_episode(int(name.split("_")[1]), SETTINGS)[0][0].astype(np.float64)
        mse = (((pattern - GRAY) / 127.5) ** 2).mean()
        expected.append(10 * math.log10(4 / mse))
    assert row["psnr_copy_last"] == pytest.approx(float(np.mean(expected)), abs=1e-4)
    assert sum(group["episodes"] for group in row["by_recall_step"]) == 3
    # an untrained scan's state depends on the whole history: the priming matters
    assert row["psnr_whole"] != row["psnr_window"]


def test_local_primed_with_its_whole_reach_scores_the_same_both_ways(toy: Path, tmp_path: Path) -> None:
    path = checkpoint(tmp_path / "local.safetensors", toy, temporal="local", depth=2)  # reach: 2 x 2 frames

    def score(seed: int = 0) -> dict:
        result = score_recall_toy(toy, [path], torch.device("cpu"), window=4, seed=seed, progress=False)
        return result["checkpoints"][0]

    first = score()
    assert first["attention_reach_frames"] == 4
    assert first["psnr_whole"] == pytest.approx(first["psnr_window"], abs=1e-4)
    again = score()
    assert again["psnr_whole"] == first["psnr_whole"]  # the noise is fixed by the seed
    other = score(seed=1)
    assert other["psnr_whole"] != first["psnr_whole"]


def test_score_refuses_what_is_not_the_toy(toy: Path, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    good = checkpoint(tmp_path / "good.safetensors", toy)
    maze = tmp_path / "maze.safetensors"
    network = WorldModel(tiny_model_config(num_discrete_actions=9, num_continuous_actions=1))
    save_checkpoint(maze, network, PlayBlock(maze_action_space(), (16, 16)), {"step": 0})
    assert main([*TOY, "--data", str(toy), str(good), str(maze)]) == 1
    assert f"{maze} plays 16x16 frames with actions ['noop'" in capsys.readouterr().err

    other = tmp_path / "other"
    writer = EpisodeWriter(other, ACTION_SPACE, 10, {"env": "maze"})
    writer.add(np.zeros((16, 16, 3), np.uint8), discrete=0)
    writer.close()
    assert main([*TOY, "--data", str(other), str(good)]) == 1
    assert "comes from env 'maze', not the recall toy" in capsys.readouterr().err

    assert main([*TOY, "--data", str(toy), str(good), "--window", "20"]) == 1
    assert "shows the pattern" in capsys.readouterr().err
    assert main([*TOY, "--data", str(toy)]) == 1
    assert "needs at least one CHECKPOINT" in capsys.readouterr().err
