"""A dataset run's model follows its data: frame size and action counts come from the episodes' meta.json
unless the config sets them, and then a mismatch is one error naming the overrides, raised before the
run directory exists (a wrong shape would otherwise fail at step 0 with a bare tensor error)."""

from __future__ import annotations

from collections.abc import Callable

from worldsim.config import from_dict, to_dict
from worldsim.data.dataset import DatasetInfo, open_dataset
from worldsim.data.holdout import held_out_names
from worldsim.diffusion.direct_forcing import trajectory_length
from worldsim.model.config import ModelConfig
from worldsim.train.config import TrainConfig

FITTED_KEYS = ("image_height", "image_width", "num_discrete_actions", "num_continuous_actions")


def fit_model_to_dataset(config: TrainConfig, explicit: Callable[[str], bool] = lambda key: True) -> str:
    """Set config.model's FITTED_KEYS that `explicit("model.<key>")` says were not chosen by the user to the
    dataset's values; -> lines saying what the model got and which episodes are held out. ValueError for
    a chosen value that differs, a frame size the model cannot take, or episodes shorter than a clip."""
    info = open_dataset(config.data.dataset_dir)
    space = info.action_space
    wanted = dict(zip(FITTED_KEYS, (info.height, info.width, space.num_discrete, space.num_continuous)))
    model = to_dict(config.model)
    differing = {key: value for key, value in wanted.items() if model[key] != value}
    chosen = {key: value for key, value in differing.items() if not explicit(f"model.{key}")}
    conflicts = {key: value for key, value in differing.items() if key not in chosen}
    if conflicts:
        raise ValueError(_conflict_message(info, model, conflicts))
    try:
        config.model = from_dict(ModelConfig, {**model, **chosen}, "model")
    except ValueError as error:
        raise ValueError(_size_message(info, config.model, error)) from error
    _check_clip_length(config, info)
    names = f" ({', '.join(space.discrete)})" if space.num_discrete else ""
    summary = (f"dataset {info.path}: {len(info.names)} episodes of {info.height}x{info.width} frames, "
               f"{space.num_discrete} discrete{names} / {space.num_continuous} continuous actions")
    settings = " ".join(f"model.{key}={value}" for key, value in chosen.items())
    fitted = f"; model set to match: {settings}" if chosen else "; the model matches it"
    return summary + fitted + "\n" + _holdout_note(info, config.data.holdout_every)


def _holdout_note(info: DatasetInfo, every: int) -> str:
    held_out, total = held_out_names(info.names, every), len(info.names)
    if len(held_out) == total:
        raise ValueError(f"{info.path}: data.holdout_every={every} holds out all {total} episodes, leaving "
                         f"none to train on: raise data.holdout_every (0 holds out none)")
    if held_out:
        shown = ", ".join(held_out[:3]) + (", ..." if len(held_out) > 3 else "")
        return f"validation: {len(held_out)} of {total} episodes held out, never trained on ({shown})"
    rule = f"episodes n with (n + 1) % {every} == 0" if every else "none (data.holdout_every=0)"
    return (f"validation: no episode held out (held out: {rule}; this dataset has {total}), so this run "
            f"will not validate; set data.holdout_every to a number <= {total} to hold some out")


def _conflict_message(info: DatasetInfo, model: dict, conflicts: dict[str, int]) -> str:
    space = info.action_space
    found = ", ".join(f"model.{key}={model[key]}" for key in conflicts)
    fix = " ".join(f"model.{key}={value}" for key, value in conflicts.items())
    message = (f"{info.path}: the dataset has {info.height}x{info.width} frames and {space.num_discrete} "
               f"discrete / {space.num_continuous} continuous actions, but the config sets {found}. Override "
               f"with {fix} (or leave these keys out of the config: they then follow the dataset)")
    if {"image_height", "image_width"} & set(conflicts):
        message += (f", or record the dataset again at the model's size (worldsim record ... --height "
                    f"{model['image_height']} --width {model['image_width']})")
    return message


def _size_message(info: DatasetInfo, model: ModelConfig, error: ValueError) -> str:
    steps = zip((info.height, info.width), model.frame_multiples)
    near_h, near_w = (max(step, round(size / step) * step) for size, step in steps)
    return (f"{info.path}: the dataset's {info.height}x{info.width} frames do not fit the model ({error}): "
            f"record the dataset again at a size that fits (worldsim record ... --height {near_h} --width "
            f"{near_w}), or change model.patch_size / model.block_sizes")


def _check_clip_length(config: TrainConfig, info: DatasetInfo) -> None:
    df, longest = config.direct_forcing, max(info.lengths)
    needed = config.data.clip_length
    if df.enabled:
        needed = trajectory_length(config.data.clip_length, df.context_frames, df.clips_max)
    if longest < needed:
        raise ValueError(f"{info.path}: a training clip is {needed} frames but the longest episode has "
                         f"{longest}: set data.clip_length={longest} or lower, or record longer episodes "
                         f"(worldsim record --steps {needed})")
