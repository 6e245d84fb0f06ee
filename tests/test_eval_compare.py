"""worldsim eval: the same held-out clips for every checkpoint, JSON written atomically, clear errors."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import torch

from worldsim.actions import maze_action_space
from worldsim.checkpoint import PlayBlock, save_checkpoint
from worldsim.cli import main
from worldsim.env.maze_world import MazeConfig
from worldsim.eval.validation import validate, validation_clips
from worldsim.model import WorldModel, tiny_model_config

SHORT = ["--clips", "2", "--context", "2", "--rollout", "3", "--steps", "1", "--device", "cpu"]


def tiny_checkpoint(path: Path, seed: int, frame_size: int = 16, temporal: str = "ssm+local") -> Path:
    torch.manual_seed(seed)
    config = tiny_model_config(temporal=temporal, num_discrete_actions=9, num_continuous_actions=1)
    config.image_height = config.image_width = frame_size
    maze = MazeConfig(size=9, height=frame_size, width=frame_size)
    model = WorldModel(config)
    with torch.no_grad():  # the output layer starts at zero: move every weight so models differ
        for parameter in model.parameters():
            parameter.add_(0.05 * torch.randn_like(parameter))
    save_checkpoint(path, model, PlayBlock(maze_action_space(), (frame_size, frame_size), maze=maze), {"step": seed})
    return path


def test_eval_compares_checkpoints_on_the_same_clips(tmp_path: Path) -> None:
    first, second = tiny_checkpoint(tmp_path / "a.safetensors", 1), tiny_checkpoint(tmp_path / "b.safetensors", 2)
    out = tmp_path / "results" / "eval.json"

    assert main(["eval", str(first), str(second), *SHORT, "--commit-noise", "1.0", "0.9", "--out", str(out)]) == 0

    report = json.loads(out.read_text())
    results = report["results"]
    assert report["settings"]["rollout"] == 3 and len(results) == 4
    assert [(r["checkpoint"], r["commit_noise_level"]) for r in results] == [
        (str(first), 1.0), (str(first), 0.9), (str(second), 1.0), (str(second), 0.9)]
    assert [r["step"] for r in results] == [1, 1, 2, 2]
    # One-step prediction does not depend on the rollout's commit level; the rollout does.
    assert results[0]["psnr_one_step"] == results[1]["psnr_one_step"]
    assert results[0]["psnr_rollout"] != results[1]["psnr_rollout"]
    assert results[0]["psnr_one_step"] != results[2]["psnr_one_step"]  # another model, another score
    # The numbers are validate()'s on the trainer's held-out clips.
    from worldsim.checkpoint import load_checkpoint

    model, _, _ = load_checkpoint(first)
    clips = validation_clips(MazeConfig(height=16, width=16), 2, 5, torch.device("cpu"))
    expected = validate(model, clips, 2, 3, 1, action_space=maze_action_space())
    assert results[0]["psnr_rollout"] == pytest.approx(expected["psnr_rollout"])
    assert not list(out.parent.glob(".*tmp*"))


def test_skip_lets_a_shorter_context_predict_the_same_frames(tmp_path: Path) -> None:
    checkpoint = tiny_checkpoint(tmp_path / "a.safetensors", 1)
    short, long = tmp_path / "short.json", tmp_path / "long.json"
    assert main(["eval", str(checkpoint), *SHORT, "--context", "1", "--skip", "1", "--out", str(short)]) == 0
    assert main(["eval", str(checkpoint), *SHORT, "--out", str(long)]) == 0  # context 2, no skip
    from worldsim.checkpoint import load_checkpoint

    model, _, _ = load_checkpoint(checkpoint)
    clips = validation_clips(MazeConfig(height=16, width=16), 2, 5, torch.device("cpu"))
    expected = validate(model, {key: value[:, 1:] for key, value in clips.items()}, 1, 3, 1,
                        action_space=maze_action_space())
    result = json.loads(short.read_text())["results"][0]
    assert result["psnr_rollout"] == pytest.approx(expected["psnr_rollout"])
    assert result["psnr_rollout"] != json.loads(long.read_text())["results"][0]["psnr_rollout"]


def test_eval_errors_name_the_culprit(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    small = str(tiny_checkpoint(tmp_path / "small.safetensors", 1))
    large = str(tiny_checkpoint(tmp_path / "large.safetensors", 2, frame_size=32))
    cases = [  # (checkpoints, options after SHORT, message)
        ([str(tmp_path / "missing.safetensors")], [], "no checkpoint at .*missing.safetensors"),
        ([small], ["--commit-noise", "1.5"], "commit-noise levels must be in"),
        ([small], ["--skip", "-1"], "skip must be >= 0"),
        ([small], ["--rollout", "0"], "rollout must be >= 1"),
        ([small, large], [], "large.safetensors was trained on a different maze"),
    ]
    for checkpoints, options, message in cases:
        assert main(["eval", *checkpoints, *SHORT, *options]) == 1
        assert re.search(message, capsys.readouterr().err), options


def test_mismatched_checkpoints_fail_before_any_is_scored(tmp_path: Path, capsys, monkeypatch) -> None:
    from worldsim.eval import validation

    scored = []
    monkeypatch.setattr(validation, "validate_per_clip", lambda *args, **kwargs: scored.append(1))
    small = str(tiny_checkpoint(tmp_path / "small.safetensors", 1))
    large = str(tiny_checkpoint(tmp_path / "large.safetensors", 2, frame_size=32))
    assert main(["eval", small, small, large, *SHORT]) == 1
    captured = capsys.readouterr()
    assert "large.safetensors was trained on a different maze" in captured.err
    assert scored == [] and "one-step" not in captured.out


def test_eval_shows_progress_over_every_generated_frame(tmp_path: Path, capsys) -> None:
    checkpoint = str(tiny_checkpoint(tmp_path / "a.safetensors", 1))
    assert main(["eval", checkpoint, checkpoint, *SHORT]) == 0
    err = capsys.readouterr().err
    assert "eval: 100%" in err and "18/18" in err  # 2 checkpoints x 3 passes x 3 rollout frames


def test_later_checkpoints_are_compared_clip_by_clip_with_the_first(tmp_path: Path, capsys) -> None:
    first, second = tiny_checkpoint(tmp_path / "a.safetensors", 1), tiny_checkpoint(tmp_path / "b.safetensors", 2)
    out = tmp_path / "eval.json"
    short = [*SHORT[:1], "3", *SHORT[2:]]  # 3 clips: a standard error needs more than one
    assert main(["eval", str(first), str(first), str(second), *short, "--out", str(out)]) == 0
    results = json.loads(out.read_text())["results"]
    assert "versus_first" not in results[0]
    same, other = results[1]["versus_first"], results[2]["versus_first"]
    assert set(same) == {"psnr_one_step", "psnr_rollout", "psnr_rollout_last", "psnr_still"}
    # the same weights on the same clips and noise: no difference at all
    assert all(d["difference"] == 0.0 and d["standard_error"] == 0.0 for d in same.values())
    for name, d in other.items():  # the mean of the differences is the difference of the means
        assert d["difference"] == pytest.approx(results[2][name] - results[0][name], abs=1e-4)
        assert d["standard_error"] > 0
    assert f"vs {first}: one-step" in capsys.readouterr().out


def test_paired_difference_is_the_mean_and_standard_error_of_the_differences() -> None:
    from worldsim.eval.metrics import paired_difference

    mean, error = paired_difference(torch.tensor([11.0, 12.0, 16.0]), torch.tensor([10.0, 10.0, 10.0]))
    assert mean == pytest.approx(3.0)
    assert error == pytest.approx((((1 - 3) ** 2 + (2 - 3) ** 2 + (6 - 3) ** 2) / 2) ** 0.5 / 3**0.5)
    assert paired_difference(torch.tensor([5.0]), torch.tensor([4.0])) == (1.0, 0.0)
