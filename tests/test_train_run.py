"""End-to-end training on the CPU at the test size (tests/smoke.yaml): maze and recorded data, Direct Forcing, resume."""

from pathlib import Path

import numpy as np
import torch

from worldsim.actions import ActionSpace, maze_action_space
from worldsim.checkpoint import load_checkpoint
from worldsim.config import load_config
from worldsim.data.writer import EpisodeWriter
from worldsim.diffusion.noise_levels import NoiseLevelConfig
from worldsim.diffusion.rectified_flow import flow_matching_loss
from worldsim.model import WorldModel
from worldsim.train.config import TrainConfig
from worldsim.train.metrics_log import read_metrics
from worldsim.train.trainer import train

SMOKE = Path(__file__).resolve().parent / "smoke.yaml"


def tiny(*overrides: str) -> TrainConfig:
    return load_config(TrainConfig, SMOKE, ["logging.validate_every=1000", "logging.checkpoint_every=1000",
                                           *overrides])


def test_tiny_maze_run_writes_checkpoints_logs_and_samples(tmp_path):
    config = tiny("schedule.max_steps=4", "logging.validate_every=4", "logging.checkpoint_every=2",
                  "logging.validate_at_start=true")
    result = train(config, tmp_path / "run", show_progress=False)
    assert result.step == 4 and result.stop_reason == "finished" and len(result.losses) == 4
    assert all(np.isfinite(result.losses))
    run = tmp_path / "run"
    assert (run / "latest.safetensors").is_file() and (run / "config.yaml").is_file()
    assert (run / "checkpoints" / "latest").read_text() == "step_00000004"
    assert (run / "samples" / "step_00000000.png").is_file() and (run / "samples" / "step_00000004.png").is_file()
    assert [r["step"] for r in read_metrics(run)] == [1, 2, 3, 4]
    validation = read_metrics(run, "validation")
    assert [v["step"] for v in validation] == [0, 4] and all(0 < v["psnr_rollout"] < 100 for v in validation)
    assert list((run / "tensorboard").iterdir())
    _, play, _ = load_checkpoint(run / "latest.safetensors")  # what play and eval read of the run
    assert play.sampling_steps == config.logging.sampling_steps and play.maze == config.data.maze
    assert play.frame_size == (16, 16) and play.action_space == maze_action_space() and play.dataset is None


def test_memory_validation_logs_the_retrace_memory_gain(tmp_path):
    config = tiny("schedule.max_steps=2", "logging.validate_every=2", "logging.memory_outbound=6",
                  "data.retrace_fraction=1.0", "data.maze_pool=2")
    train(config, tmp_path / "run", show_progress=False)
    (validation,) = read_metrics(tmp_path / "run", "validation")
    assert np.isfinite(validation["memory_gain_retrace"])
    assert 0 < validation["psnr_retrace"] < 100 and "retrace_minus_copy_last" in validation
    assert 0 < validation["psnr_rollout"] < 100


def test_loss_decreases_on_a_fixed_batch():
    torch.manual_seed(0)
    config = tiny().model
    model = WorldModel(config)
    clean = torch.rand(2, 6, 3, 16, 16) * 2 - 1
    discrete = torch.randint(0, 9, (2, 6))
    continuous = torch.zeros(2, 6, 1)
    optimizer = torch.optim.AdamW(model.parameters(), lr=3e-3)
    noise = NoiseLevelConfig(long_context_prob=0.0)
    losses = []
    for _ in range(60):
        loss = flow_matching_loss(model, clean, discrete, continuous, noise, torch.Generator().manual_seed(1))
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(float(loss.detach()))
    assert losses[-1] < 0.5 * losses[0], (losses[0], losses[-1])


def test_interrupted_and_resumed_run_matches_an_uninterrupted_one(tmp_path):
    config = tiny("schedule.max_steps=6")
    straight = train(config, tmp_path / "straight", show_progress=False)
    first = train(config, tmp_path / "split", stop_at_step=3, show_progress=False)
    assert first.stop_reason == "stop_at_step" and first.step == 3
    second = train(config, tmp_path / "split", resume=True, show_progress=False)
    assert second.step == 6
    assert first.losses + second.losses == straight.losses  # exact in fp32 on the CPU
    steps = [r["step"] for r in read_metrics(tmp_path / "split")]
    assert steps == [1, 2, 3, 4, 5, 6]


def test_max_minutes_stops_cleanly_with_a_checkpoint(tmp_path):
    result = train(tiny("schedule.max_steps=50"), tmp_path / "run", max_minutes=1e-9, show_progress=False)
    assert result.stop_reason == "max_minutes" and result.step < 50
    assert (result.checkpoint / "train_state.pt").is_file()


def test_direct_forcing_trains_only_the_output_head(tmp_path):
    config = tiny("schedule.max_steps=3", "direct_forcing.enabled=true", "direct_forcing.context_frames=5",
                  "direct_forcing.clips_max=2", "direct_forcing.curriculum_steps=1", "optim.weight_decay=0.1")
    result = train(config, tmp_path / "df", show_progress=False)
    assert result.step == 3 and all(np.isfinite(result.losses))
    torch.manual_seed(config.seed)
    initial = WorldModel(config.model).state_dict()
    trained, _, _ = load_checkpoint(result.checkpoint / "model.safetensors")
    changed = {n for n, v in trained.state_dict().items() if not torch.equal(v, initial[n])}
    assert changed and all(name.startswith("head.") for name in changed), changed


