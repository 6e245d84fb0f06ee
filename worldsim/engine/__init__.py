"""A trained checkpoint as a `World`: reset / step(action) -> frame, eager or replayed as a CUDA graph,
optionally through torch.compile."""

from worldsim.engine.engine import WorldModelEngine
from worldsim.engine.priming import EpisodeContext, ImageContext, MazeContext

__all__ = ["EpisodeContext", "ImageContext", "MazeContext", "WorldModelEngine"]
