"""The game loop over any `World`: events -> action -> world.step -> draw -> tick (after Gymnasium's play.py)."""

from __future__ import annotations

import datetime
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pygame
import torch

from worldsim.app.controls import Controls
from worldsim.app.hud import Hud, HudStats, session_keys, status_lines, world_hud_info
from worldsim.app.recording import SessionRecording
from worldsim.app.window import Window
from worldsim.data.video import DEFAULT_VIDEO_SCALE
from worldsim.paths import OUTPUT_DIR
from worldsim.world import World

SCREENSHOT_KEYS = (pygame.K_F12, pygame.K_k)
MIN_STEPS, MAX_STEPS = 1, 64
MIN_EPISODE_FRAMES = 2  # a recording with no step after its first frame is dropped, not saved


@dataclass
class SessionOptions:
    fps: int = 30
    seed: int = 0
    scale: int = 8  # 64×64 frames -> a 512×512 window (smaller when the display is smaller)
    screenshot_dir: Path = OUTPUT_DIR / "screenshots"
    recording_dir: Path = OUTPUT_DIR / "recordings"  # a dataset directory (episode_<n>/ + videos/)
    video_scale: int = DEFAULT_VIDEO_SCALE  # recordings' MP4s: pixels per frame pixel (nearest neighbour)
    capture_mouse: bool = True
    title: str = "worldsim"
    # human recording: record from the start; R saves the episode and starts the next, Esc saves and quits
    record_episodes: bool = False
    source: dict[str, Any] = field(default_factory=dict)  # stored in each recorded episode's meta.json


