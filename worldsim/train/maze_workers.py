"""Maze training clips rendered on CPU in worker processes (data.maze_workers = N > 0).

The in-process maze source renders on the training device from the training process, and its Python work
(layouts, policy decisions, launches) competes with the training step's. Here N processes render pools
(maze_pools) on CPU, one thread each: worker k renders pools s + k, s + k + N, ... from the start pool s,
and the trainer takes pool i from worker (i − s) mod N. A pool is a pure function of its index, so the
batches, their order and the position saved for resume are the in-process source's, whatever N.

A finished pool — frames uint8 (P·b, T, H, W, 3), discrete (P·b, T), continuous (P·b, T, C) — crosses
through a torch.multiprocessing queue: its tensors move to shared memory passed as file descriptors
(torch's file_descriptor strategy unlinks the memory at creation, so none is left behind when any process
dies). The trainer copies each batch to pinned memory and on to the GPU without blocking.

Processes come from a forkserver: unlike fork, safe after CUDA is initialised, and unlike spawn cheap after
the first start (the server imported torch and this module once). Workers ignore SIGINT (Ctrl-C reaches
the whole process group; the trainer decides when to stop, then calls close()), and stop by themselves
when the trainer is gone. A worker's exception reaches the trainer with its traceback; a worker that dies
without one (killed, out of memory) is named with its exit code.
"""

from __future__ import annotations

import multiprocessing
import queue
import signal
import traceback
import weakref
from multiprocessing.connection import wait
from typing import TYPE_CHECKING, Any

import torch
import torch.multiprocessing  # registers the reductions that share tensors' memory

from worldsim.actions import ActionSpace, maze_action_space
from worldsim.env.rollout import Batch
from worldsim.train.maze_pools import MazePools

if TYPE_CHECKING:  # not imported at run time: the forkserver and workers need only torch and worldsim.env
    from worldsim.train.config import DataConfig

POLL_SECONDS = 0.2  # how often a waiting side checks that the other one is still there
LAST_WORDS_SECONDS = 1.0  # after a worker exits: how long its last message (or exit code) may take to arrive


