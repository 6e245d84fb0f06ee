"""GPU checks (run on the GPU machine: pytest -m cuda tests/test_model_cuda.py).

Tolerances are relative L2 errors ||a - b|| / ||b||: the Triton kernels use tf32/bf16 dot products, so
fp32 inputs agree to ~1e-3 and bf16 inputs to a few 1e-3 (mamba-ssm notes); we allow 1e-2 and 3e-2.
"""

import pytest
import torch

from worldsim.bench.model_step import graph_step
from worldsim.model import ModelConfig, WorldModel, ssd_scan, tiny_model_config, triton_available

pytestmark = pytest.mark.cuda
needs_triton = pytest.mark.skipif(not triton_available(), reason="mamba-ssm Triton kernels not importable")


def rel_error(a: torch.Tensor, b: torch.Tensor) -> float:
    return float((a.float() - b.float()).norm() / b.float().norm().clamp_min(1e-12))


def random_model(config: ModelConfig, seed: int = 0) -> WorldModel:
    torch.manual_seed(seed)
    model = WorldModel(config)
    with torch.no_grad():
        for p in model.parameters():
            p.add_(0.05 * torch.randn_like(p))
    return model.cuda()


def scan_inputs(dtype: torch.dtype, length: int = 300):
    g = torch.Generator(device="cuda").manual_seed(0)
    batch, heads, headdim, state = 2, 8, 64, 32
    rand = lambda *s: torch.randn(*s, device="cuda", generator=g)
    inputs = {
        "x": rand(batch, length, heads, headdim).to(dtype),
        "dt": torch.nn.functional.softplus(rand(batch, length, heads) - 3),
        "A": -torch.rand(heads, device="cuda", generator=g) * 4 - 0.5,
        "B": rand(batch, length, 1, state).to(dtype), "C": rand(batch, length, 1, state).to(dtype),
        "D": torch.ones(heads, device="cuda"),
        "initial_state": rand(batch, heads, headdim, state),
    }
    return {k: v.requires_grad_(True) for k, v in inputs.items()}


@needs_triton
@pytest.mark.parametrize("dtype,tolerance", [(torch.float32, 1e-2), (torch.bfloat16, 3e-2)])
def test_triton_scan_matches_torch_scan_forward_and_backward(dtype, tolerance):
    results = {}
    for backend in ("torch", "triton"):
        inputs = scan_inputs(dtype)
        y, final = ssd_scan(**{k: inputs[k] for k in ("x", "dt", "A", "B", "C", "D", "initial_state")},
                            chunk_size=64, backend=backend)
        assert final.dtype == torch.float32
        (y.float().square().mean() + final.square().mean()).backward()
        results[backend] = (y, final, {k: v.grad for k, v in inputs.items()})
    (y_t, f_t, g_t), (y_k, f_k, g_k) = results["torch"], results["triton"]
    assert rel_error(y_k, y_t) < tolerance
    assert rel_error(f_k, f_t) < tolerance
    for name in g_t:
        assert rel_error(g_k[name], g_t[name]) < tolerance, name
    assert g_k["initial_state"].abs().sum() > 0


@needs_triton
@pytest.mark.parametrize("odometry", [0, 8])  # 8: the scans' state grows by 32 pose-key dimensions (to 48)
def test_model_backends_agree_forward_and_backward(odometry):
    config = tiny_model_config(image_height=32, image_width=32, width=64, ssm_headdim=16, ssm_chunk=32, ssm_state=16,
                               block_sizes=[(8, 8), (4, 4), (2, 2)], odometry_frequencies=odometry)
    grads, outs = {}, {}
    for backend in ("torch", "triton"):
        model = random_model(config)
        for module in model.modules():
            if hasattr(module, "backend"):
                module.backend = backend
        g = torch.Generator(device="cuda").manual_seed(1)
        frames = torch.rand(2, 6, 3, 32, 32, device="cuda", generator=g) * 2 - 1
        noise = torch.rand(2, 6, device="cuda", generator=g)
        discrete = torch.randint(0, 5, (2, 6), device="cuda", generator=g)
        out = model(frames, noise, discrete, torch.randn(2, 6, 2, device="cuda", generator=g))
        out.square().mean().backward()
        outs[backend] = out
        grads[backend] = {n: p.grad for n, p in model.named_parameters() if p.grad is not None}
    assert rel_error(outs["triton"], outs["torch"]) < 1e-2
    for name, grad in grads["torch"].items():
        assert rel_error(grads["triton"][name], grad) < 3e-2, name


