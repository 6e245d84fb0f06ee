"""`worldsim train`: train a world model from a YAML config, on one GPU, the CPU, or several GPUs (torchrun)."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from worldsim.cli import add_threads_argument
from worldsim.config import finite_float

EPILOG = """\
examples:
  worldsim train --config configs/tiny.yaml --out runs/tiny
  worldsim train --data data/breakout --out runs/breakout      # frame size and actions from the dataset
  worldsim train --config configs/default.yaml --out runs/maze data.batch_size=8 optim.lr=2e-4
  worldsim train --config configs/default.yaml --out runs/maze --resume --max-minutes 60
  torchrun --nproc_per_node 2 -m worldsim train --config configs/default.yaml --out runs/maze2

Overrides are dotted config keys with YAML values. Under torchrun data.batch_size is per GPU
(global batch = batch_size x GPUs). Ctrl-C or SIGTERM saves a checkpoint and exits; see docs/training.md.
"""


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "train", help="train a world model (diffusion forcing, rectified flow)",
        description="Train a world model. Writes checkpoints, metrics.jsonl, TensorBoard logs and validation "
                    "sample strips into --out.",
        epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--config", type=Path, default=None, help="YAML training config (default: built-in defaults)")
    parser.add_argument("--out", type=Path, required=True, help="run directory (created; must be writable)")
    parser.add_argument("--data", type=Path, default=None, metavar="DIR",
                        help="train on this recorded dataset (data.source=dataset); the model's frame size "
                             "and action counts follow it unless the config sets them")
    parser.add_argument("--resume", action="store_true", help="continue from the run directory's latest checkpoint")
    parser.add_argument("--max-minutes", type=finite_float, default=None,
                        help="stop cleanly with a checkpoint after this many minutes")
    parser.add_argument("--no-progress", action="store_true",
                        help="no progress bar: one line per logging.log_every steps instead (for log files)")
    add_threads_argument(parser)
    parser.add_argument("overrides", nargs="*", metavar="key=value", help="config overrides, e.g. optim.lr=1e-4")
    parser.set_defaults(func=run, collect_positionals="overrides")


def run(args: argparse.Namespace) -> int:
    from worldsim.config import explicit_keys, is_explicit, load_config
    from worldsim.train.config import TrainConfig
    from worldsim.train.dataset_fit import fit_model_to_dataset
    from worldsim.train.trainer import TrainingAborted, train

    if args.max_minutes is not None and args.max_minutes <= 0:
        raise ValueError(f"--max-minutes must be > 0, got {args.max_minutes}")
    config = load_config(TrainConfig, args.config, args.overrides)
    if args.data is not None:
        config.data.source, config.data.dataset_dir = "dataset", str(args.data)
    if config.data.source == "dataset" and config.data.dataset_dir:
        chosen = explicit_keys(args.config, args.overrides)
        note = fit_model_to_dataset(config, lambda key: is_explicit(key, chosen))
        if os.environ.get("RANK", "0") == "0":  # once under torchrun
            print(note, flush=True)
    try:
        result = train(config, args.out, resume=args.resume, max_minutes=args.max_minutes,
                       show_progress=not args.no_progress)
    except TrainingAborted as error:
        print(f"worldsim train: aborted: {error}", file=sys.stderr)
        return 1
    if result.checkpoint is not None:  # rank 0 only under torchrun
        from worldsim.train.run_checkpoints import PLAYABLE_FILE

        print(f"{result.stop_reason} at step {result.step}: play it with "
              f"`worldsim play --checkpoint {args.out / PLAYABLE_FILE}` (EMA weights; resumable state in "
              f"{result.checkpoint})")
    return 0
