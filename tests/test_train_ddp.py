"""The 2-process (gloo, CPU) run and the 1-process run of the same global batch give the same per-step losses."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from worldsim.cli import main
from worldsim.diffusion.noise_levels import NoiseLevelConfig, SampleGenerators
from worldsim.diffusion.rectified_flow import make_flow_batch, masked_velocity_loss
from worldsim.env.maze_world import MazeConfig
from worldsim.train.clip_sources import MazeClipSource
from worldsim.train.config import DataConfig

SMOKE = Path(__file__).resolve().parent / "smoke.yaml"


@pytest.mark.slow  # two torchrun processes plus a one-process reference run
def test_two_gloo_processes_match_one_process_step_by_step(tmp_path: Path) -> None:
    code = main(["bench", "ddp-check", "--config", str(SMOKE), "--gpus", "2", "--steps", "3", "--out", str(tmp_path),
                 "--tolerance", "1e-4", "device=cpu", "data.batch_size=2", "logging.validation_clips=0"])
    result = json.loads((tmp_path / "ddp_check.json").read_text())
    assert code == 0, result
    assert len(result["single_losses"]) == len(result["distributed_losses"]) == 3
    for single, multi in zip(result["single_losses"], result["distributed_losses"], strict=True):
        assert abs(single - multi) <= 1e-4 * single


def test_rank_batches_are_rows_of_the_global_batch() -> None:
    maze = MazeConfig(size=5, num_landmarks=3, num_regions=2, height=16, width=16)
    single = MazeClipSource(DataConfig(clip_length=4, batch_size=4, maze=maze), torch.device("cpu"), seed=3)
    config_rank = DataConfig(clip_length=4, batch_size=2, maze=maze)
    ranks = [MazeClipSource(config_rank, torch.device("cpu"), seed=3, rank=r, world_size=2) for r in range(2)]
    for _ in range(2):
        whole = single.next_batch()
        parts = [source.next_batch() for source in ranks]
        for key in ("frames", "discrete", "continuous"):
            assert torch.equal(whole[key], torch.cat([p[key] for p in parts]))


def test_loss_is_a_mean_of_per_clip_terms() -> None:
    """Halves with different numbers of scored frames: the mean of the halves' losses is the whole's."""
    clean = torch.rand(4, 6, 3, 4, 4) * 2 - 1
    noise = NoiseLevelConfig(long_context_prob=1.0)
    seeds = [11, 12, 13, 14]
    context = torch.zeros(4, 6, dtype=torch.bool)
    context[0, :5] = context[2, :4] = True
    whole = make_flow_batch(clean, noise, SampleGenerators(seeds), context)
    halves = [make_flow_batch(clean[i:i + 2], noise, SampleGenerators(seeds[i:i + 2]), context[i:i + 2])
              for i in (0, 2)]
    assert torch.equal(whole.noisy, torch.cat([h.noisy for h in halves]))
    prediction = torch.zeros_like(clean)
    half_losses = [masked_velocity_loss(prediction[i:i + 2], h) for i, h in zip((0, 2), halves, strict=True)]
    torch.testing.assert_close(masked_velocity_loss(prediction, whole), sum(half_losses) / 2)
