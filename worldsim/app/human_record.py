"""`worldsim record --human`: a person plays in a window; every Esc or R saves the episode and starts the next."""

from __future__ import annotations

from pathlib import Path

from worldsim.app.session import PlaySession, SessionOptions
from worldsim.world import World


def record_human(world: World, out_dir: Path, fps: int, seed: int, scale: int = 8) -> list[Path]:
    """Record episodes into the dataset `out_dir` until the window closes; returns the episode directories.

    Closing the window (or Ctrl-C) saves the episode in progress. Each episode also gets
    `out_dir/videos/episode_<n>.mp4`.
    """
    options = SessionOptions(
        fps=fps, seed=seed, scale=scale, recording_dir=Path(out_dir), record_episodes=True,
        title="worldsim - recording (Esc/R: save episode, close window: quit)",
        source={"env": type(world).__name__},
    )
    session = PlaySession(world, options)
    session.run()
    return session.saved_episodes
