"""docs/dataset-format.md's hand-written episode, run exactly as printed, passes `worldsim data check`;
misnamed episode folders and a missing index.json get messages that say what to do."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from worldsim.cli import main
from worldsim.data.dataset import DatasetError, open_dataset

DOC = Path(__file__).resolve().parents[1] / "docs" / "dataset-format.md"


def hand_written_example() -> str:
    text = DOC.read_text()
    block = re.search(r"<!-- hand-written example: start -->\n```python\n(.*?)```\n<!-- hand-written example: end -->",
                      text, re.DOTALL)
    assert block, "docs/dataset-format.md lost its hand-written example markers"
    return block.group(1)


def test_the_documented_hand_written_episode_passes_check(tmp_path, monkeypatch, capsys) -> None:
    monkeypatch.chdir(tmp_path)
    exec(compile(hand_written_example(), str(DOC), "exec"), {})  # noqa: S102 (our own documentation)
    assert main(["data", "check", "data/mine", "--no-progress"]) == 0
    out = capsys.readouterr().out
    assert "1/1 episodes ok" in out
    assert "index.json missing (`worldsim data index data/mine` writes it" in out
    assert main(["data", "index", "data/mine"]) == 0
    assert "wrote data/mine/index.json (1 episodes, 8 frames)" in capsys.readouterr().out
    assert json.loads(Path("data/mine/index.json").read_text())["num_episodes"] == 1
    assert main(["data", "check", "data/mine", "--no-progress"]) == 0
    assert "warning" not in capsys.readouterr().out
    info = open_dataset("data/mine")
    assert info.action_space.noop == 0 and info.action_space.num_continuous == 0 and info.lengths == (8,)


def test_a_misnamed_episode_folder_is_named_with_the_fix(tmp_path, monkeypatch, capsys) -> None:
    monkeypatch.chdir(tmp_path)
    exec(compile(hand_written_example(), str(DOC), "exec"), {})  # noqa: S102
    Path("data/mine/episode_000000").rename("data/mine/episode_0")
    assert main(["data", "check", "data/mine", "--no-progress"]) == 1
    err = capsys.readouterr().err
    assert "no episodes" in err and "found episode_0 (rename to episode_000000)" in err
    assert "-1/0" not in err
    with pytest.raises(DatasetError, match=r"episode_0 \(rename to episode_000000\)"):
        open_dataset("data/mine")
    exec(compile(hand_written_example(), str(DOC), "exec"), {})  # noqa: S102 (a good one beside it)
    assert main(["data", "check", "data/mine", "--no-progress"]) == 0
    assert "ignored, not named episode_<6+ digits>: episode_0 (rename to episode_000000)" in capsys.readouterr().out


def test_reward_and_end_flags_are_optional_arrays_with_fixed_dtypes(tmp_path, monkeypatch) -> None:
    import numpy as np

    from worldsim.data.check import check_dataset
    from worldsim.data.episode import read_episode

    monkeypatch.chdir(tmp_path)
    exec(compile(hand_written_example(), str(DOC), "exec"), {})  # noqa: S102
    episode = Path("data/mine/episode_000000")
    meta = json.loads((episode / "meta.json").read_text())
    meta["extras"] = {"reward": "extra_reward.npy", "terminated": "extra_terminated.npy"}
    (episode / "meta.json").write_text(json.dumps(meta))
    np.save(episode / "extra_reward.npy", np.arange(8, dtype=np.float64))  # wrong dtype
    np.save(episode / "extra_terminated.npy", np.arange(8) == 7)
    report = check_dataset("data/mine", progress=False)
    assert "extra_reward.npy: dtype float64, expected float32" in report.broken["episode_000000"]
    np.save(episode / "extra_reward.npy", np.arange(8, dtype=np.float32))
    loaded = read_episode(episode)
    assert loaded.reward.tolist() == list(range(8)) and loaded.terminated[-1] and loaded.truncated is None
