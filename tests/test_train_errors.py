"""Bad input to `worldsim train` fails early with a message naming the culprit; NaN steps are skipped."""

import importlib
import re
import sys
import types
from contextlib import nullcontext as _no_exception
from pathlib import Path

import pytest
import torch

from worldsim.cli import main
from worldsim.config import load_config
from worldsim.train import trainer as trainer_module
from worldsim.train.config import TrainConfig
from worldsim.train.trainer import TrainingAborted, train

SMOKE = Path(__file__).resolve().parent / "smoke.yaml"


class _RandomPolicy:
    def __init__(self, name: str):
        self.name = name

    def reset(self, world, seed):
        self.world, self.generator = world, torch.Generator().manual_seed(seed)

    def act(self):
        batch = self.world.batch_size
        return torch.randint(0, 9, (batch,), generator=self.generator), torch.zeros(batch, 1)


@pytest.fixture(autouse=True)
def maze_policies(monkeypatch):
    try:
        importlib.import_module("worldsim.env.policies")
    except ImportError:
        module = types.ModuleType("worldsim.env.policies")
        module.make_policy = lambda name, *args, **kwargs: _RandomPolicy(name)
        monkeypatch.setitem(sys.modules, "worldsim.env.policies", module)


def tiny(*overrides: str) -> TrainConfig:
    return load_config(TrainConfig, SMOKE, ["logging.validate_every=1000", *overrides])


def test_unknown_config_key_is_named(tmp_path, capsys):
    assert main(["train", "--config", str(SMOKE), "--out", str(tmp_path / "r"), "model.bogus=1"]) == 1
    assert "model.bogus" in capsys.readouterr().err
    assert not (tmp_path / "r").exists(), "nothing written before the config is known to be good"


def test_unwritable_out_dir_fails_before_training(tmp_path, capsys):
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    assert main(["train", "--config", str(SMOKE), "--out", str(blocker / "run"), "--no-progress"]) == 1
    assert "cannot write" in capsys.readouterr().err


def test_gpu_only_options_on_the_cpu(tmp_path):
    with pytest.raises(ValueError, match="bf16"):
        train(tiny("precision=bf16"), tmp_path / "a", show_progress=False)
    with pytest.raises(ValueError, match="compile"):
        train(tiny("compile=true"), tmp_path / "b", show_progress=False)
    if not torch.cuda.is_available():
        with pytest.raises(ValueError, match="cuda requested"):
            train(tiny("device=cuda"), tmp_path / "c", show_progress=False)


def test_inconsistent_options_are_named(tmp_path):
    with pytest.raises(ValueError, match="data.maze renders"):
        train(tiny("data.maze.height=32"), tmp_path / "a", show_progress=False)
    with pytest.raises(ValueError, match="model.num_discrete_actions=9"):
        train(tiny("model.num_discrete_actions=5"), tmp_path / "b", show_progress=False)
    with pytest.raises(ValueError, match="context_frames"):
        train(tiny("direct_forcing.enabled=true", "direct_forcing.context_frames=8"), tmp_path / "c",
              show_progress=False)
    with pytest.raises(ValueError, match=r"logging\.sampling_steps must be <= 1000"):  # what a checkpoint may hold
        train(tiny("logging.sampling_steps=1001"), tmp_path / "d", show_progress=False)


def test_resume_with_a_different_model_names_the_keys(tmp_path):
    train(tiny("schedule.max_steps=1"), tmp_path / "run", show_progress=False)
    with pytest.raises(ValueError, match=r"model\.width: 32 -> 64.*model\.depth: 3 -> 2|model\.depth.*model\.width"):
        train(tiny("schedule.max_steps=2", "model.width=64", "model.depth=2"), tmp_path / "run", resume=True,
              show_progress=False)
    with pytest.raises(ValueError, match="--resume"):
        train(tiny("schedule.max_steps=2"), tmp_path / "run", show_progress=False)


def _nan_on_steps(monkeypatch, bad_calls: set[int]):
    original = trainer_module.flow_matching_loss
    calls = []

    def loss(*args, **kwargs):
        calls.append(1)
        value = original(*args, **kwargs)
        return value * float("nan") if len(calls) - 1 in bad_calls else value

    monkeypatch.setattr(trainer_module, "flow_matching_loss", loss)


