"""The SSM's causal depthwise convolution (a sum over shifted slices) equals F.conv1d on the padded sequence."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from worldsim.model.causal_conv import causal_depthwise_conv


def _reference(x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor, state: torch.Tensor) -> torch.Tensor:
    """x (S, L, C), state (S, K-1, C): nn.Conv1d's depthwise convolution in its (S, C, L) layout."""
    padded = torch.cat([state, x], dim=1).transpose(1, 2)
    return F.conv1d(padded, weight, bias, groups=x.shape[-1]).transpose(1, 2)


def _inputs(length: int, seed: int = 0):
    g = torch.Generator().manual_seed(seed)
    channels, taps = 6, 4
    return (
        torch.randn(3, length, channels, generator=g, requires_grad=True),
        torch.randn(channels, 1, taps, generator=g, requires_grad=True),
        torch.randn(channels, generator=g, requires_grad=True),
        torch.randn(3, taps - 1, channels, generator=g, requires_grad=True),
    )


def test_matches_conv1d_forward_and_gradients() -> None:
    x, weight, bias, state = _inputs(length=9)
    out, new_state = causal_depthwise_conv(x, weight, bias, state)
    expected = _reference(x, weight, bias, state)
    torch.testing.assert_close(out, expected, rtol=1e-6, atol=1e-6)
    torch.testing.assert_close(new_state, x[:, -3:])
    upstream = torch.randn_like(out)
    grads = torch.autograd.grad(out, (x, weight, bias, state), upstream)
    expected_grads = torch.autograd.grad(expected, (x, weight, bias, state), upstream)
    for name, grad, want in zip(("x", "weight", "bias", "state"), grads, expected_grads):
        torch.testing.assert_close(grad, want, rtol=1e-5, atol=1e-5, msg=name)


def test_no_state_is_zero_padding_and_no_bias_is_zero_bias() -> None:
    x, weight, bias, state = _inputs(length=5)
    zeros = torch.zeros_like(state)
    torch.testing.assert_close(causal_depthwise_conv(x, weight, bias)[0], _reference(x, weight, bias, zeros))
    torch.testing.assert_close(
        causal_depthwise_conv(x, weight, None)[0], _reference(x, weight, torch.zeros_like(bias), zeros)
    )


@torch.no_grad()
def test_sequence_in_pieces_shorter_than_the_kernel_matches_whole() -> None:
    """Play feeds one frame's block at a time, possibly fewer tokens than the kernel's K-1 = 3 inputs of state."""
    x, weight, bias, _ = _inputs(length=7)
    whole, whole_state = causal_depthwise_conv(x, weight, bias)
    state, pieces = None, []
    for start, stop in ((0, 2), (2, 3), (3, 7)):
        out, state = causal_depthwise_conv(x[:, start:stop], weight, bias, state)
        pieces.append(out)
    torch.testing.assert_close(torch.cat(pieces, dim=1), whole, rtol=1e-6, atol=1e-6)
    torch.testing.assert_close(state, whole_state)


def test_low_precision_input_accumulates_in_fp32() -> None:
    x, weight, bias, state = (t.detach() for t in _inputs(length=5))
    out, new_state = causal_depthwise_conv(x.bfloat16(), weight, bias, state.bfloat16())
    assert out.dtype == torch.float32 and new_state.dtype == torch.bfloat16
    expected = _reference(x.bfloat16().float(), weight, bias, state.bfloat16().float())
    torch.testing.assert_close(out, expected, rtol=1e-6, atol=1e-6)
