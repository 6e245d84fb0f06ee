"""The recall toy: the smallest world in which only memory can tell what comes next, and its score.

An episode (16x16 frames, actions noop / recall): a pattern of 2x2 squares in palette colours shows at
steps 0-2, uniform gray follows, and from the step of the action `recall` (drawn from 8..20) to the end the
same pattern shows again. Nothing in the frames before the recall step says which pattern returns: a model
that draws it must have kept it from steps 0-2, at least 6 frames before, beyond configs/recall_toy.yaml's
attention window (attn_window 2).

The score, on the episodes a checkpoint never trained on (worldsim.data.holdout): PSNR of the generated
recall frame, primed with the true frames 0..r-1 ("whole") or only the last `window` of them ("window",
default the model's attn_window); memory gain = whole − window. The window must not reach the pattern:
attn_window = 2 primes frames r-2, r-1 (gray for every r >= 5), while the attention's stacked reach
(depth x attn_window = 8 for configs/recall_toy.yaml) would prime frames 0-2 for r <= 10. copy_last
(repeat the gray frame r-1) is what a model without memory can at best hope for, up to a lucky colour guess.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import Tensor, nn

from worldsim.actions import ActionSpace
from worldsim.eval.settings import RecallToySettings

SOURCE_ENV = "recall_toy"
ACTION_SPACE = ActionSpace(discrete=("noop", "recall"))
RECALL = ACTION_SPACE.discrete.index("recall")
# 8 well-separated colours (Sasha Trubetskoy's list of 20 distinct colours, first 8)
PALETTE = np.array([[230, 25, 75], [60, 180, 75], [255, 225, 25], [0, 130, 200], [245, 130, 48],
                    [145, 30, 180], [70, 240, 240], [240, 50, 230]], np.uint8)
GRAY = 128
FPS = 10.0


def pattern_frame(colours: np.ndarray, size: int) -> np.ndarray:
    """Palette indices (2, 2) -> uint8 (size, size, 3): each index fills its quarter of the frame."""
    half = size // 2
    return PALETTE[colours].repeat(half, axis=0).repeat(half, axis=1)


def toy_episode(index: int, settings: RecallToySettings) -> tuple[np.ndarray, np.ndarray]:
    """Episode `index` -> frames uint8 (length, size, size, 3), discrete actions int64 (length,). Drawn from
    its own generator (seed, index): the same episode whatever was written before it."""
    s = settings
    rng = np.random.default_rng([s.seed, index])
    pattern = pattern_frame(rng.integers(0, len(PALETTE), (2, 2)), s.size)
    recall = int(rng.integers(s.recall_first, s.recall_last + 1))
    frames = np.full((s.length, s.size, s.size, 3), GRAY, np.uint8)
    frames[: s.pattern_steps] = pattern
    frames[recall:] = pattern
    actions = np.full(s.length, ACTION_SPACE.noop, np.int64)
    actions[recall] = RECALL
    return frames, actions


def write_recall_toy(out: Path, settings: RecallToySettings = RecallToySettings(),
                     progress: bool = True) -> Path:
    """Write the dataset to `out` (absent or empty: episode numbers decide which episodes are held out),
    in a hidden folder beside it renamed into place when complete. Returns `out`."""
    import os
    import shutil

    from tqdm import tqdm

    from worldsim.data.writer import EpisodeWriter

    out = Path(out)
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise FileExistsError(f"recall toy: {out} exists and is not an empty folder: write the data to a new one")
    temp = out.with_name(f".{out.name}.tmp-{os.getpid()}")
    shutil.rmtree(temp, ignore_errors=True)
    try:
        source = {"env": SOURCE_ENV, "seed": settings.seed}
        for index in tqdm(range(settings.episodes), desc="recall toy", unit="episode", disable=not progress):
            frames, actions = toy_episode(index, settings)
            writer = EpisodeWriter(temp, ACTION_SPACE, FPS, source | {"episode": index})
            for frame, action in zip(frames, actions):
                writer.add(frame, discrete=int(action))
            writer.close()  # also rewrites index.json, as `worldsim data index` does
        if out.exists():
            out.rmdir()  # empty, checked above
        os.rename(temp, out)
    finally:
        shutil.rmtree(temp, ignore_errors=True)
    return out
