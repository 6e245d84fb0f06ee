"""A lower bound on the memory of one training step, to refuse impossible clip lengths before any work
(data.clip_length=100000 used to render for minutes, then fail allocating 40 GB in the SSM scan)."""

from __future__ import annotations

from worldsim.model.config import ModelConfig

FLOAT_BYTES = 4


def training_bytes_lower_bound(config: ModelConfig, batch: int, frames: int, scan_backend: str) -> int:
    """Bytes that certainly exist during forward + backward of `batch` clips of `frames` frames:
    the uint8 clip and its float32 clean, noised and target copies; every layer's input (kept for the
    backward pass, even with activation checkpointing); the largest single temporary: the torch scan's
    (chunks+1)^2 decay matrix per block sequence (ssd_scan_torch), or full attention's (T*N)^2 mask."""
    pixels = batch * frames * config.channels * config.image_height * config.image_width
    total = pixels * (1 + 3 * FLOAT_BYTES)
    total += batch * frames * config.tokens_per_frame * config.width * FLOAT_BYTES * config.depth
    largest = 0
    heads = config.width * config.ssm_expand // config.ssm_headdim
    for layer in range(config.depth):
        if config.uses_ssm and scan_backend == "torch":
            b_h, b_w = config.block_size(layer)
            sequences = batch * (config.token_grid[0] // b_h) * (config.token_grid[1] // b_w)
            length = frames * b_h * b_w
            chunks = -(-length // max(1, min(config.ssm_chunk, length)))
            largest = max(largest, sequences * heads * (chunks + 1) ** 2 * FLOAT_BYTES)
        if config.temporal == "full":
            largest = max(largest, (frames * config.tokens_per_frame) ** 2)  # bool mask
    return total + largest
