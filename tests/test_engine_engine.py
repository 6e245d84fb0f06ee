import json
import re

import cv2
import numpy as np
import pytest
import torch
from safetensors import safe_open
from safetensors.torch import save_file

from worldsim.actions import ActionSpace, maze_action_space
from worldsim.checkpoint import CheckpointError, PlayBlock, save_checkpoint
from worldsim.cli import main
from worldsim.data.writer import EpisodeWriter
from worldsim.diffusion.sampler import generate_frame
from worldsim.engine import EpisodeContext, ImageContext, WorldModelEngine
from worldsim.env.maze_world import MazeConfig, MazeWorld
from worldsim.frames import to_model, to_uint8
from worldsim.model import WorldModel, tiny_model_config

MAZE = maze_action_space()


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory):
    torch.manual_seed(0)
    model = WorldModel(tiny_model_config(num_discrete_actions=9, num_continuous_actions=1))
    path = tmp_path_factory.mktemp("ckpt") / "tiny.safetensors"
    save_checkpoint(path, model, PlayBlock(MAZE, (16, 16), sampling_steps=3))
    return path


def actions(count: int, seed: int = 0):
    rng = np.random.default_rng(seed)
    return [
        (torch.tensor([int(rng.integers(9))]), torch.tensor([[float(rng.uniform(-0.25, 0.25))]]))
        for _ in range(count)
    ]


def test_engine_frames_equal_a_direct_model_rollout(checkpoint):
    engine = WorldModelEngine.from_checkpoint(checkpoint, device="cpu", steps=3)
    first, _ = engine.reset(5)
    played = [engine.step(d, c)[0] for d, c in actions(6)]

    model = engine.model
    maze_frame, _ = MazeWorld(MazeConfig(height=16, width=16)).reset(5)
    torch.testing.assert_close(first, maze_frame)
    state = model.init_state(1)
    model.step(to_model(maze_frame), torch.ones(1), torch.zeros(1, dtype=torch.long), torch.zeros(1, 1), state, commit=True)
    generator = torch.Generator().manual_seed(5)
    for (d, c), frame in zip(actions(6), played):
        expected = to_uint8(generate_frame(model, state, d, c, 3, generator))
        torch.testing.assert_close(frame, expected, rtol=0, atol=0)
    assert played[0].shape == (1, 16, 16, 3) and played[0].dtype == torch.uint8


def test_reset_with_the_same_seed_replays_the_same_frames(checkpoint):
    engine = WorldModelEngine.from_checkpoint(checkpoint, device="cpu", steps=2)
    runs = []
    for _ in range(2):
        engine.reset(1)
        runs.append(torch.stack([engine.step(d, c)[0] for d, c in actions(3)]))
    torch.testing.assert_close(runs[0], runs[1], rtol=0, atol=0)


def test_steps_change_at_runtime_and_are_validated(checkpoint):
    engine = WorldModelEngine.from_checkpoint(checkpoint, device="cpu", steps=2)
    engine.reset(0)
    engine.steps = 1
    _, info = engine.step(None)
    assert info["step"] == 1 and engine.hud_info()["steps"] == "1"
    with pytest.raises(ValueError, match="steps"):
        engine.steps = 0


def test_bad_actions_are_rejected_with_the_culprit(checkpoint):
    engine = WorldModelEngine.from_checkpoint(checkpoint, device="cpu", steps=1)
    engine.reset(0)
    with pytest.raises(ValueError, match="out of range"):
        engine.step(torch.tensor([9]))
    with pytest.raises(ValueError, match="shape"):
        engine.step(torch.tensor([1]), torch.zeros(1, 3))


def test_missing_and_corrupt_checkpoints_give_clear_errors(tmp_path, capsys):
    with pytest.raises(CheckpointError, match="not found"):
        WorldModelEngine.from_checkpoint(tmp_path / "nope.safetensors", device="cpu")
    corrupt = tmp_path / "corrupt.safetensors"
    corrupt.write_bytes(b"\x00garbage" * 10)
    with pytest.raises(CheckpointError, match="corrupt.safetensors"):
        WorldModelEngine.from_checkpoint(corrupt, device="cpu")
    assert main(["play", "--checkpoint", str(corrupt), "--headless", "--frames", "2"]) == 1
    assert "corrupt.safetensors" in capsys.readouterr().err


