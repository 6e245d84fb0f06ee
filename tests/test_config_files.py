"""The MemoryPack configs are the recipes they name, changed only where the variant must differ:
configs/pack_local.yaml is configs/default.yaml with temporal pack+local (same size, data and budget), and
configs/pack_local_memory.yaml is configs/memory.yaml's long-context recipe for that model, from scratch;
configs/memory_local.yaml and configs/memory_pack.yaml are configs/memory.yaml for the local and pack+local
variants, continuing the shipped weights (init_shared), so the three are compared from the same start;
configs/memory_deep.yaml grows the shipped model to twice its depth and starts out predicting what it did.
configs/atari_breakout.yaml trains on the recorded Breakout dataset and fits a shipped checkpoint."""

from pathlib import Path

import pytest
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
    # from scratch: configs/memory_pack.yaml is the recipe continuing the shipped weights
    assert set(memory) - set(pack_memory) == {"init_from"}
    assert pack_memory["schedule"] == pack["schedule"]  # from scratch: the default warm-up
    for key in set(pack_memory) - {"model", "schedule"}:
        assert pack_memory[key] == memory[key], key


@pytest.mark.parametrize("name, variant", [("memory_local.yaml", None), ("memory_pack.yaml", "pack_local.yaml")])
def test_memory_variant_configs_differ_from_the_memory_recipe_only_in_the_variant(name, variant):
    memory, config = read("memory.yaml"), read(name)
    assert config.pop("init_shared") is True and config["init_from"] == memory["init_from"]
    scan_free = {key: value for key, value in memory.pop("model").items() if key != "ssm_memory_frames"}
    # the variant's model keys: temporal local, or pack_local.yaml's (temporal and the pack settings)
    assert config.pop("model") == (read(variant)["model"] if variant else scan_free | {"temporal": "local"})
    assert config == memory  # data, noise, optim, schedule, logging, compile: the same recipe


def test_memory_variant_configs_start_from_the_shipped_weights_as_one_function(tmp_path):
    """Both load the shipped ssm+local checkpoint; the pack starts switched off, so both compute the same."""
    import torch

    from worldsim.train.setup import build_run

    root, models = CONFIGS.parent, []
    for name in ("memory_local.yaml", "memory_pack.yaml"):
        config = load_config(TrainConfig, CONFIGS / name, [f"init_from={root / 'checkpoints' / 'default.safetensors'}",
                                                          "device=cpu", "compile=false"])
        validate_train_config(config)
        models.append(build_run(config, tmp_path / name, resume=False, device=torch.device("cpu")).model.eval())
    assert [model.config.temporal for model in models] == ["local", "pack+local"]
    generator = torch.Generator().manual_seed(0)
    frames = torch.rand(1, 2, 3, 64, 64, generator=generator) * 2 - 1
    inputs = (frames, torch.full((1, 2), 0.5), torch.ones(1, 2, dtype=torch.long), torch.zeros(1, 2, 1))
    with torch.no_grad():
        torch.testing.assert_close(models[1](*inputs), models[0](*inputs), rtol=0, atol=1e-5)


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


def test_recall_toy_config_is_the_tiny_model_on_whole_toy_episodes():
    """configs/recall_toy.yaml: configs/tiny.yaml's model and optimiser with a 64-frame scan memory and the
    dataset's actions, trained on whole 24-frame episodes of the dataset worldsim eval recall-toy writes."""
    from worldsim.eval.settings import RecallToySettings

    tiny, toy = read("tiny.yaml"), read("recall_toy.yaml")
    assert toy["model"] == tiny["model"] | {"ssm_memory_frames": 64}  # action counts: the dataset's
    assert toy["data"]["source"] == "dataset" and toy["data"]["clip_length"] == RecallToySettings().length
    assert {key: toy[key] for key in ("noise", "optim", "device")} == {key: tiny[key] for key in ("noise", "optim", "device")}
    assert toy["schedule"] == tiny["schedule"] | {"max_steps": 1500}
