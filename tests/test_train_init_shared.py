"""init_shared: a model of another temporal variant starts from a checkpoint's weights, taking the parameters both
have (the adaLN modulation row by row per sub-layer); the rest stays fresh; without the key a variant change is
refused, and so is a parameter of another shape."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from test_train_init_layers import _inputs, _trained_looking_model

from worldsim.cli import main
from worldsim.config import load_config
from worldsim.model import WorldModel
from worldsim.train.config import TrainConfig, validate_train_config
from worldsim.train.setup import build_run
from worldsim.train.shared_weights import shared_weights

SMOKE = Path(__file__).resolve().parent / "smoke.yaml"
CPU = torch.device("cpu")


def shared_config(path: Path, temporal: str, *extra: str) -> TrainConfig:
    return load_config(TrainConfig, SMOKE, [f"init_from={path}", f"model.temporal={temporal}", "init_shared=true",
                                            *extra])


@pytest.mark.parametrize("temporal", ["local", "pack+local"])
def test_shared_parameters_are_loaded_and_the_others_stay_fresh(tmp_path: Path, temporal: str) -> None:
    source, path = _trained_looking_model(tmp_path)
    config = shared_config(path, temporal)
    run = build_run(config, tmp_path / "run", resume=False, device=CPU)
    torch.manual_seed(config.seed)
    fresh = WorldModel(config.model).state_dict()  # what build_run drew before loading
    loaded, taken = run.model.state_dict(), source.state_dict()
    width = config.model.width
    for name, value in loaded.items():
        if name.startswith("layers.") and ".modulation." in name:
            # rows of (ssm, attn, mlp) in the source; (attn, mlp) or (pack, attn, mlp) here
            shift = 3 * width if temporal == "pack+local" else 0
            assert torch.equal(value[shift:], taken[name][3 * width:]), name
            assert not value[:shift].any(), name  # the pack's gate starts at zero: switched off
        elif ".pack." in name:
            assert torch.equal(value, fresh[name]) and not torch.equal(value, torch.zeros_like(value)), name
        else:
            assert torch.equal(value, taken[name]), name
    assert not any(".ssm." in name for name in loaded)
    summary = run.init_summary
    assert f"ssm+local weights -> {temporal} model (init_shared)" in summary
    assert "dropped: layers.*.ssm.* (24 tensors" in summary and "adaLN modulation rows of ssm" in summary
    assert ("fresh: layers.*.pack.*" in summary) == (temporal == "pack+local")
    assert len(summary.splitlines()) == 4  # grouped, not a name per tensor


def test_local_and_pack_local_start_out_computing_the_same_function(tmp_path: Path) -> None:
    """The pack's zero gate adds nothing: both variants compute the source without its scan at step 0."""
    source, path = _trained_looking_model(tmp_path)
    local, pack = (build_run(shared_config(path, t), tmp_path / t, False, CPU).model.eval()
                   for t in ("local", "pack+local"))
    with torch.no_grad():
        local_out, pack_out = local(*_inputs(local)), pack(*_inputs(pack))
        torch.testing.assert_close(pack_out, local_out, rtol=0, atol=1e-6)
        assert (local_out - source(*_inputs(source))).abs().max() > 1e-2  # the scan mattered in the source


def test_without_init_shared_another_variant_is_refused_and_names_the_key(tmp_path: Path) -> None:
    _, path = _trained_looking_model(tmp_path)
    strict = load_config(TrainConfig, SMOKE, [f"init_from={path}", "model.temporal=local"])
    with pytest.raises(ValueError, match=r"model.temporal: ssm\+local -> local \(to start a local model .* set "
                                         r"init_shared=true"):
        build_run(strict, tmp_path / "run", False, CPU)


def test_a_parameter_of_another_shape_is_refused_by_name(tmp_path: Path) -> None:
    source, path = _trained_looking_model(tmp_path)
    weights = dict(source.state_dict())
    weights["head.linear.weight"] = torch.zeros(5, 7)
    target = build_run(shared_config(path, "local"), tmp_path / "run", False, CPU).model
    with pytest.raises(ValueError, match=r"head.linear.weight has shape \(5, 7\) there and .* init_shared loads "
                                         r"only parameters of the same name and shape"):
        shared_weights(weights, source.config, target, str(path))
    # an architecture change beyond the variant stays a config difference, shapes or not
    with pytest.raises(ValueError, match=r"model config differs: model.width: 32 -> 48"):
        build_run(shared_config(path, "local", "model.width=48"), tmp_path / "wide", False, CPU)


def test_init_shared_needs_init_from_and_excludes_init_layers(tmp_path: Path) -> None:
    _, path = _trained_looking_model(tmp_path)
    with pytest.raises(ValueError, match="init_shared .* but init_from is not set"):
        validate_train_config(load_config(TrainConfig, SMOKE, ["init_shared=true"]))
    with pytest.raises(ValueError, match="init_shared and init_layers cannot be combined"):
        validate_train_config(shared_config(path, "local", "model.depth=6", "init_layers=[0, 1, 2, -1, -1, -1]"))


def test_train_prints_the_summary_and_the_run_is_of_the_asked_variant(tmp_path: Path, capsys) -> None:
    from worldsim.checkpoint import read_checkpoint_configs

    _, path = _trained_looking_model(tmp_path)
    run = tmp_path / "run"
    assert main(["train", "--config", str(SMOKE), "--out", str(run), "--no-progress", f"init_from={path}",
                 "model.temporal=pack+local", "init_shared=true", "schedule.max_steps=1",
                 "logging.validate_every=1000"]) == 0
    out = capsys.readouterr().out
    assert "ssm+local weights -> pack+local model (init_shared)" in out and "fresh: layers.*.pack.*" in out
    assert read_checkpoint_configs(run / "latest.safetensors")[0].temporal == "pack+local"
