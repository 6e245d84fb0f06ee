"""The MemoryPack configs are the recipes they name, changed only where the variant must differ:
configs/pack_local.yaml is configs/default.yaml with temporal pack+local (same size, data and budget), and
configs/pack_local_memory.yaml is configs/memory.yaml's long-context recipe for that model, from scratch;
configs/memory_deep.yaml grows the shipped model to twice its depth and starts out predicting what it did.
configs/atari_breakout.yaml trains on the recorded Breakout dataset and fits a shipped checkpoint."""

from pathlib import Path

import yaml

from worldsim.config import load_config
from worldsim.train.config import TrainConfig, validate_train_config

CONFIGS = Path(__file__).resolve().parents[1] / "configs"
PACK_KEYS = {"temporal", "pack_window", "pack_segment"}


def read(name: str) -> dict:
    """The file's keys as written (setting a key to its default counts as a difference), once it loads."""
    validate_train_config(load_config(TrainConfig, CONFIGS / name))
    return yaml.safe_load((CONFIGS / name).read_text())


def test_pack_local_config_differs_from_default_only_in_the_temporal_variant():
    default, pack = read("default.yaml"), read("pack_local.yaml")
    assert pack["model"]["temporal"] == "pack+local" and "temporal" not in default["model"]
    pack["model"] = {key: value for key, value in pack["model"].items() if key not in PACK_KEYS}
    assert pack == default


def test_pack_local_memory_config_is_the_memory_recipe_for_the_pack_model_trained_from_scratch():
    memory, pack, pack_memory = read("memory.yaml"), read("pack_local.yaml"), read("pack_local_memory.yaml")
    assert pack_memory["model"] == pack["model"]
    # init_from loads the shipped SSM weights, which a pack+local model cannot take
    assert set(memory) - set(pack_memory) == {"init_from"}
    assert pack_memory["schedule"] == pack["schedule"]  # from scratch: the default warm-up
    for key in set(pack_memory) - {"model", "schedule"}:
        assert pack_memory[key] == memory[key], key


def test_memory_deep_config_starts_as_the_shipped_model(tmp_path):
    """configs/memory_deep.yaml grows the shipped checkpoint to 12 layers: at step 0 it predicts what it did."""
    import torch

    from worldsim.checkpoint import load_checkpoint
    from worldsim.train.setup import build_run

    root = CONFIGS.parent
    config = load_config(TrainConfig, CONFIGS / "memory_deep.yaml",
                         [f"init_from={root / 'checkpoints' / 'default.safetensors'}", "device=cpu"])
    validate_train_config(config)
    grown = build_run(config, tmp_path / "run", resume=False, device=torch.device("cpu")).model.eval()
    shipped, _, _ = load_checkpoint(root / "checkpoints" / "default.safetensors")
    assert len(grown.layers) == 2 * len(shipped.layers)
    generator = torch.Generator().manual_seed(0)
    frames = torch.rand(1, 2, 3, 64, 64, generator=generator) * 2 - 1
    inputs = (frames, torch.full((1, 2), 0.5), torch.ones(1, 2, dtype=torch.long), torch.zeros(1, 2, 1))
    with torch.no_grad():
        torch.testing.assert_close(grown(*inputs), shipped.eval()(*inputs), rtol=0, atol=1e-5)


def test_atari_breakout_config_trains_a_recorded_game_within_the_shipping_budget():
    import torch

    from worldsim.model.world_model import WorldModel

    config = load_config(TrainConfig, CONFIGS / "atari_breakout.yaml")
    validate_train_config(config)
    model, data = config.model, config.data
    assert data.source == "dataset" and data.dataset_dir == "data/atari_breakout" and data.holdout_every > 0
    assert (model.image_height, model.image_width) == (64, 64)
    assert (model.num_discrete_actions, model.num_continuous_actions) == (4, 0)  # NOOP, FIRE, RIGHT, LEFT
    with torch.device("meta"):  # shapes only: nothing allocated
        tensors = WorldModel(model).state_dict().values()
    assert sum(tensor.numel() for tensor in tensors) * 2 <= 20e6  # bf16 weights fit a 20 MB checkpoint
    # validation clips come from the held-out episodes' first frames: random Breakout lasts > 130 frames
    assert config.logging.validation_context + config.logging.validation_rollout <= 130
