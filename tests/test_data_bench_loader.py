"""worldsim.bench.loader: measures throughput on a tiny dataset and writes the JSON it promises."""

from __future__ import annotations

import json

import pytest
from test_data_episode import write_episode

from worldsim.bench.loader import main, measure_loader


def test_measure_loader_reports_consistent_rates(tmp_path) -> None:
    for seed in range(2):
        write_episode(tmp_path, length=12, seed=seed)
    result = measure_loader(tmp_path, clip_length=4, batch=3, workers=0, warmup=1, batches=5, seed=0)
    assert result["episodes"] == 2 and result["dataset_frames"] == 24
    assert result["frames_per_s"] == pytest.approx(result["clips_per_s"] * 4)
    # each clip: 4 frames of 4x3x3 uint8, 4 int64 + 4x1 float32 actions, one int64 start
    assert result["mb_per_s"] * 1e6 == pytest.approx(result["clips_per_s"] * (4 * 36 + 4 * 8 + 4 * 4 + 8))


def test_main_writes_json(tmp_path) -> None:
    write_episode(tmp_path / "data", length=6)
    out = tmp_path / "result.json"
    argv = ["--data", str(tmp_path / "data"), "--clip-length", "2", "--batch", "2", "--workers", "0"]
    assert main(argv + ["--warmup", "1", "--batches", "2", "--out", str(out)]) == 0
    result = json.loads(out.read_text())
    assert result["batches"] == 2 and result["clips_per_s"] > 0 and result["machine"]["cpu_count"] >= 1
