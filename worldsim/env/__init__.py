"""Built-in maze world, exploration policies and the gymnasium adapter; `make_world` picks one by id."""

from __future__ import annotations

from typing import Any

import torch

from worldsim.env.gym_make import ID_FORMS, is_game_id
from worldsim.world import World

VALID_FORMS = f"'maze' (the built-in maze), {ID_FORMS}"


def make_world(
    env_id: str,
    batch_size: int = 1,
    device: str | torch.device = "cpu",
    height: int | None = None,
    width: int | None = None,
    env_kwargs: dict[str, Any] | None = None,
    downscale: str = "area",
) -> World:
    """The world named `env_id`; height/width (pixels) override the frame size when given.

    Games (gym:, oldgym:, dm_env: ids, see gym_make.py) run one at a time (batch_size 1), are resized as
    `downscale` says (gym_world.resize_frame) and get `env_kwargs` as constructor keyword arguments.
    """
    if env_id == "maze":
        if env_kwargs:
            raise ValueError(f"the built-in maze takes no --env-kwargs (got {env_kwargs}); "
                             f"use --height/--width")
        if downscale != "area":
            raise ValueError(f"the built-in maze renders at its frame size: --downscale {downscale} is for "
                             f"games")
        from worldsim.env.maze_world import MazeConfig, MazeWorld

        sizes = {name: value for name, value in (("height", height), ("width", width)) if value is not None}
        return MazeWorld(MazeConfig(**sizes), batch_size=batch_size, device=device)
    if is_game_id(env_id):
        if batch_size != 1:
            raise ValueError(f"{env_id}: gymnasium worlds run one at a time (batch_size 1), got {batch_size}")
        from worldsim.env.gym_world import GymWorld

        return GymWorld(env_id, height=height, width=width, device=device, env_kwargs=env_kwargs,
                        downscale=downscale)
    raise ValueError(f"unknown env id {env_id!r}: expected {VALID_FORMS}")
