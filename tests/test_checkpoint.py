import json
from pathlib import Path

import pytest
import torch
from safetensors.torch import save_file

from worldsim.actions import maze_action_space
from worldsim.checkpoint import (
    CheckpointError,
    PlayBlock,
    load_checkpoint,
    read_checkpoint_header,
    save_checkpoint,
)
from worldsim.env.maze_world import MazeConfig
from worldsim.model import WorldModel, tiny_model_config
from worldsim.sampling_steps import CPU_MAX_SAMPLING_STEPS, play_steps

SHIPPED = Path(__file__).resolve().parents[1] / "checkpoints" / "default.safetensors"


@pytest.fixture
def saved(tmp_path):
    torch.manual_seed(0)
    config = tiny_model_config(num_discrete_actions=9, num_continuous_actions=1)
    model = WorldModel(config)
    with torch.no_grad():
        for parameter in model.parameters():
            parameter.add_(torch.randn_like(parameter) * 0.01)  # make the zero-initialised head non-trivial
    path = tmp_path / "model.safetensors"
    play = PlayBlock(maze_action_space(), (16, 16), 5, MazeConfig(size=5, height=16, width=16))
    save_checkpoint(path, model, play, {"step": 7})
    return path, model


def test_round_trip_rebuilds_the_model_and_steps(saved):
    path, model = saved
    loaded, play, metadata = load_checkpoint(path)
    assert play == PlayBlock(maze_action_space(), (16, 16), 5, MazeConfig(size=5, height=16, width=16))
    assert metadata == {"step": 7}
    assert loaded.config == model.config
    for (name, a), (_, b) in zip(model.state_dict().items(), loaded.state_dict().items()):
        assert torch.equal(a, b), name
    state = loaded.init_state(1)
    frame = torch.zeros(1, 3, 16, 16)
    args = (torch.ones(1), torch.tensor([1]), torch.zeros(1, 1))
    with torch.no_grad():
        velocity = loaded.step(frame, *args, state, commit=True)
        expected = model.eval().step(frame, *args, model.init_state(1), commit=True)
    torch.testing.assert_close(velocity, expected)
    assert not list(path.parent.glob(".*tmp*")), "no temp file left behind"


def test_missing_corrupt_and_foreign_files_give_clear_errors(saved, tmp_path):
    with pytest.raises(CheckpointError, match="not found"):
        load_checkpoint(tmp_path / "nope.safetensors")
    corrupt = tmp_path / "corrupt.safetensors"
    corrupt.write_bytes(saved[0].read_bytes()[:200])
    with pytest.raises(CheckpointError, match="corrupt.safetensors"):
        load_checkpoint(corrupt)
    foreign = tmp_path / "foreign.safetensors"
    save_file({"w": torch.zeros(2)}, str(foreign))
    with pytest.raises(CheckpointError, match="not a worldsim checkpoint"):
        load_checkpoint(foreign)


def test_weights_not_matching_the_embedded_config(saved, tmp_path):
    path, model = saved
    header = read_checkpoint_header(path)
    config = dict(header["model_config"], width=64)
    bad = tmp_path / "bad.safetensors"
    tensors = {k: v.contiguous() for k, v in model.state_dict().items()}
    save_file(tensors, str(bad), metadata={
        "format": "worldsim-checkpoint", "format_version": "1", "model_config": json.dumps(config),
        "action_space": json.dumps(maze_action_space().to_dict()), "metadata": "{}",
    })
    with pytest.raises(CheckpointError, match="do not match the embedded model config"):
        load_checkpoint(bad)


def test_play_block_must_fit_the_model(tmp_path):
    model = WorldModel(tiny_model_config(num_discrete_actions=9, num_continuous_actions=1))
    with pytest.raises(CheckpointError, match="frame size"):
        save_checkpoint(tmp_path / "a.safetensors", model, PlayBlock(maze_action_space(), (32, 32)))
    with pytest.raises(CheckpointError, match="maze renders 64x64"):
        save_checkpoint(tmp_path / "b.safetensors", model, PlayBlock(maze_action_space(), (16, 16), maze=MazeConfig()))
    with pytest.raises(TypeError, match="PlayBlock"):
        save_checkpoint(tmp_path / "c.safetensors", model, maze_action_space())
    assert not list(tmp_path.iterdir()), "nothing written"


def test_the_shipped_checkpoint_carries_its_play_block():
    _, play, _ = load_checkpoint(SHIPPED)
    assert read_checkpoint_header(SHIPPED)["play"]["sampling_steps"] == play.sampling_steps == 3
    assert play.frame_size == (64, 64) and play.action_space == maze_action_space()
    assert play.maze == MazeConfig() and play.dataset is None


