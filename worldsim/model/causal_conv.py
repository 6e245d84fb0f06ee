"""Causal depthwise 1-D convolution over time-major sequences, as a sum over the kernel taps.

Same result as nn.Conv1d(C, C, K, groups=C) on the left-padded sequence (its weight (C, 1, K) and bias (C,)
are used as they are), written as K shifted slices times per-channel weights: elementwise work that
torch.compile fuses with the neighbouring split and activation, where aten's depthwise convolution ran as
three separate kernels (forward, input gradient, weight gradient) on a transposed copy of the sequence.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor


def causal_depthwise_conv(
    x: Tensor, weight: Tensor, bias: Tensor | None, state: Tensor | None = None
) -> tuple[Tensor, Tensor]:
    """x (S, L, C) continuing after state (S, K-1, C), the K-1 inputs before x (None = zeros);
    weight (C, 1, K), bias (C,) -> (y (S, L, C) accumulated in fp32, new state (S, K-1, C) in x's dtype).
    y[t] = bias + sum_k weight[:, 0, k] * input[t - (K-1) + k], as F.conv1d (cross-correlation)."""
    taps, length = weight.shape[-1], x.shape[1]
    padded = F.pad(x, (0, 0, taps - 1, 0)) if state is None else torch.cat([state.to(x.dtype), x], dim=1)
    per_tap = weight.float()[:, 0].t()  # (K, C)
    y = padded[:, :length] * per_tap[0] if bias is None else torch.addcmul(bias.float(), padded[:, :length], per_tap[0])
    for k in range(1, taps):
        y = torch.addcmul(y, padded[:, k: k + length], per_tap[k])
    return y, padded[:, length:]