class MazeWorkerSource:
    """The in-process maze source's batches, rendered by `config.maze_workers` processes (started on first use)."""

    def __init__(self, config: DataConfig, device: torch.device, seed: int, rank: int = 0, world_size: int = 1,
                 clip_length: int | None = None):
        self.config, self.device = config, device
        self.pools = MazePools.of(config, seed, clip_length or config.clip_length, rank, world_size)
        self.position = 0
        self._workers: _Workers | None = None
        self._pool: tuple[int, Batch] | None = None  # (pool index, the pool as received)

    @property
    def action_space(self) -> ActionSpace:
        return maze_action_space(self.config.maze.continuous_yaw)

    def start(self) -> None:
        """Start the workers at the current position and wait until each has built its world."""
        if self._workers is None:
            self._workers = _Workers(self.pools, self.config.maze_workers, self.position // self.config.maze_pool)

    def next_batch(self) -> Batch:
        self.start()
        index, offset = divmod(self.position, self.config.maze_pool)
        if self._pool is None or self._pool[0] != index:
            self._pool = None  # its memory goes back before the next pool arrives
            self._pool = (index, self._workers.receive(index))
        self.position += 1
        batch = self.pools.batch(self._pool[1], offset)
        if self.device.type != "cuda":
            return batch
        return {key: value.pin_memory().to(self.device, non_blocking=True) for key, value in batch.items()}

    def state_dict(self) -> dict[str, Any]:
        return {"position": self.position}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.close()  # running workers render from the old position
        self.position = int(state["position"])

    def close(self) -> None:
        """Stop and join the workers (safe to call again, and while another thread waits for a pool)."""
        workers, self._workers, self._pool = self._workers, None, None
        if workers is not None:
            workers.close()


class _Workers:
    """`count` processes; worker k renders pools first + k, first + k + count, ..."""

    def __init__(self, pools: MazePools, count: int, first: int):
        context = multiprocessing.get_context("forkserver")
        context.set_forkserver_preload([__name__])  # takes effect when the server starts (the first time)
        self.first, self.count = first, count
        self.stop = context.Event()
        self.queues = [context.Queue(maxsize=1) for _ in range(count)]  # one pool waits while the next renders
        self.processes = [
            context.Process(target=_work, args=(pools, first + k, count, self.queues[k], self.stop),
                            name=f"maze-worker-{k}", daemon=True)
            for k in range(count)
        ]
        self._finalizer = weakref.finalize(self, _shut_down, self.processes, self.queues, self.stop)
        for process in self.processes:
            process.start()
        for k in range(count):
            self._expect(k, "ready", None)

    def receive(self, index: int) -> Batch:
        """Pool `index` (>= first), from the worker that renders it; call in increasing index order."""
        return self._expect((index - self.first) % self.count, "pool", index)

    def close(self) -> None:
        self._finalizer()

    def _expect(self, k: int, kind: str, index: int | None) -> Any:
        got_kind, got_index, payload = self._get(k)
        if got_kind == "error":
            self.close()
            where = "starting" if got_index is None else f"rendering pool {got_index}"
            raise RuntimeError(f"maze worker {k} of {self.count} (data.maze_workers) failed {where}; "
                               f"its traceback:\n{payload}")
        if (got_kind, got_index) != (kind, index):
            self.close()
            raise RuntimeError(f"maze worker {k} sent {got_kind} {got_index}, expected {kind} {index}")
        return payload

    def _get(self, k: int) -> tuple[str, int | None, Any]:
        process, source = self.processes[k], self.queues[k]
        while not self.stop.is_set():
            try:
                try:
                    return source.get(timeout=POLL_SECONDS)
                except queue.Empty:
                    pass
                if wait([process.sentinel], timeout=0):  # exited; its last message may still be in the pipe
                    try:
                        return source.get(timeout=LAST_WORDS_SECONDS)
                    except queue.Empty:
                        raise self._lost(k, "exited without a message") from None
            except (OSError, EOFError) as error:  # the pool's shared memory went with a dying worker
                raise self._lost(k, f"failed to hand over a pool ({error!r})") from error
        raise RuntimeError("the maze workers were closed while the trainer waited for a pool")

    def _lost(self, k: int, how: str) -> RuntimeError:
        process = self.processes[k]
        process.join(LAST_WORDS_SECONDS)  # a dying worker's exit code, before close() terminates a live one
        code = process.exitcode
        self.close()
        return RuntimeError(
            f"maze worker {k} of {self.count} (pid {process.pid}, exit code {code}) {how}: killed or crashed "
            f"(out of memory or of /dev/shm? each worker holds up to two pools: lower data.maze_workers or "
            f"data.maze_pool, or give a container more shared memory)")


def _shut_down(processes: list, queues: list, stop: Any) -> None:
    """Stop every worker now (a pool half rendered is worth nothing) and reap it: no zombie, no orphan."""
    stop.set()
    for process in processes:
        if process.pid is not None and process.exitcode is None:
            process.terminate()
    for process in processes:
        if process.pid is not None:
            process.join(timeout=5)
            if process.exitcode is None:
                process.kill()
                process.join()
    for pipe in queues:
        pipe.cancel_join_thread()  # what is still buffered for a dead reader is dropped, not waited on
        pipe.close()


def _work(pools: MazePools, first: int, stride: int, output: Any, stop: Any) -> None:
    """A worker process: render pools first, first + stride, ... on CPU and hand each one over, until stopped."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    torch.set_num_threads(1)
    trainer = multiprocessing.parent_process()
    index = None
    try:
        world = pools.make_world("cpu")
        if not _hand_over(output, ("ready", None, None), stop, trainer):
            return
        index = first
        while True:
            pool = pools.render(world, index)
            for tensor in pool.values():
                tensor.share_memory_()  # here, not in the queue's feeder thread: a full /dev/shm raises here
            if not _hand_over(output, ("pool", index, pool), stop, trainer):
                return
            index += stride
    except Exception:  # noqa: BLE001 — re-raised in the trainer with this traceback
        _hand_over(output, ("error", index, traceback.format_exc()), stop, trainer)


def _hand_over(output: Any, item: tuple, stop: Any, trainer: Any) -> bool:
    """Put `item` on the queue, waiting while it is full; False once stopped or the trainer (a process
    handle, None: no parent to watch) is gone."""
    while not stop.is_set() and (trainer is None or trainer.is_alive()):
        try:
            output.put(item, timeout=POLL_SECONDS)
            return True
        except queue.Full:
            pass
    output.cancel_join_thread()  # nobody will read what is still buffered: exit without flushing it
    return False
