"""TrainConfig: everything `worldsim train` reads from YAML (plus `key=value` overrides)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from worldsim.actions import ActionSpace
from worldsim.checkpoint import PlayBlock
from worldsim.diffusion.noise_levels import NoiseLevelConfig
from worldsim.env.maze_world import MazeConfig
from worldsim.model.config import ModelConfig
from worldsim.sampling_steps import DEFAULT_SAMPLING_STEPS, MAX_SAMPLING_STEPS

MAX_MAZE_WORKERS = 256  # processes per training process: more is a typo, not a machine


@dataclass
class DataConfig:
    """Where clips come from. `batch_size` is per process: global batch = batch_size × world size."""

    source: Literal["maze", "dataset"] = "maze"
    dataset_dir: str | None = None  # a recorded dataset (worldsim record), for source: dataset
    # source: dataset: episode n is held out for validation when (n + 1) % holdout_every == 0; 0: none
    holdout_every: int = 10
    clip_length: int = 32  # frames per training clip
    batch_size: int = 16  # clips per process and optimizer step
    num_workers: int = 2  # clip-loader worker processes (source: dataset)
    prefetch_batches: int = 1  # batches a background thread prepares ahead (worldsim.train.prefetch); 0: none
    maze: MazeConfig = field(default_factory=MazeConfig)
    revisit_fraction: float = 0.8  # share of maze batches driven by the revisiting policy, the rest wander
    # share of maze batches that walk out and retrace the way back exactly (env.memory_walks): the second half
    # of such a clip shows only views seen earlier, far outside the attention window (taken before revisit)
    retrace_fraction: float = 0.0
    # share of maze batches that turn on the spot (env.memory_walks.turning_clips): every view returns one turn
    # (26-32 frames) later, beyond the attention window (taken after retrace, before revisit)
    rotation_fraction: float = 0.0
    maze_pool: int = 1  # maze batches rendered together (one world batch of maze_pool x batch_size): faster data
    # processes rendering maze pools on CPU, one thread each (worldsim.train.maze_workers; the same batches);
    # 0: rendered in the training process, on the training device
    maze_workers: int = 0
    detour_prob: float = 0.0  # per step: start a short stand/back/strafe detour (worldsim.env.detours)
    # per step of the revisit and wander clips: start a pause of 16-96 no-op steps (standing still holds)
    pause_prob: float = 0.0


@dataclass
class DirectForcingConfig:
    """Direct Forcing (Wu et al. 2025, §4.2): condition on the model's one-step estimates, not ground truth."""

    enabled: bool = False
    context_frames: int = 17  # P: leading frames of each clip used as (estimated) context, not scored
    estimate_noise_min: float = 0.5  # x̃ comes from a copy noised at t ~ U[min, max] (paper silent)
    estimate_noise_max: float = 0.9
    clips_start: int = 1  # curriculum: chronological clips per trajectory at the first step ...
    clips_max: int = 4  # ... growing linearly to this many ...
    curriculum_steps: int = 2000  # ... over this many optimizer steps
    train_only_output: bool = True  # the paper updates only the final norm and output layer


@dataclass
class OptimConfig:
    lr: float = 3e-4
    weight_decay: float = 0.01  # on matrices only; norms, biases, embeddings, gates and bias tables are not
    beta1: float = 0.9
    beta2: float = 0.99
    grad_clip: float = 1.0  # max global grad norm; 0 disables
    ema_decay: float = 0.999


@dataclass
class ScheduleConfig:
    max_steps: int = 100_000  # optimizer steps
    warmup_steps: int = 1000  # linear warm-up from 0, then cosine decay to min_lr_ratio·lr
    min_lr_ratio: float = 0.1
    max_bad_steps: int = 20  # abort after this many consecutive steps with NaN/inf loss


@dataclass
class LoggingConfig:
    log_every: int = 50  # steps between metrics.jsonl / TensorBoard records
    checkpoint_every: int = 2000
    keep_checkpoints: int = 3  # older checkpoint directories are deleted; 0 keeps them all
    validate_every: int = 2000
    validate_at_start: bool = False  # also validate the starting weights (step 0), e.g. after init_from
    validation_clips: int = 8  # held-out maze trajectories per validation
    validation_context: int = 16  # ground-truth frames before the predicted ones
    validation_rollout: int = 16  # frames generated autoregressively from the ground-truth actions
    sampling_steps: int = DEFAULT_SAMPLING_STEPS  # Euler steps per generated frame (why 3: sampling_steps.py)
    # also retrace held-out walks (worldsim eval memory's test) at validation: memory_gain_retrace in metrics.jsonl;
    # 0 = off, else frames walked out (half as many are generated on the way back)
    memory_outbound: int = 0


