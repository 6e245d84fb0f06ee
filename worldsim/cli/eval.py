"""`worldsim eval`: measure checkpoints on held-out mazes, or a game's held-out episodes (--data).

    worldsim eval A.safetensors B.safetensors --rollout 100 --out eval.json      (= worldsim eval compare ...)
    worldsim eval --data data/breakout runs/breakout/latest.safetensors --context 16 --rollout 32
    worldsim eval memory A.safetensors B.safetensors --out benchmarks/results/memory
    worldsim eval priming checkpoints/default.safetensors --out out/priming.json
    worldsim eval recall-toy --write-data data/recall_toy         (then train on it: configs/recall_toy.yaml)
    worldsim eval recall-toy --data data/recall_toy runs/recall_toy/latest.safetensors --out recall.json
"""

from __future__ import annotations

import argparse
from pathlib import Path

from worldsim.cli import add_threads_argument
from worldsim.config import finite_float

SUBCOMMANDS = ("compare", "memory", "priming", "recall-toy")
MEMORY_HELP = """Does the model remember what it saw beyond its attention window? On held-out mazes:
- retrace: walk out --outbound frames (context), then generate --back frames walking back through the same
  views (each seen 2, 4, 6, ... frames earlier);
- rotation: one full turn on the spot as context, then --generate more turning frames;
- recall: the retrace walk back with each frame generated from the true frames before it (no drift):
  the memory the state holds, apart from the rollout drifting away from it;
- each generated twice from the same noise: primed with the whole context and with only the attention
  window (--window); memory gain = the PSNR difference; repeat-the-last-true-frame is the trivial baseline.
  Stacked layers reach depth x attn_window frames back even without a scan: a local model's gain is what
  that reach adds beyond its window, and stops there;
- response: frames after --response-steps steps of turn left vs right, forward vs no-op, mouse left vs
  right differ as much as the true world's (ratio 1) or not at all (ratio 0).
Writes OUT.json, OUT.png (curves) and OUT.mp4 (truth | whole history | window only)."""


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "eval", help="compare checkpoints on held-out mazes (one-step/rollout PSNR) or benchmark their memory",
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    tests = parser.add_subparsers(dest="eval_command", metavar="{compare,memory,priming,recall-toy}", required=True)
    _register_compare(tests)
    _register_memory(tests)
    _register_priming(tests)
    _register_recall_toy(tests)


def normalize_argv(argv: list[str]) -> list[str]:
    """`worldsim eval CKPT ...` is short for `worldsim eval compare CKPT ...`."""
    if argv[:1] == ["eval"] and len(argv) > 1 and argv[1] not in (*SUBCOMMANDS, "-h", "--help"):
        return ["eval", "compare", *argv[1:]]
    return argv


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("checkpoints", nargs="+", type=Path, help="model .safetensors files")
    from worldsim.sampling_steps import DEFAULT_SAMPLING_STEPS

    parser.add_argument("--steps", type=int, default=DEFAULT_SAMPLING_STEPS,
                        help=f"Euler steps per generated frame (default {DEFAULT_SAMPLING_STEPS})")
    parser.add_argument("--device", default="auto", help="auto (CUDA when present), cpu or cuda")
    add_threads_argument(parser)


def _register_compare(tests: argparse._SubParsersAction) -> None:
    parser = tests.add_parser("compare", help="one-step, rollout and standing-still PSNR (the default)",
                              description="One-step, rollout and standing-still PSNR of checkpoints on the same held-out mazes (the trainer's validation clips).", formatter_class=argparse.RawDescriptionHelpFormatter)
    _common(parser)
    parser.add_argument("--clips", type=int, default=8,
                        help="held-out mazes, one clip each, or clips of held-out episodes with --data "
                             "(default 8)")
    parser.add_argument("--context", type=int, default=24, help="ground-truth frames before predicting (default 24)")
    parser.add_argument("--rollout", type=int, default=100, help="frames generated after the context (default 100)")
    parser.add_argument("--skip", type=int, default=0,
                        help="drop each clip's first SKIP frames, e.g. --context 1 --skip 23 predicts the same "
                             "frames as --context 24 (default 0)")
    parser.add_argument("--commit-noise", type=finite_float, nargs="+", default=[1.0], metavar="LEVEL",
                        help="rollout context levels to try, 1.0 = clean (default 1.0)")
    parser.add_argument("--data", type=Path, metavar="DIR",
                        help="a recorded dataset: clips of its episodes the checkpoints never trained on "
                             "(the held-out ones of the dataset they trained on; all of another) instead of "
                             "held-out mazes")
    parser.add_argument("--out", type=Path, help="also write the results to this JSON file")
    parser.add_argument("--strip", type=Path, metavar="PNG",
                        help="also write the first clip's rollout by the first checkpoint as a PNG strip "
                             "(truth on top, as the trainer's validation samples)")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    parser.set_defaults(func=_run_compare)