def test_action_space_mismatch_is_an_error(tmp_path):
    space = ActionSpace(discrete=("a", "b", "c", "d", "e"), continuous=("x", "y"))
    path = tmp_path / "other.safetensors"
    save_checkpoint(path, WorldModel(tiny_model_config()), PlayBlock(space, (16, 16)))
    with pytest.raises(ValueError, match=r"other.safetensors: not trained on the built-in maze .* --context"):
        WorldModelEngine.from_checkpoint(path, device="cpu")
    cv2.imwrite(str(tmp_path / "start.png"), np.zeros((16, 16, 3), np.uint8))
    engine = WorldModelEngine.from_checkpoint(path, device="cpu", context=[tmp_path / "start.png"])
    assert engine.reset(0)[0].shape == (1, 16, 16, 3)


def test_context_from_images_and_unreadable_image(checkpoint, tmp_path):
    image = np.zeros((32, 32, 3), dtype=np.uint8)
    image[:, :, 2] = 200  # red in OpenCV's BGR order
    cv2.imwrite(str(tmp_path / "a.png"), image)
    engine = WorldModelEngine.from_checkpoint(checkpoint, device="cpu", steps=1)
    engine.context_source = ImageContext([tmp_path / "a.png"], engine.action_space, 16, 16)
    first, _ = engine.reset(0)
    assert first.shape == (1, 16, 16, 3) and (first[..., 0] == 200).all() and (first[..., 2] == 0).all()
    (tmp_path / "b.png").write_text("not an image")
    with pytest.raises(ValueError, match="b.png"):
        ImageContext([tmp_path / "b.png"], engine.action_space, 16, 16)


def test_context_from_a_recorded_episode(checkpoint, tmp_path):
    world = MazeWorld(MazeConfig(height=16, width=16))
    frames = [world.reset(4)[0]] + [world.step(torch.tensor([1]))[0] for _ in range(3)]
    writer = EpisodeWriter(tmp_path, MAZE, 30, {"test": True})
    for index, frame in enumerate(frames):
        writer.add(frame[0].numpy(), 0 if index == 0 else 1, np.zeros(1, np.float32))
    episode = writer.close()
    engine = WorldModelEngine.from_checkpoint(checkpoint, device="cpu", steps=1)
    engine.context_source = EpisodeContext(episode, engine.action_space, length=3)
    first, _ = engine.reset(0)
    torch.testing.assert_close(first, frames[2])
    assert int(engine.state.frame_index[0]) == 3  # three context frames committed


def test_side_by_side_steps_truth_and_model_with_the_same_actions(checkpoint):
    from worldsim.app.worlds import SideBySideWorld

    engine = WorldModelEngine.from_checkpoint(checkpoint, device="cpu", steps=1)
    truth = MazeWorld(engine.context_source.maze_config)
    both = SideBySideWorld(truth, engine)
    frames, _ = both.reset(2)
    assert frames.shape == (1, 16, 32, 3)
    torch.testing.assert_close(frames[:, :, :16], frames[:, :, 16:])  # the model starts from the truth
    reference = MazeWorld(MazeConfig(height=16, width=16))
    reference.reset(2)
    for d, c in actions(3):
        frames, _ = both.step(d, c)
        expected, _ = reference.step(d, c)
    torch.testing.assert_close(frames[:, :, :16], expected)
    both.steps = 2
    assert engine.steps == 2 and both.hud_info()["right"] == "model"


def test_play_command_headless_on_a_checkpoint(checkpoint, tmp_path):
    from decoded_video import count_video_frames

    actions_file = tmp_path / "a.npy"
    np.save(actions_file, np.array([0, 1, 1, 3, 1], dtype=np.int64))
    out = tmp_path / "model.mp4"
    argv = ["play", "--checkpoint", str(checkpoint), "--device", "cpu", "--steps", "1", "--headless",
            "--actions", str(actions_file), "--out", str(out)]
    assert main(argv) == 0
    assert count_video_frames(out) == 5


def test_default_steps_come_from_the_checkpoint_capped_on_cpu(checkpoint):
    # the checkpoint was validated with 3 steps; a CPU engine plays 2 by default to stay interactive
    assert WorldModelEngine.from_checkpoint(checkpoint, device="cpu").steps == 2
    assert WorldModelEngine.from_checkpoint(checkpoint, device="cpu", steps=3).steps == 3