@dataclass
class TrainConfig:
    model: ModelConfig = field(default_factory=ModelConfig)
    data: DataConfig = field(default_factory=DataConfig)
    noise: NoiseLevelConfig = field(default_factory=NoiseLevelConfig)
    direct_forcing: DirectForcingConfig = field(default_factory=DirectForcingConfig)
    optim: OptimConfig = field(default_factory=OptimConfig)
    schedule: ScheduleConfig = field(default_factory=ScheduleConfig)
    logging: LoggingConfig = field(default_factory=LoggingConfig)
    seed: int = 0
    device: Literal["auto", "cpu", "cuda"] = "auto"
    precision: Literal["auto", "bf16", "fp32"] = "auto"  # auto: bf16 autocast on CUDA, fp32 on CPU
    compile: bool = False  # torch.compile the training forward (CUDA only)
    activation_checkpointing: bool = False  # recompute activations in backward to save memory
    init_from: str | None = None  # start from these weights (e.g. a Direct Forcing fine-tune)
    # parameter-name globs that keep their fresh initialisation instead of init_from's values, e.g.
    # ["layers.*.ssm.dt_bias", "layers.*.ssm.A_log"] to give a trained model the scan memory of model.ssm_memory_frames
    init_fresh: list[str] = field(default_factory=list)
    # a deeper model grown from init_from's: layer i takes init_from's layer init_layers[i], -1 = a fresh layer
    # that starts as the identity (zero-initialised modulation), e.g. [0, 1, 2, -1, -1, -1, 3, 4, 5, -1, -1, -1]
    init_layers: list[int] = field(default_factory=list)
    # init_from may be another temporal variant (e.g. ssm+local weights for a local or pack+local model): every
    # parameter both have is loaded, the model's others start fresh, the rest is dropped (train/shared_weights.py)
    init_shared: bool = False


def play_block(config: TrainConfig, action_space: ActionSpace) -> PlayBlock:
    """What the run's checkpoints tell the engine and the evaluation: steps, frame size, world trained on."""
    data = config.data
    return PlayBlock(
        action_space, (config.model.image_height, config.model.image_width), config.logging.sampling_steps,
        maze=data.maze if data.source == "maze" else None,
        dataset=data.dataset_dir if data.source == "dataset" else None,
        holdout_every=data.holdout_every if data.source == "dataset" else 0,
    )


