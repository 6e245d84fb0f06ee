"""The starting weights of a fresh run taken from `init_from`: the same architecture, some parameters kept
fresh (`init_fresh`), a deeper model grown from a shallower one (`init_layers`), or a model of another
temporal variant taking the parameters both have (`init_shared`, worldsim.train.shared_weights).

Growing in depth keeps what the shallow model learned: every layer's adaLN modulation is zero-initialised,
so a fresh layer adds nothing to the residual stream (gate 0) and the grown model computes exactly what
the shallow one did until training opens its gates (the "depth up-scaling" of a trained network).
"""

from __future__ import annotations

import fnmatch
import re
from typing import Any

import torch
from torch import nn

from worldsim.checkpoint import read_checkpoint_weights
from worldsim.config import to_dict
from worldsim.model.config import INIT_ONLY_KEYS, ModelConfig
from worldsim.model.memory_pack import ADDED_PACK_PARAMETERS
from worldsim.train.config import TrainConfig
from worldsim.train.run_checkpoints import config_differences
from worldsim.train.shared_weights import shareable_differences, shared_weights

FRESH_LAYER = -1
ODOMETRY_PARAMETERS = ("odometry.*", "layers.*.ssm.pose_gain")
_LAYER_KEY = re.compile(r"^layers\.(\d+)\.(.+)$")


def architecture(model_config: dict[str, Any]) -> dict[str, Any]:
    """The model config without keys that only shape the initial weights (INIT_ONLY_KEYS)."""
    return {key: value for key, value in model_config.items() if key not in INIT_ONLY_KEYS}


def load_initial_weights(config: TrainConfig, model: nn.Module, device: torch.device) -> str | None:
    """Load `config.init_from` into the freshly built `model` (strict about everything but init_fresh and
    the fresh layers of init_layers; with init_shared, the parameters both models have); ValueError naming the
    mismatch otherwise. -> init_shared's summary of what was loaded, fresh and dropped, or the line naming
    the pack parameters a pack+local checkpoint predates (ADDED_PACK_PARAMETERS, kept fresh) and the odometry
    that weights without it gain (ODOMETRY_PARAMETERS); None otherwise."""
    fresh = (*config.init_fresh, *ADDED_PACK_PARAMETERS)  # may be absent from the file
    source, _, _, stored = read_checkpoint_weights(config.init_from, fresh)
    weights = {name: value.to(device, torch.float32) if value.is_floating_point() else value.to(device)
               for name, value in stored.items()}  # as load_checkpoint's float32 model held them
    allowed = {"depth"} if config.init_layers else set()
    if not source.odometry_frequencies:  # the model's odometry, if it has one, starts fresh and switched off
        fresh += ODOMETRY_PARAMETERS
        allowed.add("odometry_frequencies")
    if config.init_shared:
        allowed |= shareable_differences(source, config.model)
    differences = [d for d in config_differences({"model": architecture(to_dict(source))},
                                                  {"model": architecture(to_dict(config.model))})
                   if d.split(":")[0].removeprefix("model.") not in allowed]
    if differences:
        hint = ""
        if source.temporal != config.model.temporal and not config.init_shared:
            hint = (f" (to start a {config.model.temporal} model from these {source.temporal} weights, set "
                    f"init_shared=true: it loads the parameters both variants have and keeps the rest fresh)")
        raise ValueError(f"init_from {config.init_from}: model config differs: " + "; ".join(differences) + hint)
    if config.init_layers:
        weights = grown_weights(weights, source, config.model, config.init_layers)
    weights = without_fresh(weights, config.init_fresh, model)
    if config.init_shared:
        weights, summary = shared_weights(weights, source, model, config.init_from)
        model.load_state_dict(weights, strict=False)
        return summary
    missing, unexpected = model.load_state_dict(weights, strict=False)
    if unexpected:
        raise ValueError(f"init_from {config.init_from}: parameters the model does not have: {unexpected[:3]}")
    fresh_layers = {f"layers.{i}." for i, j in enumerate(config.init_layers) if j == FRESH_LAYER}
    unexplained = [name for name in missing if not name.startswith(tuple(fresh_layers))
                   and not any(fnmatch.fnmatchcase(name, p) for p in fresh)]
    if unexplained:
        raise ValueError(f"init_from {config.init_from}: no weights for {unexplained[:3]}")
    notes = []
    added = [p for p in ADDED_PACK_PARAMETERS if any(fnmatch.fnmatchcase(name, p) for name in missing)]
    if added:  # a pack+local checkpoint written before these parameters existed
        notes.append(f"init_from {config.init_from}: predates SemanticPack's persistence gate and position bias; "
                     f"fresh: {', '.join(added)} (pack_memory_frames {config.model.pack_memory_frames:g})")
    if any(fnmatch.fnmatchcase(name, p) for p in ODOMETRY_PARAMETERS for name in missing):
        notes.append(f"init_from {config.init_from}: has no odometry; fresh: {', '.join(ODOMETRY_PARAMETERS)} "
                     f"(odometry_frequencies {config.model.odometry_frequencies}, switched off at the start)")
    return "\n".join(notes) or None


