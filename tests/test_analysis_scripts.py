"""The analysis scripts behind numbers quoted in the docs (scripts/*.py) run and report what they say."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from test_train_dataset_fit import FAST, SMOKE, write_dataset

from worldsim.cli import main

ROOT = Path(__file__).resolve().parents[1]


def run_script(name: str, *args: str) -> str:
    env = {**os.environ, "PYTHONPATH": f"{ROOT}{os.pathsep}{os.environ.get('PYTHONPATH', '')}", "OMP_NUM_THREADS": "1"}
    done = subprocess.run([sys.executable, str(ROOT / "scripts" / name), *args], env=env, capture_output=True,
                          text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def test_still_share_counts_the_pauses() -> None:
    plain = json.loads(run_script("still_share.py", str(SMOKE), "data.clip_length=48", "--pools", "2"))
    paused = json.loads(run_script("still_share.py", str(SMOKE), "data.clip_length=48", "data.pause_prob=0.05",
                                   "--pools", "2"))
    assert plain["still_share"] == 0.0 and plain["longest_still_run"] == 0  # steering alone never stands still
    assert paused["still_share"] > 0.3 and paused["longest_still_run"] >= 16  # pauses last 16-96 steps
    assert paused["steps"] == plain["steps"] == 2 * 2 * 2 * 47  # pools x maze_pool x batch x steps


def test_rollout_error_bands_cover_the_rows(tmp_path: Path) -> None:
    data = write_dataset(tmp_path / "data", episodes=4, length=10)
    assert main(["train", "--config", str(SMOKE), "--data", str(data), "--out", str(tmp_path / "run"),
                 "--no-progress", *FAST, "data.holdout_every=2"]) == 0
    out = tmp_path / "bands.json"
    run_script("rollout_error_bands.py", str(tmp_path / "run" / "latest.safetensors"), "--data", str(data),
               "--clips", "2", "--context", "3", "--rollout", "4", "--steps", "1", "--bands", "0", "4", "16",
               "--out", str(out))
    [level] = json.loads(out.read_text())["commit_noise_levels"].values()
    assert set(level["mse_by_row_band"]) == {"rows 0-4", "rows 4-16"}
    for band in level["mse_by_row_band"].values():
        assert set(band) == {"model_all", "model_last8", "copy_last_all", "copy_last_last8"}
        assert all(value >= 0 for value in band.values())
    assert len(level["psnr_per_frame"]["model"]) == len(level["psnr_per_frame"]["copy_last"]) == 4


def test_dilate_keeps_breakouts_ball_bright() -> None:
    pytest.importorskip("ale_py")
    report = json.loads(run_script("downscaled_ball.py").strip().splitlines()[-1])
    assert report["dilate"]["brightest"] == report["ball_colour"]  # the ball's own colour, not brighter
    assert report["area"]["brightest"][0] < report["ball_colour"][0]
    assert report["dilate"]["pixels_lit_above_20"] > report["area"]["pixels_lit_above_20"]
