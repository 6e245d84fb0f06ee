"""Recording a played session (V key, or `worldsim record --human`): one dataset episode plus an MP4 of it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from worldsim.actions import ActionSpace
from worldsim.data.video import DEFAULT_VIDEO_SCALE, VideoFileWriter
from worldsim.data.writer import EpisodeWriter

VIDEO_FOLDER = "videos"  # <dataset>/videos/episode_<n>.mp4, beside the episodes the trainer reads


class SessionRecording:
    """Frames and actions from the moment recording starts; `stop()` publishes `episode_<n>/` and its MP4.

    Frame 0 is the frame on screen when recording starts; its action is the no-op, as the episode
    format requires (docs/dataset-format.md). The MP4 shows `video_frame` when one is given (what was on
    screen, e.g. truth and model side by side), the episode frame otherwise.
    """

    def __init__(
        self, dataset_dir: Path, action_space: ActionSpace, fps: float, source: dict[str, Any],
        first_frame: np.ndarray, export_video: bool = True, video_frame: np.ndarray | None = None,
        video_scale: int = DEFAULT_VIDEO_SCALE,
    ) -> None:
        self.dataset_dir = Path(dataset_dir)
        self.action_space = action_space
        self.episode = EpisodeWriter(self.dataset_dir, action_space, fps, source)
        video_dir = self.dataset_dir / VIDEO_FOLDER
        self.video = (
            VideoFileWriter(video_dir / f"{self.episode.temp_dir.name}.mp4", fps, video_scale) if export_video else None
        )
        discrete, continuous = action_space.noop_batch(1)  # the episode format's action for frame 0
        self.add(first_frame, None if discrete is None else int(discrete[0]),
                 None if continuous is None else continuous[0].numpy(), video_frame=video_frame)

    @property
    def length(self) -> int:
        return self.episode.length

    def add(
        self, frame: np.ndarray, discrete: int | None, continuous: np.ndarray | None,
        video_frame: np.ndarray | None = None,
    ) -> None:
        self.episode.add(frame, discrete, continuous)
        if self.video is not None:
            self.video.add(frame if video_frame is None else video_frame)

    def stop(self) -> tuple[Path, Path | None]:
        """(episode directory, MP4 path or None)."""
        episode_dir = self.episode.close()
        video_path = None
        if self.video is not None:
            # The episode's number is known only once it is published: name the video after it.
            self.video.path = self.dataset_dir / VIDEO_FOLDER / f"{episode_dir.name}.mp4"
            video_path = self.video.close()
        return episode_dir, video_path

    def discard(self) -> None:
        self.episode.discard()
        if self.video is not None:
            self.video.discard()
