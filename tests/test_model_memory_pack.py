"""temporal='pack+local': the pack carries frames past the attention window, rewritten only at segment
ends; a checkpoint keeps its settings."""

import torch
from test_model_step import random_clip, random_model

from worldsim.actions import maze_action_space
from worldsim.checkpoint import PlayBlock, load_checkpoint, save_checkpoint
from worldsim.model import tiny_model_config


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
