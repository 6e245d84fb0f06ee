"""One generated frame (all Euler steps + the commit) captured as a CUDA graph and replayed each tick.

At 64×64 the model is launch-bound: eager PyTorch spends most of a frame issuing kernels (one model step
on an H100: 18.3 ms eager, 1.7 ms replayed; benchmarks/results/model_step_h100.json). The graph reads its
inputs from static buffers and writes the state in place (WorldModel.step commits with copy_), so a replay
is exactly an eager `generate_frame` call.
Recipe from the PyTorch docs ("CUDA Graphs", whole-network capture): warm up on a side stream, capture,
then copy new inputs into the static tensors before each replay. Noise comes from the default CUDA
generator, which graphs handle (each replay advances its offset like an eager call would).
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from worldsim.diffusion.sampler import generate_frame
from worldsim.model.state import ModelState

WARMUP_CALLS = 3  # also runs any Triton autotuning before capture


def graph_capturable(model: nn.Module, device: torch.device) -> bool:
    """Fixed-shape state on a CUDA device (temporal='full' grows its cache: eager only)."""
    return device.type == "cuda" and getattr(model.config, "temporal", "") != "full"


class GraphedFrameGenerator:
    """Replays `generate_frame(model, state, discrete, continuous, steps, commit_noise_level=...)`.

    Bound to `state`'s tensors: reset them in place (never swap the state object) between sessions.
    Recapture (build a new one) when `steps` or `commit_noise_level` changes.
    """

    def __init__(
        self, model: nn.Module, state: ModelState, batch_size: int, steps: int, commit_noise_level: float
    ) -> None:
        device = state.frame_index.device
        config = model.config
        self.steps, self.commit_noise_level = steps, commit_noise_level
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
                self._generate(model, state)
        torch.cuda.current_stream(device).wait_stream(side)
        self.graph = torch.cuda.CUDAGraph()
        with torch.cuda.graph(self.graph):
            self.frame = self._generate(model, state)  # (B, 3, H, W) static output
        for tensor, saved in zip(state.tensors(), snapshot):
            tensor.copy_(saved)
        torch.cuda.set_rng_state(rng_state, device)

    def _generate(self, model: nn.Module, state: ModelState) -> Tensor:
        return generate_frame(
            model, state, self.discrete, self.continuous, self.steps, commit_noise_level=self.commit_noise_level
        )

    def __call__(self, discrete: Tensor | None, continuous: Tensor | None) -> Tensor:
        """The next frame (B, 3, H, W); the returned tensor is overwritten by the next call."""
        if self.discrete is not None:
            self.discrete.copy_(discrete)
        if self.continuous is not None:
            self.continuous.copy_(continuous)
        self.graph.replay()
        return self.frame