@pytest.mark.parametrize("side_by_side", [False, True])
def test_maze_policies_drive_a_model_through_its_ground_truth_maze(checkpoint, side_by_side):
    from worldsim.app.headless import policy_driver
    from worldsim.app.worlds import SideBySideWorld
    from worldsim.env.policies import make_policy

    engine = WorldModelEngine.from_checkpoint(checkpoint, device="cpu", steps=1)
    maze_config = engine.context_source.maze_config
    world = SideBySideWorld(MazeWorld(maze_config), engine) if side_by_side else engine
    driver = policy_driver(make_policy("wander"), world)
    world.reset(4)
    driver.reset(world, 4)
    reference = MazeWorld(maze_config)  # the policy alone on the maze the model starts from
    reference.reset(4)
    policy = make_policy("wander")
    policy.reset(reference, 4)
    for _ in range(8):
        discrete, continuous = driver.act()
        expected_d, expected_c = policy.act()
        assert torch.equal(discrete, expected_d) and torch.equal(continuous, expected_c)
        world.step(discrete, continuous)
        reference.step(expected_d, expected_c)


def test_play_command_headless_with_a_policy_on_a_checkpoint(checkpoint, tmp_path):
    from decoded_video import count_video_frames

    out = tmp_path / "model.mp4"
    argv = ["play", "--checkpoint", str(checkpoint), "--device", "cpu", "--steps", "1", "--headless",
            "--policy", "wander", "--frames", "6", "--out", str(out)]
    assert main(argv) == 0
    assert count_video_frames(out) == 6


PLAY = {"frame_size": [16, 16], "sampling_steps": 3, "maze": None, "dataset": None}


def odd_checkpoint(path, metadata, play):
    """A checkpoint of tiny weights whose header holds `metadata` and the play entry `play` (None: none, as
    written before the play block existed): what a damaged or hostile file may hold."""
    torch.manual_seed(0)
    model = WorldModel(tiny_model_config(num_discrete_actions=9, num_continuous_actions=1))
    save_checkpoint(path, model, PlayBlock(MAZE, (16, 16)), metadata)
    with safe_open(str(path), framework="pt") as file:
        header, tensors = file.metadata(), {name: file.get_tensor(name) for name in file.keys()}  # noqa: SIM118
    header.pop("play")
    save_file(tensors, str(path), metadata=header if play is None else {**header, "play": json.dumps(play)})
    return path


@pytest.mark.parametrize("metadata, play, culprit", [
    # written before the play block: what to play comes from the trainer's config in the metadata
    ({"train_config": [1]}, None, "train_config"),
    ({"train_config": {"data": {"maze": {"size": 100001}}}}, None, "size"),
    ({"train_config": {"data": {"maze": "big"}}}, None, "maze"),
    ({"sampling_steps": "many"}, None, "sampling_steps"),
    ({"sampling_steps": 10**9}, None, "sampling_steps"),
    # the play block, read from the file just as untrusted
    ({}, [16, 16], "play is not a JSON object"),
    ({}, {**PLAY, "maze": {"size": 100001, "height": 16, "width": 16}}, "size"),
    ({}, {**PLAY, "sampling_steps": "many"}, "sampling_steps"),
    ({}, {**PLAY, "sampling_steps": 10**9}, "sampling_steps"),
    ({}, {**PLAY, "frame_size": "big"}, "frame_size"),
    ({}, {**PLAY, "dataset": 7}, "dataset"),
])
def test_checkpoint_metadata_is_checked_before_use(tmp_path, metadata, play, culprit):
    path = odd_checkpoint(tmp_path / "odd.safetensors", metadata, play)
    with pytest.raises(CheckpointError, match=rf"odd\.safetensors.*{culprit}"):
        WorldModelEngine.from_checkpoint(path, device="cpu")


def test_a_bogus_device_is_named(checkpoint, capsys):
    assert main(["play", "--checkpoint", str(checkpoint), "--device", "bogus", "--headless", "--frames", "1"]) == 1
    assert "bogus" in capsys.readouterr().err


@pytest.mark.parametrize("metadata, play, culprit", [
    ({"train_config": {"data": {"maze": {"size": 100001}}}}, None, "metadata train_config.data.maze"),
    ({}, {**PLAY, "maze": {"size": 100001, "height": 16, "width": 16}}, "play.maze"),
])
def test_eval_names_a_checkpoint_with_an_unbounded_maze(tmp_path, capsys, metadata, play, culprit):
    path = odd_checkpoint(tmp_path / "huge_maze.safetensors", metadata, play)
    for command in (["eval", str(path), "--device", "cpu"],
                    ["eval", "memory", str(path), "--device", "cpu", "--out", str(tmp_path / "m")]):
        assert main(command) == 1
        assert re.search(rf"huge_maze\.safetensors: .*{culprit}: maze size must be in \[2, 100\]",
                         capsys.readouterr().err)
