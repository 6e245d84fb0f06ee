"""Fuzzing the readers of untrusted files: seeded byte flips and truncations of every file of a small
dataset and of a small run checkpoint. Each case must end in success or in the reader's own error naming
the damaged file (or its episode): never another exception type, never an allocation beyond a bound
(the address space is capped at its size before the cases plus ALLOCATION_BOUND while they run)."""

from __future__ import annotations

import os
import resource
import shutil
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
import torch
from test_data_episode import write_episode

from worldsim.actions import maze_action_space
from worldsim.checkpoint import CheckpointError, PlayBlock
from worldsim.data.check import check_dataset
from worldsim.data.dataset import DatasetError, open_dataset
from worldsim.data.episode import EpisodeError, read_episode
from worldsim.data.loader import make_clip_loader
from worldsim.engine import WorldModelEngine
from worldsim.env.maze_world import MazeConfig
from worldsim.model import WorldModel, tiny_model_config
from worldsim.train.run_checkpoints import latest_checkpoint, load_train_state, save_run_checkpoint

SEED = 16
FLIPS, TRUNCATIONS = 16, 4  # per file; checkpoint weight files get CHECKPOINT_FACTOR times more
CHECKPOINT_FACTOR = 2
HEADER_SHARE = 0.6  # share of flips aimed at the file's header, where the parsing happens
ALLOCATION_BOUND = 1 << 30  # bytes of address space the cases may add (a damaged size asks for far more)


def damaged_versions(data: bytes, rng: np.random.Generator, flips: int, truncations: int, header: int):
    """(description, damaged bytes): single-byte changes, biased to the first `header` bytes, and cuts."""
    for _ in range(flips):
        limit = header if rng.random() < HEADER_SHARE else len(data)
        position = int(rng.integers(min(limit, len(data))))
        damaged = bytearray(data)
        damaged[position] ^= int(rng.integers(1, 256))
        yield f"byte {position} {data[position]:#04x}->{damaged[position]:#04x}", bytes(damaged)
    for _ in range(truncations):
        length = int(rng.integers(len(data)))
        yield f"truncated to {length} of {len(data)} bytes", data[:length]


def safetensors_header_bytes(data: bytes) -> int:
    return 8 + int.from_bytes(data[:8], "little") if len(data) >= 8 else len(data)


def read_dataset(file: Path) -> None:
    """Everything a reader does with the dataset holding `file`: open (headers), read every episode, cut clips."""
    root = file.parent if file.name == "index.json" else file.parents[1]
    info = open_dataset(root)
    for name in info.names:
        read_episode(root / name)
    for _ in make_clip_loader(root, clip_length=2, batch_size=4):  # every clip of an epoch, through the sampler
        pass


def read_checkpoint_file(file: Path) -> None:
    """What `play` does with a weights file, `train --resume` with the training state and the pointer."""
    if file.name == "latest":
        latest_checkpoint(file.parents[1])
    elif file.suffix == ".pt":
        load_train_state(file)
    else:
        WorldModelEngine.from_checkpoint(file, device="cpu", use_cuda_graph=False)


@pytest.fixture(scope="module")
def originals(tmp_path_factory):
    root = tmp_path_factory.mktemp("fuzz")
    dataset = root / "dataset"
    for seed in (0, 10):
        write_episode(dataset, length=5, seed=seed)
    torch.manual_seed(0)
    model = WorldModel(tiny_model_config(num_discrete_actions=9, num_continuous_actions=1))
    optimizer = torch.optim.AdamW(model.parameters())
    model(torch.zeros(1, 2, 3, 16, 16), torch.ones(1, 2), torch.zeros(1, 2, dtype=torch.long),
          torch.zeros(1, 2, 1)).sum().backward()
    optimizer.step()  # an optimizer state with tensors, as a real training state has
    state = {"step": 4, "optimizer": optimizer.state_dict(), "ema": {"decay": 0.9}, "data": {"position": 4}}
    play = PlayBlock(maze_action_space(), (16, 16), 2, MazeConfig(size=5, height=16, width=16))
    metadata = {"train_config": {"data": {"maze": {"size": 5}}, "logging": {"sampling_steps": 2}}}
    save_run_checkpoint(root / "run", 4, model, model, play, state, metadata, keep=1)
    for same_reader in ("latest.safetensors", "checkpoints/step_00000004/ema.safetensors"):
        (root / "run" / same_reader).unlink()  # read by the same code as model.safetensors
    return root


def run_cases(folder: Path, files: list[Path], reader: Callable[[Path], None], allowed: tuple[type, ...],
              check: Callable[[Path], None] | None, rng: np.random.Generator, failures: list[str]) -> int:
    """Damage each file in turn (restoring it after), then call `reader(file)` and `check(folder)`."""
    # an error must name the file, or for a dataset its episode (two episodes that disagree are named so)
    by_episode = check is not None
    count = 0
    for file in files:
        data = file.read_bytes()
        factor = CHECKPOINT_FACTOR if file.suffix in (".safetensors", ".pt") else 1
        header = safetensors_header_bytes(data) if file.suffix == ".safetensors" else 128
        for description, damaged in damaged_versions(data, rng, FLIPS * factor, TRUNCATIONS * factor, header):
            count += 1
            file.write_bytes(damaged)
            case = f"{file.relative_to(folder)}, {description}"
            try:
                reader(file)
            except allowed as error:
                named = {file.name, file.parent.name} if by_episode and file.parent != folder else {file.name}
                if not any(name in str(error) for name in named):
                    failures.append(f"{case}: {type(error).__name__} does not name the file: {error}")
            except Exception as error:  # noqa: BLE001 - the point: any other exception is a finding
                failures.append(f"{case}: {type(error).__name__}: {error}")
            if check is not None:
                try:
                    check(folder)
                except Exception as error:  # noqa: BLE001
                    failures.append(f"{case}: data check raised {type(error).__name__}: {error}")
            file.write_bytes(data)
    return count


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the allocation bound uses Linux RLIMIT_AS")
def test_damaged_files_give_errors_naming_them_never_tracebacks(originals, tmp_path):
    root = tmp_path / "copy"
    shutil.copytree(originals, root)
    dataset, run = root / "dataset", root / "run"
    rng = np.random.default_rng(SEED)
    dataset_files = sorted(p for p in dataset.rglob("*") if p.is_file())
    checkpoint_files = sorted(p for p in run.rglob("*") if p.is_file())
    assert len(dataset_files) == 11 and len(checkpoint_files) == 3  # 2 x 5 episode files + index; see originals
    soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    used = int(Path("/proc/self/statm").read_text().split()[0]) * os.sysconf("SC_PAGE_SIZE")
    failures: list[str] = []
    resource.setrlimit(resource.RLIMIT_AS, (used + ALLOCATION_BOUND, hard))
    try:
        cases = run_cases(dataset, dataset_files, read_dataset, (EpisodeError, DatasetError),
                          lambda folder: check_dataset(folder, progress=False), rng, failures)
        cases += run_cases(run, checkpoint_files, read_checkpoint_file, (CheckpointError, ValueError), None, rng,
                           failures)
    finally:
        resource.setrlimit(resource.RLIMIT_AS, (soft, hard))
    assert cases >= 300
    assert not failures, "\n".join(failures[:20])
