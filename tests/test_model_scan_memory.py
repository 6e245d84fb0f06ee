"""ssm_memory_frames: heads start with horizons from half a frame to that many frames; init_fresh keeps them
when a run starts from another checkpoint's weights."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from worldsim.config import load_config
from worldsim.model import WorldModel, tiny_model_config
from worldsim.train.config import TrainConfig
from worldsim.train.setup import build_run

SMOKE = Path(__file__).resolve().parent / "smoke.yaml"


def test_memory_init_spreads_horizons_in_frames() -> None:
    model = WorldModel(tiny_model_config(ssm_memory_frames=300.0))
    for layer in model.layers:
        horizons = layer.ssm.horizons()
        assert float(horizons.min()) == pytest.approx(0.5, rel=1e-3)
        assert float(horizons.max()) == pytest.approx(300.0, rel=1e-3)
        assert bool((horizons[1:] > horizons[:-1]).all())
    default = WorldModel(tiny_model_config())
    assert float(default.layers[0].ssm.horizons().max()) < 300.0 / 4


def test_init_fresh_keeps_the_new_scan_init_and_loads_the_rest(tmp_path: Path) -> None:
    from worldsim.actions import maze_action_space
    from worldsim.checkpoint import PlayBlock, save_checkpoint

    base = load_config(TrainConfig, SMOKE, [])
    old = WorldModel(base.model)
    play = PlayBlock(maze_action_space(), (base.model.image_height, base.model.image_width))
    save_checkpoint(tmp_path / "old.safetensors", old, play, {"step": 1})
    overrides = [f"init_from={tmp_path / 'old.safetensors'}", "model.ssm_memory_frames=500",
                 'init_fresh=["layers.*.ssm.dt_bias", "layers.*.ssm.A_log"]']
    config = load_config(TrainConfig, SMOKE, overrides)
    run = build_run(config, tmp_path / "run", resume=False, device=torch.device("cpu"))
    new_state, old_state = run.model.state_dict(), old.state_dict()
    for name in old_state:
        fresh = name.endswith(("ssm.dt_bias", "ssm.A_log"))
        assert torch.equal(new_state[name], old_state[name]) != fresh, name
    assert float(run.model.layers[0].ssm.horizons().max()) == pytest.approx(500.0, rel=1e-3)
    with pytest.raises(ValueError, match="init_fresh: pattern 'nope' matches no parameter"):
        build_run(load_config(TrainConfig, SMOKE, [*overrides[:2], "init_fresh=[nope]"]), tmp_path / "r2", False,
                  torch.device("cpu"))


def test_scan_horizons_on_real_frames() -> None:
    from worldsim.env.maze_world import MazeConfig, MazeWorld
    from worldsim.env.memory_walks import retrace_clips
    from worldsim.eval.scan_horizons import scan_horizons

    clips = retrace_clips(MazeWorld(MazeConfig(size=5, height=16, width=16), 1), [3], 6, 3, 0)
    model = WorldModel(tiny_model_config(ssm_memory_frames=300.0, num_discrete_actions=9, num_continuous_actions=1))
    with torch.no_grad():  # no input-dependent part of dt: the horizons are the bias's
        for layer in model.layers:
            layer.ssm.in_proj.weight[-layer.ssm.heads:].zero_()
    horizons = scan_horizons(model, clips)
    assert len(horizons) == len(model.layers)
    for layer, measured in zip(model.layers, horizons):
        assert measured == pytest.approx(layer.ssm.horizons().tolist(), rel=1e-4)
    local = WorldModel(tiny_model_config(temporal="local", num_discrete_actions=9, num_continuous_actions=1))
    assert scan_horizons(local, clips) == []
