"""Head-up display: speed, frame number and the world's own figures in a bar; a help overlay of the keys."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pygame

HUD_BACKGROUND = (20, 20, 24)
HUD_TEXT = (230, 230, 230)
RECORDING_TEXT = (255, 80, 80)
HELP_BACKGROUND = (0, 0, 0, 190)
FONT_SIZE = 18
SMOOTHING = 0.1  # weight of the newest sample in the moving averages

SESSION_KEYS: tuple[tuple[str, str], ...] = (
    ("P", "pause / resume"),
    ("R", "reset (new seed)"),
    ("[ / ]", "fewer / more denoising steps"),
    ("V", "start / stop recording"),
    ("F12 / K", "screenshot"),
    ("M", "capture / release the mouse"),
    ("H", "this help"),
    ("Esc", "quit"),
)
# `worldsim record --human`: every episode is recorded, so R and Esc say what happens to it.
RECORDING_SESSION_KEYS: dict[str, str] = {"R": "save the episode, start the next", "Esc": "save the episode, quit"}


def session_keys(recording_episodes: bool) -> list[tuple[str, str]]:
    """The help overlay's session keys (human recording says what R and Esc do with the episode)."""
    if not recording_episodes:
        return list(SESSION_KEYS)
    return [(key, RECORDING_SESSION_KEYS.get(key, action)) for key, action in SESSION_KEYS]


@dataclass
class HudStats:
    """Moving averages of the loop's frames per second and the world's milliseconds per step."""

    fps: float = 0.0
    step_ms: float = 0.0
    frame: int = 0
    _last_tick: float | None = field(default=None, repr=False)

    def record_tick(self, now: float) -> None:
        if self._last_tick is not None and now > self._last_tick:
            self.fps = _average(self.fps, 1.0 / (now - self._last_tick))
        self._last_tick = now

    def record_step(self, seconds: float) -> None:
        self.step_ms = _average(self.step_ms, seconds * 1000.0)


def _average(old: float, new: float) -> float:
    return new if old == 0.0 else (1.0 - SMOOTHING) * old + SMOOTHING * new


def world_hud_info(world: Any) -> dict[str, str]:
    """The world's optional `hud_info()` (the engine: device, denoising steps, GPU memory)."""
    info = getattr(world, "hud_info", None)
    return {str(k): str(v) for k, v in info().items()} if callable(info) else {}


def status_lines(stats: HudStats, world_info: dict[str, str], flags: list[str]) -> list[str]:
    first = f"frame {stats.frame}   {stats.fps:5.1f} fps   {stats.step_ms:6.1f} ms/step"
    second = "   ".join([f"{k} {v}" for k, v in world_info.items()] + flags + ["H help"])
    return [first, second]


class Hud:
    def __init__(self) -> None:
        pygame.font.init()
        self.font = pygame.font.Font(None, FONT_SIZE)

    def draw_bar(self, surface: pygame.Surface, rect: pygame.Rect, lines: list[str], recording: bool) -> None:
        surface.fill(HUD_BACKGROUND, rect)
        y = rect.top + 3
        for index, line in enumerate(lines):
            color = RECORDING_TEXT if recording and index == 1 else HUD_TEXT
            surface.blit(self.font.render(line, True, color), (rect.left + 6, y))
            y += self.font.get_linesize() + 2

    def draw_help(self, surface: pygame.Surface, rect: pygame.Rect, rows: list[tuple[str, str]]) -> None:
        """Key table over the frame area, on a translucent panel."""
        panel = pygame.Surface(rect.size, pygame.SRCALPHA)
        panel.fill(HELP_BACKGROUND)
        surface.blit(panel, rect.topleft)
        y = rect.top + 8
        for keys, action in rows:
            surface.blit(self.font.render(keys, True, HUD_TEXT), (rect.left + 10, y))
            surface.blit(self.font.render(action, True, HUD_TEXT), (rect.left + rect.width // 2, y))
            y += self.font.get_linesize()
