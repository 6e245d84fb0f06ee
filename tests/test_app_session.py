from pathlib import Path

import numpy as np
import pygame
import pytest
import torch

from worldsim.app.session import PlaySession, SessionOptions
from worldsim.app.window import HUD_HEIGHT
from worldsim.data.check import check_dataset
from worldsim.data.episode import read_episode
from worldsim.env.maze_world import MazeConfig, MazeWorld

SMALL = MazeConfig(height=16, width=16)


def key(kind: int, code: int) -> pygame.event.Event:
    return pygame.event.Event(kind, key=code)


@pytest.fixture
def session(tmp_path):
    options = SessionOptions(fps=1000, scale=4, screenshot_dir=tmp_path / "shots", recording_dir=tmp_path / "rec")
    play = PlaySession(MazeWorld(SMALL), options)
    yield play
    play.stop_recording()
    play.window.close()


def test_posted_keys_and_mouse_reach_the_world_as_mapped_actions(session):
    pygame.event.post(key(pygame.KEYDOWN, pygame.K_w))
    pygame.event.post(key(pygame.KEYDOWN, pygame.K_LEFT))
    session.window.mouse_captured = True
    pygame.event.post(pygame.event.Event(pygame.MOUSEMOTION, rel=(30, 0), pos=(0, 0), buttons=(0, 0, 0)))
    before = session.world.pose.clone()
    session.tick()
    discrete, continuous = session.last_action
    assert session.world.action_space.discrete[discrete] == "forward_left"
    assert continuous[0] > 0  # mouse right turns right
    assert not torch.equal(before, session.world.pose)
    pygame.event.post(key(pygame.KEYUP, pygame.K_w))
    pygame.event.post(key(pygame.KEYUP, pygame.K_LEFT))
    session.tick()
    assert session.last_action[0] == session.world.action_space.noop
    assert session.last_action[1][0] == 0.0  # mouse motion is used once


def test_hud_shows_text_and_updates(session):
    hud = session.window.hud_rect
    session.tick()
    first = pygame.surfarray.array3d(session.window.surface.subsurface(hud)).copy()
    assert hud.height == HUD_HEIGHT
    assert len(np.unique(first.reshape(-1, 3), axis=0)) > 1  # text on the background
    for _ in range(3):
        session.tick()
    assert not np.array_equal(first, pygame.surfarray.array3d(session.window.surface.subsurface(hud)))
    assert "frame 4" in session.status_lines()[0]


def test_help_overlay_changes_the_frame_area(session):
    session.tick()
    plain = pygame.surfarray.array3d(session.window.surface.subsurface(session.window.frame_rect)).copy()
    pygame.event.post(key(pygame.KEYDOWN, pygame.K_p))  # pause, so only the overlay differs
    pygame.event.post(key(pygame.KEYDOWN, pygame.K_h))
    session.tick()
    assert session.paused and session.show_help
    assert not np.array_equal(plain, pygame.surfarray.array3d(session.window.surface.subsurface(session.window.frame_rect)))


def test_screenshot_key_writes_a_png(session, tmp_path):
    pygame.event.post(key(pygame.KEYDOWN, pygame.K_F12))
    session.tick()
    pygame.event.post(key(pygame.KEYDOWN, pygame.K_k))
    session.tick()
    assert len(session.screenshots) == 2
    image = pygame.image.load(str(session.screenshots[0]))
    assert image.get_size() == session.window.surface.get_size()
    assert not list((tmp_path / "shots").glob(".*"))  # no temp file left behind


def test_recording_writes_a_checked_episode_and_video(session, tmp_path):
    pygame.event.post(key(pygame.KEYDOWN, pygame.K_v))
    pygame.event.post(key(pygame.KEYDOWN, pygame.K_w))
    for _ in range(5):
        session.tick()
    pygame.event.post(key(pygame.KEYDOWN, pygame.K_v))
    session.tick()
    assert session.recording is None and len(session.saved_episodes) == 1
    episode = read_episode(session.saved_episodes[0])
    assert episode.length == 6  # the frame on screen when V was pressed + 5 steps
    assert episode.discrete[0] == episode.action_space.noop
    assert (episode.discrete[1:] == episode.action_space.discrete.index("forward")).all()
    np.testing.assert_array_equal(episode.frames[-1], session.frame)
    assert check_dataset(tmp_path / "rec", progress=False).ok
    from decoded_video import count_video_frames

    assert count_video_frames(session.saved_videos[0]) == 6


