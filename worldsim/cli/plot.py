"""`worldsim plot`: a run's training loss and validation PSNR curves as a PNG (see worldsim.train.plot_curves)."""

from __future__ import annotations

import argparse
from pathlib import Path


def register(subparsers: argparse._SubParsersAction) -> None:
    from worldsim.train import plot_curves

    parser = subparsers.add_parser("plot", help="plot a run's loss and validation PSNR curves (PNG)",
                                   description=plot_curves.__doc__,
                                   formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("inputs", type=Path, nargs="+", metavar="RUN_OR_JSONL",
                        help="run directories (with metrics.jsonl) or metrics files, concatenated in order")
    parser.add_argument("--out", type=Path, required=True, help="PNG to write")
    parser.add_argument("--title", default=None, help="figure title")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from worldsim.train.plot_curves import format_table, load_records, plot

    records = load_records(list(args.inputs))
    print(format_table(records.get("validation", {})))
    plot(records, args.out, args.title)
    print(f"wrote {args.out}")
    return 0
