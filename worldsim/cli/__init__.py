"""`worldsim` command line: one module per subcommand, each exposing `register(subparsers)`.

Registering a command imports nothing heavy (torch is imported by the command that runs), so
`worldsim --help` answers at once.
"""

from __future__ import annotations

import argparse
import importlib
import sys

import worldsim

# Each module adds its subparser and sets `func=run(args) -> int`. Add a name only once the command works.
SUBCOMMANDS: tuple[str, ...] = ("train", "record", "data", "play", "bench", "plot", "eval", "export")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="worldsim",
        description="Play, record and train neural world models (block-wise SSM + frame-local attention diffusion).",
    )
    parser.add_argument("--version", action="version", version=f"worldsim {worldsim.__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in SUBCOMMANDS:
        importlib.import_module(f"worldsim.cli.{name}").register(subparsers)
    return parser


def add_threads_argument(parser: argparse.ArgumentParser) -> None:
    """`--threads N`, applied by `main` before the command runs (worldsim.cpu_threads)."""
    parser.add_argument("--threads", type=int, default=None, metavar="N",
                        help="CPU threads for torch (default: OMP_NUM_THREADS, else 1 or all cores, whichever a "
                             "0.1 s probe finds faster now)")


def main(argv: list[str] | None = None) -> int:
    from worldsim.cli.eval import normalize_argv

    parser = build_parser()
    args, extra = parser.parse_known_args(normalize_argv(sys.argv[1:] if argv is None else list(argv)))
    # `train k=v --out D k2=v2`: argparse stops the override list at the first option; collect the rest
    collect = getattr(args, "collect_positionals", None)
    if extra:
        if collect is None or any(item.startswith("-") for item in extra):
            parser.error(f"unrecognized arguments: {' '.join(extra)}")
        getattr(args, collect).extend(extra)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        if hasattr(args, "threads"):
            from worldsim.cpu_threads import apply_threads

            apply_threads(args.threads)
        return int(args.func(args) or 0)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except (ValueError, FileNotFoundError, OSError) as error:
        print(f"worldsim {args.command}: error: {error}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
