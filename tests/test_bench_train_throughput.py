"""The training throughput benchmark on CPU: one process with the data-source rate, and 2 gloo processes."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from worldsim.bench.train_throughput import main

SMOKE = Path(__file__).resolve().parent / "smoke.yaml"
FAST = ["--config", str(SMOKE), "--steps", "1", "--warmup", "1"]


def test_one_process_reports_model_and_data_rates(tmp_path: Path) -> None:
    out = tmp_path / "throughput.json"
    assert main([*FAST, "--out", str(out), "data.batch_size=1", "device=cpu"]) == 0
    result = json.loads(out.read_text())
    assert result["frames_per_s"] > 0
    assert result["data_frames_per_s"] > 0
    assert result["bottleneck"] in {"data", "model"}
    assert "world_size" not in result  # the one-process format is unchanged


def test_maze_data_is_timed_over_whole_pools_of_every_worker(tmp_path: Path) -> None:
    out = tmp_path / "throughput.json"
    assert main([*FAST, "--data-batches", "1", "--out", str(out), "data.batch_size=1", "device=cpu",
                 "data.maze_pool=2", "data.maze_workers=2"]) == 0
    result = json.loads(out.read_text())
    assert result["data_batches"] == 4 and result["maze_workers"] == 2  # one pool from each worker
    assert result["data_frames_per_s"] > 0


def test_data_measurement_can_be_skipped(tmp_path: Path) -> None:
    out = tmp_path / "throughput.json"
    assert main([*FAST, "--data-batches", "0", "--out", str(out), "data.batch_size=1", "device=cpu"]) == 0
    result = json.loads(out.read_text())
    assert result["data_frames_per_s"] is None and result["bottleneck"] is None


@pytest.mark.slow  # starts two torchrun processes
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


def test_profile_reports_time_shares_and_top_ops(tmp_path: Path) -> None:
    out = tmp_path / "profile.json"
    assert main([*FAST, "--data-batches", "0", "--profile", "1", "--out", str(out), "data.batch_size=1",
                 "device=cpu"]) == 0
    profile = json.loads(out.read_text())["profile"]
    assert profile["steps"] == 1 and profile["wall_ms_per_step"] > 0
    assert abs(sum(profile["share"].values()) - 1.0) < 0.05 or profile["share"]["idle"] == 0.0
    categories = {row["category"] for row in profile["top"]}
    assert "matmul" in categories  # the linear layers
    assert len(profile["top"]) > 3


def test_kernel_names_fall_into_their_categories() -> None:
    from worldsim.bench.profile_summary import categorize, summarize

    assert categorize("sm90_xmma_gemm_bf16bf16_bf16f32") == "matmul"
    assert categorize("flash_fwd_kernel") == "attention"
    assert categorize("_chunk_scan_fwd_kernel") == "scan"
    assert categorize("multi_tensor_apply_kernel<FusedAdam>") == "optimizer"
    assert categorize("vectorized_elementwise_kernel") == "elementwise/other"
    summary = summarize([("gemm", 0.3), ("flash_fwd", 0.1), ("gemm", 0.2)], wall_seconds=1.0, steps=2)
    assert summary["share"] == pytest.approx({"matmul": 0.5, "attention": 0.1, "idle": 0.4})
    assert summary["top"][0] == {"name": "gemm", "ms_per_step": pytest.approx(250.0), "category": "matmul"}
