"""`worldsim train --data DIR`: the model takes the dataset's frame size and actions unless the config chose
otherwise, and then one error names the overrides before any run directory is made."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from worldsim.actions import ActionSpace
from worldsim.cli import main
from worldsim.data.writer import EpisodeWriter

SMOKE = Path(__file__).resolve().parent / "smoke.yaml"
THREE_ACTIONS = ActionSpace(discrete=("noop", "left", "right"))
FAST = ["schedule.max_steps=1", "logging.validate_every=1000", "logging.checkpoint_every=1000", "data.num_workers=0"]


def write_dataset(directory: Path, size: int = 16, episodes: int = 2, length: int = 10) -> Path:
    rng = np.random.default_rng(0)
    for _ in range(episodes):
        writer = EpisodeWriter(directory, THREE_ACTIONS, fps=10.0, source={"test": True})
        for t in range(length):
            writer.add(rng.integers(0, 256, (size, size, 3), dtype=np.uint8), int(rng.integers(3)) if t else 0)
        writer.close()
    return directory


def train_args(tmp_path: Path, data: Path, *overrides: str, config: Path | None = SMOKE) -> list[str]:
    args = ["train", "--data", str(data), "--out", str(tmp_path / "run"), "--no-progress"]
    return args + (["--config", str(config)] if config else []) + [*FAST, *overrides]


def test_actions_follow_the_dataset_and_the_choice_is_printed(tmp_path, capsys) -> None:
    data = write_dataset(tmp_path / "data")
    assert main(train_args(tmp_path, data)) == 0, capsys.readouterr().err
    out = capsys.readouterr().out
    assert "2 episodes of 16x16 frames, 3 discrete (noop, left, right) / 0 continuous actions" in out
    assert "model set to match: model.num_discrete_actions=3 model.num_continuous_actions=0" in out
    from worldsim.checkpoint import read_checkpoint_header

    header = read_checkpoint_header(tmp_path / "run" / "latest.safetensors")
    assert header["model_config"]["num_discrete_actions"] == 3 and header["action_space"]["discrete"][2] == "right"


def test_a_frame_size_the_config_chose_is_one_error_with_both_fixes(tmp_path, capsys) -> None:
    data = write_dataset(tmp_path / "data", size=32)
    assert main(train_args(tmp_path, data)) == 1
    err = capsys.readouterr().err
    assert "the dataset has 32x32 frames" in err and "config sets model.image_height=16, model.image_width=16" in err
    assert "Override with model.image_height=32 model.image_width=32" in err
    assert "worldsim record ... --height 16 --width 16" in err
    assert not (tmp_path / "run").exists()
    assert main(train_args(tmp_path, data, "model.image_height=32", "model.image_width=32")) == 0


def test_explicit_action_counts_that_differ_name_the_override(tmp_path, capsys) -> None:
    data = write_dataset(tmp_path / "data")
    assert main(train_args(tmp_path, data, "model.num_discrete_actions=9")) == 1
    err = capsys.readouterr().err
    assert "config sets model.num_discrete_actions=9" in err and "Override with model.num_discrete_actions=3" in err
    assert not (tmp_path / "run").exists()


def test_sizes_the_model_cannot_patch_get_the_multiples_and_a_size_to_record(tmp_path, capsys) -> None:
    data = write_dataset(tmp_path / "data", size=24)  # built-in defaults: patch 4 x blocks up to 16 -> 64
    assert main(train_args(tmp_path, data, config=None)) == 1
    err = capsys.readouterr().err
    assert "the dataset's 24x24 frames do not fit the model" in err and "multiples of 64" in err
    assert "--height 64 --width 64" in err and not (tmp_path / "run").exists()
    from worldsim.model.config import ModelConfig

    with pytest.raises(ValueError, match="heights must be multiples of 64 and widths of 64 pixels"):
        ModelConfig(image_height=24, image_width=24)  # set by hand: the same hint
    with pytest.raises(ValueError, match="not divisible by patch_size 4; .* multiples of 64"):
        ModelConfig(image_height=66, image_width=64)


def test_episodes_shorter_than_a_clip_and_a_forgotten_source(tmp_path, capsys) -> None:
    data = write_dataset(tmp_path / "data", length=5)
    assert main(train_args(tmp_path, data)) == 1  # the smoke config's clips are 8 frames
    assert "longest episode has 5: set data.clip_length=5" in capsys.readouterr().err
    argv = ["train", "--config", str(SMOKE), "--out", str(tmp_path / "run"), f"data.dataset_dir={data}"]
    assert main(argv) == 1
    assert "add data.source=dataset" in capsys.readouterr().err
    assert not (tmp_path / "run").exists()


def test_the_api_checks_without_fitting(tmp_path) -> None:
    from worldsim.config import load_config
    from worldsim.train.config import TrainConfig
    from worldsim.train.trainer import train

    data = write_dataset(tmp_path / "data")
    config = load_config(TrainConfig, SMOKE, ["data.source=dataset", f"data.dataset_dir={data}", *FAST])
    with pytest.raises(ValueError, match="Override with model.num_discrete_actions=3 model.num_continuous_actions=0"):
        train(config, tmp_path / "run", show_progress=False)
    assert not (tmp_path / "run").exists()
