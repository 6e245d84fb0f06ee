"""`worldsim bench <name>`: the benchmarks, each writing JSON (+ PNG where it plots)."""

from __future__ import annotations

import argparse
import importlib
import importlib.util

# name -> (module, help). Modules other than play take their own arguments (see `worldsim bench NAME -h`).
FORWARDED: dict[str, tuple[str, str]] = {
    "render": ("worldsim.bench.render", "built-in maze rendering speed (frames/s, batched and single)"),
    "loader": ("worldsim.bench.loader", "dataset clip-loader throughput"),
    "step": ("worldsim.bench.model_step", "one WorldModel.step: parameters, FLOPs, eager and CUDA-graph latency"),
    "train": ("worldsim.bench.train_throughput", "training throughput"),
}


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("bench", help="measure speed and memory (JSON + PNG)", description=__doc__)
    benches = parser.add_subparsers(dest="bench", metavar="BENCHMARK", required=True)
    from worldsim.bench import play

    play_parser = benches.add_parser(
        "play", help="ms/frame and memory vs frames generated, per temporal variant, eager and CUDA graph",
        description=play.__doc__, formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    play.add_arguments(play_parser)
    play_parser.set_defaults(func=play.run)
    for name, (module, help_text) in FORWARDED.items():
        if importlib.util.find_spec(module) is None:
            continue  # not in this build
        # prefix_chars="+": every "-x" after the name is left for the forwarded module to parse
        forwarded = benches.add_parser(name, help=help_text, add_help=False, prefix_chars="+")
        forwarded.add_argument("arguments", nargs=argparse.REMAINDER, help=f"arguments of python -m {module}")
        forwarded.set_defaults(func=run_forwarded, module=module)


def run_forwarded(args: argparse.Namespace) -> int:
    result = importlib.import_module(args.module).main(list(args.arguments))
    return int(result or 0)