def test_reset_saves_the_recording_and_starts_a_new_episode(session):
    pygame.event.post(key(pygame.KEYDOWN, pygame.K_v))
    session.tick()
    session.tick()
    pygame.event.post(key(pygame.KEYDOWN, pygame.K_r))
    session.tick()
    assert len(session.saved_episodes) == 1 and session.recording is not None
    assert session.seed == 1 and session.stats.frame == 1


def test_steps_keys_change_a_world_that_has_steps(session):
    session.world.steps = 4
    pygame.event.post(key(pygame.KEYDOWN, pygame.K_RIGHTBRACKET))
    session.tick()
    assert session.world.steps == 5
    for _ in range(10):
        pygame.event.post(key(pygame.KEYDOWN, pygame.K_LEFTBRACKET))
    session.tick()
    assert session.world.steps == 1


class FailingWorld(MazeWorld):
    def step(self, discrete, continuous=None):
        if self.step_count >= 3:
            raise RuntimeError("world broke")
        return super().step(discrete, continuous)


@pytest.mark.parametrize("ending", ["escape", "close", "exception", "interrupt"])
def test_a_recording_is_saved_however_the_session_ends(tmp_path, ending, monkeypatch):
    world = FailingWorld(SMALL) if ending == "exception" else MazeWorld(SMALL)
    play = PlaySession(world, SessionOptions(fps=1000, scale=2, recording_dir=tmp_path / "rec"))
    pygame.event.post(key(pygame.KEYDOWN, pygame.K_v))
    ticks = {"n": 0}
    original = play.tick

    def scripted_tick():
        ticks["n"] += 1
        if ticks["n"] == 5:
            if ending == "escape":
                pygame.event.post(key(pygame.KEYDOWN, pygame.K_ESCAPE))
            elif ending == "close":
                pygame.event.post(pygame.event.Event(pygame.QUIT))
            elif ending == "interrupt":
                raise KeyboardInterrupt
        original()

    monkeypatch.setattr(play, "tick", scripted_tick)
    if ending in ("escape", "close"):
        play.run(max_frames=100)
    else:
        with pytest.raises(RuntimeError if ending == "exception" else KeyboardInterrupt):
            play.run(max_frames=100)
    assert len(play.saved_episodes) == 1
    assert read_episode(play.saved_episodes[0]).length >= 4
    assert check_dataset(tmp_path / "rec", progress=False).ok


def test_no_display_points_to_headless(monkeypatch, capsys):
    from worldsim.app import window
    from worldsim.cli import main

    monkeypatch.setenv("SDL_VIDEODRIVER", "x11")
    monkeypatch.delenv("DISPLAY", raising=False)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    monkeypatch.setattr(window.sys, "platform", "linux")
    with pytest.raises(window.NoDisplayError, match="--headless"):
        window.check_display_available()
    assert main(["play", "--world", "maze"]) == 1
    assert "--headless" in capsys.readouterr().err


def test_side_by_side_recording_keeps_the_worlds_frames_and_shows_both_in_the_video(tmp_path):
    import cv2

    from worldsim.app.worlds import SideBySideWorld

    world = SideBySideWorld(MazeWorld(SMALL), MazeWorld(MazeConfig(height=16, width=16, size=5)))
    options = SessionOptions(fps=1000, scale=2, recording_dir=tmp_path / "rec", video_scale=3)
    play = PlaySession(world, options)
    try:
        pygame.event.post(key(pygame.KEYDOWN, pygame.K_v))
        for _ in range(3):
            play.tick()
        assert play.frame.shape == (16, 32, 3)  # on screen: truth and the other world side by side
        play.stop_recording()
    finally:
        play.window.close()
    episode = read_episode(play.saved_episodes[0])
    assert episode.frames.shape[1:] == (16, 16, 3)  # the dataset holds the left world's frames
    np.testing.assert_array_equal(episode.frames[-1], play.frame[:, :16])
    video = cv2.VideoCapture(str(play.saved_videos[0]))
    assert (video.get(cv2.CAP_PROP_FRAME_WIDTH), video.get(cv2.CAP_PROP_FRAME_HEIGHT)) == (96, 48)
    video.release()


