"""data.maze_workers: the in-process maze source's batches, rendered on CPU in worker processes.

The first test to start workers also starts the forkserver (one import of torch, a few seconds on a busy
2-core machine); each later start forks from it in well under a second.
"""

from __future__ import annotations

import multiprocessing
import os
import queue
import signal
import time
from pathlib import Path

import pytest
import torch

from worldsim.config import load_config
from worldsim.env.maze_world import MazeConfig, MazeWorld
from worldsim.env.rollout import HELD_OUT_SEED_BASE
from worldsim.train import trainer
from worldsim.train.clip_sources import MazeClipSource, make_clip_source
from worldsim.train.config import DataConfig, TrainConfig, validate_train_config
from worldsim.train.maze_pools import MazePools
from worldsim.train.maze_workers import MazeWorkerSource, _hand_over
from worldsim.train.trainer import train

CPU = torch.device("cpu")
SMOKE = Path(__file__).resolve().parent / "smoke.yaml"
MAZE = MazeConfig(size=5, num_landmarks=3, num_regions=2, height=16, width=16)


def data(**changes) -> DataConfig:
    """Tiny clips; retrace and revisit/wander pools with detours, two batches per pool."""
    values = {"clip_length": 5, "batch_size": 2, "maze_pool": 2, "retrace_fraction": 0.5, "detour_prob": 0.1,
              "maze": MAZE}
    return DataConfig(**{**values, **changes})


def worker_processes() -> list[multiprocessing.Process]:
    return [p for p in multiprocessing.active_children() if p.name.startswith("maze-worker-")]


def assert_same(a: dict, b: dict) -> None:
    assert a.keys() == b.keys() and all(torch.equal(a[key], b[key]) for key in a)


def test_worker_batches_are_the_in_process_batches_and_resume_mid_pool() -> None:
    config = data(maze_workers=2)
    # rank 1 of 2 under DDP: that rank's rows of every global batch, as the in-process source renders them
    plain = MazeClipSource(config, CPU, seed=4, rank=1, world_size=2)
    expected = [plain.next_batch() for _ in range(5)]  # pools 0, 1, 2: both workers, and worker 0 again
    workers = MazeWorkerSource(config, CPU, seed=4, rank=1, world_size=2)
    try:
        for position, batch in enumerate(expected, start=1):
            assert_same(workers.next_batch(), batch)
            assert workers.state_dict() == {"position": position}
        assert [MazePools.of(config, 4, 5, 1, 2).policy(i) for i in range(3)] == ["retrace", "wander", "revisit"]
        workers.load_state_dict({"position": 3})  # mid pool 1: restarts the workers there
        assert_same(workers.next_batch(), expected[3])
    finally:
        workers.close()
    resumed = make_clip_source(data(maze_workers=1), CPU, seed=4, rank=1, world_size=2)
    assert isinstance(resumed, MazeWorkerSource)
    resumed.load_state_dict({"position": 1})
    try:
        assert_same(resumed.next_batch(), expected[1])
    finally:
        resumed.close()
    assert worker_processes() == []


def test_training_mazes_are_never_held_out_mazes(monkeypatch) -> None:
    seen: list[int] = []
    reset = MazeWorld.reset
    monkeypatch.setattr(MazeWorld, "reset", lambda world, seeds: (seen.extend(seeds), reset(world, seeds))[1])
    pools = MazePools.of(data(retrace_fraction=0.0), seed=10**9 + 7, clip_length=2)
    pools.render(pools.make_world(CPU), index=123_456)
    assert len(seen) == 4 and seen == pools.maze_seeds(123_456)
    huge = MazePools.of(data(), seed=2**40, clip_length=5, rank=3, world_size=8)
    assert all(0 <= s < HELD_OUT_SEED_BASE for i in (0, 10**6, 10**9) for s in huge.maze_seeds(i))


