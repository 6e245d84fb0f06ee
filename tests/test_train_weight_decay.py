"""AdamW's weight decay falls on the maps' matrices only: not on norms, biases, embeddings, the pack's gate
logits (decay would pull every gate towards 0.5, forgetting within a few segments) or attention bias
tables."""

from __future__ import annotations

import torch

from worldsim.model import WorldModel, tiny_model_config
from worldsim.train.config import TrainConfig
from worldsim.train.setup import make_optimizer


def test_weight_decay_skips_gates_and_bias_tables_and_keeps_matrices() -> None:
    model = WorldModel(tiny_model_config(temporal="pack+local"))
    named = list(model.named_parameters())
    optimizer = make_optimizer(named, TrainConfig(), fused=False)
    decayed = {id(p) for group in optimizer.param_groups if group["weight_decay"] > 0 for p in group["params"]}
    by_name = {name: id(p) in decayed for name, p in named}

    assert not by_name["layers.0.pack.persist"]
    assert not by_name["layers.0.pack.read.position_bias"]
    assert not by_name["layers.0.pack.squeeze.position_bias"]
    assert not any(decay for name, decay in by_name.items() if name.endswith(".bias"))
    assert by_name["layers.0.pack.read.q.weight"] and by_name["layers.0.pack.squeeze.kv.weight"]
    assert sum(len(g["params"]) for g in optimizer.param_groups) == len(named)


def test_a_decayed_step_leaves_the_gate_where_it_was() -> None:
    """With no gradient, one AdamW step moves a decayed matrix and leaves the gate logits unchanged."""
    model = WorldModel(tiny_model_config(temporal="pack+local", depth=1))
    named = list(model.named_parameters())
    config = TrainConfig()
    config.optim.weight_decay = 0.5
    optimizer = make_optimizer(named, config, fused=False)
    gate = model.layers[0].pack.persist
    matrix = model.layers[0].pack.read.q.weight
    gate_before, matrix_before = gate.detach().clone(), matrix.detach().clone()
    for p in model.parameters():
        p.grad = torch.zeros_like(p)
    optimizer.step()
    torch.testing.assert_close(gate.detach(), gate_before, rtol=0, atol=0)
    assert not torch.equal(matrix.detach(), matrix_before)