def test_the_window_shrinks_to_fit_the_display(monkeypatch, capsys):
    from worldsim.app import window

    assert window.fit_scale(210, 160, 8, (1920, 1080)) == 4  # Atari: 1,720 px tall at scale 8
    assert window.fit_scale(64, 64, 8, (1920, 1080)) == 8
    assert window.fit_scale(64, 64, 8, (200, 150)) == 1
    assert window.fit_scale(64, 64, 8, None) == 8
    monkeypatch.setattr(window, "desktop_size", lambda: (800, 600))
    shown = window.Window(210, 160, 8)
    try:
        width, height = shown.surface.get_size()
        assert shown.scale == 2 and width <= 800 and height <= 600
        assert "window scale 8 -> 2" in capsys.readouterr().err
    finally:
        shown.close()


def test_screenshots_and_recordings_default_to_the_output_folder():
    from worldsim.cli import build_parser
    from worldsim.paths import OUTPUT_DIR

    args = build_parser().parse_args(["play"])
    assert args.screenshots == OUTPUT_DIR / "screenshots" and args.recordings == OUTPUT_DIR / "recordings"
    assert SessionOptions().screenshot_dir.parent == SessionOptions().recording_dir.parent == OUTPUT_DIR
    gitignore = (Path(__file__).resolve().parents[1] / ".gitignore").read_text().splitlines()
    assert f"/{OUTPUT_DIR}/" in gitignore


def test_the_shipped_checkpoint_is_found_from_any_folder_and_named(tmp_path, monkeypatch):
    from worldsim.app.worlds import resolve_checkpoint
    from worldsim.paths import DEFAULT_CHECKPOINT

    monkeypatch.chdir(tmp_path)  # run_sim.py started from another folder used to play the plain maze
    checkpoint, note = resolve_checkpoint(None, None)
    assert checkpoint == DEFAULT_CHECKPOINT and checkpoint.is_file()
    assert note.startswith(f"playing {DEFAULT_CHECKPOINT}")
    assert resolve_checkpoint(None, "maze") == (None, None)


def test_a_machine_without_cuda_plays_the_cpu_checkpoint_when_one_ships(tmp_path, monkeypatch):
    from worldsim.app import worlds
    from worldsim.paths import DEFAULT_CHECKPOINT

    cpu_checkpoint = tmp_path / "cpu.safetensors"
    monkeypatch.setattr(worlds, "CPU_CHECKPOINT", cpu_checkpoint)
    assert worlds.resolve_checkpoint(None, None, "cpu")[0] == DEFAULT_CHECKPOINT  # none shipped: the default
    cpu_checkpoint.write_bytes(b"weights")
    checkpoint, note = worlds.resolve_checkpoint(None, None, "cpu")
    assert checkpoint == cpu_checkpoint and note.startswith(f"playing {cpu_checkpoint}") and "no CUDA GPU" in note
    monkeypatch.setattr(worlds.torch.cuda, "is_available", lambda: False)
    assert worlds.resolve_checkpoint(None, None, "auto")[0] == cpu_checkpoint
    monkeypatch.setattr(worlds.torch.cuda, "is_available", lambda: True)
    assert worlds.resolve_checkpoint(None, None, "auto")[0] == DEFAULT_CHECKPOINT
    assert worlds.resolve_checkpoint(None, None, "cuda:1")[0] == DEFAULT_CHECKPOINT
    assert worlds.resolve_checkpoint(None, None, "bogus")[0] == DEFAULT_CHECKPOINT  # the engine names it later
    assert worlds.resolve_checkpoint("mine.safetensors", None, "cpu") == (Path("mine.safetensors"), None)
