"""The clip forward traces into one torch.compile graph: no graph break (a break costs a device sync and
splits the compiled training step; the action range check is skipped while tracing). The one exception is
pack+local's chain of squeezes, left out on purpose (below)."""

from __future__ import annotations

import pytest
import torch
import torch._dynamo

from worldsim.model import WorldModel, tiny_model_config


@pytest.mark.parametrize("overrides", [{}, {"odometry_frequencies": 4}], ids=["plain", "odometry"])
def test_forward_has_no_graph_break(overrides: dict) -> None:
    model = WorldModel(tiny_model_config(**overrides))
    frames = torch.rand(1, 3, 3, 16, 16) * 2 - 1
    explanation = torch._dynamo.explain(model)(
        frames, torch.rand(1, 3), torch.zeros(1, 3, dtype=torch.long), torch.zeros(1, 3, 2)
    )
    assert explanation.graph_break_count == 0, [b.reason for b in explanation.break_reasons]


def test_pack_compiles_around_its_squeeze_chain_and_matches_eager() -> None:
    """A clip chains one squeeze per segment (64 per layer at 256 frames); unrolled into the clip's graph
    they kept compilation going for minutes, so the chain is the only graph break: the squeeze is compiled
    on its own and reused. The compiled clip forward and its gradients are the eager ones."""
    torch.manual_seed(0)
    model = WorldModel(tiny_model_config(temporal="pack+local", depth=2))
    frames = torch.rand(1, 9, 3, 16, 16) * 2 - 1  # segments of 2: four squeezes per layer
    inputs = (frames, torch.rand(1, 9), torch.zeros(1, 9, dtype=torch.long), torch.zeros(1, 9, 2))
    explanation = torch._dynamo.explain(model)(*inputs)
    reasons = [b.reason for b in explanation.break_reasons]
    assert reasons and all("_squeeze_chain" in reason for reason in reasons), reasons

    eager = model(*inputs)
    eager.square().mean().backward()
    eager_grads = {name: p.grad.clone() for name, p in model.named_parameters() if p.grad is not None}
    model.zero_grad()
    torch._dynamo.reset()
    compiled = torch.compile(model, backend="aot_eager")(*inputs)
    compiled.square().mean().backward()
    torch.testing.assert_close(compiled, eager, rtol=1e-5, atol=1e-5)
    assert eager_grads.keys() == {name for name, p in model.named_parameters() if p.grad is not None}
    for name, p in model.named_parameters():
        if name in eager_grads:
            torch.testing.assert_close(p.grad, eager_grads[name], rtol=1e-4, atol=1e-6, msg=name)