def test_a_worker_exception_reaches_the_trainer_with_its_traceback() -> None:
    source = MazeWorkerSource(data(clip_length=2, retrace_fraction=1.0, maze_workers=1), CPU, seed=0)
    with pytest.raises(RuntimeError, match="maze worker 0 of 1 .* failed rendering pool 0") as caught:
        source.next_batch()
    assert "memory_walks.py" in str(caught.value) and "the way back (0 frames)" in str(caught.value)
    assert worker_processes() == []


def test_a_killed_worker_is_named_with_its_exit_code() -> None:
    source = MazeWorkerSource(data(maze_pool=1, maze_workers=1), CPU, seed=0)
    source.start()
    (worker,) = worker_processes()
    os.kill(worker.pid, signal.SIGKILL)
    with pytest.raises(RuntimeError, match=rf"maze worker 0 of 1 \(pid {worker.pid}, exit code -9\)"):
        for _ in range(4):  # what it handed over before it died may still arrive
            source.next_batch()
    assert worker_processes() == []


def test_ctrl_c_leaves_workers_to_the_trainer_and_close_reaps_them() -> None:
    source = MazeWorkerSource(data(maze_workers=2), CPU, seed=0)
    source.start()
    workers = worker_processes()
    assert len(workers) == 2
    for worker in workers:
        os.kill(worker.pid, signal.SIGINT)  # what the terminal sends the whole process group
    source.next_batch()
    time.sleep(0.2)
    assert all(worker.is_alive() for worker in workers)
    source.close()
    assert worker_processes() == [] and all(worker.exitcode is not None for worker in workers)
    pids = {os.getpid(), *(worker.pid for worker in workers)}
    leftover = [name for name in os.listdir("/dev/shm") if any(name.startswith(f"torch_{pid}_") for pid in pids)]
    assert leftover == []  # torch's file_descriptor sharing unlinks at creation


def test_a_worker_stops_waiting_once_the_trainer_is_gone() -> None:
    class Gone:
        def is_alive(self) -> bool:
            return False

    full = multiprocessing.get_context("spawn").Queue(maxsize=1)
    full.put("pool 0")
    start = time.monotonic()
    assert _hand_over(full, "pool 1", multiprocessing.get_context("spawn").Event(), Gone()) is False
    assert time.monotonic() - start < 1.0
    assert full.get(timeout=1) == "pool 0"
    with pytest.raises(queue.Empty):
        full.get(timeout=0.1)


def smoke(*overrides: str) -> TrainConfig:
    return load_config(TrainConfig, SMOKE, ["logging.validate_every=1000", "logging.checkpoint_every=1000",
                                           "schedule.max_steps=4", *overrides])


def test_a_run_with_workers_resumes_and_matches_the_in_process_run(tmp_path) -> None:
    straight = train(smoke(), tmp_path / "straight", show_progress=False)
    first = train(smoke("data.maze_workers=2"), tmp_path / "split", stop_at_step=2, show_progress=False)
    assert worker_processes() == []
    second = train(smoke("data.maze_workers=1"), tmp_path / "split", resume=True, show_progress=False)
    assert first.losses + second.losses == straight.losses  # the same batches: exact in fp32 on the CPU
    assert worker_processes() == []


def test_workers_end_with_a_failing_run(tmp_path, monkeypatch) -> None:
    def fail(*args, **kwargs):
        raise ArithmeticError("step failed")

    monkeypatch.setattr(trainer, "flow_matching_loss", fail)
    with pytest.raises(ArithmeticError, match="step failed"):
        train(smoke("data.maze_workers=1"), tmp_path / "run", show_progress=False)
    assert worker_processes() == []


@pytest.mark.parametrize(("overrides", "message"), [
    (["data.maze_workers=-1"], r"data.maze_workers must be in \[0, 256\]"),
    (["data.maze_workers=2", "data.source=dataset", "data.dataset_dir=x"], "data.num_workers"),
])
def test_bad_worker_counts_are_named(overrides: list[str], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        validate_train_config(smoke(*overrides))
