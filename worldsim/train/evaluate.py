"""Compare checkpoints on the same held-out mazes: one-step, rollout (mean, last frame) and standing-still PSNR.

    worldsim eval checkpoints/default.safetensors runs/maze/latest.safetensors --rollout 100 --out eval.json

Every checkpoint sees the same clips (the trainer's validation mazes and policy seed, so the numbers
compare with a run's metrics.jsonl) and, per `--commit-noise` level, the same sampling noise. The maze
comes from the first checkpoint's training config; all checkpoints must share its frame size and actions.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from worldsim.data.atomic import write_json_atomic


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("checkpoints", nargs="+", type=Path, help="model .safetensors files to compare")
    parser.add_argument("--clips", type=int, default=8, help="held-out mazes, one clip each (default 8)")
    parser.add_argument("--context", type=int, default=24, help="ground-truth frames before predicting (default 24)")
    parser.add_argument("--rollout", type=int, default=100, help="frames generated after the context (default 100)")
    parser.add_argument("--skip", type=int, default=0,
                        help="drop each clip's first SKIP frames, e.g. --context 1 --skip 23 predicts the same "
                             "frames as --context 24 (default 0)")
    parser.add_argument("--steps", type=int, default=3, help="Euler steps per generated frame (default 3)")
    parser.add_argument("--commit-noise", type=float, nargs="+", default=[1.0], metavar="LEVEL",
                        help="rollout context levels to try, 1.0 = clean (default 1.0)")
    parser.add_argument("--device", default="auto", help="auto (CUDA when present), cpu or cuda")
    parser.add_argument("--out", type=Path, help="also write the results to this JSON file")


def evaluate(args: argparse.Namespace) -> list[dict[str, Any]]:
    import torch

    from worldsim.checkpoint import load_checkpoint
    from worldsim.engine.engine import checkpoint_maze_config, resolve_device
    from worldsim.train.validation import validate, validation_clips

    for name, value in (("--clips", args.clips), ("--context", args.context), ("--rollout", args.rollout),
                        ("--steps", args.steps)):
        if value < 1:
            raise SystemExit(f"eval: {name} must be >= 1, got {value}")
    if args.skip < 0:
        raise SystemExit(f"eval: --skip must be >= 0, got {args.skip}")
    for level in args.commit_noise:
        if not 0.0 <= level <= 1.0:
            raise SystemExit(f"eval: --commit-noise levels must be in [0, 1], got {level}")
    device = resolve_device(args.device)
    data, reference = None, None
    results = []
    for path in args.checkpoints:
        model, action_space, metadata = load_checkpoint(path, device)
        maze = checkpoint_maze_config(metadata, model.config, action_space)
        if data is None:
            clips = validation_clips(maze, args.clips, args.skip + args.context + args.rollout, device)
            data, reference = {key: value[:, args.skip :] for key, value in clips.items()}, (path, maze)
        elif maze != reference[1]:
            raise SystemExit(f"eval: {path} was trained on a different maze or action space than {reference[0]} "
                             f"({maze} vs {reference[1]}); compare them separately")
        for level in args.commit_noise:
            metrics = validate(model, data, args.context, args.rollout, args.steps, commit_noise_level=level)
            results.append({"checkpoint": str(path), "step": metadata.get("step"), "commit_noise_level": level,
                            **metrics})
            print(f"{path}  step {metadata.get('step')}  commit {level:.2f}  one-step {metrics['psnr_one_step']:.2f}"
                  f"  rollout {metrics['psnr_rollout']:.2f}  last {metrics['psnr_rollout_last']:.2f}"
                  f"  still {metrics['psnr_still']:.2f}", flush=True)
        del model
        if device.type == "cuda":
            torch.cuda.empty_cache()
    return results


def run(args: argparse.Namespace) -> int:
    for path in args.checkpoints:
        if not path.is_file():
            raise SystemExit(f"eval: no checkpoint at {path}")
    results = evaluate(args)
    if args.out is not None:
        settings = {key: getattr(args, key) for key in ("clips", "skip", "context", "rollout", "steps", "device")}
        args.out.parent.mkdir(parents=True, exist_ok=True)
        write_json_atomic(args.out, {"settings": settings, "results": results})
        print(f"wrote {args.out}")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m worldsim.train.evaluate", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    add_arguments(parser)
    return run(parser.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
