"""Breakout's ball after shrinking the screen to 64x64 by each `worldsim record --downscale` mode: its
brightest value and how many pixels of the playing field are lit above 20, in the first frame of an episode
(reset with --seed, FIRE held) that shows the ball. Needs ale-py. Prints JSON.

    python scripts/downscaled_ball.py [--seed 3]
"""

from __future__ import annotations

import argparse
import json

import numpy as np

from worldsim.env.gym_make import make_env
from worldsim.env.gym_world import DOWNSCALE_MODES, resize_frame

FIELD_ROWS, FIELD_COLUMNS = (100, 185), (10, 150)  # between the bricks and the paddle, inside the walls


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seed", type=int, default=3)
    args = parser.parse_args()
    env, _ = make_env("gym:ALE/Breakout-v5", {"repeat_action_probability": 0.0})
    env.reset(seed=args.seed)
    for step in range(300):
        screen = env.step(1)[0]  # FIRE launches the ball
        field = screen[slice(*FIELD_ROWS), slice(*FIELD_COLUMNS)]
        if field.any():
            break
    else:
        raise SystemExit("no ball within 300 steps")
    rows = slice(*(round(r * 64 / screen.shape[0]) for r in FIELD_ROWS))
    columns = slice(*(round(c * 64 / screen.shape[1]) for c in FIELD_COLUMNS))
    report = {"seed": args.seed, "step": step, "ball_colour": field[np.nonzero(field.sum(-1))][0].tolist()}
    for mode in DOWNSCALE_MODES:
        small = resize_frame(screen, (64, 64), mode)[rows, columns]
        report[mode] = {"brightest": small.max(axis=(0, 1)).tolist(),
                        "pixels_lit_above_20": int((small.max(-1) > 20).sum())}
    print(json.dumps(report))


if __name__ == "__main__":
    main()
