"""The Triton scan's torch.library op (worldsim::ssd_scan_triton): registrations checked on CPU with
mamba's two kernel entry points replaced by the PyTorch scan in mamba's calling convention. The kernels
themselves are compared with the PyTorch scan on the GPU (tests/test_model_cuda.py)."""

from __future__ import annotations

import importlib

import pytest
import torch

from worldsim.model import WorldModel, ssd_scan_torch, ssd_triton, tiny_model_config
from worldsim.model.ssd_scan import resolve_backend
from worldsim.model.ssd_triton import ssd_scan_triton

ssd_scan_module = importlib.import_module("worldsim.model.ssd_scan")  # the package exports a function of that name
CHUNK = 8


def _reference_forward(x, dt, A, B, C, chunk_size, D=None, initial_states=None):
    y, final = ssd_scan_torch(x, dt, A, B, C, chunk_size, D, initial_states)
    return y, None, None, None, None, final


def _reference_backward(dout, x, dt, A, B, C, out, chunk_size, D=None, initial_states=None, dfinal_states=None):
    def scan(x, dt, A, B, C, D, initial):
        return ssd_scan_torch(x, dt, A, B, C, chunk_size, D, initial)

    initial = initial_states
    if initial is None:
        initial = torch.zeros(x.shape[0], x.shape[2], x.shape[3], B.shape[-1], dtype=torch.float32)
    (_, final), vjp = torch.func.vjp(scan, x, dt, A, B, C, D, initial)
    dfinal = torch.zeros_like(final) if dfinal_states is None else dfinal_states
    dx, ddt, dA, dB, dC, dD, d_initial = vjp((dout, dfinal))
    return dx, ddt, dA, dB, dC, dD, None, None, None if initial_states is None else d_initial


@pytest.fixture
def reference_kernels(monkeypatch):
    monkeypatch.setattr(ssd_triton, "mamba_kernels", lambda: (_reference_forward, _reference_backward))


def _inputs(with_initial_state: bool, length: int = 13) -> list:
    g = torch.Generator().manual_seed(0)
    batch, heads, headdim, state = 2, 3, 4, 5
    return [
        torch.randn(batch, length, heads, headdim, generator=g, requires_grad=True),
        torch.nn.functional.softplus(torch.randn(batch, length, heads, generator=g) - 2).requires_grad_(),
        (-torch.rand(heads, generator=g) - 0.5).requires_grad_(),
        torch.randn(batch, length, 1, state, generator=g, requires_grad=True),
        torch.randn(batch, length, 1, state, generator=g, requires_grad=True),
        CHUNK,
        torch.rand(heads, generator=g).requires_grad_(),
        torch.randn(batch, heads, headdim, state, generator=g, requires_grad=True) if with_initial_state else None,
    ]


@pytest.mark.parametrize("with_initial_state", [True, False])
def test_op_forward_and_backward_match_the_torch_scan(reference_kernels, with_initial_state: bool) -> None:
    inputs = _inputs(with_initial_state)
    leaves = [t for t in inputs if isinstance(t, torch.Tensor)]
    results = []
    for scan in (ssd_scan_triton, ssd_scan_torch):
        y, final = scan(*inputs)
        (y.square().mean() + final.sin().mean()).backward()
        results.append((y.detach(), final.detach(), [t.grad.clone() for t in leaves]))
        for t in leaves:
            t.grad = None
    (y, final, grads), (y_ref, final_ref, grads_ref) = results
    torch.testing.assert_close(y, y_ref)
    torch.testing.assert_close(final, final_ref)
    for grad, want in zip(grads, grads_ref):
        torch.testing.assert_close(grad, want)


@pytest.mark.parametrize("with_initial_state", [True, False])
def test_op_registrations_pass_opcheck(reference_kernels, with_initial_state: bool) -> None:
    """Schema, fake (shape-only) implementation, autograd and AOT dispatch, as torch.compile uses them."""
    torch.library.opcheck(torch.ops.worldsim.ssd_scan_triton.default, _inputs(with_initial_state))


def test_model_on_the_triton_op_traces_whole_and_matches(reference_kernels, monkeypatch) -> None:
    """With the scan as an op, the clip forward is one graph (a break in the layer loops ran them eagerly)."""
    torch.manual_seed(0)
    model = WorldModel(tiny_model_config(depth=1, ssm_backend="auto"))
    with torch.no_grad():
        for p in model.parameters():
            p.add_(0.1 * torch.randn_like(p))
    args = (torch.rand(1, 3, 3, 16, 16) * 2 - 1, torch.rand(1, 3), torch.zeros(1, 3, dtype=torch.long), torch.zeros(1, 3, 2))
    reference = model(*args)
    reference.square().mean().backward()
    reference_grads = {name: p.grad.clone() for name, p in model.named_parameters()}
    model.zero_grad()

    calls = []
    monkeypatch.setattr(ssd_scan_module, "ssd_scan_triton", lambda *a: calls.append(1) or ssd_scan_triton(*a))
    monkeypatch.setattr(ssd_scan_module, "resolve_backend", lambda backend, device: "triton")
    out = model(*args)
    out.square().mean().backward()
    assert calls == [1]  # the layer's scan went through the op
    torch.testing.assert_close(out, reference)
    for name, p in model.named_parameters():
        torch.testing.assert_close(p.grad, reference_grads[name], msg=name)

    monkeypatch.setattr(ssd_scan_module, "ssd_scan_triton", ssd_scan_triton)
    model.zero_grad()
    compiled = torch.compile(model, fullgraph=True, backend="eager")  # fullgraph: a graph break is an error
    compiled(*args).square().mean().backward()
    for name, p in model.named_parameters():
        torch.testing.assert_close(p.grad, reference_grads[name], msg=name)


def test_backend_choice_traces_without_importing_mamba(monkeypatch) -> None:
    """The first compiled forward on CUDA asks whether mamba-ssm imports; the import must not break the graph."""
    monkeypatch.setattr(ssd_triton, "_module", None)
    monkeypatch.setattr(ssd_triton, "_error", None)
    cuda = torch.device("cuda")

    @torch.compile(fullgraph=True, backend="eager")
    def pick(x: torch.Tensor) -> torch.Tensor:
        return x + 1 if resolve_backend("auto", cuda) == "triton" else x - 1

    expected = 1.0 if ssd_triton.load_mamba_scan() is not None else -1.0
    monkeypatch.setattr(ssd_triton, "_module", None)
    monkeypatch.setattr(ssd_triton, "_error", None)
    assert pick(torch.zeros(2)).tolist() == [expected, expected]
