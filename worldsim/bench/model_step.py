"""Per-frame cost of WorldModel.step: parameters, analytic FLOPs, eager and CUDA-graph latency.

    python -m worldsim.bench.model_step --device cuda --out model_step.json
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from collections.abc import Callable
from pathlib import Path

import torch

from worldsim.config import from_dict, to_dict
from worldsim.data.atomic import write_text_atomic
from worldsim.device import resolve_device
from worldsim.model import ModelConfig, WorldModel, count_parameters, estimate_step_flops

CPU_TARGET_FPS = 5.0
PASSES_PER_FRAME = 3  # denoising passes per played frame assumed for the CPU target


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def time_ms(fn: Callable[[], object], device: torch.device, warmup: int, iters: int) -> float:
    """Median wall time of one synchronised call (the median resists other processes sharing the CPU)."""
    for _ in range(warmup):
        fn()
    _sync(device)
    times = []
    for _ in range(iters):
        start = time.perf_counter()
        fn()
        _sync(device)
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1000


def make_inputs(config: ModelConfig, batch: int, device: torch.device, dtype: torch.dtype):
    frame = torch.rand(batch, config.channels, config.image_height, config.image_width, device=device) * 2 - 1
    return (
        frame.to(dtype), torch.rand(batch, device=device),
        torch.zeros(batch, dtype=torch.long, device=device) if config.num_discrete_actions else None,
        torch.zeros(batch, config.num_continuous_actions, device=device) if config.num_continuous_actions else None,
    )


def graph_step(model: WorldModel, inputs, state, commit: bool) -> tuple[Callable[[], torch.Tensor], torch.Tensor]:
    """Capture one step in a CUDA graph (after warm-up on a side stream, which also runs the Triton autotuning)."""
    side = torch.cuda.Stream()
    side.wait_stream(torch.cuda.current_stream())
    with torch.cuda.stream(side):
        for _ in range(3):
            model.step(*inputs, state, commit=False)
    torch.cuda.current_stream().wait_stream(side)
    graph = torch.cuda.CUDAGraph()
    with torch.cuda.graph(graph):
        out = model.step(*inputs, state, commit=commit)
    return graph.replay, out


@torch.no_grad()
def run(config: ModelConfig, device: torch.device, batch: int, dtype: torch.dtype, warmup: int, iters: int) -> dict:
    model = WorldModel(config).to(device=device, dtype=dtype).eval()
    inputs = make_inputs(config, batch, device, dtype)
    result: dict = {
        "device": torch.cuda.get_device_name(device) if device.type == "cuda" else f"cpu ({torch.get_num_threads()} threads)",
        "dtype": str(dtype), "batch": batch, "config": to_dict(config),
        "parameters": count_parameters(model), "step_flops_estimate": estimate_step_flops(config),
    }
    state = model.init_state(batch, device)
    for _ in range(config.attn_window + 1):
        model.step(*inputs, state, commit=True)  # fill the attention window
    result["eager_ms_commit_false"] = time_ms(lambda: model.step(*inputs, state, commit=False), device, warmup, iters)
    result["eager_ms_commit_true"] = time_ms(lambda: model.step(*inputs, state, commit=True), device, warmup, iters)
    if device.type == "cuda" and config.temporal != "full":
        for commit in (False, True):
            key = f"graph_ms_commit_{str(commit).lower()}"
            try:
                replay, graph_out = graph_step(model, inputs, state, commit)
                result[key] = time_ms(replay, device, warmup, iters)
                if not commit:
                    replay()
                    eager = model.step(*inputs, state, commit=False)
                    result["graph_replay_max_abs_diff"] = float((graph_out - eager).abs().max())
            except Exception as error:  # noqa: BLE001 -- report the failure instead of aborting the benchmark
                result[key] = None
                result[f"{key}_error"] = f"{type(error).__name__}: {error}"
    if device.type == "cpu":
        best = result["eager_ms_commit_false"]
        fps = 1000 / (PASSES_PER_FRAME * best)
        result["cpu_fps_at_passes_per_frame"] = {"passes": PASSES_PER_FRAME, "fps": fps, "target": CPU_TARGET_FPS}
    return result


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="auto", help="auto (CUDA when present), cuda or cpu")
    parser.add_argument("--dtype", choices=["float32", "bfloat16"], default=None, help="default: bf16 on CUDA, fp32 on CPU")
    parser.add_argument("--batch", type=int, default=1)
    parser.add_argument("--warmup", type=int, default=None)
    parser.add_argument("--iters", type=int, default=None)
    parser.add_argument("--set", nargs="*", default=[], metavar="KEY=VALUE", help="ModelConfig overrides, e.g. width=128")
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args(argv)
    device = resolve_device(args.device)
    dtype = getattr(torch, args.dtype or ("bfloat16" if device.type == "cuda" else "float32"))
    overrides = {k: json.loads(v) if v[:1] in "[{0123456789-" else v for k, v in (s.split("=", 1) for s in args.set)}
    config = from_dict(ModelConfig, {**to_dict(ModelConfig()), **overrides})
    cpu = device.type == "cpu"
    result = run(config, device, args.batch, dtype, args.warmup or (2 if cpu else 20), args.iters or (10 if cpu else 200))
    text = json.dumps(result, indent=2)
    print(text)
    if args.out:
        write_text_atomic(args.out, text + "\n")


if __name__ == "__main__":
    main()
