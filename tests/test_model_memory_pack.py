"""temporal='pack+local': the pack carries frames past the attention window, rewritten only at segment
ends; its gate keeps old memory, its position bias lets a token find its place's memory; a checkpoint keeps
its settings, and one written before the gate and bias says how to use it."""

import fnmatch
import json
import math
from pathlib import Path

import pytest
import torch
from safetensors import safe_open
from safetensors.torch import save_file
from test_model_step import random_clip, random_model
from torch import Tensor

from worldsim.actions import maze_action_space
from worldsim.checkpoint import CheckpointError, PlayBlock, load_checkpoint, save_checkpoint
from worldsim.config import load_config
from worldsim.model import WorldModel, tiny_model_config
from worldsim.model.memory_pack import ADDED_PACK_PARAMETERS, SemanticPack, block_index
from worldsim.train.config import TrainConfig
from worldsim.train.setup import build_run

SMOKE = Path(__file__).resolve().parent / "smoke.yaml"


@torch.no_grad()
def frames_affected(temporal: str, changed: int, frames: int = 7, **overrides) -> list[int]:
    """Frames whose output moves when frame `changed` is negated (one layer, attention window 1)."""
    config = tiny_model_config(temporal=temporal, depth=1, attn_window=1, **overrides)
    model = random_model(config)
    clip, noise, discrete, continuous = random_clip(config, batch=1, frames=frames)
    out = model(clip, noise, discrete, continuous)
    clip[:, changed] = -clip[:, changed]
    moved = (model(clip, noise, discrete, continuous) - out).flatten(2).abs().amax(dim=(0, 2))
    return [t for t in range(frames) if moved[t] > 1e-4]


def test_pack_remembers_frames_beyond_the_attention_window():
    assert frames_affected("local", changed=0) == [0, 1]
    assert frames_affected("pack+local", changed=0, pack_segment=2) == [0, 1, 2, 3, 4, 5, 6]


def test_pack_is_rewritten_only_at_segment_ends():
    # segments of 3 frames: [0 1 2] [3 4 5] [6 ...]. Frame 3 reaches frame 4 through the window and
    # frame 6 through the pack written after frame 5; frame 5 still reads the pack of segment [0 1 2].
    assert frames_affected("pack+local", changed=3, pack_segment=3) == [3, 4, 6]
    # frame 1 is packed with frame 0's init only at the end of its segment: frame 2 sees it through the
    # window, frame 3 through the pack
    assert frames_affected("pack+local", changed=1, pack_segment=3) == [1, 2, 3, 4, 5, 6]


def test_first_frame_initialises_the_pack():
    # frame 0 reaches every later frame through the init, before its segment is complete
    assert frames_affected("pack+local", changed=0, frames=4, pack_segment=8) == [0, 1, 2, 3]
    assert frames_affected("pack+local", changed=1, frames=4, pack_segment=8) == [1, 2]


@torch.no_grad()
def test_checkpoint_keeps_the_pack_settings_and_weights(tmp_path):
    config = tiny_model_config(temporal="pack+local", pack_window=(2, 1), pack_segment=3,
                               num_discrete_actions=9, num_continuous_actions=1)
    model = random_model(config)
    save_checkpoint(tmp_path / "pack.safetensors", model, PlayBlock(maze_action_space(), (16, 16)))
    loaded, _, _ = load_checkpoint(tmp_path / "pack.safetensors")
    assert loaded.config == config and loaded.config.pack_window == (2, 1)  # a tuple again after JSON
    clip = random_clip(config, batch=1, frames=5)
    torch.testing.assert_close(loaded(*clip), model(*clip), rtol=0, atol=0)


def pack_clip(pack: SemanticPack, frames: int, seed: int = 2) -> Tensor:
    """Random features (1, frames, H', W', D) for a bare SemanticPack."""
    g = torch.Generator().manual_seed(seed)
    return torch.randn(1, frames, *pack.grid, pack.empty.shape[1], generator=g)


def bare_pack(memory_frames: float = 64.0, segment: int = 2) -> SemanticPack:
    torch.manual_seed(0)
    return SemanticPack(32, 2, (4, 4), (2, 2), segment, memory_frames).eval()


def test_gate_starts_at_the_memory_set_by_pack_memory_frames():
    for frames, segment in ((64.0, 4), (1e6, 2), (0.5, 8)):
        gate = torch.sigmoid(bare_pack(frames, segment).persist.double())
        torch.testing.assert_close(gate, torch.full_like(gate, math.exp(-segment / frames)))
    with pytest.raises(ValueError, match="pack_memory_frames"):
        tiny_model_config(temporal="pack+local", pack_memory_frames=0)


@torch.no_grad()
def test_gate_keeps_the_first_frame_through_many_segments():
    """g = 1: the pack after 20 segments is still ψ_init, made from frame 0; g = 0: the paper's Squeeze,
    which replaces ψ every segment (its old content survives only through attention values)."""
    x = pack_clip(bare_pack(), frames=41)  # 20 complete segments of 2 frames
    init = bare_pack()._init(x[:, 0])
    kept = bare_pack(memory_frames=1e6)
    _, pack, _ = kept(x, torch.arange(41)[None], None, None)
    torch.testing.assert_close(pack, init, rtol=0, atol=1e-3)
    changed = x.clone()
    changed[:, 0] = -changed[:, 0]
    moved = kept(changed, torch.arange(41)[None], None, None)[1] - pack
    torch.testing.assert_close(moved, kept._init(changed[:, 0]) - init, rtol=0, atol=2e-3)
    assert moved.abs().amax() > 0.1
    # without persistence (g ≈ 0) the pack is the last squeeze: the last segment's memory plus attention
    overwritten = bare_pack(memory_frames=1e-3)
    _, pack, _ = overwritten(x, torch.arange(41)[None], None, None)
    before = overwritten(x[:, :38], torch.arange(38)[None], None, None)[1]  # after segments 0 .. 18
    last = overwritten.memorize(x[:, 38:40])  # segment 19
    squeezed = last + overwritten.squeeze(overwritten.squeeze_norm(last), before, None)
    torch.testing.assert_close(pack, squeezed, rtol=0, atol=1e-5)


