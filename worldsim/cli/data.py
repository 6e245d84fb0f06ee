"""`worldsim data info|check DIR`: summarise or verify a recorded dataset."""

from __future__ import annotations

import argparse
from collections import Counter
from pathlib import Path


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "data",
        help="summarise (info), verify (check) or index a recorded dataset",
        description="Inspect a dataset written by `worldsim record` (format: docs/dataset-format.md).",
    )
    actions = parser.add_subparsers(dest="data_command", metavar="ACTION", required=True)
    info = actions.add_parser(
        "info",
        help="episodes, frames, resolution, action space, fps, sources, disk size",
        description="Print a short summary of the dataset DIR (reads only meta.json files).",
    )
    info.add_argument("dir", type=Path, metavar="DIR", help="dataset directory")
    info.set_defaults(func=run_info)
    check = actions.add_parser(
        "check",
        help="load every episode and report broken ones (exit code 1 if any)",
        description=(
            "Load every episode of DIR and verify shapes, dtypes, lengths, meta.json, action ranges and that "
            "all episodes agree on resolution and action space. Broken episodes are listed with the reason "
            "(exit code 1); leftover temp directories of interrupted recordings are reported but harmless."
        ),
    )
    check.add_argument("dir", type=Path, metavar="DIR", help="dataset directory")
    check.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    check.set_defaults(func=run_check)
    index = actions.add_parser(
        "index",
        help="(re)write DIR/index.json from the episodes' meta.json files",
        description=(
            "Write the summary index.json of DIR (recording keeps it current; use this after writing or "
            "copying episodes by hand). Readers do not need it. Unreadable episodes are left out."
        ),
    )
    index.add_argument("dir", type=Path, metavar="DIR", help="dataset directory")
    index.set_defaults(func=run_index)


def run_info(args: argparse.Namespace) -> int:
    from worldsim.data.dataset import open_dataset, temp_dirs

    info = open_dataset(args.dir, check_arrays=False)  # a summary of meta.json; `check` verifies the arrays
    space = info.action_space
    lengths = info.lengths
    sources = Counter(source_label(meta.source) for meta in info.metas)
    fps = sorted({meta.fps for meta in info.metas})
    frames = (
        f"{info.total_frames} (episode length {min(lengths)}..{max(lengths)}, "
        f"mean {info.total_frames / len(lengths):.1f})"
    )
    rows = [
        ("dataset", str(info.path)),
        ("episodes", f"{len(lengths)}"),
        ("frames", frames),
        ("resolution", f"{info.height}x{info.width}"),
        (
            "discrete actions",
            f"{space.num_discrete}: {', '.join(space.discrete)}" if space.num_discrete else "none",
        ),
        (
            "continuous actions",
            f"{', '.join(space.continuous)} (bound ±{space.continuous_bound:g})"
            if space.num_continuous
            else "none",
        ),
        ("fps", ", ".join(f"{value:g}" for value in fps)),
        ("sources (env / policy)", "; ".join(f"{name}: {count}" for name, count in sources.most_common())),
        ("disk size", _human_bytes(_disk_size(info.path))),
    ]
    stale = temp_dirs(info.path)
    if stale:
        rows.append(("unfinished temp dirs", f"{len(stale)} (see `worldsim data check`)"))
    width = max(len(key) for key, _ in rows)
    for key, value in rows:
        print(f"{key:<{width}}  {value}")
    return 0


def run_check(args: argparse.Namespace) -> int:
    from worldsim.data.check import check_dataset

    report = check_dataset(args.dir, progress=not args.no_progress)
    for name, reason in report.broken.items():
        print(f"BROKEN  {name}: {reason}")
    for path in report.stale_temp_dirs:
        print(
            f"stale   {path.name}: unfinished episode of an interrupted recording (ignored; safe to delete)"
        )
    for warning in report.warnings:
        print(f"warning {warning}")
    good = report.checked - len(report.broken)
    print(f"{good}/{report.checked} episodes ok" + ("" if report.ok else f", {len(report.broken)} broken"))
    return 0 if report.ok else 1


def run_index(args: argparse.Namespace) -> int:
    from worldsim.data.dataset import open_dataset, write_index

    info = open_dataset(args.dir)  # refuses a directory without episodes
    path = write_index(info.path)
    print(f"wrote {path} ({len(info.names)} episodes, {info.total_frames} frames)")
    return 0


def source_label(source: dict) -> str:
    """"env / policy" of an episode's meta.json source; human recordings name the recorder, and those
    made while playing a model name what was played."""
    env = source.get("env") or (f"played {source['played']}" if source.get("played") else "?")
    return f"{env} / {source.get('policy') or source.get('recorder') or '?'}"


def _disk_size(path: Path) -> int:
    return sum(file.stat().st_size for file in path.rglob("*") if file.is_file())


def _human_bytes(size: int) -> str:
    for unit in ("B", "KiB", "MiB", "GiB"):
        if size < 1024 or unit == "GiB":
            return f"{size:.1f} {unit}" if unit != "B" else f"{size} B"
        size /= 1024
    return f"{size:.1f} GiB"
