"""`worldsim eval`: compare checkpoints on held-out mazes (see worldsim.train.evaluate)."""

from __future__ import annotations

import argparse


def register(subparsers: argparse._SubParsersAction) -> None:
    from worldsim.train import evaluate

    parser = subparsers.add_parser("eval", help="one-step and rollout PSNR of checkpoints on held-out mazes",
                                   description=evaluate.__doc__,
                                   formatter_class=argparse.RawDescriptionHelpFormatter)
    evaluate.add_arguments(parser)
    parser.set_defaults(func=evaluate.run)