@pytest.mark.parametrize(("temporal", "odometry"), [("ssm+local", 0), ("full", 0), ("pack+local", 0), ("ssm+local", 8)])
@torch.no_grad()
def test_step_matches_forward_under_bf16_autocast(temporal, odometry):
    config = ModelConfig(temporal=temporal, depth=4, odometry_frequencies=odometry)
    model = random_model(config).eval()
    g = torch.Generator(device="cuda").manual_seed(2)
    frames = torch.rand(1, 8, 3, 64, 64, device="cuda", generator=g) * 2 - 1
    noise = torch.rand(1, 8, device="cuda", generator=g)
    discrete = torch.randint(0, 9, (1, 8), device="cuda", generator=g)
    continuous = torch.randn(1, 8, 1, device="cuda", generator=g)
    with torch.autocast("cuda", dtype=torch.bfloat16):
        clip_out = model(frames, noise, discrete, continuous)
        state = model.init_state(1)
        steps = [model.step(frames[:, t], noise[:, t], discrete[:, t], continuous[:, t], state, commit=True)
                 for t in range(8)]
    # bf16 matmuls in different shapes (clip vs frame) round differently; 3% relative L2 is bf16 noise here
    assert rel_error(torch.stack(steps, dim=1), clip_out) < 3e-2


@pytest.mark.parametrize(("temporal", "odometry"), [("ssm+local", 0), ("pack+local", 0), ("ssm+local", 8)])
@torch.no_grad()
def test_cuda_graph_replay_matches_eager(temporal, odometry):
    # 9 committed frames: pack+local rewrites its pack twice (segments of 4)
    model = random_model(ModelConfig(temporal=temporal, depth=2, odometry_frequencies=odometry)).eval()
    inputs = (torch.rand(1, 3, 64, 64, device="cuda") * 2 - 1, torch.rand(1, device="cuda"),
              torch.ones(1, dtype=torch.long, device="cuda"), torch.zeros(1, 1, device="cuda"))
    graph_state, eager_state = model.init_state(1), model.init_state(1)
    replay, graph_out = graph_step(model, inputs, graph_state, commit=True)
    for t in range(9):
        inputs[0].copy_(torch.rand_like(inputs[0]) * 2 - 1)
        replay()
        eager = model.step(*inputs, eager_state, commit=True)
        torch.testing.assert_close(graph_out, eager, rtol=1e-4, atol=1e-4)
    assert int(graph_state.frame_index) == int(eager_state.frame_index) == 9


@pytest.mark.parametrize("temporal", ["ssm+local", "pack+local"])
@torch.no_grad()
def test_memory_constant_over_2000_frames(temporal):
    model = random_model(ModelConfig(temporal=temporal)).to(torch.bfloat16).eval()
    inputs = (torch.zeros(1, 3, 64, 64, device="cuda", dtype=torch.bfloat16), torch.ones(1, device="cuda"),
              torch.zeros(1, dtype=torch.long, device="cuda"), torch.zeros(1, 1, device="cuda"))
    state = model.init_state(1)
    assert temporal != "ssm+local" or state.layers[0].ssm.dtype == torch.float32
    allocated = {}
    for frame in range(1, 2001):
        model.step(*inputs, state, commit=True)
        if frame in (100, 2000):
            torch.cuda.synchronize()
            allocated[frame] = torch.cuda.memory_allocated()
    assert allocated[100] == allocated[2000]


@needs_triton
def test_compiled_clip_forward_and_backward_is_one_graph_on_the_triton_scan():
    """The Triton scan is a torch.library op: the compiled training forward has no graph break (fullgraph),
    where mamba's autograd.Function broke it at every scan and left the layer loops uncompiled."""
    config = tiny_model_config(image_height=32, image_width=32, width=64, ssm_headdim=16, ssm_chunk=32, ssm_state=16,
                               block_sizes=[(8, 8), (4, 4), (2, 2)], ssm_backend="triton")
    g = torch.Generator(device="cuda").manual_seed(1)
    args = (torch.rand(2, 6, 3, 32, 32, device="cuda", generator=g) * 2 - 1, torch.rand(2, 6, device="cuda", generator=g),
            torch.randint(0, 5, (2, 6), device="cuda", generator=g), torch.randn(2, 6, 2, device="cuda", generator=g))
    results = []
    for compiled in (False, True):
        model = random_model(config)
        forward = torch.compile(model, fullgraph=True) if compiled else model
        with torch.autocast("cuda", dtype=torch.bfloat16):
            out = forward(*args)
        out.float().square().mean().backward()
        results.append((out, {n: p.grad for n, p in model.named_parameters() if p.grad is not None}))
    (eager_out, eager_grads), (compiled_out, compiled_grads) = results
    assert rel_error(compiled_out, eager_out) < 3e-2
    for name, grad in eager_grads.items():
        assert rel_error(compiled_grads[name], grad) < 5e-2, name
