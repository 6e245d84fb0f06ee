"""Activation checkpointing recomputes each layer in backward: same loss and gradients, fewer stored activations."""

from __future__ import annotations

import pytest
import torch
import torch._dynamo

from worldsim.diffusion.noise_levels import NoiseLevelConfig
from worldsim.diffusion.rectified_flow import flow_matching_loss
from worldsim.model import WorldModel, tiny_model_config
from worldsim.train.activation_checkpointing import enable_activation_checkpointing


def _perturbed_model(temporal: str, odometry_frequencies: int = 0) -> WorldModel:
    """Zero-initialised gates and head would give zero gradients to most parameters; perturb them all."""
    torch.manual_seed(0)
    config = tiny_model_config(temporal=temporal, depth=2, odometry_frequencies=odometry_frequencies)
    model = WorldModel(config).train()
    with torch.no_grad():
        for p in model.parameters():
            p.add_(0.1 * torch.randn_like(p))
    return model


def _loss_and_gradients(model: WorldModel) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    g = torch.Generator().manual_seed(1)
    clean = torch.rand(2, 4, 3, 16, 16, generator=g) * 2 - 1
    discrete = torch.randint(0, 5, (2, 4), generator=g)
    continuous = torch.randn(2, 4, 2, generator=g)
    loss = flow_matching_loss(model, clean, discrete, continuous, NoiseLevelConfig(), torch.Generator().manual_seed(2))
    loss.backward()
    return loss.detach(), {name: p.grad for name, p in model.named_parameters()}


@pytest.mark.parametrize(("temporal", "odometry"), [("ssm+local", 0), ("pack+local", 0), ("ssm+local", 4)])
def test_checkpointed_training_step_matches_plain(temporal: str, odometry: int) -> None:
    plain_loss, plain_grads = _loss_and_gradients(_perturbed_model(temporal, odometry))
    model = _perturbed_model(temporal, odometry)
    enable_activation_checkpointing(model)
    loss, grads = _loss_and_gradients(model)
    torch.testing.assert_close(loss, plain_loss, rtol=1e-6, atol=1e-6)
    assert sum(g.abs().sum() for g in plain_grads.values()) > 0
    for name, grad in plain_grads.items():
        torch.testing.assert_close(grads[name], grad, rtol=1e-5, atol=1e-6, msg=name)


@torch.no_grad()
def test_checkpointed_model_still_steps() -> None:
    """Play (step with a state, no gradients) runs the layers unwrapped and gives the same frames."""
    reference = _perturbed_model("ssm+local").eval()
    model = _perturbed_model("ssm+local").eval()
    enable_activation_checkpointing(model)
    frame, noise = torch.rand(1, 3, 16, 16) * 2 - 1, torch.rand(1)
    actions = torch.zeros(1, dtype=torch.long), torch.zeros(1, 2)
    expected = reference.step(frame, noise, *actions, reference.init_state(1), commit=True)
    torch.testing.assert_close(model.step(frame, noise, *actions, model.init_state(1), commit=True), expected)


def test_checkpointed_forward_has_no_graph_break() -> None:
    """Training with compile=true and activation_checkpointing=true traces the checkpointed layers whole."""
    model = _perturbed_model("ssm+local")
    enable_activation_checkpointing(model)
    frames = torch.rand(1, 3, 3, 16, 16) * 2 - 1
    explanation = torch._dynamo.explain(model)(
        frames, torch.rand(1, 3), torch.zeros(1, 3, dtype=torch.long), torch.zeros(1, 3, 2)
    )
    assert explanation.graph_break_count == 0, [b.reason for b in explanation.break_reasons]
