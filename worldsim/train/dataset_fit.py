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
    dataset's values; -> a line saying what the model got. ValueError for a chosen value that differs,
    a frame size the model cannot take, or episodes shorter than a training clip."""
    info = open_dataset(config.data.dataset_dir)
    space = info.action_space
    wanted = dict(zip(FITTED_KEYS, (info.height, info.width, space.num_discrete, space.num_continuous)))
    model = to_dict(config.model)
    chosen = {key: value for key, value in wanted.items() if model[key] != value and not explicit(f"model.{key}")}
    conflicts = {key: value for key, value in wanted.items() if model[key] != value and key not in chosen}
    if conflicts:
        raise ValueError(_conflict_message(info, model, conflicts))
    try:
        config.model = from_dict(ModelConfig, {**model, **chosen}, "model")
    except ValueError as error:
        raise ValueError(_size_message(info, config.model, error)) from error
    _check_clip_length(config, info)
    actions = f"{space.num_discrete} discrete ({', '.join(space.discrete)})" if space.num_discrete else "no discrete"
    summary = (f"dataset {info.path}: {len(info.names)} episodes of {info.height}x{info.width} frames, {actions} / "
               f"{space.num_continuous} continuous actions")
    fitted = "; model set to match: " + " ".join(f"model.{key}={value}" for key, value in chosen.items()) \
        if chosen else "; the model matches it"
    return summary + fitted + "\n" + _holdout_note(info, config.data.holdout_every)


def _holdout_note(info: DatasetInfo, every: int) -> str:
    held_out = held_out_names(info.names, every)
    if len(held_out) == len(info.names):
        raise ValueError(f"{info.path}: data.holdout_every={every} holds out all {len(info.names)} episodes, "
                         f"leaving none to train on: raise data.holdout_every (0 holds out none)")
    if held_out:
        shown = ", ".join(held_out[:3]) + (", ..." if len(held_out) > 3 else "")
        return f"validation: {len(held_out)} of {len(info.names)} episodes held out, never trained on ({shown})"
    rule = f"episodes n with (n + 1) % {every} == 0" if every else "none (data.holdout_every=0)"
    return (f"validation: no episode held out (held out: {rule}; this dataset has {len(info.names)}), so this "
            f"run will not validate; set data.holdout_every to a number <= {len(info.names)} to hold some out")


def _conflict_message(info: DatasetInfo, model: dict, conflicts: dict[str, int]) -> str:
    found = ", ".join(f"model.{key}={model[key]}" for key in conflicts)
    fix = " ".join(f"model.{key}={value}" for key, value in conflicts.items())
    message = (f"{info.path}: the dataset has {info.height}x{info.width} frames and "
               f"{info.action_space.num_discrete} discrete / {info.action_space.num_continuous} continuous actions, "
               f"but the config sets {found}. Override with {fix} (or leave these keys out of the config: they "
               f"then follow the dataset)")
    if {"image_height", "image_width"} & set(conflicts):
        message += (f", or record the dataset again at the model's size (worldsim record ... --height "
                    f"{model['image_height']} --width {model['image_width']})")
    return message


def _size_message(info: DatasetInfo, model: ModelConfig, error: ValueError) -> str:
    step_h, step_w = model.frame_multiples
    near_h, near_w = (max(step, round(size / step) * step) for size, step in ((info.height, step_h), (info.width, step_w)))
    return (f"{info.path}: the dataset's {info.height}x{info.width} frames do not fit the model ({error}): record "
            f"the dataset again at a size that fits (worldsim record ... --height {near_h} --width {near_w}), or "
            f"change model.patch_size / model.block_sizes")


def _check_clip_length(config: TrainConfig, info: DatasetInfo) -> None:
    df = config.direct_forcing
    needed = trajectory_length(config.data.clip_length, df.context_frames, df.clips_max) if df.enabled \
        else config.data.clip_length
    if max(info.lengths) < needed:
        raise ValueError(f"{info.path}: a training clip is {needed} frames but the longest episode has "
                         f"{max(info.lengths)}: set data.clip_length={max(info.lengths)} or lower, or record longer "
                         f"episodes (worldsim record --steps {needed})")
