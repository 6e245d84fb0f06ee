"""Built-in maze world, exploration policies and the gymnasium adapter; `make_world` picks one by id."""

from __future__ import annotations

import torch

from worldsim.world import World

GYM_PREFIX = "gym:"
VALID_FORMS = "'maze' or 'gym:<gymnasium id>' (the built-in maze, or e.g. gym:ALE/Pong-v5)"


def make_world(
    env_id: str,
    batch_size: int = 1,
    device: str | torch.device = "cpu",
    height: int | None = None,
    width: int | None = None,
) -> World:
    """The world named `env_id`; height/width (pixels) override the frame size when given.

    Gymnasium worlds run one at a time (batch_size 1) and are resized with area averaging.
    """
    if env_id == "maze":
        from worldsim.env.maze_world import MazeConfig, MazeWorld

        sizes = {name: value for name, value in (("height", height), ("width", width)) if value is not None}
        return MazeWorld(MazeConfig(**sizes), batch_size=batch_size, device=device)
    if env_id.startswith(GYM_PREFIX) and len(env_id) > len(GYM_PREFIX):
        if batch_size != 1:
            raise ValueError(f"{env_id}: gymnasium worlds run one at a time (batch_size 1), got {batch_size}")
        from worldsim.env.gym_world import GymWorld

        return GymWorld(env_id[len(GYM_PREFIX) :], height=height, width=width, device=device)
    raise ValueError(f"unknown env id {env_id!r}: expected {VALID_FORMS}")
