"""Plot a run's training loss and validation PSNR from metrics.jsonl as a PNG, and print the validation table.

    worldsim plot runs/maze [runs/maze_part2/metrics.jsonl ...] --out curve.png

Several inputs are concatenated in order (a run trained in chunks); where a step repeats within a kind,
the later record wins.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from worldsim.data.atomic import atomic_path

PSNR_KEYS: tuple[tuple[str, str], ...] = (
    ("psnr_one_step", "one-step"), ("psnr_rollout", "rollout mean"), ("psnr_rollout_last", "rollout last frame"),
    ("psnr_still", "standing still"), ("psnr_copy_last", "copy last frame"),
)


def load_records(inputs: list[Path]) -> dict[str, dict[int, dict]]:
    """kind -> step -> record, over all inputs in order. Not metrics_log.read_metrics: that needs the file to
    be named metrics.jsonl, returns [] for a missing path, and imports torch and TensorBoard."""
    by_kind: dict[str, dict[int, dict]] = {}
    for given in inputs:
        path = given / "metrics.jsonl" if given.is_dir() else given
        if not path.is_file():
            raise SystemExit(f"plot_curves: no metrics file at {path}")
        count = 0
        for number, line in enumerate(path.read_text().splitlines(), 1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError:
                # a run killed mid-write leaves a partial last line; anything else is a real error
                print(f"plot_curves: skipping unreadable line {number} of {path}", file=sys.stderr)
                continue
            if isinstance(record, dict) and "kind" in record and "step" in record:
                by_kind.setdefault(record["kind"], {})[int(record["step"])] = record
                count += 1
        if count == 0:
            raise SystemExit(f"plot_curves: no metric records in {path}")
    return {kind: dict(sorted(steps.items())) for kind, steps in by_kind.items()}


def format_table(validation: dict[int, dict]) -> str:
    header = f"{'step':>8}" + "".join(f"{label:>20}" for _, label in PSNR_KEYS)
    rows = [header]
    for step, record in validation.items():
        cells = (f"{record[key]:.2f}" if isinstance(record.get(key), (int, float)) else "-" for key, _ in PSNR_KEYS)
        rows.append(f"{step:>8}" + "".join(f"{cell:>20}" for cell in cells))
    return "\n".join(rows)


def plot(records: dict[str, dict[int, dict]], out: Path, title: str | None) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, (loss_axis, psnr_axis) = plt.subplots(1, 2, figsize=(11, 4))
    train = [(step, r["loss"]) for step, r in records.get("train", {}).items() if "loss" in r]
    if train:
        loss_axis.plot([s for s, _ in train], [v for _, v in train], linewidth=1)
        loss_axis.set_yscale("log")
    loss_axis.set_ylabel("training loss")
    validation = records.get("validation", {})
    for key, label in PSNR_KEYS:
        points = [(step, r[key]) for step, r in validation.items() if r.get(key) is not None]
        if points:
            psnr_axis.plot([s for s, _ in points], [v for _, v in points], marker="o", label=label)
    if psnr_axis.lines:
        psnr_axis.legend()
    psnr_axis.set_ylabel("validation PSNR (dB)")
    for axis in (loss_axis, psnr_axis):
        axis.set_xlabel("step")
        axis.grid(True, alpha=0.3)
    if title:
        figure.suptitle(title)
    figure.tight_layout()
    with atomic_path(out, keep_suffix=True) as temp:  # matplotlib picks the format from the extension
        figure.savefig(temp, dpi=120)
    plt.close(figure)
