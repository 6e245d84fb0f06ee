"""`worldsim record`: record action-video episodes into a dataset, headless (a scripted policy) or by hand."""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from worldsim.cli import add_threads_argument
from worldsim.config import finite_float

if TYPE_CHECKING:
    from worldsim.world import World

DEFAULT_MAZE_BATCH = 8
DEFAULT_FPS = 15.0


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "record",
        help="record episodes (frames + actions) into a dataset directory",
        description=(
            "Record episodes into the dataset DIR (created if missing; an existing dataset gets new "
            "episodes appended, never overwritten). Headless: a scripted policy drives --batch worlds in "
            "lock-step. --human: you play in a window; R saves the episode and starts the next, Esc saves "
            "it and quits. "
            "Format: docs/dataset-format.md."
        ),
        epilog=(
            "examples:\n"
            "  worldsim record --env maze --policy revisit --episodes 32 --steps 500 --out data/maze\n"
            "  worldsim record --env gym:ALE/Pong-v5 --episodes 4 --steps 1000 --out data/pong\n"
            "  worldsim record --env gym:ALE/Breakout-v5 --env-kwargs '{\"frameskip\": 2}' \\\n"
            "      --height 64 --width 64 --out data/breakout\n"
            "  worldsim record --env maze --human --out data/mine"
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--env", default="maze",
        help="'maze' (built-in), 'gym:<gymnasium id>' or 'gym:<module>:<id>', 'oldgym:<id>', "
             "'dm_env:<module>:<function>' (docs/own-game.md) (default: maze)",
    )
    parser.add_argument(
        "--env-kwargs", default=None, metavar="JSON",
        help="keyword arguments for the game's constructor, a JSON object, e.g. '{\"frameskip\": 2}'",
    )
    parser.add_argument(
        "--policy", default=None,
        help="scripted policy: wander, revisit (maze only) or random (default: wander for the maze, "
             "random otherwise)",
    )
    parser.add_argument(
        "--detour-prob", type=finite_float, default=0.0, metavar="P",
        help="wander/revisit: per step, start a short stand/back/strafe detour with probability P (default: 0)",
    )
    parser.add_argument(
        "--repeat-prob", type=finite_float, default=0.0, metavar="P",
        help="random: per step, keep the previous action with probability P, so keys are held for "
             "1/(1-P) steps on average and recorded as taken (default: 0)",
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
        "--downscale", choices=("area", "dilate"), default="area",  # gym_world.DOWNSCALE_MODES, without torch
        help="how a game's frames shrink to --height/--width: area (average; default) or dilate (keep small "
             "bright objects such as a ball bright: each pixel first takes the brightest of a neighbourhood "
             "one output pixel in size); stored in meta.json",
    )
    parser.add_argument(
        "--fps",
        type=finite_float,
        default=None,
        help=f"frame rate stored in meta.json and used by --human (default: the game's own render_fps, "
             f"else {DEFAULT_FPS:g})",
    )
    parser.add_argument(
        "--human", action="store_true", help="play in a pygame window instead of a scripted policy"
    )
    parser.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    add_threads_argument(parser)
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
    from worldsim.env.gym_make import parse_env_kwargs

    env_kwargs = parse_env_kwargs(args.env_kwargs)
    try:
        with _sigterm_unwinds():
            return _record_human(args, env_kwargs) if args.human else _record_policy(args, env_kwargs)
    except Terminated:
        print("worldsim record: stopped by SIGTERM; unfinished episodes discarded, finished ones kept",
              file=sys.stderr)
        return 128 + signal.SIGTERM


def _record_policy(args: argparse.Namespace, env_kwargs: dict[str, Any]) -> int:
    from worldsim.data.recorder import record_policy_episodes

    world = make_record_world(args.env, args.batch, args.device, args.height, args.width, env_kwargs,
                              args.downscale)
    from worldsim.env.policies import make_policy  # after the world: env id errors come first

    policy_name = args.policy or ("wander" if args.env == "maze" else "random")
    policy = make_policy(policy_name, args.detour_prob, repeat_prob=args.repeat_prob)
    source = {"env": args.env, "policy": policy_name,
              **({"repeat_prob": args.repeat_prob} if args.repeat_prob else {}),
              **frame_source(args, env_kwargs)}
    paths = record_policy_episodes(
        world,
        policy,
        args.out,
        episodes=args.episodes,
        steps=args.steps,
        seed=args.seed,
        fps=record_fps(args.fps, world),
        source=source,
        progress=not args.no_progress,
    )
    frames = sum(_length(path) for path in paths)
    print(f"recorded {len(paths)} episodes ({frames} frames) into {args.out}")
    return 0


def frame_source(args: argparse.Namespace, env_kwargs: dict[str, Any]) -> dict[str, Any]:
    """meta.json source keys that say how the frames were made, when not the defaults."""
    return {**({"env_kwargs": env_kwargs} if env_kwargs else {}),
            **({"downscale": args.downscale} if args.downscale != "area" else {})}


def record_fps(fps: float | None, world: World) -> float:
    """--fps if given, else the game's own rate (gymnasium metadata render_fps), else DEFAULT_FPS."""
    if fps is not None:
        if fps <= 0:
            raise ValueError(f"--fps must be > 0, got {fps}")
        return fps
    return getattr(world, "fps", None) or DEFAULT_FPS


def make_record_world(
    env_id: str, batch: int | None, device: str, height: int | None, width: int | None,
    env_kwargs: dict[str, Any] | None = None, downscale: str = "area",
) -> World:
    """The world at the requested resolution (gymnasium frames are resized); gymnasium worlds run one at a time."""
    from worldsim.device import resolve_device
    from worldsim.env import make_world

    device = resolve_device(device)  # a bad name is an error naming it, not a torch traceback
    if batch is None:
        batch = DEFAULT_MAZE_BATCH if env_id == "maze" else 1
    if batch < 1:
        raise ValueError(f"--batch must be >= 1, got {batch}")
    return make_world(env_id, batch, device, height, width, env_kwargs, downscale)


def _record_human(args: argparse.Namespace, env_kwargs: dict[str, Any]) -> int:
    from worldsim.app.human_record import record_human

    world = make_record_world(
        args.env, 1 if args.batch is None else args.batch, args.device, args.height, args.width, env_kwargs,
        args.downscale,
    )
    if world.batch_size != 1:
        raise ValueError(f"--human plays one world; got --batch {world.batch_size}")
    paths = record_human(world, args.out, fps=max(1, round(record_fps(args.fps, world))), seed=args.seed,
                         env_id=args.env, source=frame_source(args, env_kwargs))
    print(f"saved {len(paths)} episodes into {args.out}")
    return 0


def _length(path: Path) -> int:
    from worldsim.data.episode import read_meta

    return read_meta(path).length
