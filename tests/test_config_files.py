"""configs/pack_local.yaml is configs/default.yaml with the MemoryPack variant: same size, data and budget."""

from pathlib import Path

from worldsim.config import load_config, to_dict
from worldsim.train.config import TrainConfig

CONFIGS = Path(__file__).resolve().parents[1] / "configs"
VARIANT_KEYS = ("temporal", "pack_window", "pack_segment")


def test_pack_local_config_differs_from_default_only_in_the_temporal_variant():
    default = to_dict(load_config(TrainConfig, CONFIGS / "default.yaml"))
    pack = to_dict(load_config(TrainConfig, CONFIGS / "pack_local.yaml"))
    assert pack["model"]["temporal"] == "pack+local" and default["model"]["temporal"] != "pack+local"
    for config in (default, pack):
        for key in VARIANT_KEYS:
            config["model"].pop(key)
    assert pack == default
