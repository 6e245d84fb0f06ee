"""`worldsim record`: record action-video episodes into a dataset, headless (a scripted policy) or by hand."""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from worldsim.config import finite_float
from worldsim.world import World

DEFAULT_MAZE_BATCH = 8


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "record",
        help="record episodes (frames + actions) into a dataset directory",
        description=(
            "Record episodes into the dataset DIR (created if missing; an existing dataset gets new "
            "episodes appended, never overwritten). Headless: a scripted policy drives --batch worlds in "
            "lock-step. --human: you play in a window and each episode is saved when you press Esc or R. "
            "Format: docs/dataset-format.md."
        ),
        epilog=(
            "examples:\n"
            "  worldsim record --env maze --policy revisit --episodes 32 --steps 500 --out data/maze\n"
            "  worldsim record --env gym:ALE/Pong-v5 --policy random --episodes 4 --steps 1000 \\\n"
            "      --out data/pong\n"
            "  worldsim record --env maze --human --out data/mine"
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--env", default="maze", help="'maze' (built-in) or 'gym:<gymnasium id>' (default: maze)"
    )
    parser.add_argument(
        "--policy", default="wander", help="scripted policy: wander, revisit or random (default: wander)"
    )
    parser.add_argument(
        "--detour-prob", type=finite_float, default=0.0, metavar="P",
        help="wander/revisit: per step, start a short stand/back/strafe detour with probability P (default: 0)",
    )
    parser.add_argument("--episodes", type=int, default=4, help="number of episodes to record (default: 4)")
    parser.add_argument(
        "--steps",
        type=int,
        default=500,
        help="frames per episode, frame 0 from reset included; gym episodes may end sooner (default: 500)",
    )
    parser.add_argument("--out", type=Path, required=True, metavar="DIR", help="dataset directory")
    parser.add_argument(
        "--batch",
        type=int,
        default=None,
        help=f"worlds run in lock-step (default: {DEFAULT_MAZE_BATCH} for the maze, 1 for gym)",
    )
    parser.add_argument(
        "--seed", type=int, default=0, help="episode i is reset with seed SEED+i (default: 0)"
    )
    parser.add_argument(
        "--device", default="cpu", help="device the maze renders on: cpu or cuda (default: cpu)"
    )
    parser.add_argument("--height", type=int, default=None,
                        help="frame height in pixels (default: 64 for the maze, native for gymnasium worlds)")
    parser.add_argument("--width", type=int, default=None,
                        help="frame width in pixels (default: 64 for the maze, native for gymnasium worlds)")
    parser.add_argument(
        "--fps",
        type=finite_float,
        default=15.0,
        help="frame rate stored in meta.json and used by --human (default: 15)",
    )
    parser.add_argument(
        "--human", action="store_true", help="play in a pygame window instead of a scripted policy"
    )
    parser.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    parser.set_defaults(func=run)


class Terminated(Exception):
    """SIGTERM arrived: unwinds like Ctrl-C, so every unfinished episode's temp folder is removed."""


@contextmanager
def _sigterm_unwinds() -> Iterator[None]:
    def terminate(signum: int, _frame: object) -> None:
        raise Terminated()

    if threading.current_thread() is not threading.main_thread():
        yield  # handlers can only be installed from the main thread
        return
    previous = signal.signal(signal.SIGTERM, terminate)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def run(args: argparse.Namespace) -> int:
    if args.episodes < 1 or args.steps < 1:
        raise ValueError(f"--episodes and --steps must be >= 1, got {args.episodes} and {args.steps}")
    try:
        with _sigterm_unwinds():
            return _record_human(args) if args.human else _record_policy(args)
    except Terminated:
        print("worldsim record: stopped by SIGTERM; unfinished episodes discarded, finished ones kept",
              file=sys.stderr)
        return 128 + signal.SIGTERM


def _record_policy(args: argparse.Namespace) -> int:
    from worldsim.data.recorder import record_policy_episodes

    world = make_record_world(args.env, args.batch, args.device, args.height, args.width)
    from worldsim.env.policies import make_policy  # after the world: env id errors come first

    policy = make_policy(args.policy, args.detour_prob)
    paths = record_policy_episodes(
        world,
        policy,
        args.out,
        episodes=args.episodes,
        steps=args.steps,
        seed=args.seed,
        fps=args.fps,
        source={"env": args.env, "policy": args.policy},
        progress=not args.no_progress,
    )
    frames = sum(_length(path) for path in paths)
    print(f"recorded {len(paths)} episodes ({frames} frames) into {args.out}")
    return 0


def make_record_world(
    env_id: str, batch: int | None, device: str, height: int | None, width: int | None
) -> World:
    """The world at the requested resolution (gymnasium frames are resized); gymnasium worlds run one at a time."""
    from worldsim.device import resolve_device
    from worldsim.env import make_world

    device = resolve_device(device)  # a bad name is an error naming it, not a torch traceback
    if batch is None:
        batch = DEFAULT_MAZE_BATCH if env_id == "maze" else 1
    if batch < 1:
        raise ValueError(f"--batch must be >= 1, got {batch}")
    return make_world(env_id, batch_size=batch, device=device, height=height, width=width)


def _record_human(args: argparse.Namespace) -> int:
    from worldsim.app.human_record import record_human

    world = make_record_world(
        args.env, 1 if args.batch is None else args.batch, args.device, args.height, args.width
    )
    if world.batch_size != 1:
        raise ValueError(f"--human plays one world; got --batch {world.batch_size}")
    paths = record_human(world, args.out, fps=int(args.fps), seed=args.seed)
    print(f"saved {len(paths)} episodes into {args.out}")
    return 0


def _length(path: Path) -> int:
    from worldsim.data.episode import read_meta

    return read_meta(path).length
