"""validate(): the standing-still metric compares no-op generations with the last context frame."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
import torch
from torch import Tensor, nn

from worldsim.actions import MAZE_DISCRETE_ACTIONS, ActionSpace, maze_action_space
from worldsim.env.maze_world import MazeConfig
from worldsim.eval.validation import validate, validation_clips


class LastFrameModel(nn.Module):
    """Predicts exactly the last committed frame: the rectified-flow velocity towards it is
    (last − x_t) / (1 − t), so Euler steps land on it. Records the discrete actions of each generation."""

    def __init__(self, size: int) -> None:
        super().__init__()
        self.config = SimpleNamespace(image_height=size, image_width=size, num_continuous_actions=1)
        self.generation_actions: list[Tensor] = []

    def init_state(self, batch: int, device: torch.device) -> dict[str, Tensor]:
        return {"last": torch.zeros(batch, 3, self.config.image_height, self.config.image_width, device=device)}

    def step(self, frame: Tensor, level: Tensor, discrete: Tensor, continuous: Tensor | None,
             state: dict[str, Tensor], commit: bool) -> Tensor | None:
        if commit:
            state["last"] = frame.clone()
            return None
        if float(level[0]) == 0.0:  # the first Euler step of a generated frame
            self.generation_actions.append(discrete.clone())
        return (state["last"] - frame) / (1.0 - level.view(-1, 1, 1, 1))


def test_still_psnr_scores_no_op_generations_against_the_last_context_frame() -> None:
    size, context, rollout = 16, 3, 4
    clips = validation_clips(MazeConfig(height=size, width=size), 2, context + rollout, torch.device("cpu"))
    model = LastFrameModel(size)

    metrics = validate(model, clips, context, rollout, steps=2, action_space=maze_action_space())

    # Copying the last frame is perfect when standing still (PSNR at its 1e-10 MSE floor, 106 dB) ...
    assert metrics["psnr_still"] > 100
    # ... and not when the agent moves (the true frames change).
    assert metrics["psnr_rollout"] < 60
    # one-step, rollout, then still generations: the last `rollout` ones got the no-op
    assert len(model.generation_actions) == 3 * rollout
    assert all(bool((actions == 0).all()) for actions in model.generation_actions[-rollout:])
    assert any(bool((actions != 0).any()) for actions in model.generation_actions[:rollout])


def test_still_uses_the_action_spaces_no_op_not_zero() -> None:
    size, context, rollout = 16, 1, 2
    clips = validation_clips(MazeConfig(height=size, width=size), 2, context + rollout, torch.device("cpu"))
    model = LastFrameModel(size)
    space = ActionSpace(discrete=MAZE_DISCRETE_ACTIONS, continuous=("yaw_delta_rad",), continuous_bound=0.25, noop=3)

    validate(model, clips, context, rollout, steps=1, action_space=space)

    assert all(actions.tolist() == [3, 3] for actions in model.generation_actions[-rollout:])


def test_rollout_drift_compares_its_first_and_last_frames() -> None:
    size, context, rollout = 16, 3, 20
    clips = validation_clips(MazeConfig(height=size, width=size), 2, context + rollout, torch.device("cpu"))
    metrics = validate(LastFrameModel(size), clips, context, rollout, steps=1, action_space=maze_action_space())
    # the copied frame matches the truth early in the walk and less and less as the agent moves on
    assert metrics["drift_psnr"] > 0.5
    assert metrics["drift_sharpness"] >= 0.0


def test_copy_last_scores_the_last_context_frame_against_the_rollout_frames() -> None:
    size, context, rollout = 16, 3, 4
    clips = validation_clips(MazeConfig(height=size, width=size), 2, context + rollout, torch.device("cpu"))

    metrics = validate(LastFrameModel(size), clips, context, rollout, steps=2, action_space=maze_action_space())

    # the model's rollout is the last context frame repeated: exactly the baseline
    assert metrics["psnr_copy_last"] < 60  # the true frames change
    assert metrics["psnr_copy_last"] == pytest.approx(metrics["psnr_rollout"], abs=1e-2)
    assert metrics["rollout_minus_copy_last"] == pytest.approx(0.0, abs=1e-2)
