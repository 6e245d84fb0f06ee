"""Memory benchmark on held-out mazes: does the model remember what it saw beyond its attention window?

Tests (worldsim.env.memory_walks makes the trajectories):
- retrace: walk out `outbound` frames (all given as context), then generate the way back — every view was
  seen before, 2, 4, 6, ... frames earlier (seed 1's retrieval protocol, made exact);
- rotation: turn on the spot for one full turn plus `prime_extra` frames (context), then generate
  `generate` more turning frames, each seen exactly one turn earlier;
- recall: the retrace walk back again, each frame generated from the TRUE frames before it (teacher-forced,
  no drift): its memory gain is what the state could retrieve if the rollout did not drift away.
Each test generates the same frames twice from the same noise: primed with the whole context ("full") and
with only the last `attn_window` context frames ("window"; `MemorySettings.window` sets another length).
memory_gain = PSNR(full) − PSNR(window): what the state carries beyond the attention window. Attention
alone reaches further than its window: a layer's keys of frame t were built from the previous layer's
window of t, so depth × attn_window frames back (`attention_reach`); `local`, which has nothing else, gains
from the frames between its window and that reach, and nothing beyond it. copy_last is the trivial baseline
(repeat the last true frame). drift_* is seed 2's |M(first 15 %) − M(last 15 %)| of the full rollout
(M = PSNR, sharpness).
- response: from one context and one noise seed, generate `response_steps` frames under each action of a
  pair and compare the two last frames (mean absolute difference, 0..255) with the true world's: a model
  that ignores the controls scores a ratio near 0, one that answers them like the world near 1.
"""

from __future__ import annotations

import copy
import itertools
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import torch
from torch import Tensor, nn
from tqdm import tqdm

from worldsim.diffusion.sampler import generate_frame
from worldsim.env.maze_world import MazeWorld
from worldsim.env.memory_walks import last_seen_gaps, retrace_clips, rotation_clips, steps_per_turn
from worldsim.env.policies import ACTION
from worldsim.env.rollout import Batch, drive, held_out_seeds, rollout_maze_clips
from worldsim.eval.metrics import drift, psnr, sharpness, ssim
from worldsim.eval.scan_horizons import scan_horizons
from worldsim.eval.settings import ROLLOUT_TESTS, TESTS, MemorySettings
from worldsim.eval.validation import MEMORY_MAZE_OFFSET
from worldsim.frames import to_model

RESPONSE_PAIRS = {"turn": ("turn_left", "turn_right"), "move": ("forward", "noop"), "mouse": ("mouse_left", "mouse_right")}


def _actions(model: nn.Module, clips: Batch, f: int) -> tuple[Tensor, Tensor | None]:
    """The actions that led to frame `f`: discrete (B,), continuous (B, C) or None for a model without."""
    return clips["discrete"][:, f], clips["continuous"][:, f] if model.config.num_continuous_actions else None


def commit_true_frames(model: nn.Module, clips: Batch, state: Any, frames: range) -> Any:
    """Commit the clip's true frames `frames` (in order, clean) to `state`; returns `state`."""
    ones = torch.ones(clips["frames"].shape[0], device=clips["frames"].device)
    for f in frames:
        model.step(to_model(clips["frames"][:, f]), ones, *_actions(model, clips, f), state, commit=True)
    return state


@torch.no_grad()
def primed_rollout(
    model: nn.Module, clips: Batch, context: int, prime_from: int, generate: int, steps: int, seed: int,
    on_frame: Callable[[], None] = lambda: None,
) -> Tensor:
    """Commit true frames prime_from..context-1, then generate frames context..context+generate-1 from the
    true actions -> float (B, generate, 3, H, W) in [-1, 1]. The noise depends only on `seed`."""
    batch, device = clips["frames"].shape[0], clips["frames"].device
    state = commit_true_frames(model, clips, model.init_state(batch, device), range(prime_from, context))
    generator = torch.Generator(device).manual_seed(seed)
    out = []
    for f in range(context, context + generate):
        out.append(generate_frame(model, state, *_actions(model, clips, f), steps, generator))
        on_frame()
    return torch.stack(out, 1)


