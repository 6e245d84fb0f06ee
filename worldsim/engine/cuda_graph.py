"""One generated frame (all Euler steps + the commit) captured as a CUDA graph and replayed each tick.

At 64×64 the model is launch-bound: eager PyTorch spends most of a frame issuing kernels (one model step
on an H100: 18.3 ms eager, 1.7 ms replayed; benchmarks/results/model_step_h100.json). The graph reads its
inputs from static buffers and writes the state in place (WorldModel.step commits with copy_), so a replay
is exactly an eager `generate_frame` call. The frame step may itself be compiled (engine.frame_step): the
warm-up calls then compile and autotune it before the capture.
Recipe from the PyTorch docs ("CUDA Graphs", whole-network capture): warm up on a side stream, capture,
then copy new inputs into the static tensors before each replay. Noise comes from the default CUDA
generator, which graphs handle (each replay advances its offset like an eager call would).
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from worldsim.diffusion.sampler import frame_noise
from worldsim.engine.frame_step import FrameStep, fixed_state

WARMUP_CALLS = 3  # also runs any Triton autotuning (and torch.compile) before capture


def graph_capturable(model: nn.Module, device: torch.device) -> bool:
    """Fixed-shape state on a CUDA device (temporal='full' grows its cache: eager only)."""
    return device.type == "cuda" and fixed_state(model)


class GraphedFrameGenerator:
    """Replays `frame_noise` (default CUDA generator) + `frame_step`, i.e. `generate_frame(model, state,
    discrete, continuous, steps, commit_noise_level=...)`.

    Bound to the step's state tensors: reset them in place (never swap the state object) between sessions.
    Recapture (build a new one) when the step's `steps` or `commit_noise_level` changes.
    """

    def __init__(self, frame_step: FrameStep, batch_size: int) -> None:
        state, config = frame_step.state, frame_step.model.config
        device = state.frame_index.device
        self.frame_step, self.batch_size = frame_step, batch_size
        self.discrete = (
            torch.zeros(batch_size, dtype=torch.long, device=device) if config.num_discrete_actions else None
        )
        self.continuous = (
            torch.zeros(batch_size, config.num_continuous_actions, device=device)
            if config.num_continuous_actions else None
        )
        # Warm-up commits frames and draws noise: both are undone after capture, so the first replay
        # continues exactly where an eager call would have.
        snapshot = [tensor.clone() for tensor in state.tensors()]
        rng_state = torch.cuda.get_rng_state(device)
        side = torch.cuda.Stream(device)
        side.wait_stream(torch.cuda.current_stream(device))
        with torch.cuda.stream(side):
            for _ in range(WARMUP_CALLS):
                self._generate()
        torch.cuda.current_stream(device).wait_stream(side)
        self.graph = torch.cuda.CUDAGraph()
        with torch.cuda.graph(self.graph):
            self.frame = self._generate()  # (B, 3, H, W) static output
        for tensor, saved in zip(state.tensors(), snapshot):
            tensor.copy_(saved)
        torch.cuda.set_rng_state(rng_state, device)

    def _generate(self) -> Tensor:
        step = self.frame_step
        noise, commit_noise = frame_noise(step.model, self.batch_size, None, step.commit_noise_level)
        return step(noise, commit_noise, self.discrete, self.continuous)

    def __call__(self, discrete: Tensor | None, continuous: Tensor | None) -> Tensor:
        """The next frame (B, 3, H, W); the returned tensor is overwritten by the next call."""
        if self.discrete is not None:
            self.discrete.copy_(discrete)
        if self.continuous is not None:
            self.continuous.copy_(continuous)
        self.graph.replay()
        return self.frame
