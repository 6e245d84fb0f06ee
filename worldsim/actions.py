"""Action spaces shared by worlds, datasets and models: a discrete set and/or continuous dimensions."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class ActionSpace:
    """What one step's action is: an index into `discrete` (if any) plus `len(continuous)` floats.

    `discrete` names each discrete action; `continuous` names each continuous dimension
    (e.g. "yaw_delta_rad"). Either may be empty, not both.
    """

    discrete: tuple[str, ...] = ()
    continuous: tuple[str, ...] = ()
    continuous_bound: float = 1.0  # continuous values are clipped to [-bound, bound]
    noop: int = 0  # discrete index used for the action "before" the first frame

    @property
    def num_discrete(self) -> int:
        return len(self.discrete)

    @property
    def num_continuous(self) -> int:
        return len(self.continuous)

    def to_dict(self) -> dict:
        return {
            "discrete": list(self.discrete),
            "continuous": list(self.continuous),
            "continuous_bound": self.continuous_bound,
            "noop": self.noop,
        }

    @classmethod
    def from_dict(cls, data: dict) -> ActionSpace:
        unknown = set(data) - {"discrete", "continuous", "continuous_bound", "noop"}
        if unknown:
            raise ValueError(f"action space: unknown key(s) {sorted(unknown)}")
        return cls(
            discrete=tuple(data.get("discrete", ())),
            continuous=tuple(data.get("continuous", ())),
            continuous_bound=float(data.get("continuous_bound", 1.0)),
            noop=int(data.get("noop", 0)),
        )

    def check_discrete(self, actions: np.ndarray | int, where: str = "action") -> None:
        """Raise ValueError naming the first discrete action outside [0, num_discrete)."""
        arr = np.asarray(actions)
        if self.num_discrete == 0:
            raise ValueError(f"{where}: this action space has no discrete actions")
        if arr.size and (arr.min() < 0 or arr.max() >= self.num_discrete):
            bad = arr[(arr < 0) | (arr >= self.num_discrete)].flat[0]
            raise ValueError(
                f"{where}: discrete action {int(bad)} out of range [0, {self.num_discrete}) "
                f"(actions: {', '.join(self.discrete)})"
            )

    def check_continuous(self, values: np.ndarray, where: str = "action") -> None:
        """Raise ValueError unless the trailing dimension is num_continuous and all values are finite."""
        arr = np.asarray(values)
        if arr.shape[-1:] != (self.num_continuous,):
            raise ValueError(
                f"{where}: continuous action needs trailing width {self.num_continuous} "
                f"({', '.join(self.continuous) or 'none'}), got shape {tuple(arr.shape)}"
            )
        if not np.isfinite(arr).all():
            raise ValueError(f"{where}: continuous action contains NaN or inf")


# The built-in maze's actions (worldsim.env). Index order is part of the dataset format.
MAZE_DISCRETE_ACTIONS: tuple[str, ...] = (
    "noop",
    "forward",
    "backward",
    "turn_left",
    "turn_right",
    "strafe_left",
    "strafe_right",
    "forward_left",
    "forward_right",
)
MAZE_YAW_BOUND_RAD = 0.25


def maze_action_space(continuous_yaw: bool = True) -> ActionSpace:
    return ActionSpace(
        discrete=MAZE_DISCRETE_ACTIONS,
        continuous=("yaw_delta_rad",) if continuous_yaw else (),
        continuous_bound=MAZE_YAW_BOUND_RAD,
    )

