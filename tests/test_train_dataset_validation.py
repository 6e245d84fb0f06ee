"""Dataset runs validate like maze runs: on held-out episodes (never trained on), with the same metrics and
sample strip; a dataset with nothing held out says so."""

from __future__ import annotations

from pathlib import Path

from test_train_dataset_fit import FAST, SMOKE, write_dataset

from worldsim.cli import main
from worldsim.train.metrics_log import read_metrics


def test_held_out_episodes_are_validated_with_metrics_and_a_strip(tmp_path, capsys) -> None:
    data = write_dataset(tmp_path / "data", episodes=4, length=10)
    argv = ["train", "--config", str(SMOKE), "--data", str(data), "--out", str(tmp_path / "run"), "--no-progress",
            *FAST, "logging.validate_every=1", "data.holdout_every=2", "logging.validation_clips=1",
            "logging.validation_context=3", "logging.validation_rollout=2"]
    assert main(argv) == 0, capsys.readouterr().err
    out = capsys.readouterr().out
    assert "validation: 2 of 4 episodes held out, never trained on (episode_000001, episode_000003)" in out
    [row] = read_metrics(tmp_path / "run", "validation")
    assert row["step"] == 1
    assert all(0 < row[key] < 100 for key in ("psnr_one_step", "psnr_rollout", "psnr_rollout_last", "psnr_still"))
    assert (tmp_path / "run" / "samples" / "step_00000001.png").is_file()


def test_nothing_held_out_is_said_up_front_and_training_goes_on(tmp_path, capsys) -> None:
    data = write_dataset(tmp_path / "data", episodes=2, length=10)
    argv = ["train", "--config", str(SMOKE), "--data", str(data), "--out", str(tmp_path / "run"), "--no-progress",
            *FAST, "logging.validate_every=1"]
    assert main(argv) == 0, capsys.readouterr().err
    out = capsys.readouterr().out
    assert "validation: no episode held out" in out and "set data.holdout_every to a number <= 2" in out
    assert "no validation in this run: " in out and read_metrics(tmp_path / "run", "validation") == []
    assert main([*argv[:6], str(tmp_path / "all"), *argv[7:], "data.holdout_every=1"]) == 1
    assert "holds out all 2 episodes" in capsys.readouterr().err and not Path(tmp_path / "all").exists()


def test_the_training_source_never_yields_held_out_episodes(tmp_path) -> None:
    import torch
    from test_data_holdout import write_numbered_episodes

    from worldsim.config import load_config
    from worldsim.train.clip_sources import DatasetClipSource
    from worldsim.train.config import TrainConfig

    write_numbered_episodes(tmp_path / "data", [10, 10, 10, 10])  # episode n's frames are all n
    overrides = ["data.source=dataset", f"data.dataset_dir={tmp_path / 'data'}", "data.num_workers=0",
                 "data.holdout_every=2"]
    source = DatasetClipSource(load_config(TrainConfig, SMOKE, overrides).data, torch.device("cpu"), seed=0)
    seen = {int(value) for _ in range(12) for value in source.next_batch()["frames"][:, 0, 0, 0, 0]}
    assert seen == {0, 2}  # episodes 1 and 3 are held out
