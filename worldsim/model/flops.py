"""Analytic FLOPs of one step pass (one frame, batch 1); a multiply-add counts as 2 FLOPs."""

from __future__ import annotations

from worldsim.model.config import ModelConfig


def estimate_step_flops(config: ModelConfig, commit: bool = False) -> int:
    """Matmul FLOPs of WorldModel.step for one frame (commit=True: the committing pass, which for
    pack+local also rewrites the pack). Per layer, with N tokens of width D:

    SSM (d_in = expand*D, heads h, headdim p, state n, conv k, block length L = b_h*b_w, chunk c = min(chunk, L)):
        in_proj 2*N*D*(2*d_in + 2n + h) + conv 2*N*(d_in + 2n)*k + out_proj 2*N*d_in*D
        + scan 2*N*c*(n + h*p)  (intra-chunk C.B^T and its product with x)
        + 4*N*h*p*n              (chunk states and their read-out; the carried state enters here)
    attention (window w past frames, or P cached frames for 'full'):
        qkv 2*N*D*3D + proj 2*N*D*D + scores and values 2 * 2*N*(w+1)*N*D
    SemanticPack (P memory tokens, segment S frames, windows of w = b_h*b_w tokens): the read
        q and proj 2 * 2*N*D*D + kv 2*P*D*2D + scores and values 2 * 2*N*P*D;
        on commit also pack_write_flops (Memorize over the segment buffer, the init, the squeeze)
    MLP 2 * 2*N*D*4D;  per-frame adaLN 2*D*(3*sublayers*D);  patch embed and head 2 * 2*N*D*patch^2*C.
    For temporal='full' the attention term grows with the frames seen; this counts P = attn_window.
    """
    n_tokens, width = config.tokens_per_frame, config.width
    patch_pixels = config.patch_size ** 2 * config.channels
    total = 2 * 2 * n_tokens * width * patch_pixels + 2 * width * 2 * width
    for layer in range(config.depth):
        sublayers = 1
        if config.uses_ssm:
            sublayers += 1
            d_in = config.ssm_expand * width
            heads = d_in // config.ssm_headdim
            n = config.ssm_state
            b_h, b_w = config.block_size(layer)
            chunk = min(config.ssm_chunk, b_h * b_w)
            total += 2 * n_tokens * width * (2 * d_in + 2 * n + heads)
            total += 2 * n_tokens * (d_in + 2 * n) * config.ssm_conv
            total += 2 * n_tokens * d_in * width
            total += 2 * n_tokens * chunk * (n + heads * config.ssm_headdim)
            total += 4 * n_tokens * heads * config.ssm_headdim * n
        if config.uses_attention:
            sublayers += 1
            frames_seen = config.attn_window + 1
            total += 2 * n_tokens * width * 4 * width
            total += 2 * 2 * n_tokens * frames_seen * n_tokens * width
        if config.uses_pack:
            sublayers += 1
            pack = config.pack_tokens
            total += 2 * 2 * n_tokens * width * width + 2 * pack * width * 2 * width
            total += 2 * 2 * n_tokens * pack * width
            total += pack_write_flops(config) if commit else 0
        total += 2 * 2 * n_tokens * width * 4 * width
        total += 2 * width * 3 * sublayers * width
    return total


def estimate_clip_flops_per_frame(config: ModelConfig) -> int:
    """Forward FLOPs per frame of a training clip: a step's, plus for pack+local each layer's pack
    update once per segment of pack_segment frames."""
    writes = config.depth * pack_write_flops(config) // config.pack_segment if config.uses_pack else 0
    return estimate_step_flops(config) + writes


def pack_write_flops(config: ModelConfig) -> int:
    """One layer's pack update: Memorize over the S-frame segment buffer (qkv 2*S*N*D*3D, window
    attention 2 * 2*S*N*(S*w)*D, proj of the pooled tokens 2*P*D*D), the frame-0 init 2*P*D*D and
    the squeeze (q and proj 2 * 2*P*D*D, kv 2*P*D*2D, scores and values 2 * 2*P*P*D)."""
    n_tokens, width = config.tokens_per_frame, config.width
    pack, frames = config.pack_tokens, config.pack_segment
    window = config.pack_window[0] * config.pack_window[1]
    memorize = 2 * frames * n_tokens * width * 3 * width + 2 * 2 * frames * n_tokens * frames * window * width
    memorize += 2 * pack * width * width
    squeeze = 2 * 2 * pack * width * width + 2 * pack * width * 2 * width + 2 * 2 * pack * pack * width
    return memorize + 2 * pack * width * width + squeeze