def test_direct_forcing_can_train_the_whole_model(tmp_path):
    config = tiny("schedule.max_steps=2", "direct_forcing.enabled=true", "direct_forcing.context_frames=5",
                  "direct_forcing.clips_max=2", "direct_forcing.curriculum_steps=1",
                  "direct_forcing.train_only_output=false")
    result = train(config, tmp_path / "df", show_progress=False)
    torch.manual_seed(config.seed)
    initial = WorldModel(config.model).state_dict()
    trained, _, _ = load_checkpoint(result.checkpoint / "model.safetensors")
    changed = {n.split(".")[0] for n, v in trained.state_dict().items() if not torch.equal(v, initial[n])}
    assert {"head", "layers"} <= changed, changed  # the layers that carry context learn too


def _write_dataset(directory: Path, episodes: int = 3, length: int = 20, space: ActionSpace | None = None) -> None:
    space = space or maze_action_space()
    rng = np.random.default_rng(0)
    for _ in range(episodes):
        writer = EpisodeWriter(directory, space, fps=10.0, source={"test": True})
        for t in range(length):
            frame = rng.integers(0, 256, (16, 16, 3), dtype=np.uint8)
            continuous = np.array([0.1 if t else 0.0], np.float32) if space.num_continuous else None
            writer.add(frame, discrete=int(rng.integers(space.num_discrete)) if t else 0, continuous=continuous)
        writer.close()


def test_tiny_run_on_a_recorded_dataset(tmp_path):
    _write_dataset(tmp_path / "data")
    config = tiny("schedule.max_steps=3", "data.source=dataset", f"data.dataset_dir={tmp_path / 'data'}",
                  "data.num_workers=1")
    result = train(config, tmp_path / "run", show_progress=False)
    assert result.step == 3 and all(np.isfinite(result.losses))
    _, play, _ = load_checkpoint(tmp_path / "run" / "latest.safetensors")
    assert play.dataset == str(tmp_path / "data") and play.maze is None


def test_recorded_dataset_source_resumes_at_the_same_batch(tmp_path):
    from worldsim.train.clip_sources import DatasetClipSource

    _write_dataset(tmp_path / "data", episodes=2, length=12)
    config = tiny("data.source=dataset", f"data.dataset_dir={tmp_path / 'data'}", "data.num_workers=0").data
    source = DatasetClipSource(config, torch.device("cpu"), seed=3)
    batches = [source.next_batch() for _ in range(5)]  # crosses an epoch boundary
    resumed = DatasetClipSource(config, torch.device("cpu"), seed=3)
    resumed.load_state_dict({"position": 3})
    assert torch.equal(resumed.next_batch()["frames"], batches[3]["frames"])
    assert torch.equal(resumed.next_batch()["discrete"], batches[4]["discrete"])


def test_tiny_run_on_a_dataset_with_discrete_actions_only(tmp_path):
    # e.g. an Atari recording: the clip loader yields no "continuous" key
    _write_dataset(tmp_path / "data", space=ActionSpace(discrete=("noop", "up", "down")))
    config = tiny("schedule.max_steps=2", "data.source=dataset", f"data.dataset_dir={tmp_path / 'data'}",
                  "data.num_workers=0", "model.num_discrete_actions=3", "model.num_continuous_actions=0")
    result = train(config, tmp_path / "run", show_progress=False)
    assert result.step == 2 and all(np.isfinite(result.losses))


def test_without_a_progress_bar_each_log_interval_prints_a_line_and_the_end_names_the_file_to_play(tmp_path, capsys):
    from worldsim.cli import main

    run = tmp_path / "run"
    assert main(["train", "--config", str(SMOKE), "--out", str(run), "--no-progress", "schedule.max_steps=4",
                 "logging.log_every=2", "logging.validate_every=1000"]) == 0
    lines = capsys.readouterr().out.splitlines()
    progress = [line for line in lines if line.startswith("step ") and " left" in line]
    assert [line.split()[1] for line in progress] == ["1/4", "2/4", "4/4"]
    assert "loss" in progress[0] and "elapsed" in progress[0]
    assert f"worldsim play --checkpoint {run / 'latest.safetensors'}" in lines[-1]


def test_the_first_cpu_config_is_wide_enough_to_learn_and_cheap(tmp_path):
    from worldsim.model import count_parameters
    from worldsim.train.config import validate_train_config

    first_run = Path(__file__).resolve().parents[1] / "configs" / "tiny.yaml"
    config = load_config(TrainConfig, first_run, [])
    validate_train_config(config)
    model = config.model
    # narrower than the values of one patch, the old tiny.yaml drew colour noise after 2,186 steps
    assert model.width > model.channels * model.patch_size**2
    assert config.device == "cpu" and count_parameters(WorldModel(model)) < 1_000_000
    assert config.logging.validate_at_start and config.schedule.max_steps // config.logging.validate_every >= 3
    short = load_config(TrainConfig, first_run, ["schedule.max_steps=2", "logging.validate_at_start=false",
                                                 "data.batch_size=2", "data.clip_length=4"])
    result = train(short, tmp_path / "run", show_progress=False)
    assert result.step == 2 and all(np.isfinite(result.losses))
