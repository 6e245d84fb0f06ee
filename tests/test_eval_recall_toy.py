"""The recall toy: its episodes are exactly the rule (pattern, gray, the pattern again from the recall
action on; with --patterns K, K patterns in turn and the recalled one again), one pattern's episodes are
those written before K existed, the dataset passes `worldsim data check`, and `worldsim eval recall-toy`
scores checkpoints on the trainer's held-out episodes, overall and per recalled pattern, with clear errors
for anything that is not the toy."""

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
from worldsim.eval.recall_toy import (
    ACTION_SPACE,
    GRAY,
    PALETTE,
    action_space,
    pattern_frame,
    score_recall_toy,
    toy_episode,
)
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


@pytest.fixture(scope="module")
def toy2(tmp_path_factory: pytest.TempPathFactory) -> Path:
    data = tmp_path_factory.mktemp("toy2") / "data"
    assert main([*TOY, "--write-data", str(data), "--episodes", str(EPISODES), "--patterns", "2"]) == 0
    return data


def checkpoint(path: Path, data: Path, seed: int = 0, patterns: int = 1, **model: object) -> Path:
    """An untrained tiny model for the toy (weights moved off their zero start: outputs depend on them)."""
    torch.manual_seed(seed)
    space = action_space(patterns)
    config = tiny_model_config(num_discrete_actions=space.num_discrete, num_continuous_actions=0, **model)
    network = WorldModel(config)
    with torch.no_grad():
        for parameter in network.parameters():
            parameter.add_(0.05 * torch.randn_like(parameter))
    save_checkpoint(path, network, PlayBlock(space, (16, 16), sampling_steps=1, dataset=str(data),
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


def test_one_pattern_episodes_are_those_written_before_patterns_existed() -> None:
    def before(index: int, s: RecallToySettings) -> tuple[np.ndarray, np.ndarray]:  # toy_episode at 20d668c
        rng = np.random.default_rng([s.seed, index])
        pattern = pattern_frame(rng.integers(0, len(PALETTE), (2, 2)), s.size)
        recall = int(rng.integers(s.recall_first, s.recall_last + 1))
        frames = np.full((s.length, s.size, s.size, 3), GRAY, np.uint8)
        frames[: s.pattern_steps] = pattern
        frames[recall:] = pattern
        actions = np.full(s.length, 0, np.int64)
        actions[recall] = 1
        return frames, actions

    for settings in (SETTINGS, RecallToySettings(seed=3)):
        for index in range(40):
            for now, then in zip(toy_episode(index, settings), before(index, settings)):
                np.testing.assert_array_equal(now, then)
    assert action_space(1) == ACTION_SPACE and ACTION_SPACE.discrete == ("noop", "recall")


def test_two_pattern_episodes_show_both_in_turn_and_the_recalled_one_from_the_recall_step() -> None:
    settings = RecallToySettings(episodes=EPISODES, patterns=2)
    assert action_space(2).discrete == ("noop", "recall_1", "recall_2")
    assert settings.recall_start == 11  # the gap after the last pattern (steps 6-10) is one pattern's (3-7)
    recalled, recall_steps = set(), set()
    for index in range(40):
        frames, actions = toy_episode(index, settings)
        recall = int(np.flatnonzero(actions)[0])
        which = int(actions[recall])
        recalled.add(which)
        recall_steps.add(recall)
        assert 11 <= recall <= 20 and which in (1, 2)
        assert actions.tolist() == [which * (t == recall) for t in range(24)]
        first, second = frames[0], frames[3]
        assert not np.array_equal(first, second)  # drawn apart: alike once in 8**4 episodes, none of these
        for t in range(24):
            shown = (first if t < 3 else second if t < 6 else np.full_like(first, GRAY) if t < recall
                     else (first, second)[which - 1])
            np.testing.assert_array_equal(frames[t], shown, err_msg=f"episode {index} step {t}")
    assert recalled == {1, 2} and len(recall_steps) > 5
    with pytest.raises(ValueError, match="use at most 5 patterns"):
        RecallToySettings(patterns=6)


def test_written_dataset_is_the_episodes_and_passes_data_check(toy: Path) -> None:
    for index in (0, 9, EPISODES - 1):
        episode = toy / f"episode_{index:06d}"
        frames, actions = toy_episode(index, SETTINGS)
        np.testing.assert_array_equal(np.load(episode / "frames.npy"), frames)
        np.testing.assert_array_equal(np.load(episode / "actions_discrete.npy"), actions)
        assert read_meta(episode).source == {"env": "recall_toy", "seed": 0, "episode": index}
    assert json.loads((toy / "index.json").read_text())["num_episodes"] == EPISODES
    assert main(["data", "check", str(toy), "--no-progress"]) == 0


def test_two_pattern_dataset_records_them_and_passes_data_check(toy2: Path) -> None:
    settings = RecallToySettings(episodes=EPISODES, patterns=2)
    for index in (0, EPISODES - 1):
        episode = toy2 / f"episode_{index:06d}"
        np.testing.assert_array_equal(np.load(episode / "frames.npy"), toy_episode(index, settings)[0])
        meta = read_meta(episode)
        assert meta.source == {"env": "recall_toy", "seed": 0, "patterns": 2, "episode": index}
        assert meta.action_space == action_space(2)
    assert main(["data", "check", str(toy2), "--no-progress"]) == 0


def test_two_pattern_scores_each_recalled_pattern_and_refuses_a_one_pattern_checkpoint(
        toy2: Path, toy: Path, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    path = checkpoint(tmp_path / "two.safetensors", toy2, patterns=2)
    out = tmp_path / "score.json"
    assert main([*TOY, "--data", str(toy2), str(path), "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    result = json.loads(out.read_text())
    row = result["checkpoints"][0]
    assert result["settings"]["patterns"] == 2
    held_out = [toy_episode(n, RecallToySettings(episodes=EPISODES, patterns=2)) for n in (9, 19, 29)]
    recalled = [int(actions.max()) for _, actions in held_out]
    groups = row["by_pattern"]
    assert [group["pattern"] for group in groups] == sorted(set(recalled))
    assert [group["episodes"] for group in groups] == [recalled.count(k) for k in sorted(set(recalled))]
    for group in groups:
        assert all(math.isfinite(group[key]) for key in ("psnr_whole", "psnr_window", "psnr_copy_last"))
        assert f"pattern {group['pattern']} ({group['episodes']} episodes): whole" in printed
    weighted = sum(group["psnr_whole"] * group["episodes"] for group in groups) / 3
    assert weighted == pytest.approx(row["psnr_whole"], abs=1e-4)
    # the action-space check: one pattern's checkpoint on two patterns' data, and the other way round
    assert main([*TOY, "--data", str(toy2), str(checkpoint(tmp_path / "one.safetensors", toy2))]) == 1
    assert "with actions ['noop', 'recall'], not the recall toy's 16x16 frames with ['noop', 'recall_1', " \
           "'recall_2']" in capsys.readouterr().err
    assert main([*TOY, "--data", str(toy), str(path)]) == 1
    assert "with actions ['noop', 'recall_1', 'recall_2'], not" in capsys.readouterr().err


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
    assert "shows a pattern" in capsys.readouterr().err
    assert main([*TOY, "--data", str(toy)]) == 1
    assert "needs at least one CHECKPOINT" in capsys.readouterr().err
