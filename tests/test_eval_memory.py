"""worldsim eval memory: every test scored on held-out walks, files written, bad input named."""

from __future__ import annotations

import json
import re
import warnings
from pathlib import Path

import pytest
import torch
from test_eval_compare import tiny_checkpoint

from worldsim.cli import main
from worldsim.env.maze_world import MazeConfig, MazeWorld
from worldsim.env.memory_walks import retrace_clips
from worldsim.eval.memory import MemorySettings, primed_rollout, teacher_forced_frames

SMALL = ["--mazes", "2", "--outbound", "6", "--back", "4", "--generate", "3", "--response-steps", "2",
         "--steps", "1", "--device", "cpu"]


def test_memory_benchmark_writes_every_metric(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    first = tiny_checkpoint(tmp_path / "a.safetensors", 1)
    second = tiny_checkpoint(tmp_path / "b.safetensors", 2, temporal="pack+local")  # both variants
    out = tmp_path / "report" / "memory"
    assert main(["eval", "memory", str(first), str(second), *SMALL, "--out", str(out)]) == 0
    # progress over every generated frame: (4 + 3 + 4) frames x 2 primings + 3 pairs x 2 actions x 2 frames, twice
    assert "68/68" in capsys.readouterr().err
    report = json.loads(out.with_suffix(".json").read_text())
    assert report["settings"]["back"] == 4
    rows = report["checkpoints"]
    assert [row["checkpoint"] for row in rows] == [str(first), str(second)]
    for row in rows:
        retrace, rotation = row["retrace"], row["rotation"]
        assert len(retrace["per_frame"]["psnr_full"]) == 4 and len(rotation["per_frame"]["psnr_window"]) == 3
        assert retrace["memory_gain"] == pytest.approx(retrace["psnr_full"] - retrace["psnr_window"], abs=1e-4)
        assert all(b["gap_from"] >= 0 for b in retrace["by_gap"])  # every retraced view was seen before
        recall = row["recall"]  # the same walk back, teacher-forced
        assert recall["psnr_copy_last"] == retrace["psnr_copy_last"] and len(recall["per_frame"]["psnr_full"]) == 4
        assert recall["memory_gain"] == pytest.approx(recall["psnr_full"] - recall["psnr_window"], abs=1e-4)
        assert set(row["response"]) == {"turn", "move", "mouse"}
        assert row["response"]["turn"]["truth"] > 1.0  # turning left vs right changes the true view
    assert [row["temporal"] for row in rows] == ["ssm+local", "pack+local"]
    assert len(rows[0]["scan_horizon_frames"]) == 3
    assert rows[1]["scan_horizon_frames"] == []  # pack+local has no scan to measure
    assert rows[0]["retrace"]["psnr_full"] != rows[1]["retrace"]["psnr_full"]
    assert rows[0]["retrace"]["psnr_copy_last"] == rows[1]["retrace"]["psnr_copy_last"]  # the same walks
    assert out.with_suffix(".png").stat().st_size > 0 and out.with_suffix(".mp4").stat().st_size > 0
    assert not list(out.parent.glob(".*tmp*"))


def perturbed_model_and_walk(temporal: str = "ssm+local", outbound: int = 6, back: int = 3, scale: float = 0.05):
    """A tiny model with open gates (its state shapes the frames) and one retrace walk: 7 out, 3 back."""
    from worldsim.model import WorldModel, tiny_model_config

    torch.manual_seed(0)
    model = WorldModel(tiny_model_config(temporal=temporal, num_discrete_actions=9, num_continuous_actions=1)).eval()
    with torch.no_grad():
        for parameter in model.parameters():
            parameter.add_(scale * torch.randn_like(parameter))
    return model, retrace_clips(MazeWorld(MazeConfig(size=5, height=16, width=16), 1), [3], outbound, back, 0)


def test_three_variants_side_by_side_and_how_to_read_their_memory_gain(tmp_path: Path,
                                                                      capsys: pytest.CaptureFixture) -> None:
    paths = [tiny_checkpoint(tmp_path / f"{name}.safetensors", seed, temporal=temporal)
             for seed, (name, temporal) in enumerate([("ssm", "ssm+local"), ("local", "local"),
                                                      ("pack", "pack+local")], 1)]
    out = tmp_path / "memory"
    assert main(["eval", "memory", *map(str, paths), *SMALL, "--tests", "retrace", "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    rows = json.loads(out.with_suffix(".json").read_text())["checkpoints"]
    assert [row["temporal"] for row in rows] == ["ssm+local", "local", "pack+local"]
    # tiny models: 3 layers x attention window 2
    assert [row["priming"] for row in rows] == [
        {"window": 2, "attention_reach_frames": 6, "long_memory": memory} for memory in ("scan", None, "pack")]
    assert len({row["retrace"]["psnr_full"] for row in rows}) == 3
    assert "local holds nothing beyond that reach: its gain is what frames 3-6 back add" in printed
    assert printed.count("(--window 6: the scan's alone)") == 1 and "(--window 6: the pack's alone)" in printed


@pytest.mark.parametrize("temporal, beyond_reach", [("local", False), ("ssm+local", True)])
def test_local_remembers_nothing_beyond_its_attention_reach(temporal: str, beyond_reach: bool) -> None:
    """Primed with the last depth x attn_window frames, `local` generates what the whole history gives (up to
    the rounding of other frame indices); with its window alone it does not: the gain is not 0 by construction."""
    from worldsim.eval.memory import attention_reach, priming, priming_note, score_rollouts

    model, clips = perturbed_model_and_walk(temporal, outbound=12, back=3, scale=0.2)
    reach = attention_reach(model.config)
    assert reach == 6  # 3 layers x window 2; the walk out (13 frames) is longer
    full = primed_rollout(model, clips, 13, 0, 3, 1, seed=5)
    at_reach = primed_rollout(model, clips, 13, 13 - reach, 3, 1, seed=5)
    at_window = primed_rollout(model, clips, 13, 13 - model.config.attn_window, 3, 1, seed=5)
    assert ((at_reach - full).abs().max() > 1e-4) == beyond_reach  # only the scan holds more than the reach
    assert (at_window - full).abs().max() > 1e-3
    if not beyond_reach:  # the benchmark's number: --window at the reach gives a gain of 0 to rounding
        settings = MemorySettings(steps=1, window=reach)
        assert abs(score_rollouts(model, clips, 13, 3, settings)["memory_gain"]) < 1e-3
        assert "local holds nothing beyond it, so 0 up to rounding" in priming_note(
            priming(model.config, settings), "local")


def test_window_priming_differs_from_whole_history_only_by_the_context() -> None:
    model, clips = perturbed_model_and_walk()
    full = primed_rollout(model, clips, 7, 0, 3, 1, seed=5)
    assert torch.equal(full, primed_rollout(model, clips, 7, 0, 3, 1, seed=5))  # same noise, same frames
    assert not torch.equal(full, primed_rollout(model, clips, 7, 5, 3, 1, seed=5))


def test_memory_errors_name_the_value(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    small = str(tiny_checkpoint(tmp_path / "small.safetensors", 1))
    large = str(tiny_checkpoint(tmp_path / "large.safetensors", 2, frame_size=32))
    out = ["--out", str(tmp_path / "m")]
    for checkpoints, options, message in [
        ([small], ["--back", "9"], r"back \(9\) must not exceed outbound \(6\)"),
        ([small, large], [], "large.safetensors was trained on a different maze"),
        ([str(tmp_path / "none.safetensors")], [], "no checkpoint at .*none.safetensors"),
    ]:
        assert main(["eval", "memory", *checkpoints, *SMALL, *options, *out]) == 1
        assert re.search(message, capsys.readouterr().err), options
    assert not (tmp_path / "m.json").exists()
    with pytest.raises(ValueError, match="mazes must be >= 1"):
        MemorySettings(mazes=0)


def test_teacher_forced_frames_see_the_true_past() -> None:
    model, clips = perturbed_model_and_walk()
    rollout = primed_rollout(model, clips, 7, 0, 3, 1, seed=5)
    forced = teacher_forced_frames(model, clips, 7, 3, None, 1, seed=5)
    assert torch.equal(forced[:, 0], rollout[:, 0])  # the same state and noise for the first frame
    assert not torch.allclose(forced[:, 1:], rollout[:, 1:])  # then the true frame, not the generated one, is the past
    # a window that reaches back to the start sees what the whole history sees
    torch.testing.assert_close(teacher_forced_frames(model, clips, 7, 3, 10, 1, seed=5), forced)
    assert not torch.allclose(teacher_forced_frames(model, clips, 7, 3, 2, 1, seed=5), forced)


def test_a_run_without_retrace_plots_without_an_empty_legend(tmp_path: Path) -> None:
    checkpoint = tiny_checkpoint(tmp_path / "a.safetensors", 1)
    out = tmp_path / "memory"
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # matplotlib warns about a legend with no labelled lines
        assert main(["eval", "memory", str(checkpoint), *SMALL, "--tests", "rotation", "--out", str(out)]) == 0
    assert out.with_suffix(".png").stat().st_size > 0


def test_without_the_video_encoder_the_numbers_are_still_written(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                                capsys: pytest.CaptureFixture) -> None:
    import sys

    monkeypatch.setitem(sys.modules, "imageio_ffmpeg", None)  # import fails as where it is not installed
    checkpoint = tiny_checkpoint(tmp_path / "a.safetensors", 1)
    out = tmp_path / "memory"
    assert main(["eval", "memory", str(checkpoint), *SMALL, "--tests", "retrace", "--out", str(out)]) == 0
    warning = capsys.readouterr().err
    assert "no video" in warning and "pip install imageio-ffmpeg" in warning
    assert json.loads(out.with_suffix(".json").read_text())["checkpoints"][0]["retrace"]["psnr_full"] > 0
    assert out.with_suffix(".png").exists() and not out.with_suffix(".mp4").exists()
