"""`WorldModelEngine`: a trained checkpoint behind the `World` interface (reset / step -> frames).

reset(seed) commits real context frames (by default the first frame of built-in maze `seed`) to a fresh
model state; each step(action) then generates one frame with `steps` Euler steps and commits it.
Time and memory per step are constant for the fixed-state variants (ssm+local, local, ssm, pack+local).
On CUDA the frame step is replayed as a CUDA graph; `compile=True` also runs it through torch.compile
(engine.frame_step).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch
from torch import Tensor, nn

from worldsim.actions import ActionSpace
from worldsim.checkpoint import CheckpointError, load_checkpoint
from worldsim.device import resolve_device
from worldsim.diffusion.sampler import frame_noise
from worldsim.engine.cuda_graph import GraphedFrameGenerator, graph_capturable
from worldsim.engine.frame_step import FrameStep, fixed_state
from worldsim.engine.priming import ContextSource, context_from_paths, default_context
from worldsim.frames import to_model, to_uint8
from worldsim.model.state import ModelState
from worldsim.sampling_steps import DEFAULT_SAMPLING_STEPS, play_steps


class WorldModelEngine:
    """A batch of `batch_size` dreamed worlds. `steps` may be changed between frames.

    `commit_noise_level` < 1 (e.g. 0.9–0.98) re-noises each generated frame slightly before committing it
    to the state, so the model treats its own frames as imperfect context (the diffusion-forcing remedy for
    drift; on the shipped weights it did not raise rollout PSNR, docs/playing.md). 1.0 commits the frames
    as generated.

    `compile=True` compiles the frame step (torch.compile, inductor) for the fixed-state variants: off by
    default until its speed-up is measured (docs/playing.md); a failure to compile falls back to the
    uncompiled step with a note on stderr. Each number of steps compiles once, on its first frame.
    """

    def __init__(
        self, model: nn.Module, action_space: ActionSpace, context_source: ContextSource, *,
        batch_size: int = 1, steps: int = DEFAULT_SAMPLING_STEPS, commit_noise_level: float = 1.0,
        use_cuda_graph: bool = True, compile: bool = False,
    ) -> None:
        if batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size}")
        if not 0.0 <= commit_noise_level <= 1.0:
            raise ValueError(f"commit_noise_level must be in [0, 1], got {commit_noise_level}")
        self.model = model.eval()
        self.action_space = action_space
        self.context_source = context_source
        self.batch_size = batch_size
        self.commit_noise_level = commit_noise_level
        self.device = next(model.parameters()).device
        # CUDA runs under bf16 autocast like training (fp32 weights and SSM state): fp32 matmuls made the
        # graphed frame ~50% slower than the bf16 step benchmark (benchmarks/results/). CPU stays fp32.
        self.autocast = self.device.type == "cuda"
        self.use_cuda_graph = use_cuda_graph and graph_capturable(model, self.device)
        self.compile = compile and fixed_state(model)
        self._frame_steps: dict[tuple[int, float], FrameStep] = {}  # bound to self.state, kept across resets
        self._graph: GraphedFrameGenerator | None = None
        self.steps = steps
        self.state: ModelState | None = None
        self.generator: torch.Generator | None = None
        self.step_count = 0
        self.checkpoint_path: Path | None = None

    @classmethod
    def from_checkpoint(
        cls, path: Path | str, device: str | torch.device = "auto", steps: int | None = None, *,
        batch_size: int = 1, commit_noise_level: float = 1.0, context_source: ContextSource | None = None,
        context: Sequence[Path | str] | None = None, use_cuda_graph: bool = True, look_around: bool = False,
        compile: bool = False,
    ) -> WorldModelEngine:
        """Load `path` (a .safetensors checkpoint). reset() starts from `context_source`, else from the files
        in `context` (an episode directory or images), else from the world the checkpoint was trained on
        (priming.default_context; in the built-in maze with `look_around`, one turn on the spot after the first
        frame). `steps` defaults to the checkpoint's, capped on a CPU."""
        device = resolve_device(device)
        model, play, _ = load_checkpoint(path, device)
        if context_source is None and context:
            context_source = context_from_paths(context, play.action_space, play.frame_size)
        if context_source is None:
            try:
                context_source = default_context(play, look_around)
            except ValueError as error:  # e.g. weights of another game: say which file
                raise CheckpointError(f"{path}: {error}") from error
        engine = cls(
            model, play.action_space, context_source, batch_size=batch_size,
            steps=play_steps(device, play.sampling_steps) if steps is None else steps,
            commit_noise_level=commit_noise_level, use_cuda_graph=use_cuda_graph, compile=compile,
        )
        engine.checkpoint_path = Path(path)
        return engine

    @property
    def steps(self) -> int:
        return self._steps

    @steps.setter
    def steps(self, value: int) -> None:
        if int(value) < 1:
            raise ValueError(f"denoising steps must be >= 1, got {value}")
        self._steps = int(value)
        self._graph = None  # recaptured lazily with the new number of steps

    @property
    def image_size(self) -> tuple[int, int]:
        return int(self.model.config.image_height), int(self.model.config.image_width)

    @torch.no_grad()
    def reset(self, seed: int | Sequence[int] | None = None) -> tuple[Tensor, dict[str, Any]]:
        """Fresh state primed with the context source's frames; returns the last context frame (B, H, W, 3)."""
        seed = _single_seed(seed)
        self._fresh_state()
        self._seed_noise(seed)
        context = self.context_source.context(seed, self.batch_size)
        if tuple(context.frames.shape[2:4]) != self.image_size:
            raise ValueError(
                f"context frames are {tuple(context.frames.shape[2:4])}, the model makes {self.image_size} frames"
            )
        frames = to_model(context.frames.to(self.device))  # (B, T, 3, H, W)
        clean = torch.ones(self.batch_size, device=self.device)
        with self._precision():
            for t in range(frames.shape[1]):
                discrete = None if context.discrete is None else context.discrete[:, t].to(self.device)
                continuous = None if context.continuous is None else context.continuous[:, t].to(self.device)
                self.model.step(frames[:, t], clean, discrete, continuous, self.state, commit=True)
        self.step_count = 0
        return context.frames[:, -1].to(self.device), {"step": 0}

    @torch.no_grad()
    def step(self, discrete: Tensor | None, continuous: Tensor | None = None) -> tuple[Tensor, dict[str, Any]]:
        """discrete int64 (B,) (None: no-op), continuous float (B, C) (None: zeros) -> frames uint8 (B, H, W, 3)."""
        if self.state is None:
            raise RuntimeError("WorldModelEngine.step called before reset()")
        discrete, continuous = self._checked_actions(discrete, continuous)
        with self._precision():
            frame = self._generate(discrete, continuous)
        self.step_count += 1
        return to_uint8(frame), {"step": self.step_count}

    def _precision(self) -> torch.autocast:
        """Priming and generation run under the same autocast, so the state sees one precision."""
        return torch.autocast(self.device.type, dtype=torch.bfloat16, enabled=self.autocast)

    @property
    def compiled(self) -> bool:
        """Whether the current frame step runs compiled (False after a failed compile fell back)."""
        step = self._frame_steps.get((self.steps, self.commit_noise_level))
        return self.compile and (step is None or step.compiled)

    def _generate(self, discrete: Tensor | None, continuous: Tensor | None) -> Tensor:
        frame_step = self._frame_step()
        if self.use_cuda_graph:
            if self._graph is None:
                self._graph = GraphedFrameGenerator(frame_step, self.batch_size)
            return self._graph(discrete, continuous)
        noise, commit_noise = frame_noise(self.model, self.batch_size, self.generator, self.commit_noise_level)
        return frame_step(noise, commit_noise, discrete, continuous)

    def _frame_step(self) -> FrameStep:
        key = (self.steps, self.commit_noise_level)
        if key not in self._frame_steps:
            self._frame_steps[key] = FrameStep(self.model, self.state, *key, compiled=self.compile)
        return self._frame_steps[key]

    def hud_info(self) -> dict[str, str]:
        info = {"steps": str(self.steps), "device": self.device.type}
        if self.compile:
            info["compile"] = "on" if self.compiled else "failed"
        if self.device.type == "cuda":
            info["graph"] = "on" if self.use_cuda_graph else "off"
            info["mem"] = f"{torch.cuda.memory_allocated(self.device) / 2**20:.0f} MiB"
        return info

    def _fresh_state(self) -> None:
        """Frame steps (compiled or not) and CUDA graphs are bound to the state's tensors, so a fixed-shape
        state is zeroed in place; a growing one (temporal='full') is replaced, with its frame steps."""
        fresh = self.model.init_state(self.batch_size, self.device)
        if self.state is not None and fixed_state(self.model):
            for tensor, value in zip(self.state.tensors(), fresh.tensors()):
                tensor.copy_(value)
        else:
            self.state = fresh
            self._frame_steps.clear()

    def _seed_noise(self, seed: int) -> None:
        # CUDA graphs replay the default CUDA generator's stream; eager CPU play uses a private one.
        if self.use_cuda_graph:
            torch.cuda.manual_seed(seed)
            self.generator = None
        else:
            self.generator = torch.Generator(self.device).manual_seed(seed)

    def _checked_actions(self, discrete: Tensor | None, continuous: Tensor | None) -> tuple[Tensor | None, ...]:
        """Checked once, where they come in (host tensors: no device sync), then sent to the device."""
        discrete, continuous = self.action_space.check_batch(discrete, continuous, self.batch_size, "engine step")
        return self._upload(discrete), self._upload(continuous)

    def _upload(self, actions: Tensor | None) -> Tensor | None:
        """Host -> GPU without waiting for the frames still queued on the GPU: a plain .to() waits for the
        stream; pinned staging memory lets the copy queue behind them like the rest of the frame."""
        if actions is None or actions.device == self.device:
            return actions
        if actions.device.type == "cpu" and self.device.type == "cuda":
            return actions.pin_memory().to(self.device, non_blocking=True)
        return actions.to(self.device)


def _single_seed(seed: int | Sequence[int] | None) -> int:
    """One int seeding both the context and the noise (a sequence: its first element drives the noise)."""
    if seed is None:
        return int(torch.randint(0, 2**31 - 1, ()).item())
    if isinstance(seed, (list, tuple)):
        if not seed:
            raise ValueError("reset: empty seed sequence")
        return int(seed[0])
    return int(seed)
