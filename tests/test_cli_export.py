"""worldsim export: bf16 weights at about half the size, play steps and a note, outputs kept within bf16."""

from __future__ import annotations

import pytest
import torch
from safetensors import safe_open

from worldsim.actions import maze_action_space
from worldsim.checkpoint import PlayBlock, load_checkpoint, save_checkpoint
from worldsim.cli import main
from worldsim.model import WorldModel, tiny_model_config


def _checkpoint(path):
    torch.manual_seed(0)
    model = WorldModel(tiny_model_config(num_discrete_actions=9, num_continuous_actions=1))
    with torch.no_grad():
        for parameter in model.parameters():
            parameter.add_(0.1 * torch.randn_like(parameter))
    save_checkpoint(path, model, PlayBlock(maze_action_space(), (16, 16), sampling_steps=3), {"step": 5})
    return model.eval()


def test_export_bf16_halves_the_file_and_keeps_the_outputs(tmp_path, capsys):
    source, target = tmp_path / "fp32.safetensors", tmp_path / "bf16.safetensors"
    original = _checkpoint(source)
    assert main(["export", str(source), "--out", str(target), "--bf16", "--steps", "2", "--note", "shared"]) == 0
    assert "play steps 2" in capsys.readouterr().out
    assert target.stat().st_size < 0.6 * source.stat().st_size
    with safe_open(str(target), framework="pt") as file:
        assert {file.get_slice(name).get_dtype() for name in file.keys()} == {"BF16"}  # noqa: SIM118
    model, play, metadata = load_checkpoint(target)
    assert play.sampling_steps == 2 and metadata == {"step": 5, "note": "shared"}
    assert next(model.parameters()).dtype == torch.float32
    generator = torch.Generator().manual_seed(1)
    inputs = (torch.rand(1, 3, 3, 16, 16, generator=generator) * 2 - 1, torch.full((1, 3), 0.5),
              torch.ones(1, 3, dtype=torch.long), torch.zeros(1, 3, 1))
    with torch.no_grad():
        expected, got = original(*inputs), model(*inputs)
    assert float((got - expected).norm() / expected.norm()) < 2e-2


def test_export_in_place_and_bad_steps(tmp_path):
    path = tmp_path / "weights.safetensors"
    _checkpoint(path)
    assert main(["export", str(path), "--out", str(path), "--steps", "4"]) == 0
    assert load_checkpoint(path)[1].sampling_steps == 4
    assert main(["export", str(path), "--out", str(tmp_path / "x.safetensors"), "--steps", "0"]) != 0
    assert not (tmp_path / "x.safetensors").exists()
    with pytest.raises(SystemExit):
        main(["export", str(path)])  # --out is required
