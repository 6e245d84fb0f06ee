import pygame

from worldsim.app.hud import session_keys
from worldsim.app.human_record import record_human
from worldsim.cli.data import source_label
from worldsim.data.check import check_dataset
from worldsim.data.episode import read_episode
from worldsim.env.maze_world import MazeConfig, MazeWorld


def scripted_events(monkeypatch, script):
    batches = iter(script)
    monkeypatch.setattr(pygame.event, "get", lambda *a, **k: next(batches, [pygame.event.Event(pygame.QUIT)]))


def down(code: int) -> pygame.event.Event:
    return pygame.event.Event(pygame.KEYDOWN, key=code)


def test_r_saves_an_episode_and_starts_the_next_and_escape_saves_and_quits(tmp_path, monkeypatch):
    script = [[down(pygame.K_w)], [], [], [down(pygame.K_r)], [], [], [down(pygame.K_ESCAPE)], [], []]
    scripted_events(monkeypatch, script)
    episodes = record_human(MazeWorld(MazeConfig(height=16, width=16)), tmp_path, fps=1000, seed=3, scale=2)
    assert len(episodes) == 2  # Esc ended the session: no third episode from the ticks after it
    first, second = (read_episode(path) for path in episodes)
    # first: reset frame + 3 steps; second: its first frame + the steps of the R tick and the two after
    assert first.length == 4 and second.length == 4
    assert first.meta.source["seed"] == 3 and second.meta.source["seed"] == 4
    assert check_dataset(tmp_path, progress=False).ok
    assert len(list((tmp_path / "videos").glob("episode_*.mp4"))) == 2
    assert source_label(first.meta.source) == "maze / human"  # `data info` showed "MazeWorld / ?"


def test_help_overlay_says_what_escape_and_r_do():
    playing, recording = dict(session_keys(False)), dict(session_keys(True))
    assert playing["Esc"] == "quit"
    assert "quit" in recording["Esc"] and "save" in recording["Esc"]
    assert "next" in recording["R"]


def test_data_info_names_older_and_played_sources():
    assert source_label({"env": "gym:ALE/Pong-v5", "policy": "random"}) == "gym:ALE/Pong-v5 / random"
    assert source_label({"recorder": "human", "played": "run/latest.safetensors"}) == "played run/latest.safetensors / human"
    assert source_label({}) == "? / ?"