def _run_compare(args: argparse.Namespace) -> int:
    from worldsim.data.atomic import write_json_atomic
    from worldsim.device import resolve_device
    from worldsim.eval.compare import CompareSettings, compare_checkpoints

    settings = CompareSettings(clips=args.clips, context=args.context, rollout=args.rollout, skip=args.skip,
                               steps=args.steps, commit_noise=tuple(args.commit_noise),
                               data=None if args.data is None else str(args.data))
    if args.strip is not None:
        args.strip.parent.mkdir(parents=True, exist_ok=True)
    results = compare_checkpoints(args.checkpoints, settings, resolve_device(args.device),
                                  progress=not args.no_progress, strip=args.strip)
    if args.strip is not None:
        print(f"wrote {args.strip}")
    if args.out is not None:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        write_json_atomic(args.out, {"settings": vars(settings) | {"device": args.device}, "results": results})
        print(f"wrote {args.out}")
    return 0


def _register_memory(tests: argparse._SubParsersAction) -> None:
    from worldsim.eval.settings import TESTS, MemorySettings

    defaults = MemorySettings()
    parser = tests.add_parser("memory", help="retrace, rotation, memory gain, action response (JSON + PNG + mp4)",
                              description=MEMORY_HELP, formatter_class=argparse.RawDescriptionHelpFormatter)
    _common(parser)
    parser.add_argument("--tests", nargs="+", default=list(TESTS), choices=TESTS,
                        help="which tests (default: all)")
    parser.add_argument("--mazes", type=int, default=defaults.mazes, help=f"held-out mazes (default {defaults.mazes})")
    parser.add_argument("--outbound", type=int, default=defaults.outbound,
                        help=f"retrace: frames walked out, all context (default {defaults.outbound})")
    parser.add_argument("--back", type=int, default=defaults.back,
                        help=f"retrace: frames generated on the way back (default {defaults.back})")
    parser.add_argument("--generate", type=int, default=defaults.generate,
                        help=f"rotation: frames generated after one full turn (default {defaults.generate})")
    parser.add_argument("--response-steps", type=int, default=defaults.response_steps,
                        help=f"response: frames per action (default {defaults.response_steps})")
    parser.add_argument("--seed", type=int, default=defaults.seed, help="noise and walk seed (default 0)")
    parser.add_argument("--window", type=int, default=defaults.window, metavar="N",
                        help="the shorter priming: the last N context frames (default: each checkpoint's "
                             "attn_window). Attention alone reaches depth x attn_window frames back (printed "
                             "per checkpoint): at that N the gain is the scan's or the pack's alone, 0 for local")
    parser.add_argument("--out", type=Path, required=True,
                        help="output stem: writes OUT.json, OUT.png and OUT.mp4 (truth | whole history | window)")
    parser.set_defaults(func=_run_memory)


def _run_memory(args: argparse.Namespace) -> int:
    from worldsim.device import resolve_device
    from worldsim.eval.memory import MemorySettings, run_memory_benchmark
    from worldsim.eval.memory_report import write_report

    settings = MemorySettings(mazes=args.mazes, outbound=args.outbound, back=args.back, generate=args.generate,
                              response_steps=args.response_steps, steps=args.steps, seed=args.seed,
                              window=args.window)
    result = run_memory_benchmark(args.checkpoints, settings, resolve_device(args.device), args.tests)
    for path in write_report(result, args.out):
        print(f"wrote {path}")
    return 0


PRIMING_HELP = """How a play session's first frames shape what follows, on held-out mazes: the model primed with the
maze's first frame alone vs the first frame and one turn on the spot (what `worldsim play
--look-around` does), then driven along the same wander walk as the true maze. PSNR against the truth over
frames 1-10, 11-30 and 31-N, next to repeating the first frame. Writes JSON (--out)."""


def _register_priming(tests: argparse._SubParsersAction) -> None:
    parser = tests.add_parser("priming", help="first frame alone vs one look around before play (JSON)",
                              description=PRIMING_HELP, formatter_class=argparse.RawDescriptionHelpFormatter)
    _common(parser)
    parser.add_argument("--mazes", type=int, default=8, help="held-out mazes, played side by side (default 8)")
    parser.add_argument("--frames", type=int, default=60, help="frames generated after the priming (default 60)")
    parser.add_argument("--seed", type=int, default=0, help="the wander walk's seed (default 0)")
    parser.add_argument("--out", type=Path, help="also write the results to this JSON file")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    parser.set_defaults(func=_run_priming)


def _run_priming(args: argparse.Namespace) -> int:
    from worldsim.data.atomic import write_json_atomic
    from worldsim.device import resolve_device
    from worldsim.eval.priming import priming_benchmark

    device = resolve_device(args.device)
    results = [priming_benchmark(path, args.mazes, args.frames, args.steps, args.seed, device,
                                 progress=not args.no_progress) for path in args.checkpoints]
    for result in results:
        print(result["checkpoint"])
        for window, scores in result["windows"].items():
            print(f"  {window}: " + ", ".join(f"{name} {value:.2f}" for name, value in scores.items()) + " dB")
    if args.out is not None:
        write_json_atomic(args.out, {"results": results})
        print(f"wrote {args.out}")
    return 0


