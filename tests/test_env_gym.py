"""GymWorld over Atari Pong (ale_py): frames, resize, actions, errors, and a recorded dataset end to end."""

from __future__ import annotations

import pytest
import torch

pytest.importorskip("ale_py")  # imports below stay after the skip: no ale_py, no test

from worldsim.cli import main
from worldsim.data.dataset import open_dataset
from worldsim.data.episode import read_episode
from worldsim.env import make_world
from worldsim.env.gym_world import GymWorld

PONG = "ALE/Pong-v5"


@pytest.fixture(scope="module")
def pong() -> GymWorld:
    world = GymWorld(PONG, seed=0)
    yield world
    world.close()


def test_reset_and_step_native_frames(pong: GymWorld) -> None:
    frames, info = pong.reset(0)
    assert frames.shape == (1, 210, 160, 3) and frames.dtype == torch.uint8
    assert info["step"] == 0 and info["done"] is False
    frames, info = pong.step(torch.tensor([1]))
    assert frames.shape == (1, 210, 160, 3) and info["step"] == 1 and "done" in info
    frames, info = pong.step(None)  # None: the noop action
    assert info["step"] == 2


def test_action_names_from_the_game(pong: GymWorld) -> None:
    space = pong.action_space
    assert space.discrete[space.noop] == "NOOP" and "FIRE" in space.discrete
    assert space.num_discrete == pong.env.action_space.n and space.num_continuous == 0


def test_out_of_range_and_malformed_actions(pong: GymWorld) -> None:
    pong.reset(0)
    count = pong.action_space.num_discrete
    with pytest.raises(ValueError, match=str(count)):
        pong.step(torch.tensor([count]))
    with pytest.raises(ValueError, match="shape"):
        pong.step(torch.tensor([0, 1]))
    with pytest.raises(ValueError, match="continuous"):
        pong.step(torch.tensor([0]), torch.zeros(1, 1))


def test_same_seed_same_frames_and_episode_ends() -> None:
    world = make_world(f"gym:{PONG}", height=24, width=20)
    assert isinstance(world, GymWorld)
    first, _ = world.reset(3)
    assert first.shape == (1, 24, 20, 3) and first.dtype == torch.uint8
    # Pong-v5 has sticky actions drawn from the seed, so same seed + same actions → same frames.
    runs = []
    for _ in range(2):
        world.reset(3)
        runs.append(torch.cat([world.step(torch.tensor([step % 6]))[0] for step in range(40)]))
    assert torch.equal(runs[0], runs[1]) and not torch.equal(runs[0][0], runs[0][-1])
    world.env.unwrapped.ale.setInt("max_num_frames_per_episode", 100)  # end the episode soon
    world.reset(3)
    done = [world.step(torch.tensor([0]))[1]["done"] for _ in range(40)]
    assert any(done), "the episode should have been truncated"
    world.close()


def test_unknown_id_and_step_before_reset() -> None:
    with pytest.raises(ValueError, match="NoSuchGame-v9"):
        GymWorld("NoSuchGame-v9")
    with pytest.raises(ValueError, match="only discrete"):
        GymWorld("Pendulum-v1")
    world = GymWorld(PONG)
    with pytest.raises(RuntimeError, match="reset"):
        world.step(torch.tensor([0]))
    world.close()


def test_record_pong_then_check(tmp_path) -> None:
    out = tmp_path / "pong"
    argv = ["record", "--env", f"gym:{PONG}", "--policy", "random", "--episodes", "1", "--steps", "30"]
    assert main([*argv, "--out", str(out), "--no-progress"]) == 0
    info = open_dataset(out)
    assert info.lengths == (30,)
    assert info.metas[0].source["env"] == f"gym:{PONG}"
    assert (info.height, info.width) == (210, 160)  # native Atari frames unless a size is asked for
    assert main(["data", "check", str(out), "--no-progress"]) == 0


def test_record_pong_resized(tmp_path) -> None:
    out = tmp_path / "pong64"
    argv = ["record", "--env", f"gym:{PONG}", "--policy", "random", "--episodes", "1", "--steps", "5"]
    assert main([*argv, "--height", "64", "--width", "64", "--out", str(out), "--no-progress"]) == 0
    assert (open_dataset(out).height, open_dataset(out).width) == (64, 64)


def test_record_with_held_keys(tmp_path) -> None:
    out = tmp_path / "held"
    argv = ["record", "--env", f"gym:{PONG}", "--env-kwargs", '{"repeat_action_probability": 0.0}',
            "--repeat-prob", "0.75", "--episodes", "1", "--steps", "40", "--height", "16", "--width", "16"]
    assert main([*argv, "--out", str(out), "--no-progress"]) == 0
    info = open_dataset(out)
    assert info.metas[0].source["repeat_prob"] == 0.75
    actions = read_episode(out / info.names[0]).discrete[1:]  # [0] is the reset's no-op
    assert (actions[1:] == actions[:-1]).mean() > 0.6  # uniform over Pong's 6 actions would repeat 1/6 of the time


def test_dilate_keeps_a_sub_pixel_ball_bright_where_area_dims_it() -> None:
    import numpy as np

    from worldsim.env.gym_world import resize_frame

    screen = np.zeros((210, 160, 3), np.uint8)
    screen[100:104, 80:82] = (200, 72, 72)  # Breakout's ball: 4 rows x 2 columns, under one 64x64 pixel
    screen[20:30, :] = (66, 72, 200)  # a band of bricks, whole output pixels tall
    area, dilate = resize_frame(screen, (64, 64)), resize_frame(screen, (64, 64), "dilate")
    assert area.shape == dilate.shape == (64, 64, 3)
    ball_rows = slice(28, 34)  # 100..104 of 210 rows -> about row 31 of 64
    assert area[ball_rows, :, 0].max() < 120  # averaged with the black around it
    assert dilate[ball_rows, :, 0].max() >= 190  # the ball's own red survives
    assert dilate[ball_rows, :, 0].max() <= 200  # dilation takes the brightest, never brighter
    assert (dilate[10, :, 2] == area[10, :, 2]).all()  # inside a wide uniform band nothing changes


def test_record_with_dilate_downscale_is_stored_and_checked(tmp_path) -> None:
    from worldsim.env.gym_world import DOWNSCALE_MODES

    out = tmp_path / "pong_dilate"
    argv = ["record", "--env", f"gym:{PONG}", "--policy", "random", "--episodes", "1", "--steps", "3",
            "--height", "32", "--width", "32", "--downscale", "dilate"]
    assert main([*argv, "--out", str(out), "--no-progress"]) == 0
    assert open_dataset(out).metas[0].source["downscale"] == "dilate"
    with pytest.raises(SystemExit):  # argparse refuses an unknown mode before anything is made
        main([*argv[:-1], "sharpen", "--out", str(tmp_path / "x"), "--no-progress"])
    with pytest.raises(ValueError, match="unknown downscale 'sharpen'"):
        GymWorld(PONG, height=32, width=32, downscale="sharpen")
    assert DOWNSCALE_MODES == ("area", "dilate")
    with pytest.raises(ValueError, match="--downscale dilate is for games"):
        make_world("maze", downscale="dilate")
