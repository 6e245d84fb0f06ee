"""Per-frame noise levels for diffusion forcing and the long-context clean prefix.

Convention (docs/architecture.md): t ∈ [0, 1], t = 1 is a clean frame, x_t = t·x + (1−t)·ε.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial
from typing import Literal

import torch
from torch import Tensor


class SampleGenerators:
    """One generator per batch row, so row i's draws depend on its own seed only, not on the rows beside
    it: a sample gets the same noise whichever process trains it and wherever it sits in the batch."""

    def __init__(self, seeds: Sequence[int], device: torch.device | str = "cpu"):
        self.generators = [torch.Generator(device).manual_seed(int(s)) for s in seeds]
        self.device = torch.device(device)


RandomSource = torch.Generator | SampleGenerators | None


def draw(source: RandomSource, shape: tuple[int, ...], sampler: Callable[..., Tensor],
         default_device: torch.device | str = "cpu") -> Tensor:
    """`sampler(shape, generator=, device=)` (torch.rand, torch.randn, partial(torch.randint, lo, hi)) on the
    source's device; with SampleGenerators row i of the (B, ...) result comes from generator i."""
    if isinstance(source, SampleGenerators):
        if len(source.generators) != shape[0]:
            raise ValueError(f"{len(source.generators)} sample generators for a batch of {shape[0]}")
        return torch.stack([sampler(shape[1:], generator=g, device=source.device) for g in source.generators])
    device = source.device if source is not None else default_device
    return sampler(shape, generator=source, device=device)


@dataclass
class NoiseLevelConfig:
    """How training draws noise levels; every frame of every clip draws its own (diffusion forcing).

    "logit_normal" (SD3, Esser et al. 2024, §3.1): t = sigmoid(mean + std·n), n ~ N(0, 1). It puts most
    samples at mid noise where the velocity is hardest to predict; mean > 0 shifts toward clean frames.
    "uniform": t ~ U[0, 1].
    """

    distribution: Literal["logit_normal", "uniform"] = "logit_normal"
    mean: float = 0.0
    std: float = 1.0
    # Long-context training (Po et al. 2025): with this probability a clip keeps a random clean prefix
    # longer than half the clip, excluded from the loss, so the model must use distant context.
    long_context_prob: float = 0.5

    def validate(self) -> None:
        if self.std <= 0:
            raise ValueError(f"noise.std must be > 0, got {self.std}")
        if not 0.0 <= self.long_context_prob <= 1.0:
            raise ValueError(f"noise.long_context_prob must be in [0, 1], got {self.long_context_prob}")


def sample_noise_levels(
    config: NoiseLevelConfig, shape: tuple[int, ...], generator: RandomSource = None,
    device: torch.device | str = "cpu",
) -> Tensor:
    """Independent noise levels of `shape` (usually (B, T)), float32 in (0, 1)."""
    if config.distribution == "uniform":
        return draw(generator, shape, torch.rand).to(device)
    n = draw(generator, shape, torch.randn)
    return torch.sigmoid(config.mean + config.std * n).to(device)


def sample_clean_prefix_lengths(
    batch_size: int, clip_length: int, prob: float, generator: RandomSource = None
) -> Tensor:
    """Per clip (B,) int64: 0 with probability 1 − prob, else uniform in [⌊T/2⌋ + 1, T − 1].

    The prefix is strictly longer than half the clip and always leaves at least one noised frame.
    """
    low = clip_length // 2 + 1
    if clip_length < 3 or low > clip_length - 1:
        return torch.zeros(batch_size, dtype=torch.long, device=generator.device if generator else "cpu")
    use = draw(generator, (batch_size,), torch.rand) < prob
    lengths = draw(generator, (batch_size,), partial(torch.randint, low, clip_length))
    return torch.where(use, lengths, torch.zeros_like(lengths))


def prefix_mask(prefix_lengths: Tensor, clip_length: int) -> Tensor:
    """(B,) lengths -> bool (B, T), True on the clean prefix frames."""
    frame_index = torch.arange(clip_length, device=prefix_lengths.device)
    return frame_index[None, :] < prefix_lengths[:, None]