RECALL_TOY_HELP = """Can this model learn to remember at all? A sanity check for a change to the model or
trainer, small enough for a CPU. The recall toy is a dataset of 16x16 episodes: a pattern of four coloured
squares at steps 0-2, gray after, and from the step of the action `recall` (8..20) the same pattern again.
Nothing in the frames before the recall step says which pattern returns: only memory can. With --patterns K,
K patterns one after another (steps 0-2, 3-5, ...), then recall_k shows pattern k again (from step 8+3(K-1)):
memory must also choose between scenes seen at the same places.
  1. worldsim eval recall-toy --write-data DIR
  2. worldsim train --config configs/recall_toy.yaml --data DIR --out RUN   (each variant: model.temporal=...)
  3. worldsim eval recall-toy --data DIR RUN/latest.safetensors [...] --out JSON
Step 3 scores the recall frame on the episodes the checkpoints never trained on (data.holdout_every),
generated after the whole history or only the last --window frames (default attn_window: the frames just
before the recall step, all gray) from the same noise. memory gain = whole - window: what the model kept
from steps 0-2 (also per recalled pattern). copy_last = repeating the gray frame, the score of a model
without memory. Numbers for configs/recall_toy.yaml: docs/training.md, "Can the scan learn to remember at
all? The recall toy"."""


def _register_recall_toy(tests: argparse._SubParsersAction) -> None:
    from worldsim.eval.settings import RecallToySettings

    defaults = RecallToySettings()
    parser = tests.add_parser("recall-toy",
                              help="can it learn to remember at all? write the recall toy, or score on it",
                              description=RECALL_TOY_HELP,
                              formatter_class=argparse.RawDescriptionHelpFormatter)
    mode = parser.add_mutually_exclusive_group(required=True)
    mode.add_argument("--write-data", type=Path, metavar="DIR",
                      help="write the dataset to DIR (new or empty)")
    mode.add_argument("--data", type=Path, metavar="DIR", help="score CHECKPOINTs on this recall toy dataset")
    parser.add_argument("checkpoints", nargs="*", type=Path, metavar="CHECKPOINT",
                        help="with --data: model .safetensors files trained on DIR")
    parser.add_argument("--episodes", type=int, default=defaults.episodes,
                        help=f"with --write-data: episodes (default {defaults.episodes}; one in ten is held "
                             "out of training)")
    parser.add_argument("--seed", type=int, default=defaults.seed,
                        help="--write-data: the episodes' seed; --data: the sampling noise's seed "
                             "(default 0)")
    parser.add_argument("--patterns", type=int, default=defaults.patterns, metavar="K",
                        help="with --write-data: K patterns shown in turn for 3 frames each, recalled by the "
                             f"actions recall_1..recall_K (default 1: the action `recall`; at most "
                             f"{defaults.max_patterns})")
    widest = defaults.recall_first - defaults.pattern_steps  # a wider window shows the pattern
    parser.add_argument("--window", type=int, default=0, metavar="N",
                        help="with --data: the shorter priming, the last N frames before the recall step "
                             f"(default: each checkpoint's attn_window; at most {widest})")
    parser.add_argument("--steps", type=int, default=None,
                        help="with --data: Euler steps per frame (default: each checkpoint's own)")
    parser.add_argument("--out", type=Path, help="with --data: also write the results to this JSON file")
    parser.add_argument("--device", default="cpu", help="cpu (default; the toy is small), cuda or auto")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    add_threads_argument(parser)
    parser.set_defaults(func=_run_recall_toy)


def _run_recall_toy(args: argparse.Namespace) -> int:
    from worldsim.eval.settings import RecallToySettings

    if args.write_data is not None:
        if args.checkpoints:
            raise ValueError(f"eval recall-toy: --write-data writes a dataset and scores nothing: drop "
                             f"{args.checkpoints[0]} (score with --data DIR CHECKPOINT ...)")
        from worldsim.eval.recall_toy import write_recall_toy

        settings = RecallToySettings(episodes=args.episodes, seed=args.seed, patterns=args.patterns)
        path = write_recall_toy(args.write_data, settings, progress=not args.no_progress)
        print(f"wrote {path}: {settings.episodes} episodes of {settings.length} frames "
              f"(seed {settings.seed}); train on it with `worldsim train --config configs/recall_toy.yaml "
              f"--data {path} --out RUN`")
        return 0
    if not args.checkpoints:
        raise ValueError("eval recall-toy: --data DIR needs at least one CHECKPOINT to score")
    from worldsim.data.atomic import write_json_atomic
    from worldsim.device import resolve_device
    from worldsim.eval.recall_toy import format_score, score_recall_toy

    result = score_recall_toy(args.data, args.checkpoints, resolve_device(args.device), steps=args.steps,
                              window=args.window, seed=args.seed, progress=not args.no_progress)
    for row in result["checkpoints"]:
        print(format_score(row))
    if args.out is not None:
        write_json_atomic(args.out, result)
        print(f"wrote {args.out}")
    return 0