def grown_weights(weights: dict[str, torch.Tensor], source: ModelConfig, target: ModelConfig,
                  layers: list[int]) -> dict[str, torch.Tensor]:
    """`weights` of the `source` model renamed for `target`: its layer i takes source layer layers[i]
    (FRESH_LAYER: none, it keeps its fresh, identity initialisation)."""
    check_layer_map(source, target, layers)
    grown = {name: value for name, value in weights.items() if not _LAYER_KEY.match(name)}
    for i, j in enumerate(layers):
        if j == FRESH_LAYER:
            continue
        for name, value in weights.items():
            match = _LAYER_KEY.match(name)
            if match and int(match.group(1)) == j:
                grown[f"layers.{i}.{match.group(2)}"] = value
    return grown


def check_layer_map(source: ModelConfig, target: ModelConfig, layers: list[int]) -> None:
    """ValueError unless `layers` gives each target layer one source layer of the same scan block (or -1),
    uses each source layer once, and keeps every source layer."""
    if len(layers) != target.depth:
        raise ValueError(f"init_layers has {len(layers)} entries but model.depth is {target.depth}: "
                         f"give one source layer (or {FRESH_LAYER} for a fresh one) per layer")
    used = [j for j in layers if j != FRESH_LAYER]
    if any(not 0 <= j < source.depth for j in used):
        raise ValueError(f"init_layers {layers}: source layers must be in [0, {source.depth - 1}] "
                         f"(init_from has {source.depth}) or {FRESH_LAYER}")
    if sorted(used) != list(range(source.depth)):
        raise ValueError(f"init_layers {layers}: use every source layer 0..{source.depth - 1} exactly once, "
                         f"in any place (a copied layer would count twice in the residual stream)")
    if used != sorted(used):
        raise ValueError(f"init_layers {layers}: keep the source layers in their order")
    for i, j in enumerate(layers):
        if j != FRESH_LAYER and target.block_size(i) != source.block_size(j):
            raise ValueError(f"init_layers {layers}: layer {i} scans {target.block_size(i)} blocks but source "
                             f"layer {j} was trained on {source.block_size(j)}: move it to a layer i with the "
                             f"same i mod {len(target.block_sizes)}")


def without_fresh(weights: dict[str, torch.Tensor], patterns: list[str], model: nn.Module) -> dict[str, torch.Tensor]:
    """`weights` minus the parameters matching any `init_fresh` glob pattern (they keep their fresh init)."""
    for pattern in patterns:
        if not any(fnmatch.fnmatchcase(name, pattern) for name in weights):
            raise ValueError(f"init_fresh: pattern {pattern!r} matches no parameter (e.g. "
                             f"{next(iter(n for n, _ in model.named_parameters()))!r})")
    return {name: value for name, value in weights.items()
            if not any(fnmatch.fnmatchcase(name, pattern) for pattern in patterns)}