class PlaySession:
    """One window playing batch element 0 of `world`. `run()` returns when the player quits."""

    def __init__(self, world: World, options: SessionOptions | None = None, controls: Controls | None = None) -> None:
        self.world = world
        self.options = options = options or SessionOptions()
        if options.fps < 1:
            raise ValueError(f"fps must be >= 1, got {options.fps}")
        self.controls = controls or Controls(world.action_space)
        self.seed = options.seed
        self.frame = self._first_frame(world.reset(self.seed)[0])
        height, width = self.frame.shape[:2]
        self.window = Window(height, width, options.scale, options.title)
        self.hud = Hud()
        self.stats = HudStats()
        self.clock = pygame.time.Clock()
        self.pressed: set[int] = set()
        self.mouse_dx = 0.0
        self.paused = False
        self.show_help = False
        self.running = True
        self.recording: SessionRecording | None = None
        self.saved_episodes: list[Path] = []
        self.saved_videos: list[Path] = []
        self.screenshots: list[Path] = []
        self.last_action: tuple[int | None, np.ndarray | None] = (None, None)
        if options.capture_mouse and self.controls.uses_mouse_yaw:
            self.window.capture_mouse(True)
        if options.record_episodes:
            self.start_recording()

    # -- the loop ---------------------------------------------------------------------------------

    def run(self, max_frames: int | None = None) -> int:
        """Play until quit (or `max_frames` ticks); a recording in progress is saved however the loop ends."""
        ticks = 0
        try:
            while self.running and (max_frames is None or ticks < max_frames):
                self.tick()
                ticks += 1
        finally:
            self.stop_recording()
            self.window.close()
        return ticks

    def tick(self) -> None:
        for event in pygame.event.get():
            self.handle_event(event)
        if not self.running:
            return
        if not self.paused:
            self.advance()
        self.draw()
        self.clock.tick(self.options.fps)
        self.stats.record_tick(time.perf_counter())

    def advance(self) -> None:
        """One world step with the action of the held keys and this tick's mouse motion."""
        discrete, continuous = self.controls.action(frozenset(self.pressed), self.mouse_dx)
        self.mouse_dx = 0.0
        start = time.perf_counter()
        frames, _ = self.world.step(*self._batched(discrete, continuous))
        self.frame = self._first_frame(frames)  # copies to the host, so the timing includes the device work
        self.stats.record_step(time.perf_counter() - start)
        self.stats.frame += 1
        self.last_action = (discrete, continuous)
        if self.recording is not None:
            self.recording.add(self._episode_frame(), discrete, continuous, video_frame=self.frame)

    def draw(self) -> None:
        self.window.draw_frame(self.frame)
        if self.show_help:
            rows = self.controls.key_table() + list(session_keys(self.options.record_episodes))
            self.hud.draw_help(self.window.surface, self.window.frame_rect, rows)
        self.hud.draw_bar(self.window.surface, self.window.hud_rect, self.status_lines(), self.recording is not None)
        self.window.present()

    def status_lines(self) -> list[str]:
        flags = []
        if self.recording is not None:
            flags.append(f"REC {self.recording.length} frames")
        if self.paused:
            flags.append("PAUSED")
        return status_lines(self.stats, world_hud_info(self.world), flags)

    # -- events -----------------------------------------------------------------------------------

    def handle_event(self, event: pygame.event.Event) -> None:
        if event.type == pygame.QUIT:
            self.running = False
        elif event.type == pygame.KEYDOWN:
            self.pressed.add(event.key)
            self.handle_key(event.key)
        elif event.type == pygame.KEYUP:
            self.pressed.discard(event.key)
        elif event.type == pygame.MOUSEMOTION and self.window.mouse_captured:
            self.mouse_dx += event.rel[0]
        elif event.type == pygame.MOUSEBUTTONDOWN and self.controls.uses_mouse_yaw:
            self.window.capture_mouse(True)
        elif event.type == pygame.WINDOWFOCUSLOST:
            self.pressed.clear()  # key-up events of a defocused window never arrive

    def handle_key(self, key: int) -> None:
        if key == pygame.K_ESCAPE:
            self.running = False  # run() saves a recording in progress
        elif key == pygame.K_p:
            self.paused = not self.paused
        elif key == pygame.K_r:
            self.reset()
        elif key == pygame.K_h:
            self.show_help = not self.show_help
        elif key in SCREENSHOT_KEYS:
            self.take_screenshot()
        elif key == pygame.K_v:
            self.stop_recording() if self.recording is not None else self.start_recording()
        elif key == pygame.K_m:
            self.window.capture_mouse(not self.window.mouse_captured)
        elif key in (pygame.K_LEFTBRACKET, pygame.K_RIGHTBRACKET):
            self.change_steps(-1 if key == pygame.K_LEFTBRACKET else 1)

    # -- actions of the session keys --------------------------------------------------------------

    def reset(self) -> None:
        """New seed; a recording in progress is saved and, if recording stays on, a new episode starts."""
        was_recording = self.recording is not None
        self.stop_recording()
        self.seed += 1
        self.frame = self._first_frame(self.world.reset(self.seed)[0])
        self.stats.frame = 0
        if was_recording or self.options.record_episodes:
            self.start_recording()

    def change_steps(self, delta: int) -> None:
        """Denoising steps, for worlds that have a settable `steps` (the engine)."""
        if hasattr(self.world, "steps"):
            self.world.steps = int(np.clip(self.world.steps + delta, MIN_STEPS, MAX_STEPS))

    def take_screenshot(self) -> Path:
        name = datetime.datetime.now().strftime("worldsim-%Y%m%d-%H%M%S-%f")
        path = self.window.save_screenshot(self.options.screenshot_dir, name)
        self.screenshots.append(path)
        print(f"screenshot: {path}")
        return path

    def start_recording(self) -> None:
        source = {"recorder": "human", "policy": "human", "seed": self.seed, **self.options.source}
        self.recording = SessionRecording(
            self.options.recording_dir, self.world.action_space, self.options.fps, source, self._episode_frame(),
            video_frame=self.frame, video_scale=self.options.video_scale,
        )

    def stop_recording(self) -> None:
        """Publish the recording in progress (if any) as an episode + MP4."""
        recording, self.recording = self.recording, None
        if recording is None:
            return
        if recording.length < MIN_EPISODE_FRAMES:
            recording.discard()  # nothing was played since it started
            return
        episode_dir, video = recording.stop()
        self.saved_episodes.append(episode_dir)
        if video is not None:
            self.saved_videos.append(video)
        print(f"recorded {recording.length} frames: {episode_dir}" + (f" (video {video})" if video else ""))

    # -- helpers ----------------------------------------------------------------------------------

    def _batched(self, discrete: int | None, continuous: np.ndarray | None) -> tuple[torch.Tensor | None, ...]:
        """The one player's action repeated over the world's batch (B,) and (B, C)."""
        batch = self.world.batch_size
        discrete_t = None if discrete is None else torch.full((batch,), discrete, dtype=torch.long)
        continuous_t = None if continuous is None else torch.from_numpy(continuous).expand(batch, -1).contiguous()
        return discrete_t, continuous_t

    def _episode_frame(self) -> np.ndarray:
        """What a recording stores of the frame on screen: the world's own part when the world shows
        more than itself (side by side: the ground truth, not the joined picture)."""
        episode_frame = getattr(self.world, "episode_frame", None)
        return episode_frame(self.frame) if callable(episode_frame) else self.frame

    @staticmethod
    def _first_frame(frames: torch.Tensor) -> np.ndarray:
        return frames[0].cpu().numpy()
