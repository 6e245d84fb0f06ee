"""The RoPE table of frames 0 .. L-1 that the clip forward slices instead of recomputing pow/cos/sin per query
and key element: same values as frame_rotation, computed once and reused, grown for longer clips, fp32 on the
module's device whatever the model is cast to, not part of the weights, read (not computed) by a compiled
forward that keeps one graph across calls."""

from __future__ import annotations

import copy

import torch
import torch._dynamo
from torch._dynamo.utils import counters

from worldsim.model import WorldModel, tiny_model_config
from worldsim.model.rotary import FrameRotationTable, frame_rotation


def reference(frames: int, dim: int) -> tuple[torch.Tensor, torch.Tensor]:
    return frame_rotation(torch.arange(frames)[None], dim)


def test_table_equals_frame_rotation_and_is_reused_across_calls() -> None:
    table = FrameRotationTable(16, frames=64)
    first = table(10)
    for got, want in zip(first, reference(10, 16)):
        assert got.shape == (1, 10, 1, 1, 8) and got.dtype == torch.float32
        assert torch.equal(got, want)
    cos = table.cos
    again = table(7)
    assert table.cos is cos  # no new table for a shorter clip: a view of the same storage
    assert again[0].untyped_storage().data_ptr() == first[0].untyped_storage().data_ptr()


def test_a_longer_clip_grows_the_table_or_is_computed_once_without_keeping_it() -> None:
    table = FrameRotationTable(16, frames=4)
    traced = table(9, grow=False)  # as under torch.compile / CUDA-graph capture: nothing kept
    assert table.frames == 4
    grown = table(9)
    assert table.frames == 9
    for a, b, want in zip(traced, grown, reference(9, 16)):
        assert torch.equal(a, want) and torch.equal(b, want)


def test_tables_stay_fp32_follow_the_device_and_are_not_weights() -> None:
    model = WorldModel(tiny_model_config(temporal="local"))
    names = set(model.state_dict())
    assert not any("rotations" in name for name in names) and list(model.buffers()) == []  # checkpoints unchanged
    want = reference(model.rotations.frames, model.rotations.dim)
    for cast in (lambda m: m.to(torch.bfloat16), lambda m: m.double(), lambda m: copy.deepcopy(m).float()):
        cast_model = cast(model)
        for got, expected in zip((cast_model.rotations.cos, cast_model.rotations.sin), want):
            assert got.dtype == torch.float32 and torch.equal(got, expected)
    model.to("meta")  # any device the weights go to, the tables follow
    assert model.rotations.cos.device.type == "meta" and model.patch_embed.proj.weight.device.type == "meta"
    assert set(model.state_dict()) == names


def test_compiled_forward_reads_the_table_in_one_graph() -> None:
    """The table is an input of the traced graph (not recomputed in it); repeated calls reuse the graph
    (no recompile, no graph break) and give the eager outputs."""
    torch.manual_seed(0)
    model = WorldModel(tiny_model_config(temporal="local", depth=1)).eval()
    graphs: list[tuple[torch.fx.GraphModule, list]] = []

    def backend(graph: torch.fx.GraphModule, inputs: list):
        graphs.append((graph, inputs))
        return graph.forward

    torch._dynamo.reset()
    counters.clear()
    compiled = torch.compile(model, backend=backend, fullgraph=True, dynamic=False)
    frames, noise = torch.rand(1, 5, 3, 16, 16) * 2 - 1, torch.rand(1, 5)
    actions = torch.zeros(1, 5, dtype=torch.long), torch.zeros(1, 5, 2)
    with torch.no_grad():
        outputs = [compiled(frames, noise, *actions) for _ in range(3)]
        eager = model(frames, noise, *actions)
    assert len(graphs) == 1 and counters["stats"]["unique_graphs"] == 1
    table = model.rotations.cos.untyped_storage().data_ptr()
    assert any(isinstance(t, torch.Tensor) and t.untyped_storage().data_ptr() == table for t in graphs[0][1])
    assert all(torch.equal(out, eager) for out in outputs)
    torch._dynamo.reset()
