"""The pygame window: a scaled-up frame area with a HUD bar under it, mouse capture and screenshots."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import numpy as np
import pygame

from worldsim.data.atomic import atomic_path

HUD_HEIGHT = 40  # pixels of the status bar under the frame (two lines of text)
DESKTOP_MARGIN = 100  # pixels kept free for the title bar and a task bar when fitting the window
WINDOWLESS_DRIVERS = ("dummy", "offscreen")


class NoDisplayError(OSError):
    """No screen to open a window on (an OSError, so every CLI command reports it as a one-line error)."""


NO_DISPLAY_HINT = (
    "no display to open the window on ({reason}). On a machine without a screen run headless instead, "
    "e.g. `worldsim play --headless --policy wander --frames 300 --out out/play.mp4`, or start a virtual "
    "X server (`xvfb-run worldsim play`)."
)


def check_display_available() -> None:
    """Raise NoDisplayError when a window cannot open, before SDL fails with a cryptic message."""
    driver = os.environ.get("SDL_VIDEODRIVER", "")
    if driver in WINDOWLESS_DRIVERS:
        return
    if sys.platform.startswith("linux") and not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")):
        raise NoDisplayError(NO_DISPLAY_HINT.format(reason="neither DISPLAY nor WAYLAND_DISPLAY is set"))


def fit_scale(frame_height: int, frame_width: int, scale: int, desktop: tuple[int, int] | None) -> int:
    """The largest scale <= `scale` at which frame + HUD fit on the `desktop` (width, height), at least 1."""
    if desktop is None:
        return scale
    width, height = desktop
    fits = min((width - DESKTOP_MARGIN) // frame_width, (height - DESKTOP_MARGIN - HUD_HEIGHT) // frame_height)
    return max(1, min(scale, fits))


def desktop_size() -> tuple[int, int] | None:
    """(width, height) of the first display, None when SDL does not know it."""
    sizes = pygame.display.get_desktop_sizes()
    return tuple(sizes[0]) if sizes and min(sizes[0]) > 0 else None


class Window:
    """A window of (frame_width·scale) × (frame_height·scale + HUD_HEIGHT) pixels; `scale` shrinks to fit
    the display (a 210×160 Atari frame at scale 8 would be 1,720 pixels tall)."""

    def __init__(self, frame_height: int, frame_width: int, scale: int, title: str = "worldsim") -> None:
        if scale < 1:
            raise ValueError(f"scale must be >= 1, got {scale}")
        check_display_available()
        pygame.display.init()
        pygame.font.init()
        desktop = desktop_size()
        fitted = fit_scale(frame_height, frame_width, scale, desktop)
        if fitted < scale:
            print(f"window scale {scale} -> {fitted} to fit the {desktop[0]}x{desktop[1]} display", file=sys.stderr)
        self.scale = scale = fitted
        self.frame_size = (frame_width * scale, frame_height * scale)
        try:
            self.surface = pygame.display.set_mode((self.frame_size[0], self.frame_size[1] + HUD_HEIGHT))
        except pygame.error as error:
            raise NoDisplayError(NO_DISPLAY_HINT.format(reason=f"SDL: {error}")) from error
        pygame.display.set_caption(title)
        self.frame_rect = pygame.Rect((0, 0), self.frame_size)
        self.hud_rect = pygame.Rect(0, self.frame_size[1], self.frame_size[0], HUD_HEIGHT)
        self._frame_surface = self.surface.subsurface(self.frame_rect)
        self.mouse_captured = False
        self._small: pygame.Surface | None = None

    def draw_frame(self, frame: np.ndarray) -> None:
        """uint8 (H, W, 3) RGB, scaled up into the frame area (small surface + transform.scale: fastest)."""
        size = (frame.shape[1], frame.shape[0])
        if self._small is None or self._small.get_size() != size:
            self._small = pygame.Surface(size, 0, self.surface)  # the display's pixel format: scale needs it
        pygame.surfarray.blit_array(self._small, frame.swapaxes(0, 1))  # surfarray is (W, H, 3)
        pygame.transform.scale(self._small, self.frame_size, self._frame_surface)

    def present(self) -> None:
        pygame.display.flip()

    def capture_mouse(self, captured: bool) -> None:
        """Grab and hide the pointer: SDL then reports unbounded relative motion (mouse look)."""
        pygame.event.set_grab(captured)
        pygame.mouse.set_visible(not captured)
        self.mouse_captured = captured

    def save_screenshot(self, folder: Path, name: str) -> Path:
        """The whole window as `folder/name.png` (temp name, then rename)."""
        path = Path(folder) / f"{name}.png"
        with atomic_path(path, keep_suffix=True) as temp:  # pygame picks the format from the extension
            pygame.image.save(self.surface, str(temp))
        return path

    def close(self) -> None:
        if self.mouse_captured:
            self.capture_mouse(False)
        pygame.display.quit()
