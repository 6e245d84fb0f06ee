"""The PyTorch chunked SSD scan against a naive sequential recurrence."""

import pytest
import torch

from worldsim.model import ssd_scan_torch


def naive_scan(x, dt, A, B, C, D, initial_state):
    """h_t = exp(dt_t A) h_{t-1} + dt_t x_t B_t^T, y_t = C_t h_t + D x_t, one token at a time."""
    _batch, length, heads, _headdim = x.shape
    B = B.repeat_interleave(heads // B.shape[2], dim=2)
    C = C.repeat_interleave(heads // C.shape[2], dim=2)
    h = initial_state.clone()
    ys = []
    for t in range(length):
        decay = torch.exp(dt[:, t] * A)[:, :, None, None]  # (b, h, 1, 1)
        h = decay * h + (dt[:, t, :, None, None] * x[:, t, :, :, None]) * B[:, t, :, None, :]
        ys.append(torch.einsum("bhpn,bhn->bhp", h, C[:, t]) + D[:, None] * x[:, t])
    return torch.stack(ys, dim=1), h


def random_inputs(length: int, groups: int = 1, seed: int = 0, requires_grad: bool = False):
    g = torch.Generator().manual_seed(seed)
    batch, heads, headdim, state = 2, 4, 3, 5
    tensors = {
        "x": torch.randn(batch, length, heads, headdim, generator=g),
        "dt": torch.rand(batch, length, heads, generator=g) * 0.5,
        "A": -torch.rand(heads, generator=g) * 2 - 0.1,
        "B": torch.randn(batch, length, groups, state, generator=g),
        "C": torch.randn(batch, length, groups, state, generator=g),
        "D": torch.randn(heads, generator=g),
        "initial_state": torch.randn(batch, heads, headdim, state, generator=g),
    }
    for t in tensors.values():
        t.requires_grad_(requires_grad)
    return tensors


@pytest.mark.parametrize("length,chunk", [(1, 4), (13, 4), (16, 8), (7, 64), (30, 16)])
@pytest.mark.parametrize("groups", [1, 2])
def test_chunked_scan_matches_recurrence(length, chunk, groups):
    inputs = random_inputs(length, groups)
    y, final = ssd_scan_torch(
        inputs["x"], inputs["dt"], inputs["A"], inputs["B"], inputs["C"], chunk, inputs["D"], inputs["initial_state"]
    )
    y_ref, final_ref = naive_scan(**inputs)
    torch.testing.assert_close(y, y_ref, rtol=1e-4, atol=1e-4)
    torch.testing.assert_close(final, final_ref, rtol=1e-4, atol=1e-4)
    assert final.dtype == torch.float32


def test_scan_splits_like_one_sequence():
    """Scanning [0, a) then [a, L) from the carried state equals scanning [0, L) at once."""
    inputs = random_inputs(21)
    args = lambda s: [inputs[k][:, s] for k in ("x", "dt")] + [inputs["A"]] + [inputs[k][:, s] for k in ("B", "C")]
    y, final = ssd_scan_torch(*args(slice(None)), 8, inputs["D"], inputs["initial_state"])
    y1, mid = ssd_scan_torch(*args(slice(0, 9)), 8, inputs["D"], inputs["initial_state"])
    y2, final2 = ssd_scan_torch(*args(slice(9, None)), 8, inputs["D"], mid)
    torch.testing.assert_close(torch.cat([y1, y2], dim=1), y, rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(final2, final, rtol=1e-5, atol=1e-5)


def test_gradients_match_recurrence_including_initial_state():
    inputs = random_inputs(11, requires_grad=True)
    y, final = ssd_scan_torch(
        inputs["x"], inputs["dt"], inputs["A"], inputs["B"], inputs["C"], 4, inputs["D"], inputs["initial_state"]
    )
    (y.square().sum() + final.sum()).backward()
    grads = {k: v.grad.clone() for k, v in inputs.items()}
    for v in inputs.values():
        v.grad = None
    y_ref, final_ref = naive_scan(**inputs)
    (y_ref.square().sum() + final_ref.sum()).backward()
    assert grads["initial_state"].abs().sum() > 0
    for name, grad in grads.items():
        torch.testing.assert_close(grad, inputs[name].grad, rtol=1e-4, atol=1e-4, msg=f"gradient of {name}")
