"""The training throughput benchmark on CPU: one process with the data-source rate, and 2 gloo processes."""

from __future__ import annotations

import json
import math
from pathlib import Path

from worldsim.bench.train_throughput import main

TINY = Path(__file__).resolve().parents[1] / "configs" / "tiny.yaml"
FAST = ["--config", str(TINY), "--steps", "1", "--warmup", "1"]


def test_one_process_reports_model_and_data_rates(tmp_path: Path) -> None:
    out = tmp_path / "throughput.json"
    assert main([*FAST, "--out", str(out), "data.batch_size=1", "device=cpu"]) == 0
    result = json.loads(out.read_text())
    assert result["frames_per_s"] > 0
    assert result["data_frames_per_s"] > 0
    assert result["bottleneck"] in {"data", "model"}
    assert "world_size" not in result  # the one-process format is unchanged


def test_data_measurement_can_be_skipped(tmp_path: Path) -> None:
    out = tmp_path / "throughput.json"
    assert main([*FAST, "--data-batches", "0", "--out", str(out), "data.batch_size=1", "device=cpu"]) == 0
    result = json.loads(out.read_text())
    assert result["data_frames_per_s"] is None and result["bottleneck"] is None


def test_two_gloo_processes_report_scaling(tmp_path: Path) -> None:
    out = tmp_path / "scaling.json"
    assert main([*FAST, "--gpus", "2", "--out", str(out), "data.batch_size=1", "device=cpu"]) == 0
    result = json.loads(out.read_text())
    assert result["gpus"] == 2
    assert result["distributed"]["world_size"] == 2
    assert result["distributed"]["global_batch_size"] == 2
    assert result["distributed"]["data_frames_per_s"] > 0
    efficiency = result["scaling_efficiency"]
    assert math.isfinite(efficiency) and efficiency > 0