def test_a_checkpoint_without_a_play_block_gets_one_from_its_train_config(saved, tmp_path):
    """Weights written before the play block existed: steps and maze come from the trainer's config."""
    path, model = saved
    maze = {"size": 7, "height": 16, "width": 16}
    legacy = tmp_path / "legacy.safetensors"
    metadata = json.dumps({"train_config": {"logging": {"sampling_steps": 5}, "data": {"maze": maze}}})
    write_raw(legacy, {k: v.contiguous() for k, v in model.state_dict().items()},
              read_checkpoint_header(path)["model_config"], metadata)
    _, play, _ = load_checkpoint(legacy)
    assert read_checkpoint_header(legacy)["play"] is None
    assert play.sampling_steps == 5 and play.dataset is None
    assert play.maze == MazeConfig(**maze)
    assert play.maze_config() is play.maze


def test_bare_weights_play_in_the_default_maze_and_cpus_take_fewer_steps(tmp_path):
    model = WorldModel(tiny_model_config(num_discrete_actions=9, num_continuous_actions=0))
    space = maze_action_space(continuous_yaw=False)
    save_checkpoint(tmp_path / "m.safetensors", model, PlayBlock(space, (16, 16), 6))
    _, play, _ = load_checkpoint(tmp_path / "m.safetensors")
    assert play.maze is None and play.sampling_steps == 6
    assert play.maze_config() == MazeConfig(height=16, width=16, continuous_yaw=False)
    assert play_steps(torch.device("cpu"), 6) == CPU_MAX_SAMPLING_STEPS
    assert play_steps(torch.device("cuda"), 6) == 6


def write_raw(path, tensors, model_config, metadata="{}", play=None):
    """A checkpoint file with arbitrary header content (as a hostile or damaged file would have); no play
    entry unless given (as written before the play block existed)."""
    header = {"format": "worldsim-checkpoint", "format_version": "1", "model_config": json.dumps(model_config),
              "action_space": json.dumps(maze_action_space().to_dict()), "metadata": metadata}
    save_file(tensors, str(path), metadata=header if play is None else {**header, "play": play})


@pytest.mark.parametrize("depth", [64, 3])
def test_a_huge_embedded_config_is_refused_before_any_model_is_built(saved, tmp_path, monkeypatch, depth):
    path, model = saved
    config = dict(read_checkpoint_header(path)["model_config"], width=8192, depth=depth, attn_heads=64,
                  ssm_headdim=64)
    huge = tmp_path / "huge.safetensors"
    write_raw(huge, {k: v.contiguous() for k, v in model.state_dict().items()}, config)
    built_on = []
    original = WorldModel.__init__

    def spy(self, *args, **kwargs):
        built_on.append(torch.get_default_device().type)
        original(self, *args, **kwargs)

    monkeypatch.setattr(WorldModel, "__init__", spy)
    with pytest.raises(CheckpointError, match=r"huge\.safetensors.*do not match"):
        load_checkpoint(huge)
    assert set(built_on) <= {"meta"}, f"a model was allocated on {built_on}"


@pytest.mark.parametrize("field, value", [("metadata", "[1, 2]"), ("metadata", '"text"'),
                                          ("model_config", "[1]"), ("action_space", "3"), ("play", "[16, 16]")])
def test_header_fields_that_are_not_json_objects_are_named(saved, tmp_path, field, value):
    path, model = saved
    header = read_checkpoint_header(path)
    raw = {"format": "worldsim-checkpoint", "format_version": "1", "model_config": json.dumps(header["model_config"]),
           "action_space": json.dumps(header["action_space"]), "metadata": "{}", field: value}
    bad = tmp_path / "bad.safetensors"
    save_file({k: v.contiguous() for k, v in model.state_dict().items()}, str(bad), metadata=raw)
    with pytest.raises(CheckpointError, match=rf"bad\.safetensors.*{field}.*JSON object"):
        load_checkpoint(bad)


def test_non_finite_weights_are_never_saved_nor_played(saved, tmp_path):
    path, model = saved
    broken = WorldModel(model.config)
    with torch.no_grad():
        broken.head.linear.weight[0, 0] = float("nan")
    with pytest.raises(CheckpointError, match=r"head\.linear\.weight.*NaN"):
        save_checkpoint(tmp_path / "nan.safetensors", broken, PlayBlock(maze_action_space(), (16, 16)))
    assert not list(tmp_path.glob("*nan*")), "nothing written"
    tensors = {k: v.contiguous() for k, v in broken.state_dict().items()}
    write_raw(tmp_path / "nan.safetensors", tensors, read_checkpoint_header(path)["model_config"])
    with pytest.raises(CheckpointError, match=r"nan\.safetensors.*head\.linear\.weight.*NaN"):
        load_checkpoint(tmp_path / "nan.safetensors")
