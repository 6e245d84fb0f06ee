"""mamba-ssm's Triton SSD scan as a torch.library custom op, so torch.compile keeps the model one graph.

Called through mamba's autograd.Function (mamba_chunk_scan_combined), the scan is Python that dynamo does
not capture (autotuned Triton launches with pre-hooks, device context managers, a backward that reads the
autotuner's chosen config). A graph break inside a loop makes dynamo run the whole frame eagerly, so the
loops over layers and sub-layers ran uncompiled; the profile of a compiled step shows exactly that: layer
norms as aten fp32 kernels, residual adds, modulation and layout copies each a separate aten kernel
(benchmarks/results/profile_default_compiled_h200_before.json). As an opaque op with a shape-only (fake)
implementation and its own backward op, the scan is one node of the compiled graph.
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
import types
from collections.abc import Callable

import torch
from torch import Tensor

_module: types.ModuleType | None = None
_error: str | None = None


def load_mamba_scan() -> types.ModuleType | None:
    """mamba_ssm.ops.triton.ssd_combined, or None (reason in triton_error())."""
    global _module, _error
    if _module is not None or _error is not None:
        return _module
    name = "mamba_ssm.ops.triton.ssd_combined"
    try:
        _module = importlib.import_module(name)
    except ImportError as first:
        # mamba-ssm 2.3.2.post1's package __init__ imports the Mamba-1 CUDA extension
        # (selective_scan_cuda) and fails when it was not built; the Triton kernels do not need it,
        # so register a bare package (no __init__ run) and import the submodule again.
        try:
            spec = importlib.util.find_spec("mamba_ssm")
            if spec is None or not spec.submodule_search_locations:
                raise ImportError("mamba_ssm is not installed") from first
            if "mamba_ssm" not in sys.modules:
                package = types.ModuleType("mamba_ssm")
                package.__path__ = list(spec.submodule_search_locations)
                package.__spec__ = spec
                sys.modules["mamba_ssm"] = package
            _module = importlib.import_module(name)
        except Exception as second:  # noqa: BLE001 -- any failure means "no Triton backend"
            _error = f"{type(second).__name__}: {second}"
    except Exception as error:  # noqa: BLE001
        _error = f"{type(error).__name__}: {error}"
    return _module


def triton_error() -> str | None:
    load_mamba_scan()
    return _error


def mamba_kernels() -> tuple[Callable, Callable]:
    """mamba's forward and backward of the combined scan (stable from mamba-ssm 2.2.0 to 2.3.x):
    forward -> (out, out_x, dt, dA_cumsum, states, final_states);
    backward -> (dx, ddt, dA, dB, dC, dD, dz, ddt_bias, dinitial_states)."""
    module = load_mamba_scan()
    if module is None:
        raise RuntimeError(f"mamba-ssm's Triton scan is unavailable ({_error})")
    return module._mamba_chunk_scan_combined_fwd, module._mamba_chunk_scan_combined_bwd


@torch.library.custom_op("worldsim::ssd_scan_triton", mutates_args=())
def ssd_scan_triton(
    x: Tensor, dt: Tensor, A: Tensor, B: Tensor, C: Tensor, chunk_size: int, D: Tensor, initial_state: Tensor | None
) -> tuple[Tensor, Tensor]:
    """Shapes as ssd_scan -> (y (b, l, h, p) in x's dtype, final state (b, h, p, n) fp32), both contiguous."""
    forward, _ = mamba_kernels()
    result = forward(x, dt, A, B, C, chunk_size, D=D, initial_states=initial_state)
    return result[0].to(x.dtype).contiguous(), result[5].float().contiguous()


@ssd_scan_triton.register_fake
def _(x, dt, A, B, C, chunk_size, D, initial_state):
    batch, _, heads, headdim = x.shape
    return x.new_empty(x.shape), x.new_empty(batch, heads, headdim, B.shape[-1], dtype=torch.float32)


@torch.library.custom_op("worldsim::ssd_scan_triton_backward", mutates_args=())
def ssd_scan_triton_backward(
    grad_y: Tensor, grad_final: Tensor | None, x: Tensor, dt: Tensor, A: Tensor, B: Tensor, C: Tensor, y: Tensor,
    chunk_size: int, D: Tensor, initial_state: Tensor | None,
) -> tuple[Tensor, Tensor, Tensor, Tensor, Tensor, Tensor, Tensor]:
    """Gradients of x, dt, A, B, C, D, initial_state (empty when there is none), each in its input's dtype."""
    _, backward = mamba_kernels()
    dx, ddt, dA, dB, dC, dD, _, _, d_initial = backward(
        grad_y, x, dt, A, B, C, y, chunk_size, D=D, initial_states=initial_state, dfinal_states=grad_final
    )
    d_initial = x.new_empty(0) if initial_state is None else d_initial.to(initial_state.dtype).contiguous()
    grads = zip((dx, ddt, dA, dB, dC, dD), (x, dt, A, B, C, D))
    return (*(g.to(like.dtype).reshape(like.shape).contiguous() for g, like in grads), d_initial)


@ssd_scan_triton_backward.register_fake
def _(grad_y, grad_final, x, dt, A, B, C, y, chunk_size, D, initial_state):
    d_initial = x.new_empty(0) if initial_state is None else initial_state.new_empty(initial_state.shape)
    return (*(t.new_empty(t.shape) for t in (x, dt, A, B, C, D)), d_initial)


def _setup_context(ctx, inputs, output) -> None:
    x, dt, A, B, C, chunk_size, D, initial_state = inputs
    ctx.chunk_size = chunk_size
    ctx.save_for_backward(x, dt, A, B, C, D, initial_state, output[0])


def _backward(ctx, grad_y: Tensor, grad_final: Tensor | None):
    x, dt, A, B, C, D, initial_state, y = ctx.saved_tensors
    dx, ddt, dA, dB, dC, dD, d_initial = ssd_scan_triton_backward(
        grad_y.contiguous(), grad_final, x, dt, A, B, C, y, ctx.chunk_size, D, initial_state
    )
    return dx, ddt, dA, dB, dC, None, dD, None if initial_state is None else d_initial


ssd_scan_triton.register_autograd(_backward, setup_context=_setup_context)
