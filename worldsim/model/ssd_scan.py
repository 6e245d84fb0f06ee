"""The SSD (Mamba2) scan: a pure-PyTorch chunked version and mamba-ssm's Triton kernel, one signature.

    h_t = exp(dt_t * A) h_{t-1} + dt_t * B_t x_t^T        y_t = C_t h_t + D x_t

Source of the chunked algorithm: "Transformers are SSMs" (Dao & Gu 2024), listing 1 (ssd_minimal).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

from worldsim.model.ssd_triton import load_mamba_scan, ssd_scan_triton, triton_error


@torch.compiler.assume_constant_result
def _mamba_loaded() -> bool:
    """Whether mamba-ssm's Triton scan imports; a constant to torch.compile (an import it cannot trace)."""
    return load_mamba_scan() is not None


def triton_available() -> bool:
    return torch.cuda.is_available() and _mamba_loaded()


def resolve_backend(backend: str, device: torch.device) -> str:
    """'auto' -> 'triton' on CUDA when mamba-ssm imports, else 'torch'; 'triton' must be usable."""
    if backend == "torch":
        return "torch"
    if backend == "triton":
        if device.type != "cuda":
            raise ValueError(f"ssm_backend='triton' needs CUDA tensors, got device {device}")
        if not _mamba_loaded():
            raise ValueError(f"ssm_backend='triton' but mamba-ssm's Triton scan is unavailable ({triton_error()})")
        return "triton"
    if backend == "auto":
        return "triton" if device.type == "cuda" and _mamba_loaded() else "torch"
    raise ValueError(f"ssm backend must be 'auto', 'triton' or 'torch', got {backend!r}")


def ssd_scan(
    x: Tensor,
    dt: Tensor,
    A: Tensor,
    B: Tensor,
    C: Tensor,
    chunk_size: int,
    D: Tensor | None = None,
    initial_state: Tensor | None = None,
    backend: str = "auto",
) -> tuple[Tensor, Tensor]:
    """x (b, l, h, p), dt (b, l, h) already softplus'ed, A (h,) negative, B/C (b, l, g, n), D (h,),
    initial_state (b, h, p, n) or None for zeros -> y (b, l, h, p) in x's dtype, final state fp32."""
    if backend == "torch" or resolve_backend(backend, x.device) == "torch":
        return ssd_scan_torch(x, dt, A, B, C, chunk_size, D, initial_state)
    D = torch.zeros_like(A) if D is None else D
    return ssd_scan_triton(
        x, dt, A.float(), B, C, chunk_size, D, None if initial_state is None else initial_state.float()
    )


def _segment_sum(a: Tensor) -> Tensor:
    """a (..., L) -> (..., L, L) with out[i, j] = sum(a[j+1..i]) for j <= i, -inf above the diagonal."""
    length = a.shape[-1]
    a = a[..., None].expand(*a.shape, length)
    strictly_lower = torch.tril(torch.ones(length, length, dtype=torch.bool, device=a.device), diagonal=-1)
    sums = torch.cumsum(a.masked_fill(~strictly_lower, 0), dim=-2)
    lower = torch.tril(torch.ones(length, length, dtype=torch.bool, device=a.device))
    return sums.masked_fill(~lower, float("-inf"))


def ssd_scan_torch(
    x: Tensor,
    dt: Tensor,
    A: Tensor,
    B: Tensor,
    C: Tensor,
    chunk_size: int,
    D: Tensor | None = None,
    initial_state: Tensor | None = None,
) -> tuple[Tensor, Tensor]:
    """Chunked scan in fp32: a masked decay matrix inside each chunk, a recurrence across chunks."""
    out_dtype = x.dtype
    with torch.autocast(device_type=x.device.type, enabled=False):
        batch, length, heads, headdim = x.shape
        groups, state_dim = B.shape[-2:]
        x, dt, A, B, C = x.float(), dt.float(), A.float(), B.float(), C.float()
        # A shorter sequence than a chunk (one frame's block) runs as a single smaller chunk.
        chunk = max(1, min(chunk_size, length))
        pad = (-length) % chunk
        # zero dt in the padding: decay 1 and no input, so the final state is unaffected
        x_in = F.pad(x * dt[..., None], (0, 0, 0, 0, 0, pad))
        a = F.pad(A * dt, (0, 0, 0, pad))
        per_group = heads // groups  # heads of a group share its B and C
        B = F.pad(B, (0, 0, 0, 0, 0, pad))[:, :, :, None].expand(-1, -1, -1, per_group, -1).flatten(2, 3)
        C = F.pad(C, (0, 0, 0, 0, 0, pad))[:, :, :, None].expand(-1, -1, -1, per_group, -1).flatten(2, 3)
        chunks = (length + pad) // chunk
        x_in = x_in.reshape(batch, chunks, chunk, heads, headdim)
        B = B.reshape(batch, chunks, chunk, heads, state_dim)
        C = C.reshape(batch, chunks, chunk, heads, state_dim)
        a = a.reshape(batch, chunks, chunk, heads).permute(0, 3, 1, 2)  # (b, h, c, l)
        a_cumsum = torch.cumsum(a, dim=-1)

        decay = torch.exp(_segment_sum(a))  # (b, h, c, l, l)
        y_diag = torch.einsum("bclhn,bcshn,bhcls,bcshp->bclhp", C, B, decay, x_in)

        decay_to_end = torch.exp(a_cumsum[..., -1:] - a_cumsum)
        chunk_states = torch.einsum("bclhn,bhcl,bclhp->bchpn", B, decay_to_end, x_in)
        if initial_state is None:
            initial_state = torch.zeros_like(chunk_states[:, 0])
        states = torch.cat([initial_state.float()[:, None], chunk_states], dim=1)  # (b, c+1, h, p, n)
        chunk_decay = torch.exp(_segment_sum(F.pad(a_cumsum[..., -1], (1, 0))))  # (b, h, c+1, c+1)
        states = torch.einsum("bhzc,bchpn->bzhpn", chunk_decay, states)
        states, final_state = states[:, :-1], states[:, -1]

        y_off = torch.einsum("bclhn,bchpn,bhcl->bclhp", C, states, torch.exp(a_cumsum))
        y = (y_diag + y_off).reshape(batch, chunks * chunk, heads, headdim)[:, :length]
        if D is not None:
            y = y + x * D.float()[:, None]
    return y.to(out_dtype), final_state
