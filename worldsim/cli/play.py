"""`worldsim play`: play a trained world model (or the built-in maze) in a window, or headless to an MP4."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from worldsim.cli import add_threads_argument
from worldsim.config import finite_float
from worldsim.data.video import DEFAULT_VIDEO_SCALE
from worldsim.paths import OUTPUT_DIR

if TYPE_CHECKING:
    from worldsim.world import World

DEFAULT_HEADLESS_FRAMES = 300
DEFAULT_FPS = 30

EXAMPLES = """\
keys: W/S or Up/Down move, A/D strafe, Left/Right or Q/E turn, mouse turns (M releases it),
      P pause, R reset, [ ] denoising steps, V record, F12/K screenshot, H help, Esc quit.

examples:
  worldsim play                                   # checkpoints/default.safetensors, else the built-in maze
                                                  # (checkpoints/cpu.safetensors without a CUDA GPU, if shipped)
  worldsim play --checkpoint run/ckpt.safetensors --steps 4 --side-by-side
  worldsim play --checkpoint runs/breakout/latest.safetensors --context data/breakout/episode_000009
  worldsim play --world maze --seed 7             # the ground-truth maze
  worldsim play --headless --policy wander --frames 300 --out out/play.mp4

Screenshots and recordings go under out/ in the current folder unless --screenshots / --recordings say
otherwise. Videos are H.264, each frame pixel drawn as --video-scale x --video-scale pixels.
"""


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "play", help="play a world model (or the built-in maze) with keyboard and mouse",
        description=__doc__, epilog=EXAMPLES, formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_play_arguments(parser)
    parser.set_defaults(func=run)


def add_play_arguments(parser: argparse.ArgumentParser) -> None:
    what = parser.add_mutually_exclusive_group()
    what.add_argument("--checkpoint", metavar="PATH", help="model checkpoint (.safetensors) to play")
    what.add_argument("--world", metavar="ID",
                      help="ground-truth world instead of a model: maze, gym:<id>, oldgym:<id>, "
                           "dm_env:<module>:<function>")
    parser.add_argument("--env-kwargs", metavar="JSON",
                        help="--world game's constructor arguments, a JSON object")
    parser.add_argument("--seed", type=int, default=0, help="maze / context seed (R adds 1) (default 0)")
    parser.add_argument("--fps", type=int, default=None,
                        help=f"frame rate cap of the loop (default: a game's own render_fps, "
                             f"else {DEFAULT_FPS})")
    parser.add_argument("--scale", type=int, default=8, help="window pixels per frame pixel (default 8)")
    parser.add_argument("--device", default="auto", help="auto (CUDA if present), cuda, cuda:1 or cpu")
    parser.add_argument("--steps", type=int, help="denoising steps per frame (default: the checkpoint's)")
    parser.add_argument("--commit-noise", type=finite_float, default=1.0, metavar="LEVEL",
                        help="noise level at which generated frames enter the model's memory, an anti-drift "
                             "option (0.9-0.98; no gain measured on the shipped weights, see docs/playing.md; "
                             "default 1.0 = as generated)")
    parser.add_argument("--context", nargs="+", metavar="PATH",
                        help="start the model from an episode directory or from image files (default: "
                             "the maze the checkpoint was trained on, or its dataset's first held-out "
                             "episode)")
    parser.add_argument("--look-around", action="store_true",
                        help="in the built-in maze, start the model from the first frame and one turn on the spot "
                             "(27 true frames) instead of the first frame alone: so far a little better after "
                             "frame 10, a little worse before (worldsim eval priming)")
    parser.add_argument("--side-by-side", action="store_true",
                        help="ground-truth maze (left) next to the model (right), same actions")
    parser.add_argument("--no-cuda-graph", action="store_true", help="run the model eagerly on CUDA")
    parser.add_argument("--compile", action="store_true",
                        help="compile each frame's model passes with torch.compile (inductor) before the CUDA "
                             "graph capture; the first frame, and the first after a change of steps, compiles "
                             "(up to minutes). Off by default: its speed-up is not measured yet "
                             "(docs/playing.md). Falls back to uncompiled with a note if compiling fails")
    parser.add_argument("--screenshots", type=Path, default=OUTPUT_DIR / "screenshots",
                        help="folder for F12/K PNGs (default: %(default)s)")
    parser.add_argument("--recordings", type=Path, default=OUTPUT_DIR / "recordings",
                        help="dataset folder for V recordings (episode_<n>/ + videos/episode_<n>.mp4) "
                             "(default: %(default)s)")
    parser.add_argument("--video-scale", type=int, default=DEFAULT_VIDEO_SCALE, metavar="N",
                        help="MP4s (headless --out, V recordings): each frame pixel as NxN pixels, "
                             "nearest neighbour (default: %(default)s; 1 = frame size)")
    add_threads_argument(parser)
    headless = parser.add_argument_group("headless (no window)")
    headless.add_argument("--headless", action="store_true", help="no window: a policy or action file plays")
    headless.add_argument("--policy", default=None,
                          help="exploration policy: wander, revisit (maze worlds) or random (default: wander "
                               "for the maze and models started from it, random otherwise)")
    headless.add_argument("--actions", type=Path, help="discrete actions to replay (.npy or .json list)")
    headless.add_argument("--frames", type=int,
                          help="frames to play headless (default: 300 with a policy, all of --actions)")
    headless.add_argument("--out", type=Path, help="MP4 file of the headless frames (e.g. out/play.mp4)")
    headless.add_argument("--no-progress", action="store_true", help="no progress bar")


def check_play_arguments(args: argparse.Namespace) -> None:
    """Option errors before any world or checkpoint is loaded."""
    if args.frames is not None and args.frames < 1:
        raise ValueError(f"--frames must be >= 1, got {args.frames}")
    if args.video_scale < 1:
        raise ValueError(f"--video-scale must be >= 1, got {args.video_scale}")
    if args.out is not None and args.out.suffix.lower() != ".mp4":
        raise ValueError(f"--out {args.out}: the headless video must end in .mp4")
    if args.headless and args.out is None:
        print("note: --headless without --out: the frames are played and timed but not saved "
              "(--out out/play.mp4 keeps them)", file=sys.stderr)


def build_world(args: argparse.Namespace) -> World:
    from worldsim.app.worlds import SideBySideWorld, resolve_checkpoint

    checkpoint, note = resolve_checkpoint(args.checkpoint, args.world, args.device)
    if note:
        print(note, file=sys.stderr)
    if checkpoint is None:
        if args.side_by_side or args.context:
            raise ValueError("--side-by-side and --context need a model (--checkpoint)")
        from worldsim.env import make_world
        from worldsim.env.gym_make import parse_env_kwargs

        env_kwargs = parse_env_kwargs(args.env_kwargs)
        return make_world(args.world or "maze", batch_size=1, device="cpu", env_kwargs=env_kwargs)
    if args.env_kwargs:
        raise ValueError("--env-kwargs configures a --world game; a checkpoint takes none")
    from worldsim.engine import MazeContext, WorldModelEngine

    engine = WorldModelEngine.from_checkpoint(
        checkpoint, args.device, args.steps, commit_noise_level=args.commit_noise, context=args.context,
        use_cuda_graph=not args.no_cuda_graph, look_around=args.look_around, compile=args.compile,
    )
    if not args.context and not isinstance(engine.context_source, MazeContext):
        print(f"first frames: {engine.context_source.path} (the checkpoint's dataset; --context to choose)",
              file=sys.stderr)
    if args.side_by_side:
        if args.context:
            raise ValueError("--side-by-side starts both worlds from the same maze; drop --context")
        if not isinstance(engine.context_source, MazeContext):
            raise ValueError(f"--side-by-side shows the built-in maze beside the model; {checkpoint} was not "
                             f"trained on it")
        from worldsim.env.maze_world import MazeWorld

        return SideBySideWorld(MazeWorld(engine.context_source.maze_config), engine)
    return engine


def run(args: argparse.Namespace) -> int:
    check_play_arguments(args)
    world = build_world(args)
    if args.fps is None:
        args.fps = round(getattr(world, "fps", None) or DEFAULT_FPS)
    if args.headless:
        return run_headless_command(world, args)
    from worldsim.app.session import PlaySession, SessionOptions
    from worldsim.app.window import NoDisplayError

    options = SessionOptions(
        fps=args.fps, seed=args.seed, scale=args.scale, screenshot_dir=args.screenshots,
        recording_dir=args.recordings, video_scale=args.video_scale, source=recording_source(args),
    )
    try:
        session = PlaySession(world, options)
    except NoDisplayError as error:
        print(f"worldsim play: {error}", file=sys.stderr)
        return 1
    session.run()
    return 0


def recording_source(args: argparse.Namespace) -> dict[str, str]:
    """meta.json `source` of V recordings: the world whose frames the episode holds, and what was played."""
    from worldsim.app.worlds import resolve_checkpoint

    checkpoint, _ = resolve_checkpoint(args.checkpoint, args.world, args.device)
    if checkpoint is None:
        return {"env": args.world or "maze"}
    if args.side_by_side:
        return {"env": "maze", "played": str(checkpoint)}  # the episode keeps the ground-truth half
    return {"env": f"model {checkpoint}", "played": str(checkpoint)}


def run_headless_command(world: World, args: argparse.Namespace) -> int:
    from worldsim.app.headless import load_actions, run_headless

    frames = DEFAULT_HEADLESS_FRAMES if args.frames is None else args.frames
    if args.actions is not None:
        driver = load_actions(args.actions)
        frames = min(args.frames or len(driver.actions), len(driver.actions))
    else:
        from worldsim.app.headless import default_policy, policy_driver
        from worldsim.env.policies import make_policy

        driver = policy_driver(make_policy(args.policy or default_policy(world)), world)
    result = run_headless(world, driver, frames, args.seed, args.out, args.fps, args.video_scale,
                          progress=not args.no_progress)
    where = f" -> {result.video}" if result.video else ""
    print(f"played {result.frames} frames in {result.seconds:.2f} s ({result.frames_per_second:.1f} frames/s){where}")
    return 0
