"""Memory-mapped clip loader: correct slices, uniform start positions, determinism, worker processes."""

from __future__ import annotations

from collections import Counter

import numpy as np
import pytest
import torch
from test_data_episode import write_episode

from worldsim.actions import ActionSpace
from worldsim.data.clips import ClipDataset, UniformClipSampler
from worldsim.data.dataset import DatasetError
from worldsim.data.loader import make_clip_loader


@pytest.fixture
def dataset_dir(tmp_path):
    # frame t of the episode with seed s is filled with t + s, so a clip tells where it came from
    for seed, length in ((0, 8), (100, 5), (200, 3)):
        write_episode(tmp_path, length=length, seed=seed)
    return tmp_path


def test_clip_matches_the_episode_slice(dataset_dir) -> None:
    with pytest.warns(UserWarning, match="skipping 1 of 3 episodes shorter than 4"):
        clips = ClipDataset(dataset_dir, clip_length=4)
    assert len(clips) == (8 - 4 + 1) + (5 - 4 + 1)
    clip = clips[6]  # positions 0..4 are in episode 0; 5..6 in episode 1
    assert (clip["episode"], clip["start"]) == ("episode_000001", 1)
    assert clip["frames"].shape == (4, 4, 3, 3) and clip["frames"].dtype == torch.uint8
    torch.testing.assert_close(
        clip["frames"][:, 0, 0, 0], torch.tensor([101, 102, 103, 104], dtype=torch.uint8)
    )
    torch.testing.assert_close(clip["discrete"], torch.tensor([1, 2, 0, 1]))
    assert clip["continuous"].shape == (4, 1) and clip["continuous"].dtype == torch.float32


def test_every_start_position_is_reachable_and_roughly_uniform(dataset_dir) -> None:
    clips = ClipDataset(dataset_dir, clip_length=3)
    positions = {clips.locate(i) for i in range(len(clips))}
    expected = {("episode_000000", s) for s in range(6)} | {("episode_000001", s) for s in range(3)}
    assert positions == expected | {("episode_000002", 0)}
    counts = Counter(UniformClipSampler(len(clips), 20_000, seed=0))
    assert set(counts) == set(range(len(clips)))
    assert max(counts.values()) / min(counts.values()) < 1.3  # 2000 expected per position
    with pytest.raises(IndexError):
        clips.locate(len(clips))


def test_no_episode_long_enough_is_a_clear_error(dataset_dir) -> None:
    with pytest.raises(DatasetError, match="no episode has 9 frames \\(longest: 8\\)"):
        ClipDataset(dataset_dir, clip_length=9)


def test_loader_batches_are_deterministic_given_the_seed(dataset_dir) -> None:
    def starts(seed):
        loader = make_clip_loader(dataset_dir, clip_length=3, batch_size=4, num_workers=0, seed=seed)
        return [(tuple(b["episode"]), b["start"].tolist()) for b in loader]

    assert starts(1) == starts(1)
    assert starts(1) != starts(2)


def test_loader_with_worker_processes_returns_the_same_batches(dataset_dir) -> None:
    kwargs = {"clip_length": 3, "batch_size": 4, "seed": 5, "clips_per_epoch": 10}
    single = list(make_clip_loader(dataset_dir, num_workers=0, **kwargs))
    multi = list(make_clip_loader(dataset_dir, num_workers=2, **kwargs))
    assert len(single) == len(multi) == 3  # 10 clips rounded up to whole batches of 4
    for a, b in zip(single, multi):
        assert a["frames"].shape == (4, 3, 4, 3, 3)
        torch.testing.assert_close(a["frames"], b["frames"])
        torch.testing.assert_close(a["discrete"], b["discrete"])
    first = single[0]
    for frames, start, name in zip(first["frames"], first["start"], first["episode"]):
        offset = {"episode_000000": 0, "episode_000001": 100, "episode_000002": 200}[name]
        np.testing.assert_array_equal(frames[:, 0, 0, 0].numpy(), offset + int(start) + np.arange(3))


def test_discrete_only_dataset_has_no_continuous_key(tmp_path) -> None:
    write_episode(tmp_path, length=5, space=ActionSpace(discrete=("noop", "fire", "down")))
    batch = next(iter(make_clip_loader(tmp_path, clip_length=2, batch_size=2, seed=0)))
    assert "continuous" not in batch and batch["discrete"].shape == (2, 2)
