"""`GymWorld`: one Gymnasium environment with a discrete action space behind the `World` protocol.

Frames are the observation when it is an RGB image (Atari), otherwise `env.render()` with
render_mode="rgb_array"; both optionally resized with area averaging. After an episode ends
(info["done"]), the next `step` starts a new one, so a player can keep going.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
from torch import Tensor

from worldsim.actions import ActionSpace

INSTALL_HINT = "pip install 'worldsim[envs]'"


def import_gymnasium() -> Any:
    """gymnasium, with the Atari environments registered when ale_py is installed."""
    try:
        import gymnasium
    except ImportError as error:
        raise ImportError(f"gymnasium worlds need gymnasium: {INSTALL_HINT} ({error})") from error
    try:
        import ale_py
    except ImportError:
        return gymnasium  # no Atari; other environments still work
    gymnasium.register_envs(ale_py)
    return gymnasium


def _is_rgb_image(value: Any) -> bool:
    return isinstance(value, np.ndarray) and value.ndim == 3 and value.shape[-1] == 3 and value.dtype == np.uint8


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
    ):
        for name, value in (("height", height), ("width", width)):
            if value is not None and value < 1:
                raise ValueError(f"{name} must be >= 1 pixel, got {value}")
        gym = import_gymnasium()
        try:
            self.env = gym.make(env_id, render_mode="rgb_array")
        except gym.error.Error as error:  # NameNotFound, VersionNotFound, NamespaceNotFound, ...
            raise ValueError(f"unknown gymnasium environment {env_id!r}: {error}") from error
        self.env_id, self.height, self.width = env_id, height, width
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
        return ActionSpace(discrete=names, noop=0)

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
        return self._frame(observation), {"step": 0, "done": False, "reward": 0.0}

    def step(self, discrete: Tensor | None, continuous: Tensor | None = None) -> tuple[Tensor, dict[str, Any]]:
        """discrete int (1,) or None (noop) → frame (1, H, W, 3), info with "done" and "reward"."""
        if not self._started:
            raise RuntimeError("GymWorld.step called before reset()")
        action = self._checked_action(discrete, continuous)
        if self.done:  # the previous step ended the episode: carry on in a fresh one
            frames, info = self.reset()
            return frames, {**info, "new_episode": True}
        observation, reward, terminated, truncated, _ = self.env.step(action)
        self.step_count += 1
        self.done = bool(terminated or truncated)
        info = {"step": self.step_count, "done": self.done, "reward": float(reward)}
        return self._frame(observation), info

    def close(self) -> None:
        self.env.close()

    def _checked_action(self, discrete: Tensor | None, continuous: Tensor | None) -> int:
        discrete, _ = self.action_space.check_batch(discrete, continuous, 1, f"{self.env_id} step")
        return int(discrete[0])

    def _frame(self, observation: Any) -> Tensor:
        """uint8 (1, H, W, 3) from the observation if it is an RGB image, else from env.render()."""
        image = observation if _is_rgb_image(observation) else self.env.render()
        if not _is_rgb_image(image):
            raise ValueError(
                f"{self.env_id}: neither the observation nor render() is an RGB image (H, W, 3) uint8"
            )
        native_height, native_width = image.shape[:2]
        size = (self.width or native_width, self.height or native_height)
        if size != (native_width, native_height):
            import cv2

            image = cv2.resize(image, size, interpolation=cv2.INTER_AREA)  # area: no aliasing when shrinking
        return torch.from_numpy(np.ascontiguousarray(image))[None].to(self.device)
