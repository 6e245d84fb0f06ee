"""`GymWorld`: one gymnasium environment with a discrete action space behind the `World` protocol.

Frames are the observation when it is an RGB image (Atari), or its "image"/"pixels"/"rgb" entry when it
is a dict (dm_env games), otherwise `env.render()` (render_mode="rgb_array" where the game supports it);
greyscale images are repeated to RGB; all optionally resized (`downscale`: area averaging, or "dilate" for
small bright objects). After an episode ends
(info["done"]), the next `step` starts a new one, so a player can keep going. Ids: see gym_make.py.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
from torch import Tensor

from worldsim.actions import ActionSpace
from worldsim.env.gym_make import make_env

IMAGE_KEYS = ("image", "pixels", "rgb")  # dict observations: where games put the camera image
DOWNSCALE_MODES = ("area", "dilate")
NOOP_NAMES = ("NOOP", "noop", "no_op", "none")


def _as_rgb(value: Any) -> np.ndarray | None:
    """uint8 (H, W, 3) from an RGB or greyscale image (H, W) / (H, W, 1); None for anything else."""
    if isinstance(value, dict):
        image = next((value[key] for key in IMAGE_KEYS if key in value), None)
        return None if image is None else _as_rgb(image)
    if not isinstance(value, np.ndarray) or value.dtype != np.uint8:
        return None
    if value.ndim == 2 or (value.ndim == 3 and value.shape[-1] == 1):
        return np.repeat(value.reshape(*value.shape[:2], 1), 3, axis=-1)
    return value if value.ndim == 3 and value.shape[-1] == 3 else None


def check_downscale(mode: str) -> None:
    if mode not in DOWNSCALE_MODES:
        raise ValueError(f"unknown downscale {mode!r}: expected one of {list(DOWNSCALE_MODES)}")


def resize_frame(image: np.ndarray, size: tuple[int, int], downscale: str = "area") -> np.ndarray:
    """uint8 (H, W, 3) -> (height, width, 3). "area" averages the source pixels under each output pixel (no
    aliasing when shrinking; a sprite smaller than one output pixel comes out dim: Breakout's ball at 64x64).
    "dilate" first gives every source pixel the brightest value (per channel) of a neighbourhood one output
    pixel in size, then averages: small bright objects keep their brightness, edges of bright regions move
    outward by under one output pixel."""
    import cv2

    height, width = size
    if downscale == "dilate":
        kernel = np.ones((-(-image.shape[0] // height), -(-image.shape[1] // width)), np.uint8)
        if kernel.size > 1:
            image = cv2.dilate(image, kernel)
    return cv2.resize(image, (width, height), interpolation=cv2.INTER_AREA)


class GymWorld:
    """A gymnasium environment as a batch of one world: uint8 frames (1, H, W, 3) on `device`."""

    batch_size = 1

    def __init__(
        self,
        env_id: str,
        height: int | None = None,
        width: int | None = None,
        seed: int | None = None,
        device: str | torch.device = "cpu",
        env_kwargs: dict[str, Any] | None = None,
        downscale: str = "area",
    ):
        check_downscale(downscale)
        for name, value in (("height", height), ("width", width)):
            if value is not None and value < 1:
                raise ValueError(f"{name} must be >= 1 pixel, got {value}")
        self.env, self.fps = make_env(env_id, env_kwargs)  # fps: the game's own rate, or None
        self.env_id, self.height, self.width, self.downscale = env_id, height, width, downscale
        self.seed, self.device = seed, torch.device(device)
        self.action_space = self._discrete_action_space()
        self.step_count = 0
        self.done = False
        self._started = False

    def _discrete_action_space(self) -> ActionSpace:
        space = self.env.action_space
        if type(space).__name__ != "Discrete" or not hasattr(space, "n"):
            self.env.close()
            raise ValueError(
                f"{self.env_id}: only discrete action spaces are supported, got {space}"
            )
        count, start = int(space.n), int(getattr(space, "start", 0))
        if start != 0:
            self.env.close()
            raise ValueError(f"{self.env_id}: discrete action spaces must start at 0, got start={start}")
        meanings = getattr(self.env.unwrapped, "get_action_meanings", None)
        names = tuple(str(name) for name in meanings()) if callable(meanings) else ()
        if len(names) != count or len(set(names)) != count:
            names = tuple(f"action_{index}" for index in range(count))
        noop = next((names.index(name) for name in NOOP_NAMES if name in names), 0)
        return ActionSpace(discrete=names, noop=noop)

    def reset(self, seed: int | Sequence[int] | None = None) -> tuple[Tensor, dict[str, Any]]:
        """Start an episode; seed: an int, a one-element sequence, or None (the constructor's seed)."""
        if seed is not None and not isinstance(seed, (int, np.integer)):
            seeds = [int(s) for s in seed]
            if len(seeds) != 1:
                raise ValueError(f"gymnasium worlds have batch_size 1; got {len(seeds)} seeds {seeds}")
            seed = seeds[0]
        seed = self.seed if seed is None else int(seed)
        observation, _ = self.env.reset(seed=seed)
        self.step_count, self.done, self._started = 0, False, True
        info = {"step": 0, "done": False, "reward": 0.0, "terminated": False, "truncated": False}
        return self._frame(observation), info

    def step(self, discrete: Tensor | None, continuous: Tensor | None = None) -> tuple[Tensor, dict[str, Any]]:
        """discrete int (1,) or None (noop) → frame (1, H, W, 3), info with "reward", "terminated",
        "truncated" and "done" (either of them)."""
        if not self._started:
            raise RuntimeError("GymWorld.step called before reset()")
        action = self._checked_action(discrete, continuous)
        if self.done:  # the previous step ended the episode: carry on in a fresh one
            frames, info = self.reset()
            return frames, {**info, "new_episode": True}
        observation, reward, terminated, truncated, _ = self.env.step(action)
        self.step_count += 1
        self.done = bool(terminated or truncated)
        info = {"step": self.step_count, "done": self.done, "reward": float(reward),
                "terminated": bool(terminated), "truncated": bool(truncated)}
        return self._frame(observation), info

    def close(self) -> None:
        self.env.close()

    def _checked_action(self, discrete: Tensor | None, continuous: Tensor | None) -> int:
        discrete, _ = self.action_space.check_batch(discrete, continuous, 1, f"{self.env_id} step")
        return int(discrete[0])

    def _frame(self, observation: Any) -> Tensor:
        """uint8 (1, H, W, 3) from the observation if it holds an image, else from env.render()."""
        image = _as_rgb(observation)
        if image is None:
            image = _as_rgb(self.env.render())
        if image is None:
            raise ValueError(
                f"{self.env_id}: neither the observation nor render() is a uint8 image (H, W, 3), (H, W) "
                f"or a dict with one of {list(IMAGE_KEYS)}; pass the game's image-observation option in "
                f"--env-kwargs"
            )
        native_height, native_width = image.shape[:2]
        size = (self.height or native_height, self.width or native_width)
        if size != (native_height, native_width):
            image = resize_frame(image, size, self.downscale)
        return torch.from_numpy(np.ascontiguousarray(image))[None].to(self.device)
