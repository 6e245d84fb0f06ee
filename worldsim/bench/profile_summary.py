"""Where a training step's time goes: torch.profiler events grouped into matmul, attention, scan,
optimizer, elementwise/other and idle, plus the top kernels (or CPU ops without a GPU).

Categories come from kernel/op names (cuBLAS/CUTLASS gemm, flash/SDPA attention, mamba-ssm's Triton SSD
kernels, fused/foreach AdamW); whatever matches none is "elementwise/other" (norms, activations, copies,
reductions, Triton fusions). Idle = the profiled wall time minus the busy time of the device's kernels.
"""

from __future__ import annotations

from typing import Any

CATEGORIES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("attention", ("flash", "attention", "fmha", "sdpa", "efficient_attention")),
    ("scan", ("chunk_scan", "chunk_state", "state_passing", "bmm_chunk", "chunk_cumsum", "ssd", "ssm_scan")),
    ("optimizer", ("adam", "foreach", "multi_tensor", "clip_grad")),
    ("matmul", ("gemm", "matmul", "cutlass", "sm90_xmma", "nvjet", "addmm", "::mm", "aten::bmm", "linear")),
)


def categorize(name: str) -> str:
    lowered = name.lower()
    for category, needles in CATEGORIES:
        if any(needle in lowered for needle in needles):
            return category
    return "elementwise/other"


def summarize(events: list[tuple[str, float]], wall_seconds: float, steps: int, top: int = 15) -> dict[str, Any]:
    """events: (name, self time in seconds) of the device's kernels (or CPU ops) over `steps` profiled steps."""
    busy = sum(seconds for _, seconds in events)
    by_category: dict[str, float] = {}
    by_name: dict[str, float] = {}
    for name, seconds in events:
        by_category[categorize(name)] = by_category.get(categorize(name), 0.0) + seconds
        by_name[name] = by_name.get(name, 0.0) + seconds
    idle = max(0.0, wall_seconds - busy)
    total = max(wall_seconds, busy, 1e-12)
    shares = {category: seconds / total for category, seconds in sorted(by_category.items(), key=lambda kv: -kv[1])}
    shares["idle"] = idle / total
    ranked = sorted(by_name.items(), key=lambda kv: -kv[1])[:top]
    return {
        "steps": steps,
        "wall_ms_per_step": 1000 * wall_seconds / steps,
        "busy_ms_per_step": 1000 * busy / steps,
        "share": shares,
        "top": [{"name": name[:120], "ms_per_step": 1000 * seconds / steps, "category": categorize(name)}
                for name, seconds in ranked],
    }


def profile_steps(step, steps: int, device_type: str) -> dict[str, Any]:
    """Run `step()` `steps` times under torch.profiler -> summarize() of the device's kernels."""
    import time

    import torch
    from torch.profiler import ProfilerActivity, profile

    activities = [ProfilerActivity.CPU] + ([ProfilerActivity.CUDA] if device_type == "cuda" else [])
    with profile(activities=activities) as profiler:
        start = time.perf_counter()
        for _ in range(steps):
            step()
        if device_type == "cuda":
            torch.cuda.synchronize()
        wall = time.perf_counter() - start
    events = []
    for event in profiler.key_averages():
        if device_type == "cuda":
            seconds = event.self_device_time_total / 1e6
            if seconds > 0 and event.device_type.name == "CUDA":
                events.append((event.key, seconds))
        elif event.self_cpu_time_total > 0 and event.key.startswith("aten::"):
            events.append((event.key, event.self_cpu_time_total / 1e6))
    return summarize(events, wall, steps)
