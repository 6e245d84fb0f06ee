"""How much of a config's maze training clips stands still: the share of steps that are the no-op with no
mouse yaw, and the longest such run, over the first POOLS pools of its clips (the trainer's own batches,
worldsim.train.maze_pools). Prints JSON.

    python scripts/still_share.py configs/memory.yaml data.clip_length=256 [--pools 16] [key=value ...]
"""

from __future__ import annotations

import argparse
import json

import torch

from worldsim.config import load_config
from worldsim.train.config import TrainConfig
from worldsim.train.maze_pools import MazePools


def longest_run(still: torch.Tensor) -> int:
    """still bool (B, T) -> the longest run of True along T in any row."""
    best = 0
    for row in still.tolist():
        length = 0
        for is_still in row:
            length = length + 1 if is_still else 0
            best = max(best, length)
    return best


def still_share(config: TrainConfig, pools: int, seed: int = 0) -> dict[str, float]:
    maze_pools = MazePools.of(config.data, seed, config.data.clip_length)
    world = maze_pools.make_world("cpu")
    still_steps, steps, longest = 0, 0, 0
    for index in range(pools):
        clips = maze_pools.render(world, index)
        still = (clips["discrete"][:, 1:] == world.action_space.noop)  # [:, 0] is the reset's no-op
        still &= clips["continuous"][:, 1:].abs().sum(-1) == 0
        still_steps, steps = still_steps + int(still.sum()), steps + still.numel()
        longest = max(longest, longest_run(still))
    return {"still_share": still_steps / steps, "longest_still_run": longest, "steps": steps}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("config")
    parser.add_argument("overrides", nargs="*", help="key=value, as for worldsim train")
    parser.add_argument("--pools", type=int, default=16, help="pools of clips to count (default 16)")
    args = parser.parse_args()
    torch.set_num_threads(1)
    config = load_config(TrainConfig, args.config, ["data.batch_size=2", "data.maze_pool=2", *args.overrides])
    print(json.dumps({"config": args.config, "overrides": args.overrides, **still_share(config, args.pools)}))


if __name__ == "__main__":
    main()
