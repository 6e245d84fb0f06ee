"""`worldsim export`: write a checkpoint again, smaller (bf16 weights) or with another default number of
denoising steps for play, e.g. to ship weights a training run left or to share them.

    worldsim export runs/maze/latest.safetensors --out checkpoints/mine.safetensors --bf16 --steps 3
"""

from __future__ import annotations

import argparse
import dataclasses
from pathlib import Path


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("export", help="write a checkpoint again: bf16 weights, play steps, a note",
                                   description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("checkpoint", type=Path, help="the .safetensors checkpoint to read")
    parser.add_argument("--out", type=Path, required=True, help="where to write it (may be the same file)")
    parser.add_argument("--bf16", action="store_true",
                        help="store the weights as bfloat16: half the size; loading casts them back")
    parser.add_argument("--steps", type=int, default=None,
                        help="denoising steps play uses by default (default: keep the checkpoint's)")
    parser.add_argument("--note", default=None, help="a line of text kept in the checkpoint's metadata")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import torch

    from worldsim.checkpoint import load_checkpoint, save_checkpoint

    if args.steps is not None and args.steps < 1:
        raise ValueError(f"--steps must be >= 1, got {args.steps}")
    model, play, metadata = load_checkpoint(args.checkpoint)
    if args.steps is not None:
        play = dataclasses.replace(play, sampling_steps=args.steps)
    if args.note is not None:
        metadata = {**metadata, "note": args.note}
    before = args.checkpoint.stat().st_size
    save_checkpoint(args.out, model, play, metadata, dtype=torch.bfloat16 if args.bf16 else None)
    print(f"wrote {args.out}: {args.out.stat().st_size / 2**20:.1f} MiB (was {before / 2**20:.1f} MiB), "
          f"play steps {play.sampling_steps}")
    return 0
