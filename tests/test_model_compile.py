"""The clip forward traces into one torch.compile graph: no graph break (a break costs a device sync and
splits the compiled training step; the action range check is skipped while tracing)."""

from __future__ import annotations

import torch
import torch._dynamo

from worldsim.model import WorldModel, tiny_model_config


def test_forward_has_no_graph_break() -> None:
    model = WorldModel(tiny_model_config())
    frames = torch.rand(1, 3, 3, 16, 16) * 2 - 1
    explanation = torch._dynamo.explain(model)(
        frames, torch.rand(1, 3), torch.zeros(1, 3, dtype=torch.long), torch.zeros(1, 3, 2)
    )
    assert explanation.graph_break_count == 0, [b.reason for b in explanation.break_reasons]
