"""The training loop: clips → diffusion-forcing loss (or Direct Forcing) → AdamW step → EMA, with logging,
validation, checkpoints and clean stops (max_minutes, SIGINT/SIGTERM, NaN guard)."""

from __future__ import annotations

import math
import time
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field
from pathlib import Path

import torch
from torch import Tensor, nn
from torch.nn.parallel import DistributedDataParallel
from tqdm import tqdm

from worldsim.checkpoint import CheckpointError
from worldsim.config import to_dict
from worldsim.diffusion.direct_forcing import direct_forcing_backward, trajectory_length
from worldsim.diffusion.noise_levels import SampleGenerators
from worldsim.diffusion.rectified_flow import flow_matching_loss
from worldsim.frames import to_model
from worldsim.train.activation_checkpointing import enable_activation_checkpointing
from worldsim.train.clip_sources import make_clip_source
from worldsim.train.config import TrainConfig, play_block, validate_train_config
from worldsim.train.distributed import ProcessInfo, all_reduce_sum, init_processes, shutdown
from worldsim.train.metrics_log import MetricsLog, progress_line
from worldsim.train.prefetch import ClipSource, PrefetchingSource
from worldsim.train.run_checkpoints import save_run_checkpoint
from worldsim.train.run_validation import RunValidator
from worldsim.train.schedules import clips_for_step, learning_rate
from worldsim.train.setup import build_run, check_clip_fits, prepare_run_dir, resolve_precision, save_config
from worldsim.train.stop_signals import install_stop_handlers, restore_handlers


class TrainingAborted(RuntimeError):
    """Training stopped on an unrecoverable condition (e.g. repeated NaN losses); the message says why."""


@dataclass
class TrainResult:
    step: int
    stop_reason: str  # "finished", "max_minutes", "signal SIGTERM", "stop_at_step"
    losses: list[float] = field(default_factory=list)  # loss of each step this process ran (NaN if skipped)
    checkpoint: Path | None = None


class _Autocast(nn.Module):
    """Calls `module` under autocast (bf16 on CUDA); backward then runs outside it, as recommended."""

    def __init__(self, module: nn.Module, dtype: torch.dtype | None, device_type: str):
        super().__init__()
        self.module, self.dtype, self.device_type = module, dtype, device_type

    def forward(self, *args: Tensor | None) -> Tensor:
        with torch.autocast(self.device_type, dtype=self.dtype, enabled=self.dtype is not None):
            return self.module(*args)


def _sample_generators(seed: int, step: int, info: ProcessInfo, batch_size: int) -> SampleGenerators:
    """Noise keyed by (seed, global sample index): rank r's row j at `step` is sample step·N·b + r·b + j,
    the same as the clip it noises (clip_sources), so a resumed run and a one-process run of the same
    global batch draw the same noise for it."""
    first = step * info.world_size * batch_size + info.rank * batch_size
    return SampleGenerators([(seed * 2**40 + g) % 2**63 for g in range(first, first + batch_size)], info.device)


def train(config: TrainConfig, out: Path, resume: bool = False, max_minutes: float | None = None,
          stop_at_step: int | None = None, show_progress: bool = True) -> TrainResult:
    validate_train_config(config)
    if config.data.source == "dataset":
        from worldsim.train.dataset_fit import fit_model_to_dataset

        fit_model_to_dataset(config)  # every key counts as chosen here: mismatches fail before `out` exists
    out = Path(out)
    info = init_processes(config.device)
    completed = False
    try:
        autocast_dtype = resolve_precision(config, info.device)
        check_clip_fits(config, info.device)
        if info.is_main:
            prepare_run_dir(out, resume)
            if info.distributed:
                print(f"{info.world_size} processes, one per device: a global batch of {info.world_size} x "
                      f"{config.data.batch_size} clips per step", flush=True)
        result = _Trainer(config, out, info, autocast_dtype).run(resume, max_minutes, stop_at_step, show_progress)
        completed = True
        return result
    finally:
        shutdown(info, completed)


