"""docs/own-game.md's CPU walk-through, run command for command as printed: record Breakout, check the
dataset, train, evaluate on the held-out episode and play headless from it."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest

pytest.importorskip("ale_py")

from worldsim.cli import main
from worldsim.data.dataset import open_dataset

ROOT = Path(__file__).resolve().parents[1]


def tutorial_commands() -> list[list[str]]:
    text = (ROOT / "docs" / "own-game.md").read_text()
    block = re.search(r"<!-- tutorial: cpu start -->\n```bash\n(.*?)```\n<!-- tutorial: cpu end -->", text, re.DOTALL)
    assert block, "docs/own-game.md lost its CPU walk-through markers"
    return [shlex.split(line) for line in block.group(1).splitlines() if line.strip()]


def test_the_cpu_walk_through_runs_as_printed(tmp_path, monkeypatch, capsys) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "configs").symlink_to(ROOT / "configs")  # the commands run from the repository root
    commands = tutorial_commands()
    assert [argv[:2] for argv in commands] == [["worldsim", "record"], ["worldsim", "data"], ["worldsim", "train"],
                                               ["worldsim", "eval"], ["worldsim", "play"]]
    for argv in commands:
        assert argv[0] == "worldsim"
        assert main(argv[1:]) == 0, f"{shlex.join(argv)}\n{capsys.readouterr().err}"
    out = capsys.readouterr().out
    assert open_dataset("data/breakout-tiny").action_space.discrete == ("NOOP", "FIRE", "RIGHT", "LEFT")
    assert "model set to match: model.num_discrete_actions=4 model.num_continuous_actions=0" in out
    assert "step 4 validation: psnr_one_step" in out and Path("runs/breakout-tiny/samples/step_00000004.png").is_file()
    assert "unseen in training (episode_000003)" in out
    assert "played 8 frames" in out and Path("out/breakout-tiny.mp4").stat().st_size > 0