@torch.no_grad()
def teacher_forced_frames(
    model: nn.Module, clips: Batch, context: int, generate: int, window: int | None, steps: int, seed: int,
    on_frame: Callable[[], None] = lambda: None,
) -> Tensor:
    """Frames context..context+generate-1, each generated from the true frames before it: all of them
    (window None) or only the last `window` -> float (B, generate, 3, H, W). The noise depends only on `seed`."""
    batch, device = clips["frames"].shape[0], clips["frames"].device
    generator = torch.Generator(device).manual_seed(seed)
    history = None if window is not None else commit_true_frames(
        model, clips, model.init_state(batch, device), range(context))
    out = []
    for f in range(context, context + generate):
        if history is not None:
            state = copy.deepcopy(history)  # the generated frame is committed to the copy only
        else:
            state = commit_true_frames(model, clips, model.init_state(batch, device), range(max(0, f - window), f))
        out.append(generate_frame(model, state, *_actions(model, clips, f), steps, generator))
        if history is not None:
            commit_true_frames(model, clips, history, range(f, f + 1))
        on_frame()
    return torch.stack(out, 1)


def score_rollouts(model: nn.Module, clips: Batch, context: int, generate: int, settings: MemorySettings,
                   on_frame: Callable[[], None] = lambda: None, teacher_forced: bool = False) -> dict[str, Any]:
    """Full vs window priming (the model's last `attn_window` context frames) of the same frames, with
    copy-last, SSIM, drift and the curve by gap; `teacher_forced`: every frame from the true frames before it."""
    window = window_frames(model.config, settings)
    truth = to_model(clips["frames"][:, context: context + generate])
    if teacher_forced:
        full = teacher_forced_frames(model, clips, context, generate, None, settings.steps, settings.seed, on_frame)
        short = teacher_forced_frames(model, clips, context, generate, window, settings.steps, settings.seed,
                                      on_frame)
    else:
        full = primed_rollout(model, clips, context, 0, generate, settings.steps, settings.seed, on_frame)
        short = primed_rollout(model, clips, context, max(0, context - window), generate, settings.steps,
                               settings.seed, on_frame)
    copy = to_model(clips["frames"][:, context - 1: context]).expand_as(truth)
    psnr_full, psnr_window, psnr_copy = psnr(full, truth), psnr(short, truth), psnr(copy, truth)  # (B, G)
    gaps = last_seen_gaps(clips["pose"])[:, context: context + generate]
    return {
        "psnr_full": float(psnr_full.mean()),
        "psnr_window": float(psnr_window.mean()),
        "memory_gain": float((psnr_full - psnr_window).mean()),
        "psnr_copy_last": float(psnr_copy.mean()),
        "full_minus_copy_last": float((psnr_full - psnr_copy).mean()),
        "ssim_full": float(ssim(full, truth).mean()),
        "ssim_window": float(ssim(short, truth).mean()),
        "drift_psnr": drift(psnr_full),
        "drift_sharpness": drift(sharpness(full)),
        "per_frame": {
            "psnr_full": psnr_full.mean(0).tolist(),
            "psnr_window": psnr_window.mean(0).tolist(),
            "psnr_copy_last": psnr_copy.mean(0).tolist(),
        },
        "by_gap": _by_gap(gaps, psnr_full, psnr_window),
        "_videos": (truth[0], full[0], short[0]),
    }


def window_frames(config: Any, settings: MemorySettings) -> int:
    """Context frames of the shorter priming: settings.window, else the model's attention window."""
    return settings.window or int(getattr(config, "attn_window", 1))


def attention_reach(config: Any) -> int | None:
    """Frames back that attention alone carries: depth × attn_window (a layer's window over the previous
    layer's, each built from its own window); None: unbounded (full), 0: no attention (ssm)."""
    if config.temporal == "full":
        return None
    return config.depth * config.attn_window if config.uses_attention else 0


def priming(config: Any, settings: MemorySettings) -> dict[str, Any]:
    """What the 'window' priming gives a model, against what it could hold: its attention's reach and what
    else carries memory (scan, pack; None for `local`, whose memory gain stops at the reach)."""
    memory = {"ssm+local": "scan", "ssm": "scan", "pack+local": "pack", "full": "every past frame", "local": None}
    return {"window": window_frames(config, settings), "attention_reach_frames": attention_reach(config),
            "long_memory": memory.get(config.temporal)}


