"""`worldsim record --human`: a person plays in a window; R saves the episode and starts the next, Esc saves
it and quits."""

from __future__ import annotations

from pathlib import Path

from worldsim.app.session import PlaySession, SessionOptions
from worldsim.world import World


def record_human(world: World, out_dir: Path, fps: int, seed: int, scale: int = 8, env_id: str = "maze",
                 source: dict | None = None) -> list[Path]:
    """Record episodes of `env_id` into the dataset `out_dir` until the window closes; returns the episode
    directories. `source`: more keys for each episode's meta.json source (how the frames were made).

    Esc, closing the window or Ctrl-C save the episode in progress. Each episode also gets
    `out_dir/videos/episode_<n>.mp4`.
    """
    options = SessionOptions(
        fps=fps, seed=seed, scale=scale, recording_dir=Path(out_dir), record_episodes=True,
        title="worldsim - recording (R: save episode, start the next; Esc: save and quit)",
        source={"env": env_id, **(source or {})},
    )
    session = PlaySession(world, options)
    session.run()
    return session.saved_episodes
