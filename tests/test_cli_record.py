"""`worldsim record` then `worldsim data check` and `worldsim data info`, through worldsim.cli.main."""

from __future__ import annotations

import types

import numpy as np
import pytest
from test_data_fakes import FakePolicy, FakeWorld

from worldsim.cli import main
from worldsim.cli import record as record_cli
from worldsim.data.dataset import open_dataset
from worldsim.data.episode import FRAMES_FILE


@pytest.fixture
def fake_env(monkeypatch):
    """Route `worldsim record` to FakeWorld/FakePolicy so the CLI is tested without the maze."""
    monkeypatch.setattr(record_cli, "make_record_world",
                        lambda env, batch, device, h, w, kwargs=None, downscale="area": FakeWorld(batch or 2, h, w))
    policies = types.ModuleType("worldsim.env.policies")
    policies.make_policy = lambda name, detour_prob=0.0, repeat_prob=0.0: FakePolicy()
    monkeypatch.setitem(__import__("sys").modules, "worldsim.env.policies", policies)


def test_record_check_info_round_trip(tmp_path, fake_env, capsys) -> None:
    out = tmp_path / "data"
    argv = [
        "record",
        "--env",
        "maze",
        "--policy",
        "wander",
        "--episodes",
        "2",
        "--steps",
        "20",
        "--out",
        str(out),
        "--height",
        "16",
        "--width",
        "12",
        "--no-progress",
    ]
    assert main(argv) == 0
    assert "recorded 2 episodes (40 frames)" in capsys.readouterr().out
    info = open_dataset(out)
    assert info.lengths == (20, 20) and (info.height, info.width) == (16, 12)
    assert info.metas[0].source == {"policy": "wander", "env": "maze", "seed": 0}

    assert main(["data", "check", str(out), "--no-progress"]) == 0
    assert "2/2 episodes ok" in capsys.readouterr().out
    assert main(["data", "info", str(out)]) == 0
    text = capsys.readouterr().out
    assert "episodes                2" in text and "40 (episode length 20..20" in text
    assert "16x12" in text and "maze / wander: 2" in text

    frames = out / "episode_000001" / FRAMES_FILE
    frames.write_bytes(frames.read_bytes()[:-1])
    assert main(["data", "check", str(out), "--no-progress"]) == 1
    assert "BROKEN  episode_000001" in capsys.readouterr().out


def test_record_refuses_to_append_another_resolution(tmp_path, fake_env, capsys) -> None:
    base = ["record", "--episodes", "1", "--steps", "3", "--out", str(tmp_path), "--no-progress"]
    assert main(base + ["--height", "8", "--width", "8"]) == 0
    assert main(base + ["--height", "10", "--width", "8"]) == 1
    assert "cannot append 10x8 frames to a dataset of 8x8" in capsys.readouterr().err
    assert open_dataset(tmp_path).names == ("episode_000000",)
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


def test_bad_arguments_and_missing_dataset_are_clear_errors(tmp_path, capsys) -> None:
    assert main(["record", "--env", "pong", "--out", str(tmp_path)]) == 1
    assert "expected 'maze' (the built-in maze), 'gym:<gymnasium id>'" in capsys.readouterr().err
    assert main(["record", "--env", "gym:ALE/Pong-v5", "--batch", "4", "--out", str(tmp_path)]) == 1
    assert "one at a time" in capsys.readouterr().err
    assert main(["data", "info", str(tmp_path / "missing")]) == 1
    assert "dataset directory not found" in capsys.readouterr().err
    assert main(["data", "check", str(tmp_path)]) == 1
    captured = capsys.readouterr()
    assert "no episodes: readers take directories named episode_" in captured.err
    assert "episodes ok" not in captured.out  # not "-1/0 episodes ok, 1 broken"


def test_record_the_real_maze(tmp_path, capsys) -> None:
    out = tmp_path / "maze"
    argv = [
        "record",
        "--env",
        "maze",
        "--policy",
        "revisit",
        "--detour-prob",
        "0.2",
        "--episodes",
        "2",
        "--steps",
        "40",
        "--batch",
        "2",
        "--out",
        str(out),
        "--height",
        "32",
        "--width",
        "32",
        "--no-progress",
    ]
    assert main(argv) == 0
    assert main(["data", "check", str(out), "--no-progress"]) == 0
    info = open_dataset(out)
    episode = info.read(info.names[1])
    assert episode.frames.shape == (40, 32, 32, 3) and episode.meta.source["seed"] == 1
    assert episode.extras["pose"].shape == (40, 3)
    assert not np.array_equal(episode.frames[0], episode.frames[-1])  # the agent moved
    assert set(np.unique(episode.discrete[1:])) & {0, 2, 5, 6}  # detours: stand, back or strafe


def test_human_flag_hands_a_single_world_to_the_play_window(tmp_path, fake_env, monkeypatch, capsys) -> None:
    from worldsim.app import human_record
    calls = []

    def fake_record_human(world, out_dir, fps, seed, env_id, source):
        calls.append((world.batch_size, out_dir, fps, seed, env_id, source))
        return []

    monkeypatch.setattr(human_record, "record_human", fake_record_human)
    assert main(["record", "--human", "--out", str(tmp_path), "--fps", "20", "--seed", "3"]) == 0
    assert calls == [(1, tmp_path, 20, 3, "maze", {})] and "saved 0 episodes" in capsys.readouterr().out
    assert main(["record", "--human", "--batch", "4", "--out", str(tmp_path)]) == 1
    assert "--human plays one world" in capsys.readouterr().err


def test_sigterm_discards_the_unfinished_episodes_and_keeps_the_finished(tmp_path, fake_env, monkeypatch, capsys):
    import signal
    import sys

    class TerminatedMidEpisode(FakePolicy):
        def act(self):
            if self.t == 3 and self.seeds[0] > 0:  # in the second round, a service manager stops us
                signal.raise_signal(signal.SIGTERM)
            return super().act()

    sys.modules["worldsim.env.policies"].make_policy = lambda name, detour_prob=0.0, repeat_prob=0.0: TerminatedMidEpisode()
    before = signal.getsignal(signal.SIGTERM)
    argv = ["record", "--episodes", "4", "--steps", "6", "--batch", "2", "--height", "8", "--width", "6",
            "--out", str(tmp_path), "--no-progress"]
    assert main(argv) == 143
    assert "SIGTERM" in capsys.readouterr().err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["episode_000000", "episode_000001", "index.json"]
    assert signal.getsignal(signal.SIGTERM) == before


def test_a_bogus_device_is_named(tmp_path, capsys):
    assert main(["record", "--device", "bogus", "--out", str(tmp_path)]) == 1
    assert "bogus" in capsys.readouterr().err
