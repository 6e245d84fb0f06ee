"""`init_shared`: start a model of one temporal variant from another variant's weights, e.g. the shipped
`ssm+local` weights in a `local` or `pack+local` model, so that the variants are compared from one start.

Every parameter both models have under the same name and shape is loaded, a parameter only the new model has
keeps its fresh initialisation, and the source's other parameters are dropped. The adaLN modulation is the one
parameter whose shape follows the variant (3 × width rows per residual sub-layer, `sublayer_names`): it is
taken sub-layer by sub-layer, and a sub-layer the source lacks keeps its zero rows (gate 0), adding nothing
until training opens it. So a `local` and a `pack+local` model loaded from one `ssm+local` checkpoint start
out computing the same function: the source's without its scan.
"""

from __future__ import annotations

import re

import torch
from torch import nn

from worldsim.model.config import ModelConfig
from worldsim.model.layer import sublayer_names

# Model config keys read only by one part of a layer: they may differ when one of the two models lacks that part
PART_KEYS = {
    "ssm": {"scan", "block_sizes", "ssm_state", "ssm_headdim", "ssm_expand", "ssm_conv", "ssm_chunk", "ssm_backend"},
    "pack": {"pack_window", "pack_segment"},
}
_MODULATION = re.compile(r"^layers\.\d+\.modulation\.1\.(weight|bias)$")
_LAYER_PART = re.compile(r"^layers\.\d+\.([^.]+)\..+$")


def shareable_differences(source: ModelConfig, target: ModelConfig) -> set[str]:
    """The model config keys init_shared lets differ: the variant, and the settings of parts one model lacks."""
    keys = {"temporal"}
    if not (source.uses_ssm and target.uses_ssm):
        keys |= PART_KEYS["ssm"]
    if not (source.uses_pack and target.uses_pack):
        keys |= PART_KEYS["pack"]
    return keys


def shared_weights(weights: dict[str, torch.Tensor], source: ModelConfig, model: nn.Module,
                   origin: str) -> tuple[dict[str, torch.Tensor], str]:
    """`weights` of a `source` model -> (those `model` takes, a few lines saying what was loaded, what starts
    fresh and what was dropped, by parameter group). ValueError naming a parameter of another shape."""
    own = model.state_dict()
    sublayers = (sublayer_names(source), sublayer_names(model.config))
    weights = {name: _modulation_rows(value, own[name], *sublayers) if _MODULATION.match(name) and name in own
               else value for name, value in weights.items()}
    for name, value in weights.items():
        if name in own and value.shape != own[name].shape:
            raise ValueError(f"init_from {origin}: {name} has shape {tuple(value.shape)} there and "
                             f"{tuple(own[name].shape)} in this model; init_shared loads only parameters of "
                             f"the same name and shape")
    loaded = {name: value for name, value in weights.items() if name in own}
    fresh = {name: value for name, value in own.items() if name not in weights}
    dropped = {name: value for name, value in weights.items() if name not in own}
    source_rows, target_rows = sublayers
    kept_rows = [s for s in target_rows if s in source_rows]
    new_rows = [s for s in target_rows if s not in source_rows]
    lost_rows = [s for s in source_rows if s not in target_rows]
    taken = sum(value.numel() * (len(kept_rows) / len(target_rows) if _MODULATION.match(name) else 1)
                for name, value in loaded.items())  # values that come from the checkpoint
    lines = [
        f"init_from {origin}: {source.temporal} weights -> {model.config.temporal} model (init_shared)",
        f"  loaded: {len(loaded)} tensors, {taken / 1e6:.2f} M values"
        + (f" (adaLN modulation: the rows of {', '.join(kept_rows)})" if new_rows or lost_rows else ""),
        "  fresh: " + "; ".join(_groups(fresh) + [f"adaLN modulation rows of {s} (zero: {s} starts switched off)"
                                                  for s in new_rows] or ["none"]),
        "  dropped: " + "; ".join(_groups(dropped) + [f"adaLN modulation rows of {s}" for s in lost_rows]
                                  or ["none"]),
    ]
    return loaded, "\n".join(lines)


def _modulation_rows(value: torch.Tensor, own: torch.Tensor, source: list[str], target: list[str]) -> torch.Tensor:
    """A layer's adaLN modulation weight (3·n·D, D) or bias (3·n·D,) for the `source` sub-layers, rearranged
    for the `target` ones; rows of a sub-layer the source lacks are `own`'s (zero). Left alone when its rows
    do not split into the source's sub-layers (the shape check then names it)."""
    if value.shape[0] % (3 * len(source)) or value.shape[1:] != own.shape[1:]:
        return value
    rows = value.shape[0] // len(source)
    if own.shape[0] != rows * len(target):
        return value
    taken = own.clone()
    for i, name in enumerate(target):
        if name in source:
            j = source.index(name)
            taken[i * rows: (i + 1) * rows] = value[j * rows: (j + 1) * rows]
    return taken


def _groups(tensors: dict[str, torch.Tensor]) -> list[str]:
    """['layers.*.pack.* (132 tensors, 3.23 M values)', ...]: parameters grouped by part, not thousands of names."""
    groups: dict[str, list[torch.Tensor]] = {}
    for name, value in tensors.items():
        match = _LAYER_PART.match(name)
        group = f"layers.*.{match.group(1)}.*" if match else f"{name.split('.')[0]}.*"
        groups.setdefault(group, []).append(value)
    return [f"{group} ({len(values)} tensors, {sum(v.numel() for v in values) / 1e6:.2f} M values)"
            for group, values in groups.items()]
