"""Game ids beyond plain gymnasium ids: keyword arguments, games without render_mode, image observations
in dicts or greyscale, the module:Id form, old-gym / dm_env games through shimmy, fps and default policy."""

from __future__ import annotations

import sys
import textwrap
import types
from typing import ClassVar

import numpy as np
import pytest
import torch

gymnasium = pytest.importorskip("gymnasium")

from worldsim.cli import main
from worldsim.data.dataset import open_dataset
from worldsim.data.episode import read_episode
from worldsim.env import make_world
from worldsim.env.gym_make import parse_env_kwargs


class _Tiny(gymnasium.Env):
    """A 3-action game whose constructor takes no render_mode; the observation is `kind` of image."""

    metadata: ClassVar[dict] = {"render_modes": [], "render_fps": 12}

    def __init__(self, kind: str = "rgb", size: int = 6, episode_steps: int = 100):
        self.kind, self.size, self.episode_steps = kind, size, episode_steps
        self.action_space = gymnasium.spaces.Discrete(3)
        image = gymnasium.spaces.Box(0, 255, (size, size) if kind == "grey" else (size, size, 3), np.uint8)
        score = gymnasium.spaces.Box(0, 1, (1,))
        self.observation_space = gymnasium.spaces.Dict({"image": image, "score": score}) if kind == "dict" else image

    def _observation(self):
        image = np.full((self.size, self.size, 3), 40 * self.t, np.uint8)
        if self.kind == "grey":
            return image[..., 0]
        return {"image": image, "score": np.zeros(1, np.float32)} if self.kind == "dict" else image

    def reset(self, seed=None, options=None):
        super().reset(seed=seed)
        self.t = 0
        return self._observation(), {}

    def step(self, action):
        self.t += 1
        return self._observation(), float(action), self.t >= self.episode_steps, False, {}


gymnasium.register("WorldsimTiny-v0", entry_point=_Tiny)


def test_env_kwargs_reach_a_game_without_render_mode() -> None:
    for kind in ("rgb", "dict", "grey"):
        world = make_world("gym:WorldsimTiny-v0", env_kwargs={"kind": kind, "size": 5})
        frames, info = world.reset(0)
        assert frames.shape == (1, 5, 5, 3) and info["reward"] == 0.0
        frames, info = world.step(torch.tensor([2]))
        assert int(frames[0, 0, 0, 0]) == 40 and info["reward"] == 2.0, kind
        assert world.fps == 12.0  # the game's metadata render_fps


def test_bad_env_kwargs_are_named() -> None:
    with pytest.raises(ValueError, match="rejected its arguments.*bogus.*--env-kwargs"):
        make_world("gym:WorldsimTiny-v0", env_kwargs={"bogus": 1})
    with pytest.raises(ValueError, match="not valid JSON"):
        parse_env_kwargs("{frameskip: 1}")
    with pytest.raises(ValueError, match="JSON object"):
        parse_env_kwargs("[1]")
    with pytest.raises(ValueError, match="no --env-kwargs"):
        make_world("maze", env_kwargs={"size": 5})


def test_module_colon_id_imports_the_game_module(tmp_path, monkeypatch) -> None:
    (tmp_path / "worldsim_test_game.py").write_text(textwrap.dedent("""
        import gymnasium
        gymnasium.register("WorldsimModuleGame-v0", entry_point="test_env_games:_Tiny")
    """))
    monkeypatch.syspath_prepend(str(tmp_path))
    world = make_world("gym:worldsim_test_game:WorldsimModuleGame-v0")
    assert world.reset(0)[0].shape == (1, 6, 6, 3)
    with pytest.raises(ValueError, match="No module named 'no_such_module'.*installed"):
        make_world("gym:no_such_module:Game-v0")


def test_old_gym_and_dm_env_without_shimmy_say_what_to_install(monkeypatch) -> None:
    monkeypatch.setitem(sys.modules, "shimmy", None)  # as if not installed
    with pytest.raises(ValueError, match=r"shimmy, which is not installed: pip install 'shimmy\[gym-v26\]'"):
        make_world("oldgym:memory_maze:MemoryMaze-9x9-v0")
    with pytest.raises(ValueError, match=r"pip install 'shimmy\[dm-control\]'"):
        make_world("dm_env:memory_maze.tasks:memory_maze_9x9")
    with pytest.raises(ValueError, match="dm_env:<module>:<function>"):
        make_world("dm_env:memory_maze_9x9")


def test_dm_env_game_through_shimmy(monkeypatch) -> None:
    """A stand-in for shimmy's DmControlCompatibilityV0 and a dm_env game module: the game function gets the
    keyword arguments, dict observations give their "image", and fps comes from control_timestep."""

    class Game:
        def __init__(self, **kwargs):
            self.kwargs = kwargs

        def control_timestep(self):
            return 0.25

    class Compatibility(_Tiny):
        def __init__(self, game):
            super().__init__(kind="dict", size=4)
            self.game = game

    made = []
    game_module = types.ModuleType("worldsim_dm_game")
    game_module.make_game = lambda **kwargs: made.append(Game(**kwargs)) or made[-1]
    monkeypatch.setitem(sys.modules, "worldsim_dm_game", game_module)
    monkeypatch.setitem(sys.modules, "shimmy", types.SimpleNamespace(DmControlCompatibilityV0=Compatibility))
    world = make_world("dm_env:worldsim_dm_game:make_game", env_kwargs={"image_only_obs": False})
    assert made[0].kwargs == {"image_only_obs": False} and world.fps == 4.0
    assert world.reset(0)[0].shape == (1, 4, 4, 3)


def test_record_a_game_with_defaults_keeps_reward_and_end_flags(tmp_path, capsys) -> None:
    out = tmp_path / "tiny"
    argv = ["record", "--env", "gym:WorldsimTiny-v0", "--env-kwargs", '{"episode_steps": 5}', "--episodes", "2",
            "--steps", "9", "--no-progress"]
    assert main([*argv, "--out", str(out)]) == 0, capsys.readouterr().err
    info = open_dataset(out)
    meta = info.metas[0]
    assert meta.fps == 12.0 and meta.source["policy"] == "random"  # not the maze-only wander
    assert meta.source["env_kwargs"] == {"episode_steps": 5}
    episode = read_episode(out / info.names[0])
    assert episode.length == 6  # reset frame + 5 steps, then the game ended
    assert episode.reward.dtype == np.float32 and episode.reward[0] == 0.0
    np.testing.assert_array_equal(episode.reward[1:], episode.discrete[1:].astype(np.float32))
    assert episode.terminated.tolist() == [False] * 5 + [True] and not episode.truncated.any()
    assert main(["data", "check", str(out), "--no-progress"]) == 0
    assert main([*argv, "--fps", "7", "--out", str(tmp_path / "seven")]) == 0
    assert open_dataset(tmp_path / "seven").metas[0].fps == 7.0


def test_play_a_game_headless_with_the_default_policy(capsys) -> None:
    argv = ["play", "--world", "gym:WorldsimTiny-v0", "--env-kwargs", '{"size": 4}', "--headless", "--frames", "6"]
    assert main(argv) == 0, capsys.readouterr().err  # the default policy was maze-only wander before
    assert "played 6 frames" in capsys.readouterr().out
