"""Where a checkpoint's rollout loses to repeating the last true frame: mean squared error (frames in
[-1, 1]) by band of image rows, for the rollout and for copy-last, over all generated frames and the last 8,
with the per-frame PSNR of both. Clips as `worldsim eval --data` cuts them. Writes JSON.

    python scripts/rollout_error_bands.py CKPT --data DIR --out bands.json [--bands 0 8 16 32 48 56 64]
"""

from __future__ import annotations

import argparse
import itertools
import json
from pathlib import Path

import torch

from worldsim.checkpoint import load_checkpoint
from worldsim.diffusion.sampler import generate_frame
from worldsim.eval.compare import comparable_clips
from worldsim.eval.metrics import psnr
from worldsim.eval.settings import CompareSettings
from worldsim.frames import to_model


@torch.no_grad()
def error_bands(model: torch.nn.Module, data: dict, settings: CompareSettings, bands: list[int],
                level: float) -> dict:
    """One commit-noise level: the rollout of `model` (eval mode, CPU) on the clips `data`, scored by band."""
    device = torch.device("cpu")
    frames, discrete = to_model(data["frames"]), data["discrete"]  # (B, L, 3, H, W), (B, L)
    context, ones = settings.context, torch.ones(frames.shape[0])
    state = model.init_state(frames.shape[0], device)
    for f in range(context):
        model.step(frames[:, f], ones, discrete[:, f], None, state, commit=True)
    generator = torch.Generator().manual_seed(0)
    generated = torch.stack([generate_frame(model, state, discrete[:, f], None, settings.steps, generator, level)
                             for f in range(context, context + settings.rollout)], 1)
    truth, last = frames[:, context:], frames[:, context - 1 : context]
    errors = {"model": (generated - truth).pow(2).mean(dim=(2, 4)),  # (B, T, H): squared error per row
              "copy_last": (last - truth).pow(2).mean(dim=(2, 4))}
    by_band = {}
    for top, bottom in itertools.pairwise(bands):
        by_band[f"rows {top}-{bottom}"] = {
            f"{name}_{span}": float(error[:, first:, top:bottom].mean())
            for name, error in errors.items() for span, first in (("all", 0), ("last8", -8))}
    per_frame = {"model": psnr(generated, truth).mean(0).tolist(), "copy_last": psnr(last, truth).mean(0).tolist()}
    return {"psnr_per_frame": per_frame, "mse_by_row_band": by_band}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("checkpoint", type=Path)
    parser.add_argument("--data", type=Path, required=True, help="a recorded dataset of the checkpoint's game")
    parser.add_argument("--clips", type=int, default=16)
    parser.add_argument("--context", type=int, default=16)
    parser.add_argument("--rollout", type=int, default=32)
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument("--commit-noise", type=float, nargs="+", default=[1.0])
    parser.add_argument("--bands", type=int, nargs="+", default=[0, 8, 16, 32, 48, 56, 64], help="row boundaries")
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    settings = CompareSettings(clips=args.clips, context=args.context, rollout=args.rollout, steps=args.steps,
                               commit_noise=args.commit_noise, data=args.data)
    data = comparable_clips([args.checkpoint], settings, torch.device("cpu"))
    model, _, _ = load_checkpoint(args.checkpoint, torch.device("cpu"))
    model.eval()
    levels = {str(level): error_bands(model, data, settings, args.bands, level) for level in args.commit_noise}
    report = {"checkpoint": str(args.checkpoint), "data": str(args.data), "clips": args.clips,
              "context": args.context, "rollout": args.rollout, "steps": args.steps, "commit_noise_levels": levels}
    args.out.write_text(json.dumps(report, indent=1))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