def _by_gap(gaps: Tensor, psnr_full: Tensor, psnr_window: Tensor) -> list[dict[str, float]]:
    """Mean PSNR per 'frames since this view was last seen' bin (gap -1: never seen)."""
    edges = [-1, 0, 8, 16, 32, 64, 128, 256, 512, 10**9]
    rows = []
    for low, high in itertools.pairwise(edges):
        mask = (gaps >= low) & (gaps < high) if low >= 0 else gaps < 0
        if bool(mask.any()):
            rows.append({"gap_from": low, "gap_to": high, "frames": int(mask.sum()),
                         "psnr_full": float(psnr_full[mask].mean()), "psnr_window": float(psnr_window[mask].mean())})
    return rows


@torch.no_grad()
def action_response(model: nn.Module, world: MazeWorld, seeds: list[int], settings: MemorySettings,
                    on_frame: Callable[[], None] = lambda: None) -> dict[str, Any]:
    """Mean |A − B| (0..255) of the frames after `response_steps` steps of each action pair, model vs truth."""
    context = rollout_maze_clips(world, seeds, settings.response_context, "wander", settings.seed)
    results = {}
    for name, pair in RESPONSE_PAIRS.items():
        if name == "mouse" and not world.action_space.num_continuous:
            continue
        last_frames = {}
        for which, action in zip("ab", pair):
            clips = _extend_with(world, seeds, context, action, settings.response_steps)
            model_frames = primed_rollout(model, clips, settings.response_context, 0, settings.response_steps,
                                          settings.steps, settings.seed, on_frame)
            last_frames[which] = (model_frames[:, -1], to_model(clips["frames"][:, -1]))
        model_diff = (last_frames["a"][0] - last_frames["b"][0]).abs().mean() * 127.5
        truth_diff = (last_frames["a"][1] - last_frames["b"][1]).abs().mean() * 127.5
        results[name] = {"actions": list(pair), "model": float(model_diff), "truth": float(truth_diff),
                         "ratio": float(model_diff / truth_diff.clamp_min(1e-6))}
    return results


def _extend_with(world: MazeWorld, seeds: list[int], context: Batch, action: str, steps: int) -> Batch:
    """Replay `context` in fresh copies of its mazes, then take `action` `steps` times (true frames)."""
    batch, device = world.batch_size, world.device
    frames, _ = world.reset(seeds)
    replay = iter(zip(context["discrete"][:, 1:].unbind(1), context["continuous"][:, 1:].unbind(1)))
    head = drive(world, frames, lambda: next(replay), context["frames"].shape[1] - 1)
    discrete = torch.full((batch,), ACTION["noop" if action.startswith("mouse") else action], device=device)
    yaw = torch.zeros(batch, world.action_space.num_continuous, device=device)
    if action.startswith("mouse"):
        yaw += world.action_space.continuous_bound * (1 if action == "mouse_right" else -1)
    tail = drive(world, head["frames"][:, -1], lambda: (discrete, yaw), steps)
    return {key: torch.cat([head[key], tail[key][:, 1:]], dim=1) for key in head}


