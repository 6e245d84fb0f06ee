"""The memory benchmark's files: JSON (atomic), a PNG of the curves, an mp4 of truth | full | window."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import torch

from worldsim.data.atomic import atomic_path, write_json_atomic
from worldsim.data.video import VideoEncoderMissing, VideoFileWriter
from worldsim.eval.settings import ROLLOUT_TESTS
from worldsim.frames import to_uint8


def split_videos(result: dict[str, Any]) -> dict[str, tuple[torch.Tensor, ...]]:
    """Remove the frames kept for the video from `result` (in place) -> {"checkpoint|test": frames}."""
    videos = {}
    for row in result["checkpoints"]:
        for test in ROLLOUT_TESTS:
            if test in row:
                videos[f"{Path(row['checkpoint']).stem}|{test}"] = row[test].pop("_videos")
    return videos


def write_report(result: dict[str, Any], out: Path, video_scale: int = 4) -> list[Path]:
    """out.json, out.png (PSNR per generated frame and by gap), out.mp4 (first maze of every walk; left out,
    with a warning, where the video encoder is not installed: the numbers are what the benchmark is for)."""
    videos = split_videos(result)
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    json_path = out.with_suffix(".json")
    write_json_atomic(json_path, result)
    written = [json_path, _plot(result, out.with_suffix(".png"))]
    if videos:
        try:
            written.append(_video(videos, out.with_suffix(".mp4"), video_scale))
        except VideoEncoderMissing as error:
            print(f"warning: no video: {error}", file=sys.stderr)
    return written


def _plot(result: dict[str, Any], path: Path) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    tests = [t for t in ROLLOUT_TESTS if any(t in row for row in result["checkpoints"])]
    figure, axes = plt.subplots(1, len(tests) + 1, figsize=(5 * (len(tests) + 1), 3.8), squeeze=False)
    axes = axes[0]
    for ax, test in zip(axes, tests):
        for i, row in enumerate(result["checkpoints"]):
            curves, label = row[test]["per_frame"], Path(row["checkpoint"]).stem
            ax.plot(curves["psnr_full"], color=f"C{i}", label=f"{label}: whole history")
            ax.plot(curves["psnr_window"], color=f"C{i}", linestyle="--",
                    label=f"{label}: last {row['priming']['window']} frames only")
            if i == 0:
                ax.plot(curves["psnr_copy_last"], color="grey", linestyle=":", label="repeat last true frame")
        ax.set(title=test, xlabel="generated frame", ylabel="PSNR (dB)")
        ax.legend(fontsize=7)
    ax = axes[-1]
    for i, row in enumerate(result["checkpoints"]):
        if "retrace" in row:
            bins = [b for b in row["retrace"]["by_gap"] if b["gap_from"] >= 0]
            x = [b["gap_from"] for b in bins]
            ax.plot(x, [b["psnr_full"] for b in bins], "o-", color=f"C{i}", label=Path(row["checkpoint"]).stem)
            ax.plot(x, [b["psnr_window"] for b in bins], "o--", color=f"C{i}")
    ax.set(title="retrace: PSNR by frames since the view was seen", xlabel="frames since last seen (bin start)",
           ylabel="PSNR (dB)", xscale="symlog")
    if ax.lines:
        ax.legend(fontsize=7)
    else:  # --tests without retrace: say so rather than leave an empty legend
        ax.text(0.5, 0.5, "retrace not run", transform=ax.transAxes, ha="center", color="grey")
    figure.tight_layout()
    with atomic_path(path, keep_suffix=True) as temp:
        figure.savefig(temp, dpi=110)
    plt.close(figure)
    return path


def _video(videos: dict[str, tuple[torch.Tensor, ...]], path: Path, scale: int) -> Path:
    """One mp4: for each (checkpoint, walk), its frames as truth | whole history | window only."""
    writer = VideoFileWriter(path, fps=10, scale=scale)
    try:
        for truth, full, window in videos.values():
            joined = torch.cat([to_uint8(truth), to_uint8(full), to_uint8(window)], dim=2).cpu().numpy()  # (G, H, 3W, 3)
            for frame in joined:
                writer.add(frame)
    except BaseException:
        writer.discard()
        raise
    writer.close()
    return path
