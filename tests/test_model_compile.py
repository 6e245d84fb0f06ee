"""The clip forward traces into one torch.compile graph: no graph break (a break costs a device sync and
splits the compiled training step; the action range check is skipped while tracing)."""

from __future__ import annotations

import pytest
import torch
import torch._dynamo

from worldsim.model import WorldModel, tiny_model_config


# pack+local (one layer is enough to trace its path): 3 frames memorise one segment of 2 and squeeze it
@pytest.mark.parametrize(
    "overrides", [{}, {"temporal": "pack+local", "depth": 1}], ids=["ssm+local", "pack+local"]
)
def test_forward_has_no_graph_break(overrides: dict) -> None:
    model = WorldModel(tiny_model_config(**overrides))
    frames = torch.rand(1, 3, 3, 16, 16) * 2 - 1
    explanation = torch._dynamo.explain(model)(
        frames, torch.rand(1, 3), torch.zeros(1, 3, dtype=torch.long), torch.zeros(1, 3, 2)
    )
    assert explanation.graph_break_count == 0, [b.reason for b in explanation.break_reasons]
