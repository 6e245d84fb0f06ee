import json

import pytest
import torch
from safetensors.torch import save_file

from worldsim.actions import maze_action_space
from worldsim.checkpoint import CheckpointError, load_checkpoint, read_checkpoint_header, save_checkpoint
from worldsim.model import WorldModel, tiny_model_config


@pytest.fixture
def saved(tmp_path):
    torch.manual_seed(0)
    config = tiny_model_config(num_discrete_actions=9, num_continuous_actions=1)
    model = WorldModel(config)
    with torch.no_grad():
        for parameter in model.parameters():
            parameter.add_(torch.randn_like(parameter) * 0.01)  # make the zero-initialised head non-trivial
    path = tmp_path / "model.safetensors"
    save_checkpoint(path, model, maze_action_space(), {"step": 7})
    return path, model


def test_round_trip_rebuilds_the_model_and_steps(saved):
    path, model = saved
    loaded, action_space, metadata = load_checkpoint(path)
    assert action_space == maze_action_space() and metadata == {"step": 7}
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
