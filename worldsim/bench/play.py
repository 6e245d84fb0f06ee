"""Playing speed and memory against session length: ms/frame and memory at frames 1 … N for the temporal
variants (ssm+local, local, full, pack+local), eager and CUDA graph, with or without torch.compile of the
frame step, with random-init models of the shipped size (or a config's, --config / --set).

    python -m worldsim.bench.play --out out/bench_play        # GPU: 10,000 frames; CPU: 30
    worldsim bench play --variants ssm+local --frames 200 --set width=128
    worldsim bench play --variants ssm+local --modes graph graph+compile --config configs/memory_deep.yaml

Writes OUT.json and OUT.png (default out/bench_play.*). ssm+local, local and pack+local keep a fixed
state, so their ms/frame and memory at frame 10,000 should match frame 100 (within FLAT_TOLERANCE, 5%);
full attention grows with every frame.
"""

from __future__ import annotations

import argparse
import os
import resource
import time
from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm

from worldsim.actions import maze_action_space
from worldsim.config import load_config, to_dict
from worldsim.cpu_threads import apply_threads
from worldsim.data.atomic import atomic_path, write_json_atomic
from worldsim.device import resolve_device
from worldsim.engine.engine import WorldModelEngine
from worldsim.engine.priming import MazeContext
from worldsim.env.maze_world import MazeConfig
from worldsim.model import ModelConfig, WorldModel, count_parameters
from worldsim.paths import OUTPUT_DIR
from worldsim.sampling_steps import play_steps
from worldsim.train.config import TrainConfig

VARIANTS = ("ssm+local", "local", "full", "pack+local")
MODES = ("graph", "eager", "graph+compile", "compile")  # compile: torch.compile of the frame step, no graph
GPU_FRAMES, CPU_FRAMES = 10_000, 30
FULL_MAX_FRAMES = 1_000  # full attention's KV cache grows per frame: ~4 MiB/frame at the default size
EAGER_MAX_FRAMES = 1_000  # eager CUDA is launch-bound (~10x slower than a graph): enough to show the trend
WINDOW = 50  # ms/frame at frame n = median over the frames (n - WINDOW, n]
GPU_TARGET_FPS, CPU_TARGET_FPS, FLAT_TOLERANCE = 120.0, 5.0, 0.05


def sample_points(frames: int) -> list[int]:
    """1, 2, 5, 10, 20, 50, ... up to `frames`, and `frames` itself."""
    points = {n * 10**k for k in range(7) for n in (1, 2, 5)}
    return sorted(p for p in points if p <= frames) + ([frames] if frames not in points else [])


def memory_bytes(device: torch.device) -> dict[str, int]:
    if device.type == "cuda":
        return {"allocated": torch.cuda.memory_allocated(device), "max_allocated": torch.cuda.max_memory_allocated(device)}
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # Linux reports KiB
    statm = Path("/proc/self/statm")  # resident pages now (Linux); elsewhere only the peak is known
    rss = int(statm.read_text().split()[1]) * os.sysconf("SC_PAGE_SIZE") if statm.exists() else peak
    return {"rss": rss, "max_rss": peak}


def run_modes(modes: list[str], compile_all: bool, device: torch.device, variant: str) -> list[tuple[bool, bool]]:
    """(CUDA graph, compiled) of each mode that can run here, without repeats: graphs need CUDA, and
    neither applies to the growing full-attention state; compile_all compiles every mode."""
    runs = []
    for mode in modes:
        parts = mode.split("+")
        fixed = variant != "full"
        run = ("graph" in parts and device.type == "cuda" and fixed, ("compile" in parts or compile_all) and fixed)
        if run not in runs:
            runs.append(run)
    return runs


def mode_label(graph: bool, compiled: bool) -> str:
    """The --modes name of a run."""
    return MODES[(0 if graph else 1) + (2 if compiled else 0)]


@torch.no_grad()
def bench_engine(config: ModelConfig, device: torch.device, frames: int, steps: int, graph: bool,
                 label: str = "play", progress: bool = False, compiled: bool = False) -> dict:
    """Per-frame wall time (including the copy of the frame to the host, as the app does) and memory."""
    torch.manual_seed(0)
    space = maze_action_space()
    model = WorldModel(config).to(device)
    maze = MazeConfig(height=config.image_height, width=config.image_width)
    engine = WorldModelEngine(model, space, MazeContext(maze, space), steps=steps, use_cuda_graph=graph,
                              compile=compiled)
    engine.reset(0)
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)
    actions = torch.randint(0, space.num_discrete, (frames,))
    yaw = torch.rand(frames, 1) * 0.5 - 0.25
    times = np.zeros(frames)
    points, memory = sample_points(frames), []
    for index in tqdm(range(frames), desc=label, unit="frame", disable=not progress, dynamic_ncols=True):
        start = time.perf_counter()
        frame, _ = engine.step(actions[index : index + 1], yaw[index : index + 1])
        frame.cpu()
        times[index] = time.perf_counter() - start
        if index + 1 in points:
            memory.append({"frame": index + 1, **memory_bytes(device)})
    ms = [float(np.median(times[max(0, p - WINDOW) : p]) * 1000) for p in points]
    return {
        "graph": engine.use_cuda_graph, "compile": compiled, "compiled": engine.compiled,  # False: fell back
        "steps": steps, "frames": frames,
        "first_frame_ms": float(times[0] * 1000),  # includes compilation and graph capture
        "points": [{"frame": p, "ms_per_frame": m, **mem} for p, m, mem in zip(points, ms, memory)],
    }


