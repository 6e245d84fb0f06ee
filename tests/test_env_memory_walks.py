"""Memory walks: the way back of a retrace shows exactly the views of the way out; a full turn repeats views."""

from __future__ import annotations

import pytest
import torch

from worldsim.env.maze_world import MazeConfig, MazeWorld
from worldsim.env.memory_walks import (
    inverse_actions,
    last_seen_gaps,
    retrace_clips,
    rotation_clips,
    steps_per_turn,
)
from worldsim.env.policies import ACTION
from worldsim.env.rollout import held_out_seeds

SMALL = MazeConfig(size=5, height=16, width=16)


def test_retrace_walks_back_through_the_same_views() -> None:
    world = MazeWorld(SMALL, 3)
    out, back = 30, 20
    clips = retrace_clips(world, held_out_seeds(3), out, back, policy_seed=4)
    frames = clips["frames"].float()
    assert frames.shape[1] == out + back + 1 and clips["pose"].shape == (3, out + back + 1, 3)
    for j in range(1, back + 1):  # return frame j shows outbound frame out - j
        assert (frames[:, out + j] - frames[:, out - j]).abs().mean() < 0.5
    moved = (clips["pose"][:, out, :2] - clips["pose"][:, 0, :2]).norm(dim=-1)
    assert bool((moved > 0.5).any())  # the walk goes somewhere
    gaps = last_seen_gaps(clips["pose"])
    assert bool((gaps[:, out + 1:] >= 2).all())  # every view of the way back was seen before


def test_inverse_actions_undo_in_reverse_and_refuse_turning_moves() -> None:
    discrete = torch.tensor([[ACTION["forward"], ACTION["turn_left"], ACTION["noop"]]])
    continuous = torch.tensor([[[0.0], [0.0], [0.1]]])
    undo_d, undo_c = inverse_actions(discrete, continuous)
    assert undo_d.tolist() == [[ACTION["noop"], ACTION["turn_right"], ACTION["backward"]]]
    assert undo_c[0, :, 0].tolist() == pytest.approx([-0.1, 0.0, 0.0])
    with pytest.raises(ValueError, match="turns while moving"):
        inverse_actions(torch.tensor([[ACTION["forward_left"]]]), torch.zeros(1, 1, 1))
    with pytest.raises(ValueError, match="turns while moving"):
        inverse_actions(torch.tensor([[ACTION["forward"]]]), torch.full((1, 1, 1), 0.1))
    with pytest.raises(ValueError, match="way back"):
        retrace_clips(MazeWorld(SMALL, 1), [1], 5, 6, 0)


@pytest.mark.parametrize("mouse", [True, False])
def test_rotation_repeats_views_one_turn_later(mouse: bool) -> None:
    world = MazeWorld(MazeConfig(size=5, height=16, width=16, continuous_yaw=mouse), 2)
    turn = steps_per_turn(world)
    clips = rotation_clips(world, [7, 8], turn + 5)
    assert bool((clips["pose"][:, :, :2] == clips["pose"][:, :1, :2]).all())  # on the spot
    if mouse:  # the yaw step closes the turn exactly
        assert (clips["frames"][:, turn:].float() - clips["frames"][:, :5].float()).abs().max() < 1
        assert last_seen_gaps(clips["pose"])[:, turn:].eq(turn).all()
    assert last_seen_gaps(clips["pose"])[:, :turn].eq(-1).all()


def test_last_seen_gaps_counts_frames_since_the_pose_was_seen() -> None:
    poses = torch.tensor([[[1.0, 1.0, 0.0], [2.0, 1.0, 0.0], [1.0, 1.0, 0.0], [1.0, 1.0, 3.0], [2.0, 1.0, 6.3]]])
    assert last_seen_gaps(poses).tolist() == [[-1, -1, 2, -1, 3]]  # yaw 6.3 wraps onto 0.0


def test_key_turns_keep_standing_still_still() -> None:
    world = MazeWorld(SMALL, 3)
    mouse = retrace_clips(world, held_out_seeds(3), 40, 20, policy_seed=4)
    keys = retrace_clips(world, held_out_seeds(3), 40, 20, policy_seed=4, key_turns=True)

    def turning_noops(clips) -> float:
        noop = clips["discrete"] == ACTION["noop"]
        return float((noop & (clips["continuous"][..., 0] != 0)).float().mean())

    assert turning_noops(keys) < 0.5 * turning_noops(mouse)
    frames = keys["frames"].float()
    for j in range(1, 21):  # still an exact retrace
        assert (frames[:, 40 + j] - frames[:, 40 - j]).abs().mean() < 0.5
