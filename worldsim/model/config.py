"""The network's hyper-parameters, validated on construction (a checkpoint embeds this config)."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Literal

TEMPORAL_VARIANTS = ("ssm+local", "local", "full", "ssm", "pack+local")
# Keys that only shape the initial weights: a model initialised from another checkpoint may differ in them.
INIT_ONLY_KEYS = ("ssm_memory_frames", "pack_memory_frames")
SCAN_VARIANTS = ("blockwise", "frame", "token")
SSM_BACKENDS = ("auto", "triton", "torch")


@dataclass
class ModelConfig:
    """Defaults are the shipped model: 64x64 frames, 16x16 tokens, 6 layers of width 192.

    Sized so that 3 passes per frame (2 Euler steps + commit) reach >= 5 frames/s on a 2-core CPU
    (docs/model.md has the measurements behind this choice).
    """

    image_height: int = 64
    image_width: int = 64
    channels: int = 3
    patch_size: int = 4
    width: int = 192
    depth: int = 6
    attn_heads: int = 4
    # ssm+local: the paper's hybrid; local: attention over the last attn_window frames only;
    # full: causal attention over every past frame (growing cache); ssm: no attention;
    # pack+local: attention window + MemoryPack's SemanticPack (Wu et al. 2025) instead of the SSM.
    temporal: Literal["ssm+local", "local", "full", "ssm", "pack+local"] = "ssm+local"
    # frame: one scan over the whole token grid of each frame; token: blocks of 1x1 (ablations)
    scan: Literal["blockwise", "frame", "token"] = "blockwise"
    block_sizes: list[tuple[int, int]] = field(default_factory=lambda: [(16, 16), (8, 8), (4, 4)])
    attn_window: int = 4  # past frames seen by frame-local attention
    # pack+local: each memory token summarises one pack_window block of the token grid over a segment of
    # pack_segment frames; the pack is rewritten once per segment (model/memory_pack.py)
    pack_window: tuple[int, int] = (2, 2)
    pack_segment: int = 4
    # pack+local: initial memory of the pack. Each segment keeps g = exp(-pack_segment / pack_memory_frames)
    # of the old memory tokens (a learned gate per token and channel; 64 frames: g = 0.94 for segments of 4)
    # and takes 1 - g of the paper's Squeeze, which alone would rewrite the memory every segment.
    # Initialisation only: trained weights keep what they learned.
    pack_memory_frames: float = 64.0
    ssm_state: int = 32
    ssm_headdim: int = 48  # 384 inner channels -> 8 SSM heads (a multiple of 8 avoids bf16 NaNs upstream)
    ssm_expand: int = 2
    ssm_conv: int = 4
    ssm_chunk: int = 64
    # Initial memory of the scan. 0: Mamba2's init (dt log-uniform in [1e-3, 1e-1], A in [1, 16]), which
    # forgets within a few frames here (one 16x16 block is 256 scan steps per frame). > 0: each layer's heads
    # start with horizons 1/(dt·A) log-spaced from half a frame to this many frames (A = 1), so some heads
    # can carry a place seen hundreds of frames ago. Initialisation only: trained weights keep what they learned.
    ssm_memory_frames: float = 0.0
    num_discrete_actions: int = 9
    num_continuous_actions: int = 1
    # > 0: dead reckoning (model/odometry.py): a pose integrated from the actions, this many Fourier
    # frequencies each for heading and position, in the frame conditioning and as keys of the scan's memory
    # (4 x this many more state dimensions per scan). 0: off
    odometry_frequencies: int = 0
    ssm_backend: Literal["auto", "triton", "torch"] = "auto"

    def __post_init__(self) -> None:
        # YAML turns the tuples into lists
        self.block_sizes = [tuple(int(v) for v in b) for b in self.block_sizes]
        self.pack_window = tuple(int(v) for v in self.pack_window)
        _check_choice("temporal", self.temporal, TEMPORAL_VARIANTS)
        _check_choice("scan", self.scan, SCAN_VARIANTS)
        _check_choice("ssm_backend", self.ssm_backend, SSM_BACKENDS)
        for name in ("image_height", "image_width", "channels", "patch_size", "width", "depth", "attn_heads",
                     "ssm_state", "ssm_headdim", "ssm_expand", "ssm_conv", "ssm_chunk"):
            if getattr(self, name) < 1:
                raise ValueError(f"ModelConfig.{name} must be >= 1, got {getattr(self, name)}")
        if not 0.0 <= self.ssm_memory_frames < 1e7:
            raise ValueError(f"ModelConfig.ssm_memory_frames must be in [0, 1e7), got {self.ssm_memory_frames}")
        for name in ("num_discrete_actions", "num_continuous_actions", "odometry_frequencies"):
            if getattr(self, name) < 0:
                raise ValueError(f"ModelConfig.{name} must be >= 0, got {getattr(self, name)}")
        if self.image_height % self.patch_size or self.image_width % self.patch_size:
            raise ValueError(
                f"ModelConfig: image size {self.image_height}x{self.image_width} is not divisible by "
                f"patch_size {self.patch_size}; {self._multiples_hint()}"
            )
        if self.uses_attention:
            if self.width % self.attn_heads:
                raise ValueError(f"ModelConfig: width {self.width} not divisible by attn_heads {self.attn_heads}")
            if (self.width // self.attn_heads) % 2:
                raise ValueError(f"ModelConfig: attention head size {self.width // self.attn_heads} must be even (RoPE)")
        if self.temporal in ("ssm+local", "local", "pack+local") and self.attn_window < 1:
            raise ValueError(f"ModelConfig.attn_window must be >= 1, got {self.attn_window}")
        if self.uses_pack:
            if self.pack_segment < 1:
                raise ValueError(f"ModelConfig.pack_segment must be >= 1, got {self.pack_segment}")
            if not 0.0 < self.pack_memory_frames < 1e7:
                raise ValueError(f"ModelConfig.pack_memory_frames must be in (0, 1e7), got {self.pack_memory_frames}")
            grid, window = self.token_grid, self.pack_window
            if len(window) != 2 or min(window) < 1 or grid[0] % window[0] or grid[1] % window[1]:
                raise ValueError(
                    f"ModelConfig.pack_window must be (b_h, b_w) dividing the token grid {grid}, got {window}"
                )
        if self.uses_ssm:
            if (self.width * self.ssm_expand) % self.ssm_headdim:
                raise ValueError(
                    f"ModelConfig: width*ssm_expand = {self.width * self.ssm_expand} not divisible by "
                    f"ssm_headdim {self.ssm_headdim}"
                )
            if self.ssm_chunk & (self.ssm_chunk - 1):
                raise ValueError(f"ModelConfig.ssm_chunk must be a power of two, got {self.ssm_chunk}")
            if self.scan == "blockwise":
                if not self.block_sizes:
                    raise ValueError("ModelConfig.block_sizes must not be empty when scan='blockwise'")
                grid = self.token_grid
                for b_h, b_w in self.block_sizes:
                    if b_h < 1 or b_w < 1 or grid[0] % b_h or grid[1] % b_w:
                        raise ValueError(
                            f"ModelConfig: block size ({b_h}, {b_w}) does not divide the token grid {grid} "
                            f"({self.image_height}x{self.image_width} / patch_size {self.patch_size}); "
                            f"{self._multiples_hint()}"
                        )

    @property
    def frame_multiples(self) -> tuple[int, int]:
        """Pixels that frame height and width must be multiples of: patch_size x every scan block's size."""
        blocks = self.block_sizes if self.uses_ssm and self.scan == "blockwise" else [(1, 1)]
        return (self.patch_size * math.lcm(*(max(1, b_h) for b_h, _ in blocks)),
                self.patch_size * math.lcm(*(max(1, b_w) for _, b_w in blocks)))

    def _multiples_hint(self) -> str:
        step_h, step_w = self.frame_multiples
        blocks = [tuple(b) for b in self.block_sizes]
        return (f"with patch_size {self.patch_size} and block_sizes {blocks} frame "
                f"heights must be multiples of {step_h} and widths of {step_w} pixels")

    @property
    def token_grid(self) -> tuple[int, int]:
        return self.image_height // self.patch_size, self.image_width // self.patch_size

    @property
    def tokens_per_frame(self) -> int:
        return self.token_grid[0] * self.token_grid[1]

    @property
    def uses_ssm(self) -> bool:
        return self.temporal in ("ssm+local", "ssm")

    @property
    def uses_attention(self) -> bool:
        return self.temporal in ("ssm+local", "local", "full", "pack+local")

    @property
    def pose_key_size(self) -> int:
        """State dimensions each scan adds for keys by pose (model/odometry.py): cos and sin of heading and
        position at odometry_frequencies frequencies each; 0 without odometry or scan."""
        return 4 * self.odometry_frequencies if self.uses_ssm else 0

    @property
    def uses_pack(self) -> bool:
        return self.temporal == "pack+local"

    @property
    def pack_tokens(self) -> int:
        """Memory tokens per layer: one per pack_window block of the token grid."""
        return (self.token_grid[0] // self.pack_window[0]) * (self.token_grid[1] // self.pack_window[1])

    def block_size(self, layer: int) -> tuple[int, int]:
        """The (b_h, b_w) token block that layer `layer` scans through time."""
        if self.scan == "frame":
            return self.token_grid
        if self.scan == "token":
            return (1, 1)
        return self.block_sizes[layer % len(self.block_sizes)]


def tiny_model_config(**overrides) -> ModelConfig:
    """A few-thousand-parameter model on 16x16 frames for CPU tests (3 layers cycle 3 block sizes)."""
    values = {
        "image_height": 16, "image_width": 16, "patch_size": 4, "width": 32, "depth": 3, "attn_heads": 2,
        "block_sizes": [(4, 4), (2, 2), (1, 2)], "attn_window": 2, "ssm_state": 8, "ssm_headdim": 16,
        "ssm_expand": 2, "ssm_conv": 4, "ssm_chunk": 8, "num_discrete_actions": 5, "num_continuous_actions": 2,
        "ssm_backend": "torch", "pack_segment": 2,
    }
    values.update(overrides)
    return ModelConfig(**values)


def _check_choice(name: str, value: str, choices: tuple[str, ...]) -> None:
    if value not in choices:
        raise ValueError(f"ModelConfig.{name} must be one of {list(choices)}, got {value!r}")
