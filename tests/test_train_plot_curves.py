"""plot_curves: inputs concatenated in order (later file wins a repeated step), PNG written, table printed."""

from __future__ import annotations

import json
from pathlib import Path

import matplotlib.image
import pytest

from worldsim.cli import main as cli_main


def write_jsonl(path: Path, records: list[dict]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(record) + "\n" for record in records))


def validation(step: int, psnr: float) -> dict:
    return {"kind": "validation", "step": step, "psnr_one_step": psnr, "psnr_rollout": psnr - 2,
            "psnr_rollout_last": psnr - 4}


def test_plot_curves_concatenates_runs_and_writes_png(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    train = [{"kind": "train", "step": s, "loss": 1.0 / s, "lr": 1e-4, "frames_per_s": 100.0} for s in (50, 100)]
    write_jsonl(tmp_path / "part1" / "metrics.jsonl", train + [validation(100, 11.0), validation(200, 12.0)])
    second = tmp_path / "part2.jsonl"
    write_jsonl(second, [{"kind": "train", "step": 250, "loss": 0.001}, validation(200, 15.5), validation(300, 16.0)])
    out = tmp_path / "plots" / "curve.png"

    assert cli_main(["plot", str(tmp_path / "part1"), str(second), "--out", str(out), "--title", "test run"]) == 0

    image = matplotlib.image.imread(out)
    assert image.shape[0] > 100
    lines = [line.split() for line in capsys.readouterr().out.splitlines()]
    rows = [cells for cells in lines if cells and cells[0].isdigit()]
    assert [int(cells[0]) for cells in rows] == [100, 200, 300]
    assert rows[1][1] == "15.50"  # the later file's step 200


def test_plot_curves_missing_path_names_it(tmp_path: Path) -> None:
    missing = tmp_path / "no_such_run"
    with pytest.raises(SystemExit, match="no_such_run"):
        cli_main(["plot", str(missing), "--out", str(tmp_path / "curve.png")])
    empty = tmp_path / "empty.jsonl"
    empty.write_text("\n")
    with pytest.raises(SystemExit, match="empty.jsonl"):
        cli_main(["plot", str(empty), "--out", str(tmp_path / "curve.png")])
