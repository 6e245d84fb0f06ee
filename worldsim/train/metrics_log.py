"""Metrics to metrics.jsonl (one JSON object per record) and TensorBoard; rank 0 only."""

from __future__ import annotations

import json
from pathlib import Path

from torch.utils.tensorboard import SummaryWriter
from tqdm import tqdm


class MetricsLog:
    def __init__(self, run_dir: Path, enabled: bool = True):
        self.enabled = enabled
        self.path = Path(run_dir) / "metrics.jsonl"
        self.writer = SummaryWriter(str(Path(run_dir) / "tensorboard")) if enabled else None

    def write(self, step: int, values: dict[str, float], kind: str = "train") -> None:
        if not self.enabled:
            return
        with open(self.path, "a") as file:  # appended lines survive a kill; a resumed run continues the file
            file.write(json.dumps({"kind": kind, "step": step, **values}) + "\n")
        for name, value in values.items():
            self.writer.add_scalar(f"{kind}/{name}", value, step)
        self.writer.flush()

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()


def read_metrics(run_dir: Path, kind: str = "train") -> list[dict]:
    path = Path(run_dir) / "metrics.jsonl"
    if not path.is_file():
        return []
    records = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    return [r for r in records if r.get("kind") == kind]


def progress_line(step: int, max_steps: int, steps_done: int, seconds: float, **values: float) -> str:
    """One log line for runs without a progress bar: step, values and the time left at this pace."""
    shown = "  ".join(f"{name} {value:.4g}" for name, value in values.items())
    eta = tqdm.format_interval(seconds / steps_done * (max_steps - step)) if steps_done > 0 else "?"
    return f"step {step}/{max_steps}  {shown}  {tqdm.format_interval(seconds)} elapsed, {eta} left"
