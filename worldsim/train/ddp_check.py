"""Compare the first N losses of an N-GPU torchrun run with a one-process run of the same global batch.

    worldsim bench ddp-check --config configs/default.yaml --gpus 2 --steps 50 --out runs/ddp_check
    worldsim bench ddp-check --config configs/tiny.yaml --gpus 2 --steps 5 --out /tmp/ddp device=cpu

Every clip and all of its noise are functions of (seed, global sample index) and the loss is a mean of
per-clip terms, so rank r's rows of step i are rows r·b ... (r+1)·b − 1 of the single run's step i and
the two runs compute the same losses up to floating-point summation order. The logged distributed loss is
the all-reduced mean over ranks. The check passes when the largest relative per-step difference is below
--tolerance (default 1e-3 in fp32, 2e-2 under bf16 autocast); "both_fall" (last quarter of the losses
below the first) is reported, and required only with --require-fall (short runs inside the warm-up
need not fall). Writes ddp_check.json into --out and prints it.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import subprocess
import sys
from pathlib import Path

from worldsim.config import load_config
from worldsim.data.atomic import write_json_atomic
from worldsim.device import resolve_device
from worldsim.train.config import TrainConfig
from worldsim.train.metrics_log import read_metrics


def _train_command(config: Path | None, out: Path, overrides: list[str]) -> list[str]:
    args = ["-m", "worldsim", "train", "--out", str(out), "--no-progress"]
    if config is not None:
        args += ["--config", str(config)]
    return args + overrides


def _default_tolerance(config: TrainConfig) -> float:
    """fp32 runs differ only by summation order; bf16 autocast rounds activations differently per batch shape."""
    fp32 = config.precision == "fp32" or resolve_device(config.device).type == "cpu"
    return 1e-3 if fp32 else 2e-2


def _max_relative_difference(single: list[float], multi: list[float]) -> float:
    if len(single) != len(multi) or not single:
        return math.inf
    return max(abs(m - s) / max(abs(s), 1e-12) for s, m in zip(single, multi, strict=True))


def ddp_check(args: argparse.Namespace) -> int:
    """args: config (Path | None), gpus, steps, tolerance (None: by precision), require_fall, out, overrides
    (the options of `worldsim bench ddp-check`) -> 0 when the check passes."""
    config = load_config(TrainConfig, args.config, args.overrides)
    tolerance = args.tolerance if args.tolerance is not None else _default_tolerance(config)
    per_rank = config.data.batch_size
    common = [*args.overrides, f"schedule.max_steps={args.steps}", "logging.log_every=1",
              "logging.validate_every=1000000000", "logging.checkpoint_every=1000000000"]
    single, multi = args.out / "single", args.out / "distributed"
    for run in (single, multi):
        if run.exists():
            raise SystemExit(f"{run} exists; choose a fresh --out")
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    torchrun = [sys.executable, "-m", "torch.distributed.run", "--standalone", f"--nproc_per_node={args.gpus}"]
    subprocess.run([*torchrun, *_train_command(args.config, multi, common)], check=True, env=env)
    subprocess.run([sys.executable, *_train_command(args.config, single,
                                                    [*common, f"data.batch_size={per_rank * args.gpus}"])],
                   check=True, env=env)
    single_losses = [r["loss"] for r in read_metrics(single)]
    multi_losses = [r["loss"] for r in read_metrics(multi)]
    relative = _max_relative_difference(single_losses, multi_losses)
    quarter = max(1, len(single_losses) // 4)

    def falls(losses: list[float]) -> bool:
        return sum(losses[-quarter:]) < sum(losses[:quarter])

    both_fall = falls(single_losses) and falls(multi_losses)
    result = {
        "gpus": args.gpus, "global_batch": per_rank * args.gpus, "steps": args.steps,
        "single_losses": single_losses, "distributed_losses": multi_losses,
        "max_relative_difference": relative, "tolerance": tolerance, "both_fall": both_fall,
        "passed": relative < tolerance and (both_fall or not args.require_fall),
    }
    write_json_atomic(args.out / "ddp_check.json", result)
    print(json.dumps({k: v for k, v in result.items() if not k.endswith("_losses")}, indent=2))
    return 0 if result["passed"] else 1

