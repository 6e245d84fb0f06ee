"""The shipped checkpoint still loads and predicts what it predicted when it was trained: a change to the
model's code (layouts, fused ops, attention) must keep its outputs within fp32 rounding.

The reference (tests/data/shipped_checkpoint_outputs.npz) was written by the model code of commit 3b7b4f9 (before the speed work)
with `python tests/test_model_shipped_outputs.py` (fp32, CPU); it holds every 4th pixel of each velocity.
Shipping new weights means writing it again with the model code the weights were trained with."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from worldsim.checkpoint import load_checkpoint
from worldsim.frames import to_model

ROOT = Path(__file__).resolve().parents[1]
SHIPPED = ROOT / "checkpoints" / "default.safetensors"
FRAMES = ROOT / "tests" / "data" / "maze_seed5_frames.npz"
REFERENCE = ROOT / "tests" / "data" / "shipped_checkpoint_outputs.npz"
CLIP_FRAMES, STEP_FRAMES = 6, 2  # 6 > the attention window (4 frames)


@torch.no_grad()
def shipped_outputs() -> dict[str, np.ndarray]:
    """Velocities of the shipped model on a maze clip: the clip forward and the first frames by step."""
    model, _, _ = load_checkpoint(SHIPPED)
    frames = to_model(torch.from_numpy(np.load(FRAMES)["frames"][:1, :CLIP_FRAMES]))  # (1, T, 3, 64, 64)
    noise = torch.linspace(1.0, 0.2, CLIP_FRAMES)[None]
    discrete = torch.arange(CLIP_FRAMES)[None] % model.config.num_discrete_actions
    continuous = torch.linspace(-0.2, 0.2, CLIP_FRAMES)[None, :, None].expand(-1, -1, model.config.num_continuous_actions)
    clip = model(frames, noise, discrete, continuous)
    state, steps = model.init_state(1), []
    for t in range(STEP_FRAMES):
        steps.append(model.step(frames[:, t], noise[:, t], discrete[:, t], continuous[:, t], state, commit=True))
    subsample = (..., slice(None, None, 4), slice(None, None, 4))
    return {"clip": clip[subsample].numpy(), "step": torch.stack(steps, 1)[subsample].numpy()}


def test_shipped_checkpoint_outputs_are_unchanged() -> None:
    reference = np.load(REFERENCE)
    outputs = shipped_outputs()
    assert np.abs(reference["clip"]).mean() > 0.1  # a trained model: the comparison has something to compare
    for name in ("clip", "step"):
        torch.testing.assert_close(torch.from_numpy(outputs[name]), torch.from_numpy(reference[name]),
                                   rtol=1e-5, atol=1e-5, msg=name)


if __name__ == "__main__":
    np.savez_compressed(REFERENCE, **shipped_outputs())
    print(f"wrote {REFERENCE}")
