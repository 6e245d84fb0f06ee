"""Generate the next training batch while the current one trains.

Measured on one H200 (benchmarks/results/train_throughput_h200x2.json): the default config's optimizer
step runs at 3,300 frames/s and the on-GPU maze source at 3,700 frames/s, so run one after the other they
reach ~1,750 frames/s. The maze source is mostly CPU work (layout generation, policy decisions, kernel
launches; PyTorch releases the GIL inside its ops), so a producer thread with its own CUDA stream hides
most of it behind the GPU's training kernels.

Clips are pure functions of (seed, global sample index), so prefetching changes no batch; the state this
wrapper saves is the wrapped source's state after the last batch *handed out*, so resume stays exact.
"""

from __future__ import annotations

import queue
import threading
from contextlib import nullcontext
from typing import Any, Protocol

import torch

from worldsim.actions import ActionSpace
from worldsim.env.rollout import Batch


class ClipSource(Protocol):
    action_space: ActionSpace

    def next_batch(self) -> Batch: ...
    def state_dict(self) -> dict[str, Any]: ...
    def load_state_dict(self, state: dict[str, Any]) -> None: ...
    def close(self) -> None: ...


class PrefetchingSource:
    """Wraps a clip source; a daemon thread keeps up to `depth` batches ready (started on first use)."""

    def __init__(self, source: ClipSource, device: torch.device, depth: int = 1):
        if depth < 1:
            raise ValueError(f"data.prefetch_batches must be >= 1 to prefetch, got {depth}")
        self.source, self.device, self.depth = source, device, depth
        self._state = source.state_dict()
        self._queue: queue.Queue | None = None
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()

    @property
    def action_space(self) -> ActionSpace:
        return self.source.action_space

    def next_batch(self) -> Batch:
        if self._thread is None:
            self._start()
        kind, payload, state = self._queue.get()
        if kind == "error":
            self.close()
            raise RuntimeError(f"the training data source failed: {payload}") from payload
        if self.device.type == "cuda":
            # tensors made on the producer's stream: the allocator must not reuse them while ours reads
            for tensor in payload.values():
                tensor.record_stream(torch.cuda.current_stream(self.device))
        self._state = state
        return payload

    def state_dict(self) -> dict[str, Any]:
        return dict(self._state)

    def load_state_dict(self, state: dict[str, Any]) -> None:
        if self._thread is not None:
            raise RuntimeError("load_state_dict after prefetching began: the queued batches would be stale")
        self.source.load_state_dict(state)
        self._state = self.source.state_dict()

    def close(self) -> None:
        """Stop the thread (it finishes the batch it is making), then the wrapped source."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=60)
        self.source.close()

    def _start(self) -> None:
        self._queue = queue.Queue(maxsize=self.depth)
        self._thread = threading.Thread(target=self._produce, name="clip-prefetch", daemon=True)
        self._thread.start()

    def _produce(self) -> None:
        stream = torch.cuda.Stream(self.device) if self.device.type == "cuda" else None
        while not self._stop.is_set():
            try:
                with torch.cuda.stream(stream) if stream is not None else nullcontext():
                    batch = self.source.next_batch()
                if stream is not None:
                    stream.synchronize()  # the batch is complete before the trainer's stream reads it
                item = ("batch", batch, self.source.state_dict())
            except Exception as error:  # noqa: BLE001 — re-raised in the training thread
                item = ("error", error, None)
            while not self._stop.is_set():
                try:
                    self._queue.put(item, timeout=0.5)
                    break
                except queue.Full:
                    continue
            if item[0] == "error":
                return