@torch.no_grad()
def test_gate_holds_frame_by_frame_as_in_the_clip():
    """The stepped state after 13 frames (the gate applied at every segment end) is the clip's."""
    pack = bare_pack(memory_frames=8.0)
    with torch.no_grad():
        pack.persist.add_(torch.randn_like(pack.persist))  # a gate that differs per token and channel
    x = pack_clip(pack, frames=13)
    _, clip_pack, clip_segment = pack(x, torch.arange(13)[None], None, None)
    state = pack.empty_pack(1).clone()
    segment = torch.zeros(pack.segment_shape(1))
    for t in range(13):
        _, state, segment = pack(x[:, t: t + 1], torch.tensor([[t]]), state, segment)
    torch.testing.assert_close(state, clip_pack, rtol=0, atol=1e-5)
    torch.testing.assert_close(segment, clip_segment, rtol=0, atol=0)


def test_position_bias_has_a_row_per_query_block_and_a_column_per_memory_token():
    pack = bare_pack()
    assert pack.read.position_bias.shape == pack.squeeze.position_bias.shape == (2, 4, 4)  # (heads, P, P)
    # 4x4 token grid in 2x2 blocks, row-major: the block of each token, in the memory tokens' order
    assert pack.token_blocks.tolist() == [0, 0, 1, 1, 0, 0, 1, 1, 2, 2, 3, 3, 2, 2, 3, 3]
    assert block_index((2, 6), (1, 3)).tolist() == [0, 0, 0, 1, 1, 1, 2, 2, 2, 3, 3, 3]
    assert 0 < pack.read.position_bias.abs().amax() < 0.2  # near-neutral, not all equal


@torch.no_grad()
def test_position_bias_lets_a_token_read_the_memory_of_its_own_place():
    """With a strongly diagonal read bias, changing frame 0 in one block changes frame 1's read (of ψ_init)
    at that block's tokens only: the bias rows and the memory tokens follow one block order."""
    pack = bare_pack(segment=4)
    x = pack_clip(pack, frames=2)
    out = pack(x, torch.arange(2)[None], None, None)[0]
    pack.read.position_bias.copy_(torch.eye(4).expand(2, 4, 4) * 1e4)
    changed = x.clone()
    changed[:, 0, 2:, :2] += 1.0  # the bottom-left block: block 2
    diagonal = pack(x, torch.arange(2)[None], None, None)[0]
    moved = (pack(changed, torch.arange(2)[None], None, None)[0] - diagonal)[0, 1].abs().amax(dim=-1)
    assert not torch.allclose(diagonal, out)  # the bias changes the output
    assert (moved.flatten()[pack.token_blocks == 2] > 1e-3).all()
    assert (moved.flatten()[pack.token_blocks != 2] < 1e-6).all()


def old_pack_checkpoint(tmp_path: Path) -> tuple[WorldModel, Path]:
    """A pack+local smoke checkpoint as written before the gate and the position bias existed."""
    config = load_config(TrainConfig, SMOKE, ["model.temporal=pack+local"]).model
    model = random_model(config)
    path = tmp_path / "old_pack.safetensors"
    save_checkpoint(path, model, PlayBlock(maze_action_space(), (16, 16)), {"step": 1})
    with safe_open(str(path), framework="pt") as file:
        header = file.metadata()
        weights = {name: file.get_tensor(name) for name in file.keys()}  # noqa: SIM118 (not a dict)
    header["model_config"] = json.dumps({k: v for k, v in json.loads(header["model_config"]).items()
                                         if k != "pack_memory_frames"})
    old = {name: value for name, value in weights.items()
           if not any(fnmatch.fnmatchcase(name, p) for p in ADDED_PACK_PARAMETERS)}
    assert len(old) == len(weights) - 3 * config.depth
    save_file(old, str(path), metadata=header)
    return model, path


def test_a_checkpoint_from_before_the_gate_says_how_to_use_it(tmp_path: Path):
    model, path = old_pack_checkpoint(tmp_path)
    with pytest.raises(CheckpointError, match=r"before SemanticPack had its persistence gate .*init_from="):
        load_checkpoint(path)
    # init_from loads every stored weight; the gate and the bias keep this model's initialisation
    config = load_config(TrainConfig, SMOKE, ["model.temporal=pack+local", f"init_from={path}",
                                              "model.pack_memory_frames=16"])
    run = build_run(config, tmp_path / "run", resume=False, device=torch.device("cpu"))
    assert "predates SemanticPack's persistence gate and position bias" in run.init_summary
    assert "layers.*.pack.persist" in run.init_summary
    loaded, source = run.model.state_dict(), model.state_dict()
    for name, value in loaded.items():
        if any(fnmatch.fnmatchcase(name, p) for p in ADDED_PACK_PARAMETERS):
            assert not torch.equal(value, source[name]), name
        else:
            assert torch.equal(value, source[name]), name
    gate = torch.sigmoid(run.model.layers[0].pack.persist.double())
    torch.testing.assert_close(gate, torch.full_like(gate, math.exp(-config.model.pack_segment / 16)))
