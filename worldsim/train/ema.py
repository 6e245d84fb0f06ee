"""Exponential moving average of the weights, the copy that is played and validated."""

from __future__ import annotations

import copy

import torch
from torch import nn


class EMA:
    """`shadow` follows the model: p_ema ← d·p_ema + (1−d)·p, in fp32, with warm-up d_k = min(d, (1+k)/(10+k))."""

    def __init__(self, model: nn.Module, decay: float):
        self.decay = decay
        self.shadow = copy.deepcopy(model).float().eval().requires_grad_(False)
        self.updates = 0

    @torch.no_grad()
    def update(self, model: nn.Module) -> None:
        # warm-up (as in timm's ModelEmaV2 / TF's ExponentialMovingAverage num_updates) so early EMA isn't init
        decay = min(self.decay, (1 + self.updates) / (10 + self.updates))
        ema_params = list(self.shadow.parameters())
        params = [p.detach().float() for p in model.parameters()]
        torch._foreach_lerp_(ema_params, params, 1.0 - decay)
        for ema_buffer, buffer in zip(self.shadow.buffers(), model.buffers()):
            ema_buffer.copy_(buffer)
        self.updates += 1

    def state_dict(self) -> dict:
        return {"updates": self.updates}

    def load_state_dict(self, state: dict) -> None:
        self.updates = int(state["updates"])
