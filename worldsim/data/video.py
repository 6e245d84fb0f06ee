"""MP4 export of frames, played or generated (OpenCV 'mp4v': the codec opencv-python can always write)."""

from __future__ import annotations

import os
from pathlib import Path

import cv2
import numpy as np

from worldsim.data.atomic import temp_path

FOURCC = "mp4v"


class VideoFileWriter:
    """Appends uint8 (H, W, 3) RGB frames to `path`; writes to a temp name and renames it on `close()`."""

    def __init__(self, path: Path | str, fps: float) -> None:
        self.path = Path(path)
        if self.path.suffix.lower() != ".mp4":
            raise ValueError(f"{self.path}: video output must end in .mp4")
        if fps <= 0:
            raise ValueError(f"{self.path}: fps must be positive, got {fps}")
        self.fps = float(fps)
        # OpenCV picks the container from the extension, so the temp name keeps ".mp4".
        self.temp_path = temp_path(self.path, keep_suffix=True)
        self._writer: cv2.VideoWriter | None = None
        self._shape: tuple[int, ...] | None = None
        self.frames_written = 0

    def add(self, frame: np.ndarray) -> None:
        frame = np.asarray(frame)
        if frame.dtype != np.uint8 or frame.ndim != 3 or frame.shape[2] != 3:
            raise ValueError(f"{self.path}: frames must be uint8 (H, W, 3), got {frame.dtype} {frame.shape}")
        if self._writer is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            height, width = frame.shape[:2]
            self._writer = cv2.VideoWriter(
                str(self.temp_path), cv2.VideoWriter_fourcc(*FOURCC), self.fps, (width, height)
            )
            if not self._writer.isOpened():
                raise OSError(f"{self.path}: OpenCV could not open a '{FOURCC}' video writer")
            self._shape = frame.shape
        elif frame.shape != self._shape:
            raise ValueError(f"{self.path}: frame shape {frame.shape} differs from the first {self._shape}")
        self._writer.write(cv2.cvtColor(frame, cv2.COLOR_RGB2BGR))
        self.frames_written += 1

    def close(self) -> Path | None:
        """Finish and publish the file; None (and nothing on disk) when no frame was added."""
        if self._writer is None:
            return None
        self._writer.release()
        self._writer = None
        os.replace(self.temp_path, self.path)
        return self.path

    def discard(self) -> None:
        if self._writer is not None:
            self._writer.release()
            self._writer = None
        self.temp_path.unlink(missing_ok=True)

