"""The world model: frames + noise levels + actions -> velocity, over whole clips or one frame at a time."""

from __future__ import annotations

import torch
from torch import Tensor, nn

from worldsim.model.conditioning import FrameConditioning
from worldsim.model.config import ModelConfig
from worldsim.model.layer import WorldModelLayer
from worldsim.model.odometry import POSE_SIZE, Odometry
from worldsim.model.rotary import FrameRotationTable, frame_rotation
from worldsim.model.state import LayerState, ModelState, commit_layer_state
from worldsim.model.tokens import OutputHead, PatchEmbed


class WorldModel(nn.Module):
    def __init__(self, config: ModelConfig):
        super().__init__()
        self.config = config
        self.patch_embed = PatchEmbed(config.channels, config.patch_size, config.width, config.token_grid)
        self.conditioning = FrameConditioning(config.width, config.num_discrete_actions, config.num_continuous_actions)
        self.odometry = (
            Odometry(config.width, config.num_discrete_actions, config.num_continuous_actions,
                     config.odometry_frequencies)
            if config.odometry_frequencies else None
        )
        self.layers = nn.ModuleList(WorldModelLayer(config, i) for i in range(config.depth))
        # RoPE of frames 0 .. T-1 for the clip forward, shared by every layer's attention (plain tensors, no weights)
        self.rotations = FrameRotationTable(config.width // config.attn_heads) if config.uses_attention else None
        self.head = OutputHead(config.width, config.patch_size, config.channels)

    def forward(
        self, frames: Tensor, noise_levels: Tensor, discrete: Tensor | None = None, continuous: Tensor | None = None
    ) -> Tensor:
        """frames (B, T, C, H, W) in [-1, 1] (noised), noise_levels (B, T) in [0, 1] (1 = clean),
        discrete (B, T) long, continuous (B, T, C_a) -> predicted velocity (B, T, C, H, W).
        Frame t depends only on frames <= t."""
        self._check_inputs(frames, noise_levels, discrete, continuous, clip=True)
        batch, length = frames.shape[:2]
        positions = torch.arange(length, device=frames.device).expand(batch, length)
        rotation = None if self.rotations is None else self.rotations(length, grow=not _capturing())
        poses = None
        if self.odometry is not None:
            poses = self.odometry.poses(discrete, continuous, (batch, length), frames.device)
        velocity, _ = self._run(frames, noise_levels, discrete, continuous, positions, None, poses, rotation=rotation)
        return velocity

    @torch.no_grad()
    def init_state(self, batch_size: int, device: torch.device | str | None = None) -> ModelState:
        """An empty state (no frame seen yet). Fixed size except for temporal='full'."""
        weight = self.patch_embed.proj.weight
        device = weight.device if device is None else torch.device(device)
        return ModelState(
            layers=[layer.init_state(batch_size, device, weight.dtype) for layer in self.layers],
            frame_index=torch.zeros(batch_size, dtype=torch.long, device=device),
            pose=None if self.odometry is None else torch.zeros(batch_size, POSE_SIZE, device=device),
        )

    def step(
        self,
        frame: Tensor,
        noise_level: Tensor,
        discrete: Tensor | None,
        continuous: Tensor | None,
        state: ModelState,
        commit: bool = False,
    ) -> Tensor:
        """frame (B, C, H, W), noise_level (B,), discrete (B,), continuous (B, C_a) -> velocity (B, C, H, W)
        for the frame following those committed to `state`. commit=False only reads the state;
        commit=True also appends this frame to it, in place (fixed shapes: CUDA-graph capturable)."""
        self._check_inputs(frame, noise_level, discrete, continuous, clip=False)
        if len(state.layers) != len(self.layers) or state.frame_index.shape != frame.shape[:1]:
            raise ValueError(
                f"state: expected {len(self.layers)} layers and batch {frame.shape[0]}, got "
                f"{len(state.layers)} layers and batch {tuple(state.frame_index.shape)}"
            )
        discrete = None if discrete is None else discrete[:, None]
        continuous = None if continuous is None else continuous[:, None]
        poses = None
        if self.odometry is not None:
            poses = self.odometry.poses(discrete, continuous, (frame.shape[0], 1), frame.device, start=state.pose)
        velocity, new_layers = self._run(
            frame[:, None], noise_level[:, None], discrete, continuous, state.frame_index[:, None], state.layers,
            poses, commit,
        )
        if commit:
            for target, new in zip(state.layers, new_layers):
                commit_layer_state(target, new)
            state.frame_index.add_(1)
            if poses is not None:
                state.pose.copy_(poses[:, 0])
        return velocity[:, 0]

    def _run(
        self,
        frames: Tensor,
        noise_levels: Tensor,
        discrete: Tensor | None,
        continuous: Tensor | None,
        positions: Tensor,
        layer_states: list[LayerState] | None,
        poses: Tensor | None = None,
        commit: bool = True,
        rotation: tuple[Tensor, Tensor] | None = None,
    ) -> tuple[Tensor, list[LayerState]]:
        """The shared path of forward (no state) and step (T = 1 continuing from a state).
        poses (B, T, 3): the odometry's pose after each frame (None without odometry).
        rotation: RoPE of `positions` when the caller has it (forward: the table's), else computed here."""
        if rotation is None and self.rotations is not None:
            rotation = frame_rotation(positions, self.rotations.dim)
        cond = self.conditioning(noise_levels, discrete, continuous)  # (B, T, D)
        pose_keys = None
        if poses is not None:
            pose_keys = self.odometry.features(poses)  # (B, T, 4F)
            cond = cond + self.odometry(pose_keys)
        x = self.patch_embed(frames)  # (B, T, H', W', D)
        new_states = []
        for i, layer in enumerate(self.layers):
            state = None if layer_states is None else layer_states[i]
            x, new = layer(x, cond, positions, rotation, state, commit, pose_keys)
            new_states.append(new)
        return self.head(x, cond).to(frames.dtype), new_states

    def _check_inputs(
        self, frames: Tensor, noise: Tensor, discrete: Tensor | None, continuous: Tensor | None, clip: bool
    ) -> None:
        """Shapes always; action values only outside CUDA-graph capture (reading them syncs the device)."""
        c = self.config
        image = (c.channels, c.image_height, c.image_width)
        lead = tuple(frames.shape[:2]) if clip else tuple(frames.shape[:1])
        names = "(B, T" if clip else "(B"
        if frames.dim() != len(lead) + 3 or tuple(frames.shape[len(lead):]) != image:
            raise ValueError(f"frames: expected shape {names}, {', '.join(map(str, image))}), got {tuple(frames.shape)}")
        if not frames.is_floating_point():
            raise ValueError(f"frames: expected a float tensor in [-1, 1], got dtype {frames.dtype}")
        if tuple(noise.shape) != lead:
            raise ValueError(f"noise_levels: expected shape {lead}, got {tuple(noise.shape)}")
        if discrete is not None:
            if c.num_discrete_actions == 0:
                raise ValueError("discrete: this model has no discrete actions (num_discrete_actions=0), pass None")
            if tuple(discrete.shape) != lead or discrete.is_floating_point():
                raise ValueError(
                    f"discrete: expected integer actions of shape {lead}, got {tuple(discrete.shape)} {discrete.dtype}"
                )
            if not _capturing() and discrete.numel():
                low, high = int(discrete.min()), int(discrete.max())
                if low < 0 or high >= c.num_discrete_actions:
                    raise ValueError(
                        f"discrete: action indices must lie in [0, {c.num_discrete_actions}), got values in [{low}, {high}]"
                    )
        expected = lead + (c.num_continuous_actions,)
        if continuous is not None and (tuple(continuous.shape) != expected or c.num_continuous_actions == 0):
            raise ValueError(
                f"continuous: expected shape {expected} "
                f"(num_continuous_actions={c.num_continuous_actions}), got {tuple(continuous.shape)}"
            )


def _capturing() -> bool:
    """True inside CUDA-graph capture or torch.compile tracing, where reading action values would break the
    graph (a device sync; under compile a graph break at every forward)."""
    if torch.compiler.is_compiling():
        return True
    return torch.cuda.is_available() and torch.cuda.is_current_stream_capturing()


def count_parameters(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())
