"""The prefetching clip source hands out exactly the wrapped source's batches and resumes exactly."""

from pathlib import Path

import pytest
import torch

from worldsim.config import load_config
from worldsim.train.clip_sources import MazeClipSource
from worldsim.train.config import TrainConfig, validate_train_config
from worldsim.train.prefetch import PrefetchingSource

CPU = torch.device("cpu")
SMOKE = Path(__file__).resolve().parent / "smoke.yaml"


def maze_source(seed: int = 3) -> MazeClipSource:
    config = load_config(TrainConfig, SMOKE, ["data.batch_size=2", "data.clip_length=4"])
    return MazeClipSource(config.data, CPU, seed)


def test_prefetched_batches_and_state_equal_the_plain_source():
    plain, prefetched = maze_source(), PrefetchingSource(maze_source(), CPU, depth=2)
    try:
        for expected_position in (1, 2, 3):
            a, b = plain.next_batch(), prefetched.next_batch()
            assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
            # the producer runs ahead, but the saved state counts only batches handed out
            assert prefetched.state_dict() == {"position": expected_position}
    finally:
        prefetched.close()


def test_resume_from_saved_state_continues_with_the_next_batch():
    first = PrefetchingSource(maze_source(), CPU)
    first.next_batch()
    state = first.state_dict()
    expected = first.next_batch()
    first.close()
    resumed = PrefetchingSource(maze_source(), CPU)
    resumed.load_state_dict(state)
    try:
        assert torch.equal(resumed.next_batch()["frames"], expected["frames"])
        with pytest.raises(RuntimeError, match="after prefetching began"):
            resumed.load_state_dict(state)
    finally:
        resumed.close()


class BrokenSource:
    action_space = None

    def next_batch(self):
        raise OSError("disk vanished")

    def state_dict(self):
        return {"position": 0}

    def load_state_dict(self, state):
        pass

    def close(self):
        pass


def test_a_failing_source_raises_in_the_training_thread_naming_the_cause():
    source = PrefetchingSource(BrokenSource(), CPU)
    with pytest.raises(RuntimeError, match="disk vanished"):
        source.next_batch()


def test_negative_prefetch_is_rejected():
    config = load_config(TrainConfig, SMOKE, ["data.prefetch_batches=-1"])
    with pytest.raises(ValueError, match="prefetch_batches"):
        validate_train_config(config)
