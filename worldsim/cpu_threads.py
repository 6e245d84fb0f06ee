"""How torch's CPU threads behave: one choice, made here, for every command.

torch's own defaults (one OpenMP thread per core, each spinning while it waits for the others) suit an
idle machine and fail badly on a busy one: at the end of every operation the threads wait for each
other, and a spinning thread holds a core that its descheduled partner needs. On a 2-core machine busy
with other work (load 3-8) one frame of the shipped model took 0.57-3.2 s with 2 threads and 0.24 s with
1; idle, 2 threads took 0.17 s. Two measures, both overridable:

- `wait_passively()` (run when the worldsim package is imported, before torch is) sets
  OMP_WAIT_POLICY=PASSIVE unless it is set: waiting threads sleep instead of spinning. Measured on that
  machine, shipped model, 2 threads, 2 denoising steps: quiet, 0.23 s per frame passive against
  0.19-0.21 s spinning; beside three busy processes, 0.45-0.49 s passive against 1.8 s spinning
  (GOMP_SPINCOUNT=10000, a short spin, gave 0.72-0.85 s).
- `apply_threads()` measures the thread count: a short probe of model-like operations (matmul, GELU,
  layer norm) runs with 1 thread, with all cores and with the cores the load average leaves free, three
  times each, and the fewest threads within 15 % of the fastest win. About 0.1 s on an idle machine, up
  to a few seconds on a very busy one; `--threads N` or OMP_NUM_THREADS skip it.
"""

from __future__ import annotations

import os
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass

PROBE_TRIALS = 3
PROBE_REPEATS = 30  # MLP blocks per probe: ~15 ms on one idle core
CLEAR_GAIN = 0.85  # more threads are chosen only when at least 15 % faster than fewer


@dataclass(frozen=True)
class ThreadChoice:
    threads: int
    reason: str  # "--threads", "OMP_NUM_THREADS", or what the probe measured
    cores: int


def wait_passively() -> None:
    """OMP_WAIT_POLICY=PASSIVE unless set: must run before torch is imported (OpenMP reads it then)."""
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")


def usable_cores() -> int:
    """Cores this process may run on (its CPU affinity where the OS reports one)."""
    if hasattr(os, "sched_getaffinity"):
        return max(1, len(os.sched_getaffinity(0)))
    return max(1, os.cpu_count() or 1)


def load_average() -> float:
    """Runnable processes averaged over the last minute (0 where the OS has no load average)."""
    try:
        return float(os.getloadavg()[0])
    except (AttributeError, OSError):
        return 0.0


def free_cores(cores: int, load: float) -> int:
    """Cores left over by `load` runnable processes, rounded, between 1 and `cores`."""
    return max(1, min(cores, round(cores - load)))


def probe_seconds(threads: int, repeats: int = PROBE_REPEATS) -> float:
    """Seconds for `repeats` MLP blocks of the default model's size (256 tokens of width 192: matmul,
    GELU, matmul, layer norm) on `threads` torch threads: a model step's kind of work, many short parallel
    regions, where threads waiting for each other show."""
    import torch

    torch.set_num_threads(threads)
    x, up, down = torch.randn(256, 192), torch.randn(192, 384) / 14.0, torch.randn(384, 192) / 20.0
    start = time.perf_counter()
    for _ in range(repeats):
        x = torch.nn.functional.layer_norm(torch.nn.functional.gelu(x @ up) @ down, (192,))
    return time.perf_counter() - start


def fastest_threads(candidates: list[int], probe: Callable[[int, int], float] | None = None) -> tuple[int, dict[int, float]]:
    """(threads to use, median probe seconds per candidate): the fewest threads within CLEAR_GAIN of the
    fastest. Trials alternate between candidates, so a burst of outside load hits them alike."""
    probe = probe or probe_seconds
    candidates = sorted(set(candidates))
    for threads in candidates:
        probe(threads, 3)  # warm-up: starts the thread pool
    times: dict[int, list[float]] = {threads: [] for threads in candidates}
    for _ in range(PROBE_TRIALS):
        for threads in candidates:
            times[threads].append(probe(threads, PROBE_REPEATS))
    medians = {threads: statistics.median(values) for threads, values in times.items()}
    best = candidates[0]
    for threads in candidates[1:]:
        if medians[threads] < CLEAR_GAIN * medians[best]:
            best = threads
    return best, medians


def choose_threads(requested: int | None = None) -> ThreadChoice:
    """`requested` (--threads) if given, else OMP_NUM_THREADS if set, else the probe's choice."""
    cores = usable_cores()
    if requested is not None:
        if requested < 1:
            raise ValueError(f"--threads must be >= 1, got {requested}")
        return ThreadChoice(requested, "--threads", cores)
    environment = os.environ.get("OMP_NUM_THREADS", "").strip()
    if environment.isdigit() and int(environment) >= 1:
        return ThreadChoice(int(environment), "OMP_NUM_THREADS", cores)
    if cores == 1:
        return ThreadChoice(1, "one core", cores)
    threads, medians = fastest_threads([1, free_cores(cores, load_average()), cores])
    measured = ", ".join(f"{n} thread{'s' * (n > 1)} {1000 * seconds:.0f} ms" for n, seconds in medians.items())
    return ThreadChoice(threads, f"probe: {measured}", cores)


def apply_threads(requested: int | None = None, announce: bool = True) -> ThreadChoice:
    """Choose the thread count and give it to torch; says so on stderr when fewer than all cores won."""
    import torch

    choice = choose_threads(requested)
    torch.set_num_threads(choice.threads)
    if announce and choice.reason.startswith("probe") and choice.threads < choice.cores:
        print(f"note: using {choice.threads} of {choice.cores} CPU threads, the fastest on this machine now "
              f"({choice.reason}); --threads N to change", file=sys.stderr)
    return choice
