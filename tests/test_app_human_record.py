import pygame

from worldsim.app.human_record import record_human
from worldsim.data.check import check_dataset
from worldsim.data.episode import read_episode
from worldsim.env.maze_world import MazeConfig, MazeWorld


def test_each_escape_saves_an_episode_and_closing_saves_the_last(tmp_path, monkeypatch):
    down = lambda code: pygame.event.Event(pygame.KEYDOWN, key=code)
    script = [[down(pygame.K_w)], [], [], [down(pygame.K_ESCAPE)], [], [], [pygame.event.Event(pygame.QUIT)]]
    batches = iter(script)
    monkeypatch.setattr(pygame.event, "get", lambda *a, **k: next(batches, [pygame.event.Event(pygame.QUIT)]))
    episodes = record_human(MazeWorld(MazeConfig(height=16, width=16)), tmp_path, fps=1000, seed=3, scale=2)
    assert len(episodes) == 2
    first, second = (read_episode(path) for path in episodes)
    # first: reset frame + 3 steps; second: its first frame + the steps of the Esc tick and the two after
    assert first.length == 4 and second.length == 4
    assert first.meta.source["seed"] == 3 and second.meta.source["seed"] == 4
    assert check_dataset(tmp_path, progress=False).ok
    assert len(list((tmp_path / "videos").glob("episode_*.mp4"))) == 2