def summarize(run: dict, device: torch.device) -> dict:
    by_frame = {point["frame"]: point for point in run["points"]}
    last = run["points"][-1]
    key = "allocated" if device.type == "cuda" else "rss"
    summary = {"frames_per_second": 1000.0 / last["ms_per_frame"]}
    if 100 in by_frame and last["frame"] >= 1000:
        summary["ms_ratio_last_vs_100"] = last["ms_per_frame"] / by_frame[100]["ms_per_frame"]
        summary["memory_ratio_last_vs_100"] = last[key] / max(by_frame[100][key], 1)
    return summary


def plot(results: list[dict], device: torch.device, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    key = "allocated" if device.type == "cuda" else "rss"
    figure, (speed, memory) = plt.subplots(1, 2, figsize=(11, 4))
    for run in results:
        label = f"{run['variant']} ({mode_label(run['graph'], run.get('compiled', False))})"
        frames = [p["frame"] for p in run["points"]]
        speed.plot(frames, [p["ms_per_frame"] for p in run["points"]], marker="o", label=label)
        memory.plot(frames, [p[key] / 2**20 for p in run["points"]], marker="o", label=label)
    for axis, ylabel in ((speed, "ms per frame"), (memory, f"memory {key} (MiB)")):
        axis.set_xscale("log")
        axis.set_xlabel("frames generated")
        axis.set_ylabel(ylabel)
        axis.grid(True, alpha=0.3)
        axis.legend()
    figure.suptitle(f"worldsim play: {results[0]['device']}, {results[0]['steps']} denoising steps")
    figure.tight_layout()
    with atomic_path(path, keep_suffix=True) as temp:
        figure.savefig(temp, dpi=120)
    plt.close(figure)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--device", default="auto", help="auto, cuda or cpu")
    parser.add_argument("--frames", type=int, help=f"frames per run (default {GPU_FRAMES} on GPU, {CPU_FRAMES} on CPU)")
    parser.add_argument("--steps", type=int,
                        help="denoising steps (default: the device's play default, worldsim/sampling_steps.py)")
    parser.add_argument("--variants", nargs="+", default=list(VARIANTS), choices=VARIANTS)
    parser.add_argument("--modes", nargs="+", default=["graph", "eager"], choices=MODES,
                        help="CUDA graph and/or eager, each with or without torch.compile of the frame step "
                             "(graph+compile, compile); graph falls back to eager on CPU and for full, which "
                             "is never compiled (default: graph eager)")
    parser.add_argument("--compile", action="store_true",
                        help="compile the frame step in every mode (torch.compile, inductor; the first frame "
                             "of a run compiles: seconds to minutes, reported as first_frame_ms). Off by default "
                             "until measured; compare with --modes graph graph+compile")
    parser.add_argument("--full-max-frames", type=int, default=FULL_MAX_FRAMES,
                        help=f"cap for the growing full-attention variant (default {FULL_MAX_FRAMES})")
    parser.add_argument("--eager-max-frames", type=int, default=EAGER_MAX_FRAMES,
                        help=f"cap for runs without a CUDA graph on CUDA (eager, compile; default {EAGER_MAX_FRAMES})")
    parser.add_argument("--config", type=Path, metavar="YAML",
                        help="take the model from this training config's model section (e.g. "
                             "configs/memory_deep.yaml: 12 layers); default: the shipped model's ModelConfig")
    parser.add_argument("--set", nargs="*", default=[], metavar="KEY=VALUE",
                        help="ModelConfig overrides, after --config (e.g. depth=12 width=384)")
    parser.add_argument("--threads", type=int, metavar="N",
                        help="torch CPU threads (default: measured, worldsim.cpu_threads)")
    parser.add_argument("--out", type=Path, default=OUTPUT_DIR / "bench_play",
                        help="writes OUT.json and OUT.png (default: %(default)s)")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")


def run(args: argparse.Namespace) -> int:
    device = resolve_device(args.device)
    frames = args.frames or (GPU_FRAMES if device.type == "cuda" else CPU_FRAMES)
    steps = play_steps(device) if args.steps is None else args.steps
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else f"cpu ({torch.get_num_threads()} threads)"
    results = []
    for variant in args.variants:
        overrides = [f"model.{item}" for item in [f"temporal={variant}", *args.set]]
        config = load_config(TrainConfig, args.config, overrides).model  # no --config: ModelConfig's defaults
        for graph, compiled in run_modes(args.modes, args.compile, device, variant):
            count = min(frames, args.full_max_frames) if variant == "full" else frames
            if device.type == "cuda" and not graph:
                count = min(count, args.eager_max_frames)
            label = f"{variant} {mode_label(graph, compiled)}"
            run_result = bench_engine(config, device, count, steps, graph, label, not args.no_progress, compiled)
            run_result.update(variant=variant, device=name, config=to_dict(config),
                              parameters=count_parameters(WorldModel(config)))
            run_result["summary"] = summarize(run_result, device)
            results.append(run_result)
            print(f"{label}: "
                  + "  ".join(f"{p['frame']}: {p['ms_per_frame']:.2f} ms" for p in run_result["points"][::3])
                  + f"  -> {run_result['summary']['frames_per_second']:.1f} frames/s", flush=True)
    target = GPU_TARGET_FPS if device.type == "cuda" else CPU_TARGET_FPS
    report = {"device": name, "target_frames_per_second": target, "flat_tolerance": FLAT_TOLERANCE, "runs": results}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    write_json_atomic(args.out.with_suffix(".json"), report)
    plot(results, device, args.out.with_suffix(".png"))
    print(f"wrote {args.out.with_suffix('.json')} and {args.out.with_suffix('.png')}")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="worldsim bench play", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    add_arguments(parser)
    args = parser.parse_args(argv)
    apply_threads(args.threads)
    return run(args)


if __name__ == "__main__":
    raise SystemExit(main())
