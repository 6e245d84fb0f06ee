"""Compare the first N losses of an N-GPU torchrun run with a one-process run of the same global batch.

    python -m worldsim.train.ddp_check --config configs/default.yaml --gpus 2 --steps 50 --out runs/ddp_check
    python -m worldsim.train.ddp_check --config configs/tiny.yaml --gpus 2 --steps 5 --out /tmp/ddp device=cpu

Both runs see the same maze clips (rank r's batch i holds the seeds that the single run's batch i holds
at rows r·b ... (r+1)·b − 1), but per-rank noise and policy draws differ, so the losses agree statistically,
not bit for bit: the check passes when the mean losses differ by less than --tolerance (relative) and
both runs' losses fall. Writes ddp_check.json into --out and prints it.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

from worldsim.config import load_config
from worldsim.train.config import TrainConfig
from worldsim.train.metrics_log import read_metrics


def _train_command(config: Path | None, out: Path, overrides: list[str]) -> list[str]:
    args = ["-m", "worldsim", "train", "--out", str(out), "--no-progress"]
    if config is not None:
        args += ["--config", str(config)]
    return args + overrides


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--config", type=Path, default=None)
    parser.add_argument("--gpus", type=int, default=2, help="processes of the distributed run")
    parser.add_argument("--steps", type=int, default=50)
    parser.add_argument("--tolerance", type=float, default=0.05, help="max relative difference of the mean loss")
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("overrides", nargs="*", metavar="key=value")
    args = parser.parse_args(argv)
    config = load_config(TrainConfig, args.config, args.overrides)
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
    mean_single = sum(single_losses) / len(single_losses)
    mean_multi = sum(multi_losses) / len(multi_losses)
    relative = abs(mean_multi - mean_single) / mean_single
    quarter = max(1, len(single_losses) // 4)

    def falls(losses: list[float]) -> bool:
        return sum(losses[-quarter:]) < sum(losses[:quarter])

    result = {
        "gpus": args.gpus, "global_batch": per_rank * args.gpus, "steps": args.steps,
        "single_losses": single_losses, "distributed_losses": multi_losses,
        "mean_single": mean_single, "mean_distributed": mean_multi, "relative_difference": relative,
        "both_fall": falls(single_losses) and falls(multi_losses),
        "passed": relative < args.tolerance and falls(single_losses) and falls(multi_losses),
    }
    (args.out / "ddp_check.json").write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps({k: v for k, v in result.items() if not k.endswith("_losses")}, indent=2))
    return 0 if result["passed"] else 1


if __name__ == "__main__":
    raise SystemExit(main())