def validate_train_config(config: TrainConfig) -> None:
    """Raise ValueError naming the first inconsistent option, before any work is done."""
    data, model, df = config.data, config.model, config.direct_forcing
    config.noise.validate()
    if data.clip_length < 2:
        raise ValueError(f"data.clip_length must be >= 2, got {data.clip_length}")
    if data.batch_size < 1:
        raise ValueError(f"data.batch_size must be >= 1, got {data.batch_size}")
    if data.source == "dataset" and not data.dataset_dir:
        raise ValueError("data.source is 'dataset' but data.dataset_dir is not set "
                         "(worldsim train --data DIR)")
    if data.source == "maze" and data.dataset_dir:
        raise ValueError(f"data.dataset_dir is {data.dataset_dir!r} but data.source is 'maze', which "
                         f"ignores it: add data.source=dataset (or use worldsim train --data DIR)")
    if data.source == "maze" and (data.maze.height, data.maze.width) != (model.image_height, model.image_width):
        raise ValueError(
            f"data.maze renders {data.maze.height}x{data.maze.width} frames but model expects "
            f"{model.image_height}x{model.image_width}; set data.maze.height/width or model.image_height/width"
        )
    if data.num_workers < 0:
        raise ValueError(f"data.num_workers must be >= 0 (0: load in the training process), got {data.num_workers}")
    if config.logging.memory_outbound > 0 and data.source != "maze":
        raise ValueError("logging.memory_outbound measures memory on held-out mazes: it needs "
                         "data.source=maze (set logging.memory_outbound=0 for a dataset run)")
    if data.holdout_every < 0:
        raise ValueError(f"data.holdout_every must be >= 0 (0: hold out no episode), "
                         f"got {data.holdout_every}")
    if data.prefetch_batches < 0:
        raise ValueError(f"data.prefetch_batches must be >= 0, got {data.prefetch_batches}")
    if not 0.0 <= data.revisit_fraction <= 1.0:
        raise ValueError(f"data.revisit_fraction must be in [0, 1], got {data.revisit_fraction}")
    if not 0.0 <= data.retrace_fraction <= 1.0:
        raise ValueError(f"data.retrace_fraction must be in [0, 1], got {data.retrace_fraction}")
    if not 0.0 <= data.rotation_fraction <= 1.0 - data.retrace_fraction:
        raise ValueError(f"data.rotation_fraction must be in [0, 1 - retrace_fraction = "
                         f"{1.0 - data.retrace_fraction:g}], got {data.rotation_fraction}")
    if data.retrace_fraction and data.clip_length < 3:
        raise ValueError(f"data.retrace_fraction needs data.clip_length >= 3, got {data.clip_length}")
    if not 1 <= data.maze_pool <= 4096:
        raise ValueError(f"data.maze_pool must be in [1, 4096], got {data.maze_pool}")
    if not 0 <= data.maze_workers <= MAX_MAZE_WORKERS:
        raise ValueError(f"data.maze_workers must be in [0, {MAX_MAZE_WORKERS}] (0: render in the training "
                         f"process), got {data.maze_workers}")
    if data.maze_workers and data.source != "maze":
        raise ValueError(f"data.maze_workers={data.maze_workers} renders maze clips, but data.source is "
                         f"{data.source!r}: a dataset's loader processes are data.num_workers")
    if config.init_fresh and not config.init_from:
        raise ValueError("init_fresh names parameters to keep fresh when loading init_from, but init_from is not set")
    if config.init_layers and not config.init_from:
        raise ValueError("init_layers maps init_from's layers onto the model, but init_from is not set")
    if config.init_shared and not config.init_from:
        raise ValueError("init_shared loads the parameters init_from shares with the model, but init_from is not set")
    if config.init_shared and config.init_layers:
        raise ValueError("init_shared and init_layers cannot be combined: grow the model (init_layers) and change "
                         "its temporal variant (init_shared) in two runs")
    for name in ("detour_prob", "pause_prob"):
        if not 0.0 <= getattr(data, name) <= 1.0:
            raise ValueError(f"data.{name} must be in [0, 1], got {getattr(data, name)}")
    if df.enabled:
        if not 1 <= df.context_frames < data.clip_length:
            raise ValueError(
                f"direct_forcing.context_frames must be in [1, clip_length-1={data.clip_length - 1}], "
                f"got {df.context_frames}"
            )
        if not 0.0 <= df.estimate_noise_min <= df.estimate_noise_max <= 1.0:
            raise ValueError("direct_forcing: need 0 <= estimate_noise_min <= estimate_noise_max <= 1")
        if not 1 <= df.clips_start <= df.clips_max:
            raise ValueError("direct_forcing: need 1 <= clips_start <= clips_max")
    if config.schedule.max_steps < 1:
        raise ValueError(f"schedule.max_steps must be >= 1, got {config.schedule.max_steps}")
    if config.schedule.warmup_steps < 0:
        raise ValueError(f"schedule.warmup_steps must be >= 0, got {config.schedule.warmup_steps}")
    if not 0.0 <= config.optim.ema_decay < 1.0:
        raise ValueError(f"optim.ema_decay must be in [0, 1), got {config.optim.ema_decay}")
    if config.logging.keep_checkpoints < 0:
        raise ValueError(f"logging.keep_checkpoints must be >= 0 (0 keeps all), got {config.logging.keep_checkpoints}")
    for name in ("log_every", "checkpoint_every", "validate_every", "sampling_steps"):
        if getattr(config.logging, name) < 1:
            raise ValueError(f"logging.{name} must be >= 1, got {getattr(config.logging, name)}")
    if config.logging.sampling_steps > MAX_SAMPLING_STEPS:  # what a checkpoint may hold (checkpoint.py)
        raise ValueError(
            f"logging.sampling_steps must be <= {MAX_SAMPLING_STEPS}, got {config.logging.sampling_steps}"
        )
