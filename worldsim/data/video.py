"""MP4 export of frames, played or generated: H.264 (yuv420p, fast start) through the ffmpeg that imageio-ffmpeg ships,
so any browser or phone plays the file; frames are enlarged by a whole factor with nearest-neighbour
pixels, as the play window shows them (a 64x64 video is a smudge on most players)."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from worldsim.data.atomic import temp_path

DEFAULT_VIDEO_SCALE = 8  # 64x64 frames -> 512x512 video, the play window's size
CODEC = "libx264"


class VideoEncoderMissing(RuntimeError):
    """imageio-ffmpeg (the package that carries the ffmpeg binary) is not installed."""


def require_encoder(path: Path) -> None:
    """Fails before any frame is produced, naming the file and the package, where the encoder is missing."""
    try:
        import imageio_ffmpeg  # noqa: F401
    except ImportError as error:
        raise VideoEncoderMissing(
            f"{path}: writing an MP4 needs the package imageio-ffmpeg (pip install imageio-ffmpeg)"
        ) from error


def upscale(frame: np.ndarray, scale: int) -> np.ndarray:
    """(H, W, 3) -> (H·scale, W·scale, 3), each pixel repeated (nearest neighbour)."""
    if scale == 1:
        return frame
    return np.repeat(np.repeat(frame, scale, axis=0), scale, axis=1)


def pad_to_even(frame: np.ndarray) -> np.ndarray:
    """yuv420p needs even sides: repeat the last row / column where a side is odd."""
    height, width = frame.shape[:2]
    if height % 2 == 0 and width % 2 == 0:
        return frame
    return np.pad(frame, ((0, height % 2), (0, width % 2), (0, 0)), mode="edge")


class VideoFileWriter:
    """Appends uint8 (H, W, 3) RGB frames to `path`; writes to a temp name and renames it on `close()`."""

    def __init__(self, path: Path | str, fps: float, scale: int = DEFAULT_VIDEO_SCALE) -> None:
        self.path = Path(path)
        if self.path.suffix.lower() != ".mp4":
            raise ValueError(f"{self.path}: video output must end in .mp4")
        if fps <= 0:
            raise ValueError(f"{self.path}: fps must be positive, got {fps}")
        if scale < 1:
            raise ValueError(f"{self.path}: video scale must be >= 1, got {scale}")
        require_encoder(self.path)
        self.fps, self.scale = float(fps), int(scale)
        # ffmpeg picks the container from the extension, so the temp name keeps ".mp4".
        self.temp_path = temp_path(self.path, keep_suffix=True)
        self._encoder = None  # imageio_ffmpeg.write_frames generator, started with the first frame
        self._shape: tuple[int, ...] | None = None
        self.frames_written = 0

    def add(self, frame: np.ndarray) -> None:
        frame = np.asarray(frame)
        if frame.dtype != np.uint8 or frame.ndim != 3 or frame.shape[2] != 3:
            raise ValueError(f"{self.path}: frames must be uint8 (H, W, 3), got {frame.dtype} {frame.shape}")
        if self._encoder is None:
            self._shape = frame.shape
            self._encoder = self._open(pad_to_even(upscale(frame, self.scale)).shape)
        elif frame.shape != self._shape:
            raise ValueError(f"{self.path}: frame shape {frame.shape} differs from the first {self._shape}")
        self._encoder.send(np.ascontiguousarray(pad_to_even(upscale(frame, self.scale))))
        self.frames_written += 1

    def _open(self, shape: tuple[int, ...]):
        import imageio_ffmpeg

        self.path.parent.mkdir(parents=True, exist_ok=True)
        height, width = shape[:2]
        encoder = imageio_ffmpeg.write_frames(
            str(self.temp_path), (width, height), fps=self.fps, codec=CODEC, pix_fmt_out="yuv420p",
            macro_block_size=1, output_params=["-movflags", "+faststart"],
        )
        try:
            encoder.send(None)  # starts ffmpeg
        except (OSError, RuntimeError) as error:
            raise OSError(f"{self.path}: could not start the H.264 encoder ({error})") from error
        return encoder

    def close(self) -> Path | None:
        """Finish and publish the file; None (and nothing on disk) when no frame was added."""
        if self._encoder is None:
            return None
        self._encoder.close()  # waits for ffmpeg to finish the file
        self._encoder = None
        os.replace(self.temp_path, self.path)
        return self.path

    def discard(self) -> None:
        if self._encoder is not None:
            self._encoder.close()
            self._encoder = None
        self.temp_path.unlink(missing_ok=True)

