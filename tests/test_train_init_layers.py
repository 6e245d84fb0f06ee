"""init_layers: a deeper model grown from a trained shallower one computes what it computed, then learns."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from worldsim.actions import maze_action_space
from worldsim.checkpoint import PlayBlock, save_checkpoint
from worldsim.config import load_config
from worldsim.model import WorldModel
from worldsim.train.config import TrainConfig
from worldsim.train.setup import build_run

SMOKE = Path(__file__).resolve().parent / "smoke.yaml"
CPU = torch.device("cpu")


def _trained_looking_model(tmp_path: Path) -> tuple[WorldModel, Path]:
    """A depth-3 smoke model with every weight random (open gates), saved as a checkpoint."""
    config = load_config(TrainConfig, SMOKE, [])
    torch.manual_seed(0)
    model = WorldModel(config.model)
    with torch.no_grad():
        for parameter in model.parameters():
            parameter.add_(0.1 * torch.randn_like(parameter))
    path = tmp_path / "shallow.safetensors"
    save_checkpoint(path, model, PlayBlock(maze_action_space(), (16, 16)), {"step": 1})
    return model.eval(), path


def _inputs(model: WorldModel) -> tuple[torch.Tensor, ...]:
    generator = torch.Generator().manual_seed(3)
    frames = torch.rand(2, 5, 3, 16, 16, generator=generator) * 2 - 1
    noise = torch.rand(2, 5, generator=generator)
    discrete = torch.randint(0, model.config.num_discrete_actions, (2, 5), generator=generator)
    continuous = torch.rand(2, 5, model.config.num_continuous_actions, generator=generator) - 0.5
    return frames, noise, discrete, continuous


def _grow(tmp_path: Path, path: Path, layers: str, *extra: str) -> TrainConfig:
    return load_config(TrainConfig, SMOKE, [f"init_from={path}", "model.depth=6", f"init_layers={layers}", *extra])


@pytest.mark.parametrize("layers", ["[0, 1, 2, -1, -1, -1]", "[-1, -1, -1, 0, 1, 2]", "[0, -1, -1, -1, 1, 2]"])
def test_grown_model_computes_what_the_shallow_one_did(tmp_path: Path, layers: str) -> None:
    shallow, path = _trained_looking_model(tmp_path)
    run = build_run(_grow(tmp_path, path, layers), tmp_path / "run", resume=False, device=CPU)
    grown = run.model.eval()
    assert len(grown.layers) == 6
    inputs = _inputs(shallow)
    with torch.no_grad():
        torch.testing.assert_close(grown(*inputs), shallow(*inputs), rtol=0, atol=1e-6)
    source = [int(v) for v in layers.strip("[]").split(",")]
    for i, j in enumerate(source):
        if j >= 0:
            assert torch.equal(grown.layers[i].ssm.in_proj.weight, shallow.layers[j].ssm.in_proj.weight)
        else:
            assert not grown.layers[i].modulation[1].weight.any()


def test_fresh_layers_learn(tmp_path: Path) -> None:
    _, path = _trained_looking_model(tmp_path)
    grown = build_run(_grow(tmp_path, path, "[0, 1, 2, -1, -1, -1]"), tmp_path / "run", False, CPU).model
    grown(*_inputs(grown)).square().mean().backward()
    gate_gradient = grown.layers[4].modulation[1].weight.grad
    assert gate_gradient is not None and gate_gradient.abs().sum() > 0


@pytest.mark.parametrize("layers,message", [
    ("[0, 1, 2, -1, -1]", "init_layers has 5 entries but model.depth is 6"),
    ("[0, 1, 3, -1, -1, -1]", r"source layers must be in \[0, 2\]"),
    ("[0, 1, 2, 0, -1, -1]", "use every source layer 0..2 exactly once"),
    ("[0, 1, -1, -1, -1, -1]", "use every source layer 0..2 exactly once"),
    ("[-1, -1, -1, 0, 2, 1]", "keep the source layers in their order"),
    ("[0, -1, 1, 2, -1, -1]", r"layer 2 scans \(1, 2\) blocks but source layer 1 was trained on \(2, 2\)"),
])
def test_bad_layer_maps_are_refused_by_name(tmp_path: Path, layers: str, message: str) -> None:
    _, path = _trained_looking_model(tmp_path)
    with pytest.raises(ValueError, match=message):
        build_run(_grow(tmp_path, path, layers), tmp_path / "run", False, CPU)


def test_other_differences_and_missing_init_from_are_refused(tmp_path: Path) -> None:
    _, path = _trained_looking_model(tmp_path)
    with pytest.raises(ValueError, match="model config differs: model.width: 32 -> 64"):
        build_run(_grow(tmp_path, path, "[0, 1, 2, -1, -1, -1]", "model.width=64"), tmp_path / "a", False, CPU)
    with pytest.raises(ValueError, match="model config differs: model.depth: 3 -> 6"):
        build_run(load_config(TrainConfig, SMOKE, [f"init_from={path}", "model.depth=6"]), tmp_path / "b", False, CPU)
    with pytest.raises(ValueError, match="init_layers maps init_from's layers onto the model, but init_from is not"):
        from worldsim.train.config import validate_train_config
        validate_train_config(load_config(TrainConfig, SMOKE, ["model.depth=6", "init_layers=[0, 1, 2, -1, -1, -1]"]))