def run_memory_benchmark(
    paths: Sequence[Path], settings: MemorySettings, device: torch.device, tests: Sequence[str] = TESTS
) -> dict[str, Any]:
    """Every test for every checkpoint on the same walks -> {"settings", "checkpoints": [...]}."""
    from worldsim.checkpoint import load_checkpoint, read_checkpoint_configs
    from worldsim.eval.compare import check_same_maze
    from worldsim.model.world_model import count_parameters

    unknown = set(tests) - set(TESTS)
    if unknown:
        raise ValueError(f"eval memory: unknown test(s) {sorted(unknown)}; choose from {list(TESTS)}")
    for path in paths:
        if not Path(path).is_file():
            raise FileNotFoundError(f"eval memory: no checkpoint at {path}")
    plays = [read_checkpoint_configs(path)[1] for path in paths]  # every checkpoint checked before any is scored
    check_same_maze(paths, plays, "eval memory")
    reference = plays[0].maze_config()
    world = MazeWorld(reference, settings.mazes, device)
    seeds = held_out_seeds(settings.mazes, MEMORY_MAZE_OFFSET)
    walks = {}
    if "retrace" in tests or "recall" in tests:
        retrace = retrace_clips(world, seeds, settings.outbound, settings.back, settings.seed)
        for name in ("retrace", "recall"):
            if name in tests:
                walks[name] = (retrace, settings.outbound + 1, settings.back)
    if "rotation" in tests:
        context = steps_per_turn(world) + settings.prime_extra
        walks["rotation"] = (rotation_clips(world, seeds, context + settings.generate), context, settings.generate)
    pairs = sum(name != "mouse" or world.action_space.num_continuous > 0 for name in RESPONSE_PAIRS)
    per_checkpoint = sum(2 * generate for _, _, generate in walks.values())
    per_checkpoint += 2 * pairs * settings.response_steps if "response" in tests else 0
    bar = tqdm(total=per_checkpoint * len(paths), desc="eval memory", unit="frame", dynamic_ncols=True)
    results = []
    for path in paths:
        model, _, metadata = load_checkpoint(path, device)
        model.eval()
        row: dict[str, Any] = {"checkpoint": str(path), "step": metadata.get("step"),
                               "parameters": count_parameters(model), "temporal": model.config.temporal,
                               "priming": priming(model.config, settings)}
        with _precision(device):
            for name, (clips, context, generate) in walks.items():
                row[name] = score_rollouts(model, clips, context, generate, settings, lambda: bar.update(1),
                                           teacher_forced=name == "recall")
            if walks:
                row["scan_horizon_frames"] = scan_horizons(model, next(iter(walks.values()))[0])
            if "response" in tests:
                row["response"] = action_response(model, world, seeds, settings, lambda: bar.update(1))
        results.append(row)
        tqdm.write(format_row(row))
    bar.close()
    return {"settings": vars(settings) | {"device": str(device), "tests": list(tests)}, "checkpoints": results}


def _precision(device: torch.device):
    """bf16 autocast on CUDA (as the engine plays), fp32 on the CPU."""
    return torch.autocast("cuda", dtype=torch.bfloat16) if device.type == "cuda" else torch.autocast("cpu", enabled=False)


def format_row(row: dict[str, Any]) -> str:
    parts = [f"{row['checkpoint']} (step {row['step']}, {row['parameters'] / 1e6:.1f} M, {row['temporal']})"]
    for name in ROLLOUT_TESTS:
        if name in row:
            r = row[name]
            parts.append(f"  {name}: full {r['psnr_full']:.2f} dB, window {r['psnr_window']:.2f}, "
                         f"memory gain {r['memory_gain']:+.2f}, copy-last {r['psnr_copy_last']:.2f}, "
                         f"SSIM {r['ssim_full']:.3f}, drift {r['drift_psnr']:.2f} dB")
    if any(name in row for name in ROLLOUT_TESTS):
        parts.append(priming_note(row["priming"], row["temporal"]))
    if row.get("scan_horizon_frames"):
        longest = [max(layer) for layer in row["scan_horizon_frames"]]
        parts.append("  scan: longest head horizon per layer " + ", ".join(f"{h:.0f}" for h in longest) + " frames")
    if "response" in row:
        parts.append("  response: " + ", ".join(
            f"{k} {v['model']:.1f}/{v['truth']:.1f} = {v['ratio']:.2f}" for k, v in row["response"].items()))
    return "\n".join(parts)


def priming_note(priming: dict[str, Any], temporal: str) -> str:
    """How to read the memory gain of this variant."""
    window, reach, memory = priming["window"], priming["attention_reach_frames"], priming["long_memory"]
    line = f"  memory gain: whole history vs the last {window} frames"
    if reach is None or reach == 0:
        return line
    if reach <= window:
        return line + (f", the attention's whole reach: {temporal} holds nothing beyond it, so 0 up to rounding"
                       if memory is None else f", beyond the attention's reach ({reach}): the {memory}'s alone")
    line += f"; attention alone reaches {reach} frames back (layers x window)"
    if memory is None:
        return (line + f". {temporal} holds nothing beyond that reach: its gain is what frames {window + 1}-"
                f"{reach} back add, not a long-term memory (--window {reach}: 0 up to rounding)")
    return line + f", so the gain also counts those frames (--window {reach}: the {memory}'s alone)"
