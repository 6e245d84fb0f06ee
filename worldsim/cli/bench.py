"""`worldsim bench <name>`: the benchmarks, each writing JSON (+ PNG where it plots)."""

from __future__ import annotations

import argparse
import ast
import importlib
import importlib.util
from pathlib import Path

# name -> (module, help). Each module parses its own arguments (see `worldsim bench NAME -h`), so listing
# the benchmarks imports none of them (and not torch).
FORWARDED: dict[str, tuple[str, str]] = {
    "play": ("worldsim.bench.play",
             "ms/frame and memory vs frames generated, per temporal variant: eager, CUDA graph, compiled"),
    "render": ("worldsim.bench.render", "built-in maze rendering speed (frames/s, batched and single)"),
    "loader": ("worldsim.bench.loader", "dataset clip-loader throughput"),
    "step": ("worldsim.bench.model_step", "one WorldModel.step: parameters, FLOPs, eager and CUDA-graph latency"),
    "train": ("worldsim.bench.train_throughput", "training throughput"),
}


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("bench", help="measure speed and memory (JSON + PNG)", description=__doc__)
    benches = parser.add_subparsers(dest="bench", metavar="BENCHMARK", required=True)
    _register_ddp_check(benches)
    for name, (module, help_text) in FORWARDED.items():
        # prefix_chars="+": every "-x" after the name is left for the forwarded module to parse
        forwarded = benches.add_parser(name, help=help_text, add_help=False, prefix_chars="+")
        forwarded.add_argument("arguments", nargs=argparse.REMAINDER, help=f"arguments of python -m {module}")
        forwarded.set_defaults(func=run_forwarded, module=module)


def run_forwarded(args: argparse.Namespace) -> int:
    result = importlib.import_module(args.module).main(list(args.arguments))
    return int(result or 0)


def _register_ddp_check(benches: argparse._SubParsersAction) -> None:
    from worldsim.config import finite_float

    parser = benches.add_parser("ddp-check", help="N-GPU torchrun losses vs one process with the same global batch",
                                description=module_docstring("worldsim.train.ddp_check"),
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--config", type=Path, default=None, help="training YAML (default: built-in defaults)")
    parser.add_argument("--gpus", type=int, default=2, help="processes of the distributed run (default 2)")
    parser.add_argument("--steps", type=int, default=50, help="training steps of each run (default 50)")
    parser.add_argument("--tolerance", type=finite_float, default=None,
                        help="max relative per-step loss difference (default: 1e-3 fp32, 2e-2 bf16)")
    parser.add_argument("--require-fall", action="store_true", help="also fail unless both runs' losses fall")
    parser.add_argument("--out", type=Path, required=True, help="fresh folder for both runs and ddp_check.json")
    parser.add_argument("overrides", nargs="*", metavar="key=value", help="training config overrides")
    parser.set_defaults(func=_run_ddp_check)


def _run_ddp_check(args: argparse.Namespace) -> int:
    from worldsim.train.ddp_check import ddp_check

    return ddp_check(args)


def module_docstring(module: str) -> str | None:
    """A module's docstring read from its source: importing it would load torch just to print help."""
    return ast.get_docstring(ast.parse(Path(importlib.util.find_spec(module).origin).read_text()))