def test_a_nan_step_is_skipped_and_training_continues(tmp_path, monkeypatch, capsys):
    _nan_on_steps(monkeypatch, {1})
    result = train(tiny("schedule.max_steps=3"), tmp_path / "run", show_progress=False)
    assert result.step == 3
    assert torch.isnan(torch.tensor(result.losses[1])) and not torch.isnan(torch.tensor(result.losses[2]))
    assert "step skipped" in capsys.readouterr().out


def test_repeated_nan_steps_abort_with_a_message(tmp_path, monkeypatch):
    _nan_on_steps(monkeypatch, set(range(100)))
    with pytest.raises(TrainingAborted, match="3 consecutive steps"):
        train(tiny("schedule.max_steps=10", "schedule.max_bad_steps=3"), tmp_path / "run", show_progress=False)


def test_weights_that_became_non_finite_are_never_saved(tmp_path, monkeypatch):
    from worldsim.train.ema import EMA

    original = EMA.update

    def diverged(self, model):  # an update that left NaN weights while every loss was finite
        with torch.no_grad():
            model.head.linear.weight.fill_(float("nan"))
        original(self, model)

    monkeypatch.setattr(EMA, "update", diverged)
    with pytest.raises(TrainingAborted, match="not finite"):
        train(tiny("schedule.max_steps=2"), tmp_path / "run", show_progress=False)
    assert not (tmp_path / "run" / "checkpoints" / "latest").exists()
    assert not list((tmp_path / "run").glob("**/*.safetensors"))


def test_a_clip_too_long_for_memory_is_refused_before_any_work(tmp_path):
    with pytest.raises(ValueError, match=r"data\.clip_length=100000.*GiB"):
        train(tiny("data.clip_length=100000"), tmp_path / "run", show_progress=False)
    assert not (tmp_path / "run").exists()


def test_a_broken_episode_stops_training_before_step_0(tmp_path):
    from test_data_episode import write_episode

    from worldsim.actions import maze_action_space

    for _ in range(2):
        broken = write_episode(tmp_path / "data", length=12, height=16, width=16, space=maze_action_space())
    frames = broken / "frames.npy"
    frames.write_bytes(frames.read_bytes()[:-100])
    config = tiny("data.source=dataset", f"data.dataset_dir={tmp_path / 'data'}", "data.num_workers=0")
    with pytest.raises(ValueError, match=r"(?s)1 of 2 episodes are broken.*episode_000001/frames\.npy"):
        train(config, tmp_path / "run", show_progress=False)
    assert not (tmp_path / "run" / "metrics.jsonl").exists()


def test_a_clip_longer_than_every_episode_is_refused_up_front(tmp_path):
    from test_data_episode import write_episode

    from worldsim.actions import maze_action_space

    write_episode(tmp_path / "data", length=5, height=16, width=16, space=maze_action_space())
    config = tiny("data.source=dataset", f"data.dataset_dir={tmp_path / 'data'}", "data.num_workers=0")
    with pytest.raises(ValueError, match=r"a training clip is 8 frames but the longest episode has 5: set data.clip_length=5"):
        train(config, tmp_path / "run", show_progress=False)
    assert not (tmp_path / "run" / "metrics.jsonl").exists()


@pytest.mark.parametrize("argv, message", [
    (["--max-minutes", "nan"], "finite number"),
    (["data.num_workers=-1"], "data.num_workers"),
    (["logging.keep_checkpoints=-1"], "keep_checkpoints"),
    (["optim.lr=.inf"], "optim.lr.*finite"),
    (["data.batch_size=abc"], "override data.batch_size"),
    (["schedule.max_steps=1", "--no-progress", "model.bogus=1"], "model.bogus"),  # options between overrides
])
def test_bad_command_lines_are_named(tmp_path, capsys, argv, message):
    with pytest.raises(SystemExit) if "--max-minutes" in argv else _no_exception():
        code = main(["train", "--config", str(SMOKE), "--out", str(tmp_path / "r"), *argv])
        assert code == 1
    err = capsys.readouterr().err
    assert re.search(message, err) and SMOKE.name not in err, err
    assert not (tmp_path / "r").exists()
