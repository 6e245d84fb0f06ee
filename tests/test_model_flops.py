"""The analytic FLOP counts agree with the matmuls a step actually runs (torch's FLOP counter)."""

import math

import pytest
import torch
import torch.nn.functional as F
from torch.utils.flop_counter import FlopCounterMode

from worldsim.model import (
    ModelConfig,
    WorldModel,
    estimate_clip_flops_per_frame,
    estimate_step_flops,
    tiny_model_config,
)
from worldsim.model.config import TEMPORAL_VARIANTS
from worldsim.model.flops import pack_write_flops


def sdpa_as_matmuls(q, k, v, attn_mask=None):
    """The CPU fused attention kernel is invisible to FlopCounterMode; its math as two counted matmuls."""
    scores = q @ k.transpose(-1, -2) / math.sqrt(q.shape[-1])
    if attn_mask is not None and attn_mask.dtype == torch.bool:
        scores = scores.masked_fill(~attn_mask, float("-inf"))
    elif attn_mask is not None:  # an additive bias (the pack's position bias)
        scores = scores + attn_mask
    return scores.softmax(dim=-1) @ v


@torch.no_grad()
def counted_step_flops(config: ModelConfig, commit: bool) -> int:
    model = WorldModel(config).eval()
    state = model.init_state(1)
    inputs = (torch.zeros(1, 3, config.image_height, config.image_width), torch.ones(1),
              torch.zeros(1, dtype=torch.long), torch.zeros(1, config.num_continuous_actions))
    for _ in range(config.attn_window):  # a full window, as the estimate assumes for 'full'
        model.step(*inputs, state, commit=True)
    with FlopCounterMode(display=False) as counter:
        model.step(*inputs, state, commit=commit)
    return counter.get_total_flops()


@pytest.mark.parametrize("temporal", TEMPORAL_VARIANTS)
@pytest.mark.parametrize("commit", [False, True])
def test_step_flop_estimate_matches_counted_matmuls(temporal, commit, monkeypatch):
    monkeypatch.setattr(F, "scaled_dot_product_attention", sdpa_as_matmuls)
    config = tiny_model_config(temporal=temporal, image_height=32, image_width=32, width=64, ssm_headdim=32,
                               pack_segment=3)
    counted = counted_step_flops(config, commit)
    # the SSM scan's small einsums (decay, state passing) are left out of the estimate: within 5 %
    assert estimate_step_flops(config, commit=commit) == pytest.approx(counted, rel=0.05)


def test_pack_write_costs_only_on_commit_and_is_amortised_over_a_segment():
    config = ModelConfig(temporal="pack+local")
    write = config.depth * pack_write_flops(config)
    assert estimate_step_flops(config, commit=True) == estimate_step_flops(config) + write
    assert estimate_clip_flops_per_frame(config) == estimate_step_flops(config) + write // config.pack_segment
    local = ModelConfig(temporal="local")
    assert estimate_clip_flops_per_frame(local) == estimate_step_flops(local)
    assert estimate_step_flops(local, commit=True) == estimate_step_flops(local)
