"""Action spaces shared by worlds, datasets and models: a discrete set and/or continuous dimensions."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor


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

    def __post_init__(self) -> None:
        for key in ("discrete", "continuous"):
            names = getattr(self, key)
            if not isinstance(names, (tuple, list)) or not all(isinstance(name, str) for name in names):
                raise ValueError(f"action space: {key!r} must be a list of names, got {names!r}")
            object.__setattr__(self, key, tuple(names))
        bound = self.continuous_bound
        if isinstance(bound, bool) or not isinstance(bound, (int, float)) or not math.isfinite(bound) or bound <= 0:
            raise ValueError(f"action space: continuous_bound must be a finite number > 0, got {bound!r}")
        if not isinstance(self.noop, int) or isinstance(self.noop, bool) or not (
            0 <= self.noop < self.num_discrete or self.noop == 0 == self.num_discrete
        ):
            raise ValueError(
                f"action space: noop {self.noop!r} is not one of the {self.num_discrete} discrete actions"
            )

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
        """Parse `to_dict` output read from a file; anything else is a ValueError naming the key."""
        if not isinstance(data, dict):  # bad file content: a ValueError, which the CLI reports
            raise ValueError(f"action space: expected an object, got {type(data).__name__}")  # noqa: TRY004
        unknown = set(data) - {"discrete", "continuous", "continuous_bound", "noop"}
        if unknown:
            raise ValueError(f"action space: unknown key(s) {sorted(unknown)}")
        return cls(  # __post_init__ checks every value: a string of names would otherwise be one per letter
            discrete=data.get("discrete", ()),
            continuous=data.get("continuous", ()),
            continuous_bound=data.get("continuous_bound", 1.0),
            noop=data.get("noop", 0),
        )

    def noop_batch(
        self, batch: int, length: int | None = None, device: str | torch.device = "cpu"
    ) -> tuple[Tensor | None, Tensor | None]:
        """The no-op for `batch` worlds: discrete int64 (B,) filled with `noop`, continuous float32 zeros
        (B, C); with `length`, (B, T) and (B, T, C). None for a kind of action the space does not have."""
        shape = (batch,) if length is None else (batch, length)
        discrete = torch.full(shape, self.noop, dtype=torch.long, device=device) if self.num_discrete else None
        continuous = torch.zeros(*shape, self.num_continuous, device=device) if self.num_continuous else None
        return discrete, continuous

    def check_batch(
        self, discrete: Tensor | None, continuous: Tensor | None, batch: int, where: str = "action"
    ) -> tuple[Tensor | None, Tensor | None]:
        """One step's actions for `batch` worlds -> (discrete int64 (B,), continuous float32 (B, C) clipped
        to ±continuous_bound), on the device they came on; None is the no-op, and a kind the space does not
        have comes back None. Values are checked where they are: free on the CPU, one host sync on a GPU.
        Raises ValueError naming the culprit."""
        device = next((x.device for x in (discrete, continuous) if isinstance(x, Tensor)), torch.device("cpu"))
        bad = torch.zeros((), dtype=torch.bool, device=device)
        if discrete is not None:
            if not self.num_discrete:
                raise ValueError(f"{where}: this action space has no discrete actions, got "
                                 f"{tuple(discrete.shape)}")
            discrete = torch.as_tensor(discrete)
            if discrete.shape != (batch,) or discrete.is_floating_point() or discrete.dtype == torch.bool:
                raise ValueError(f"{where}: discrete actions must be integers of shape ({batch},), got "
                                 f"{discrete.dtype} {tuple(discrete.shape)}")
            bad = bad | ((discrete < 0) | (discrete >= self.num_discrete)).any()
        if continuous is not None:
            continuous = torch.as_tensor(continuous, dtype=torch.float32)
            if continuous.shape != (batch, self.num_continuous):
                raise ValueError(f"{where}: continuous actions need shape ({batch}, {self.num_continuous}) "
                                 f"({', '.join(self.continuous) or 'none'}), got {tuple(continuous.shape)}")
            bad = bad | ~torch.isfinite(continuous).all()
        if bool(bad):  # the messages come from the numpy checks
            if discrete is not None:
                self.check_discrete(discrete.cpu().numpy(), where)
            self.check_continuous(continuous.cpu().numpy(), where)
        noop_discrete, noop_continuous = self.noop_batch(batch, device=device)
        discrete = noop_discrete if discrete is None else discrete.long()
        if not self.num_continuous:
            return discrete, None
        return discrete, noop_continuous if continuous is None else continuous.clamp(-self.continuous_bound,
                                                                                    self.continuous_bound)

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