class _Trainer:
    """run() = set-up, then a flat loop of one optimizer step + log/validate/checkpoint, then the last save."""

    def __init__(self, config: TrainConfig, out: Path, info: ProcessInfo, autocast_dtype: torch.dtype | None):
        self.config, self.out, self.info, self.autocast_dtype = config, out, info, autocast_dtype
        self.stop_reason: str | None = None
        self.source: ClipSource | None = None
        self.log: MetricsLog | None = None
        self.bar: tqdm | None = None

    def run(self, resume: bool, max_minutes: float | None, stop_at_step: int | None, show_progress: bool) -> TrainResult:
        previous_handlers: dict = {}
        try:
            self._set_up(resume, show_progress)
            deadline = None if max_minutes is None else time.monotonic() + 60.0 * max_minutes
            previous_handlers = install_stop_handlers(self._request_stop)
            result = TrainResult(self.step, "finished")
            if self.info.is_main and self.config.logging.validate_at_start and self.step == 0:
                self._validate()  # the curve's first point: the starting weights
            self.window_start, self.window_frames = time.perf_counter(), 0  # frames/s since the last log record
            self.started, self.first_step = time.perf_counter(), self.step  # the time left, without a bar
            self.print_log_lines = self.info.is_main and not show_progress
            while self.step < self.config.schedule.max_steps and not self._stopping(deadline, stop_at_step):
                values = self._train_step()
                result.losses.append(float("nan") if values["skipped"] else values["loss"])
                self._log_validate_checkpoint(values, result)
            result.stop_reason, result.step = self.stop_reason or "finished", self.step
            result.checkpoint = self._checkpoint()
            if self.info.is_main and self.stop_reason and show_progress:
                tqdm.write(f"stopped at step {self.step} ({self.stop_reason}); "
                           f"checkpoint saved to {result.checkpoint}")
            return result
        finally:
            self._close(previous_handlers)

    def _set_up(self, resume: bool, show_progress: bool) -> None:
        """Model, optimizer and EMA (fresh, init_from or resumed), the clip source, wrappers, logs."""
        config, info = self.config, self.info
        run = build_run(config, self.out, resume, info.device)
        if info.is_main and run.init_summary:
            print(run.init_summary, flush=True)
        self.model, self.ema, self.optimizer, self.step = run.model, run.ema, run.optimizer, run.step
        df = config.direct_forcing
        clip_length = config.data.clip_length
        source_length = trajectory_length(clip_length, df.context_frames, df.clips_max) if df.enabled else clip_length
        self.source = make_clip_source(config.data, info.device, config.seed, info.rank, info.world_size, source_length)
        if config.data.prefetch_batches > 0:
            self.source = PrefetchingSource(self.source, info.device, config.data.prefetch_batches)
        self._check_actions()
        self.bad_steps = 0  # consecutive steps with a non-finite loss or gradient
        if run.train_state is not None:
            self.source.load_state_dict(run.train_state["data"])
            self.bad_steps = int(run.train_state.get("bad_steps", 0))
        if config.activation_checkpointing:
            enable_activation_checkpointing(self.model)
        trained: nn.Module = self.model
        if info.distributed:
            trained = DistributedDataParallel(self.model, device_ids=[info.local_rank] if info.device.type == "cuda" else None)
        if config.compile:
            trained = torch.compile(trained)
        self.trained = _Autocast(trained, self.autocast_dtype, info.device.type)
        self.estimator = _Autocast(self.model, self.autocast_dtype, info.device.type)
        self.params = [p for p in self.model.parameters() if p.requires_grad]
        self.log = MetricsLog(self.out, enabled=info.is_main)
        if info.is_main:
            save_config(self.out, config)
        self.validator = RunValidator(config, info.device)
        self.bar = tqdm(total=config.schedule.max_steps, initial=self.step,
                        disable=not (info.is_main and show_progress), dynamic_ncols=True, desc="train")

    def _stopping(self, deadline: float | None, stop_at_step: int | None) -> bool:
        if stop_at_step is not None and self.step >= stop_at_step:
            self.stop_reason = "stop_at_step"
        if deadline is not None and time.monotonic() >= deadline:
            self.stop_reason = self.stop_reason or "max_minutes"
        return self._agreed_stop()

    def _train_step(self) -> dict[str, float]:
        """One optimizer step (skipped when the loss or gradient is not finite) -> its loss, lr, grad norm."""
        config, info = self.config, self.info
        lr = learning_rate(self.step, config.optim, config.schedule)
        for group in self.optimizer.param_groups:
            group["lr"] = lr
        generator = _sample_generators(config.seed, self.step, info, config.data.batch_size)
        loss, grad_norm, frames = self._forward_backward(generator)
        finite = math.isfinite(loss) and math.isfinite(grad_norm)
        if finite:
            self.optimizer.step()
            self.ema.update(self.model)
            self.bad_steps = 0
        else:
            self.bad_steps += 1
            tqdm.write(f"step {self.step}: non-finite loss/gradient (loss={loss}, grad_norm={grad_norm}); "
                       f"step skipped ({self.bad_steps} in a row)")
        self.optimizer.zero_grad(set_to_none=True)
        self.step += 1
        self.window_frames += frames * info.world_size
        if self.bad_steps >= config.schedule.max_bad_steps:
            raise TrainingAborted(
                f"{self.bad_steps} consecutive steps had a NaN/inf loss or gradient "
                f"(last at step {self.step - 1}); "
                f"lower optim.lr or check the data. The last good checkpoint is under {self.out}/checkpoints"
            )
        return {"loss": loss, "lr": lr, "grad_norm": grad_norm, "skipped": float(not finite)}

    def _log_validate_checkpoint(self, values: dict[str, float], result: TrainResult) -> None:
        logging, step = self.config.logging, self.step
        self.bar.update(1)
        if step % logging.log_every == 0 or step == 1:
            fps = self.window_frames / max(time.perf_counter() - self.window_start, 1e-9)
            self.log.write(step, {**values, "frames_per_s": fps})
            self.bar.set_postfix(loss=f"{values['loss']:.4f}", lr=f"{values['lr']:.2e}", fps=f"{fps:.0f}")
            if self.print_log_lines:
                print(progress_line(step, self.config.schedule.max_steps, step - self.first_step,
                                    time.perf_counter() - self.started, loss=values["loss"], lr=values["lr"],
                                    frames_per_s=fps), flush=True)
            self.window_start, self.window_frames = time.perf_counter(), 0
        if self.info.is_main and step % logging.validate_every == 0:
            self._validate()
        if step % logging.checkpoint_every == 0 and step < self.config.schedule.max_steps:
            result.checkpoint = self._checkpoint()

    def _close(self, previous_handlers: dict) -> None:
        if self.source is not None:
            self.source.close()  # worker processes and the prefetch thread end here (exceptions, signals, time limit)
        if self.bar is not None:
            self.bar.close()
        if self.log is not None:
            self.log.close()
        restore_handlers(previous_handlers)

    def _request_stop(self, reason: str) -> None:
        self.stop_reason = reason

    def _forward_backward(self, generator: SampleGenerators) -> tuple[float, float, int]:
        """Forward + backward of one optimizer step -> (loss, grad norm, frames trained on)."""
        config, step = self.config, self.step
        batch = self.source.next_batch()
        clean = to_model(batch["frames"])
        discrete = batch["discrete"] if config.model.num_discrete_actions else None
        continuous = batch["continuous"] if config.model.num_continuous_actions else None
        df = config.direct_forcing
        if df.enabled:
            clips = clips_for_step(step, df)
            loss = direct_forcing_backward(
                self.trained, self.estimator, clean, discrete, continuous, config.data.clip_length,
                df.context_frames, clips, config.noise, (df.estimate_noise_min, df.estimate_noise_max),
                backward=lambda value: value.backward(), generator=generator, sync=self._sync_context,
            )
            frames = clean.shape[0] * trajectory_length(config.data.clip_length, df.context_frames, clips)
        else:
            loss_tensor = flow_matching_loss(self.trained, clean, discrete, continuous, config.noise, generator)
            loss_tensor.backward()
            loss = float(loss_tensor.detach())
            frames = clean.shape[0] * clean.shape[1]
        clip = config.optim.grad_clip if config.optim.grad_clip > 0 else float("inf")
        grad_norm = float(torch.nn.utils.clip_grad_norm_(self.params, clip))
        totals = all_reduce_sum(torch.tensor([loss], dtype=torch.float64, device=self.info.device), self.info)
        return float(totals[0]) / self.info.world_size, grad_norm, frames

    def _sync_context(self, last: bool) -> AbstractContextManager:
        inner = self.trained.module
        inner = getattr(inner, "_orig_mod", inner)  # through torch.compile
        if isinstance(inner, DistributedDataParallel) and not last:
            return inner.no_sync()
        return nullcontext()

    def _agreed_stop(self) -> bool:
        """Every rank stops at the same step (a signal or deadline may reach them at different moments)."""
        flag = torch.tensor([1.0 if self.stop_reason else 0.0], device=self.info.device)
        stop = float(all_reduce_sum(flag, self.info)[0]) > 0
        if stop and not self.stop_reason:
            self.stop_reason = "another rank stopped"
        return stop

    def _check_actions(self) -> None:
        space, model = self.source.action_space, self.config.model
        if (space.num_discrete, space.num_continuous) != (model.num_discrete_actions, model.num_continuous_actions):
            raise ValueError(
                f"data has {space.num_discrete} discrete / {space.num_continuous} continuous actions but the model "
                f"expects {model.num_discrete_actions} / {model.num_continuous_actions}: set "
                f"model.num_discrete_actions={space.num_discrete} model.num_continuous_actions={space.num_continuous}"
            )

    def _validate(self) -> None:
        metrics = self.validator.metrics(self.ema.shadow, self.step, self.out / "samples", self.source.action_space)
        if metrics is not None:
            self.log.write(self.step, metrics, kind="validation")
            tqdm.write(f"step {self.step} validation: " + ", ".join(f"{k} {v:.2f}" for k, v in metrics.items()))

    def _checkpoint(self) -> Path | None:
        if not self.info.is_main:
            return None
        step = self.step
        train_state = {
            "step": step, "optimizer": self.optimizer.state_dict(), "ema": self.ema.state_dict(),
            "data": self.source.state_dict(), "bad_steps": self.bad_steps, "world_size": self.info.world_size,
        }
        metadata = {"train_config": to_dict(self.config)}
        try:
            return save_run_checkpoint(self.out, step, self.model, self.ema.shadow,
                                       play_block(self.config, self.source.action_space), train_state, metadata,
                                       self.config.logging.keep_checkpoints)
        except CheckpointError as error:  # non-finite weights: the previous checkpoint stays the latest
            raise TrainingAborted(f"step {step}: {error}; the last good checkpoint (if any) is under "
                                  f"{self.out}/checkpoints") from error
