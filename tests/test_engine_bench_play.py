import json

import pytest
import torch

from worldsim.bench.play import mode_label, run_modes, sample_points
from worldsim.cli import main


def test_sample_points_are_log_spaced_and_end_at_the_last_frame():
    assert sample_points(120) == [1, 2, 5, 10, 20, 50, 100, 120]
    assert sample_points(10_000)[-1] == 10_000


def test_bench_play_writes_json_and_png_per_variant(tmp_path, capsys):
    out = tmp_path / "bench"
    tiny = ["image_height=16", "image_width=16", "width=32", "depth=2", "attn_heads=2", "ssm_headdim=16",
            "block_sizes=[[4,4],[2,2]]", "ssm_chunk=8"]
    assert main(["bench", "play", "--device", "cpu", "--frames", "6", "--steps", "1", "--out", str(out),
                 "--set", *tiny]) == 0
    err = capsys.readouterr().err
    assert all(f"{label}: 100%" in err for label in ("ssm+local eager", "local eager", "full eager"))  # progress
    report = json.loads(out.with_suffix(".json").read_text())
    assert [run["variant"] for run in report["runs"]] == ["ssm+local", "local", "full", "pack+local"]
    for run in report["runs"]:
        assert [p["frame"] for p in run["points"]] == [1, 2, 5, 6]
        assert all(p["ms_per_frame"] > 0 and p["rss"] > 0 for p in run["points"])
        assert not run["graph"] and not run["compile"] and not run["compiled"]
    assert out.with_suffix(".png").stat().st_size > 1000


def test_modes_say_graph_and_compile_and_run_once_where_they_fall_back():
    cuda, cpu = torch.device("cuda"), torch.device("cpu")
    modes = ["graph", "graph+compile", "eager", "compile"]
    assert run_modes(modes, False, cuda, "ssm+local") == [(True, False), (True, True), (False, False), (False, True)]
    assert [mode_label(*run) for run in run_modes(modes, False, cuda, "ssm+local")] == modes
    assert run_modes(modes, False, cpu, "ssm+local") == [(False, False), (False, True)]  # no graphs on a CPU
    assert run_modes(modes, False, cuda, "full") == [(False, False)]  # a growing state: neither
    assert run_modes(["graph", "eager"], True, cuda, "local") == [(True, True), (False, True)]  # --compile


def test_bench_play_takes_the_model_from_a_training_config(tmp_path, capsys):
    config = tmp_path / "deep.yaml"
    config.write_text("model:\n  depth: 2\n  width: 32\n  attn_heads: 2\n  ssm_headdim: 16\n"
                      "  image_height: 16\n  image_width: 16\n  block_sizes: [[4, 4]]\n  ssm_chunk: 8\n"
                      "schedule:\n  max_steps: 5\n")
    out = tmp_path / "bench"
    assert main(["bench", "play", "--device", "cpu", "--frames", "2", "--steps", "1", "--variants", "local",
                 "--modes", "eager", "--config", str(config), "--set", "depth=1", "--out", str(out),
                 "--no-progress"]) == 0
    (run,) = json.loads(out.with_suffix(".json").read_text())["runs"]
    assert run["config"]["depth"] == 1 and run["config"]["width"] == 32 and run["config"]["temporal"] == "local"
    with pytest.raises(SystemExit):
        main(["bench", "play", "--modes", "graph+eager"])
    assert "invalid choice" in capsys.readouterr().err
