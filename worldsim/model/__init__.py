"""The network: tensors in, tensors out. `forward` over clips, `step` over one frame with a ModelState."""

from worldsim.model.config import ModelConfig, tiny_model_config
from worldsim.model.flops import estimate_clip_flops_per_frame, estimate_step_flops
from worldsim.model.ssd_scan import ssd_scan, ssd_scan_torch, triton_available
from worldsim.model.state import LayerState, ModelState, state_nbytes
from worldsim.model.world_model import WorldModel, count_parameters

__all__ = [
    "LayerState", "ModelConfig", "ModelState", "WorldModel", "count_parameters",
    "estimate_clip_flops_per_frame", "estimate_step_flops", "ssd_scan", "ssd_scan_torch",
    "state_nbytes", "tiny_model_config", "triton_available",
]
