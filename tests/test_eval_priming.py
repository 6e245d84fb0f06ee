"""worldsim eval priming: first frame alone vs one look around, scored against the true maze."""

from __future__ import annotations

import json

import pytest
import torch

from worldsim.actions import maze_action_space
from worldsim.checkpoint import PlayBlock, save_checkpoint
from worldsim.cli import main
from worldsim.env.maze_world import MazeConfig
from worldsim.eval.priming import priming_benchmark
from worldsim.model import WorldModel, tiny_model_config

MAZE = MazeConfig(size=5, height=16, width=16)


def _checkpoint(tmp_path, maze: MazeConfig | None = MAZE):
    torch.manual_seed(0)
    model = WorldModel(tiny_model_config(num_discrete_actions=9, num_continuous_actions=1))
    with torch.no_grad():  # open the zero-initialised gates, so that the state shapes the frames
        for parameter in model.parameters():
            parameter.add_(0.1 * torch.randn_like(parameter))
    path = tmp_path / "tiny.safetensors"
    save_checkpoint(path, model, PlayBlock(maze_action_space(), (16, 16), maze=maze), {"step": 7})
    return path


def test_priming_scores_both_primings_against_the_same_truth(tmp_path):
    result = priming_benchmark(_checkpoint(tmp_path), mazes=2, frames=12, steps=1, seed=0,
                               device=torch.device("cpu"), progress=False)
    assert result["step"] == 7 and result["settings"]["look_around_frames"] == 27
    assert list(result["windows"]) == ["frames 1-10", "frames 11-30"]
    curves = result["per_frame"]
    assert set(curves) == {"repeat_first_frame", "first_frame", "look_around"}
    assert all(len(curve) == 12 for curve in curves.values())
    assert curves["first_frame"] != curves["look_around"]  # the priming changes what the model generates
    window = result["windows"]["frames 1-10"]
    assert window["look_around"] == pytest.approx(sum(curves["look_around"][:10]) / 10, abs=1e-2)


def test_another_walk_seed_starts_the_model_in_the_true_mazes(tmp_path, monkeypatch):
    from worldsim.engine.engine import WorldModelEngine
    from worldsim.env.maze_world import MazeWorld
    from worldsim.env.rollout import held_out_seeds

    starts = []
    reset = WorldModelEngine.reset

    def spy(self, seed=None):
        frame, info = reset(self, seed)
        starts.append(frame.cpu())
        return frame, info

    monkeypatch.setattr(WorldModelEngine, "reset", spy)
    priming_benchmark(_checkpoint(tmp_path), mazes=2, frames=2, steps=1, seed=1, device=torch.device("cpu"),
                      progress=False)
    truth, _ = MazeWorld(MAZE, 2).reset(held_out_seeds(2))
    assert len(starts) == 2 and all(torch.equal(start, truth.cpu()) for start in starts)


def test_priming_cli_writes_json_and_refuses_a_checkpoint_of_another_world(tmp_path, capsys):
    out = tmp_path / "priming.json"
    path = _checkpoint(tmp_path)
    argv = ["eval", "priming", str(path), "--device", "cpu", "--mazes", "1", "--frames", "3", "--steps", "1",
            "--no-progress", "--threads", "1", "--out", str(out)]
    assert main(argv) == 0
    assert json.loads(out.read_text())["results"][0]["windows"]["frames 1-10"]["first_frame"] > 0
    assert "frames 1-10: repeat_first_frame" in capsys.readouterr().out
    other = _checkpoint(tmp_path / "other", maze=None)
    with pytest.raises(ValueError, match="not trained on the built-in maze"):
        priming_benchmark(other, 1, 3, 1, 0, torch.device("cpu"), progress=False)
