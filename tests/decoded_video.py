"""Test helper: how many frames an MP4 written by the app decodes to."""

from __future__ import annotations

from pathlib import Path

import cv2


def count_video_frames(path: Path | str) -> int:
    """Frames OpenCV decodes from `path` (0 when unreadable)."""
    capture = cv2.VideoCapture(str(path))
    count = 0
    while capture.isOpened():
        ok, _ = capture.read()
        if not ok:
            break
        count += 1
    capture.release()
    return count
