"""A run's checkpoint folders and `latest` pointer: a kill at any moment leaves `latest` loadable."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys

import pytest
import torch

from worldsim.actions import maze_action_space
from worldsim.checkpoint import CheckpointError, PlayBlock
from worldsim.model import WorldModel, tiny_model_config
from worldsim.train.run_checkpoints import latest_checkpoint, load_run_checkpoint, save_run_checkpoint

PLAY = PlayBlock(maze_action_space(), (16, 16))


@pytest.fixture(scope="module")
def models():
    torch.manual_seed(0)
    config = tiny_model_config(num_discrete_actions=9, num_continuous_actions=1)
    return WorldModel(config), WorldModel(config)


def save(run, step, models, keep=3, marker=0.0):
    model, ema = models
    state = {"step": step, "marker": marker, "optimizer": {}, "ema": {}, "data": {}}
    return save_run_checkpoint(run, step, model, ema, PLAY, state, {"train_config": {}}, keep)


def assert_latest_loads(run, step, marker):
    path = latest_checkpoint(run)
    assert path is not None and path.is_dir()
    _, _, state = load_run_checkpoint(path, torch.device("cpu"))
    assert (state["step"], state["marker"]) == (step, marker)


def fail_when(monkeypatch, module, name, condition):
    original = getattr(module, name)

    def failing(*args, **kwargs):
        if condition(*args):
            raise KeyboardInterrupt("killed here")
        return original(*args, **kwargs)

    monkeypatch.setattr(module, name, failing)


def test_a_kill_while_the_same_step_is_saved_again_leaves_latest_loadable(tmp_path, models, monkeypatch):
    run = tmp_path / "run"
    save(run, 60, models, marker=1.0)
    # the window: the new folder is complete, the old one is being replaced
    fail_when(monkeypatch, os, "replace", lambda src, dst: os.path.basename(src).startswith(".tmp-step_"))
    with pytest.raises(KeyboardInterrupt):
        save(run, 60, models, marker=2.0)
    monkeypatch.undo()
    assert_latest_loads(run, 60, 2.0)
    # a restarted process (same pid, as in a container) killed while writing leaves it usable too
    fail_when(monkeypatch, torch, "save", lambda *args: True)
    with pytest.raises(KeyboardInterrupt):
        save(run, 60, models, marker=9.0)
    monkeypatch.undo()
    assert_latest_loads(run, 60, 2.0)
    save(run, 60, models, marker=3.0)  # the resumed run saves again and tidies up
    assert_latest_loads(run, 60, 3.0)
    assert sorted(p.name for p in (run / "checkpoints").iterdir()) == ["latest", "step_00000060"]


def test_a_kill_while_the_old_folder_is_deleted_leaves_latest_loadable(tmp_path, models, monkeypatch):
    run = tmp_path / "run"
    save(run, 60, models, marker=1.0)

    def half_delete(path, *args, **kwargs):
        if os.path.basename(path) == "step_00000060":
            os.remove(os.path.join(path, "train_state.pt"))
            raise KeyboardInterrupt("killed while deleting")

    monkeypatch.setattr(shutil, "rmtree", lambda path, *args, **kwargs: half_delete(path))
    with pytest.raises(KeyboardInterrupt):
        save(run, 60, models, marker=2.0)
    monkeypatch.undo()
    assert_latest_loads(run, 60, 2.0)


def test_keep_checkpoints_prunes_old_folders_but_never_the_one_just_written(tmp_path, models):
    run = tmp_path / "run"
    for step in (10, 20, 30):
        save(run, step, models, keep=1)
    assert sorted(p.name for p in (run / "checkpoints").iterdir()) == ["latest", "step_00000030"]
    for step in (40, 50):
        save(run, step, models, keep=0)  # 0 keeps all
    assert len(list((run / "checkpoints").glob("step_*"))) == 3


def test_stale_temp_folders_of_dead_processes_are_removed(tmp_path, models):
    run = tmp_path / "run"
    save(run, 10, models)
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True,
                          check=True)
    dead_pid = int(dead.stdout)
    stale = run / "checkpoints" / f".tmp-step_00000020-{dead_pid}"
    stale.mkdir()
    (stale / "model.safetensors").write_bytes(b"partial")
    stale_file = run / f".latest.safetensors.tmp-{dead_pid}"
    stale_file.write_bytes(b"partial")
    alive = run / "checkpoints" / f".tmp-step_00000020-{os.getppid()}"  # another live writer: left alone
    alive.mkdir()
    save(run, 20, models)
    assert not stale.exists() and not stale_file.exists()
    assert alive.is_dir()


@pytest.mark.parametrize("content", [b"../../etc", b"step_00000099", b"\xff\xfe", b"/tmp"])
def test_a_bad_latest_pointer_is_named(tmp_path, models, content):
    run = tmp_path / "run"
    save(run, 10, models)
    (run / "checkpoints" / "latest").write_bytes(content)
    with pytest.raises(ValueError, match=r"checkpoints/latest"):
        latest_checkpoint(run)


def test_an_unreadable_training_state_is_named(tmp_path, models):
    run = tmp_path / "run"
    path = save(run, 10, models)
    (path / "train_state.pt").write_bytes(b"PK\x03\x04 not a zip")
    with pytest.raises(CheckpointError, match="train_state.pt"):
        load_run_checkpoint(path, torch.device("cpu"))
