"""`worldsim plot`: a run's training loss and validation PSNR curves as a PNG (see worldsim.train.plot_curves)."""

from __future__ import annotations

import argparse


def register(subparsers: argparse._SubParsersAction) -> None:
    from worldsim.train import plot_curves

    parser = subparsers.add_parser("plot", help="plot a run's loss and validation PSNR curves (PNG)",
                                   description=plot_curves.__doc__,
                                   formatter_class=argparse.RawDescriptionHelpFormatter)
    plot_curves.add_arguments(parser)
    parser.set_defaults(func=plot_curves.run)
