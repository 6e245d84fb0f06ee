"""The frame step the engine runs each tick: all Euler steps + the commit (diffusion.sampler.denoise_frame)
bound to a model and its state, optionally through torch.compile.

Compiled, the whole frame is one inductor graph with static shapes: the small elementwise kernels of every
pass (adaLN modulation, residual gates, RoPE, norms, layout copies) fuse, and the commit pass loses the
work whose result it discards (the output head). The state is written in place as in the eager step: the
graph's writes to its input tensors (functionalised by AOTAutograd) land in the same storage, which the
CUDA graph around it (engine.cuda_graph) relies on. The noise is drawn outside (sampler.frame_noise), so a
compiled frame uses exactly the random numbers of an eager one.

Compiling takes seconds to minutes (the first call); it is done once per (steps, commit noise level) and
bound to one state object, which the engine therefore resets in place.
"""

from __future__ import annotations

import sys

import torch
from torch import Tensor, nn

from worldsim.diffusion.sampler import denoise_frame
from worldsim.model.state import ModelState

COMPILE_BACKEND = "inductor"


def fixed_state(model: nn.Module) -> bool:
    """The state keeps its shapes frame after frame (temporal='full' grows its key/value cache)."""
    return getattr(model.config, "temporal", "") != "full"


class FrameStep:
    """`step(noise, commit_noise, discrete, continuous)` -> the frame (B, 3, H, W), committed to `state`.

    compiled=True runs it through torch.compile (fullgraph, static shapes, default mode: the engine captures
    its own CUDA graph around it). If compiling fails, one line on stderr says why and the step runs
    uncompiled from then on (`compiled` turns False).
    """

    def __init__(
        self, model: nn.Module, state: ModelState, steps: int, commit_noise_level: float, *,
        compiled: bool = False, backend: str | None = None,
    ) -> None:
        """backend: torch.compile's (default COMPILE_BACKEND; the CPU tests use 'aot_eager', which traces and
        functionalises like inductor without its minutes of C++ compilation)."""
        if compiled and not fixed_state(model):
            raise ValueError("FrameStep: compiled=True needs a fixed-shape state (temporal='full' grows its cache)")
        self.model, self.state = model, state
        self.steps, self.commit_noise_level = steps, commit_noise_level
        self._compiled = (
            torch.compile(self._denoise, backend=backend or COMPILE_BACKEND, fullgraph=True, dynamic=False)
            if compiled else None
        )
        self._compiled_once = False  # the first call compiles; only that call may fall back

    @property
    def compiled(self) -> bool:
        return self._compiled is not None

    def __call__(self, noise: Tensor, commit_noise: Tensor | None, discrete: Tensor | None,
                 continuous: Tensor | None) -> Tensor:
        if self._compiled is None:
            return self._denoise(noise, commit_noise, discrete, continuous)
        if self._compiled_once:
            return self._compiled(noise, commit_noise, discrete, continuous)
        try:
            frame = self._compiled(noise, commit_noise, discrete, continuous)
        except Exception as error:  # noqa: BLE001 -- any compiler failure: play uncompiled rather than not at all
            print(f"note: torch.compile of the frame step failed ({_root_cause(error)}); playing uncompiled",
                  file=sys.stderr)
            self._compiled = None
            return self._denoise(noise, commit_noise, discrete, continuous)
        self._compiled_once = True
        return frame

    def _denoise(self, noise: Tensor, commit_noise: Tensor | None, discrete: Tensor | None,
                 continuous: Tensor | None) -> Tensor:
        return denoise_frame(
            self.model, self.state, noise, commit_noise, discrete, continuous, self.steps, self.commit_noise_level
        )


def _root_cause(error: BaseException) -> str:
    """'Type: first line' of the innermost cause (dynamo wraps a backend's error in BackendCompilerFailed)."""
    while (inner := getattr(error, "inner_exception", None) or error.__cause__) is not None:
        error = inner
    first_line = (str(error).strip().splitlines() or [""])[0]
    return f"{type(error).__name__}: {first_line[:200]}"
