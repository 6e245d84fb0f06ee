"""scripts/gpu_train_chunk.sh trains in the run folder RUN names, so runs sharing a server do not resume each
other's checkpoints (run on the CPU at the test size, the server set-up replaced by a stub)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

from worldsim.actions import maze_action_space
from worldsim.checkpoint import PlayBlock, save_checkpoint
from worldsim.config import load_config
from worldsim.model import WorldModel
from worldsim.train.config import TrainConfig

ROOT = Path(__file__).resolve().parents[1]
SMOKE = ROOT / "tests" / "smoke.yaml"


def run_chunk(tmp_path: Path, extra_env: dict[str, str]) -> subprocess.CompletedProcess:
    (tmp_path / "scripts").mkdir()
    shutil.copy(ROOT / "scripts" / "gpu_train_chunk.sh", tmp_path / "scripts")
    # the wheels, GPU check and compile cache of a real server are not the subject here
    (tmp_path / "scripts" / "gpu_setup.sh").write_text(f"export PYTHONPATH={ROOT}\nsave_compile_cache() {{ :; }}\n")
    save_checkpoint(tmp_path / "init.safetensors", WorldModel(load_config(TrainConfig, SMOKE, []).model),
                    PlayBlock(maze_action_space(), (16, 16)))
    (tmp_path / "out").mkdir()
    env = {**os.environ, **extra_env, "OMP_NUM_THREADS": "1",
           "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    done = subprocess.run(["bash", "scripts/gpu_train_chunk.sh", "out", "1", "init.safetensors", str(SMOKE),
                           "schedule.max_steps=1", "logging.validate_every=1000", "device=cpu"],
                          cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    return done


def test_the_chunk_trains_in_the_run_folder_it_is_given(tmp_path: Path) -> None:
    done = run_chunk(tmp_path, {"RUN": "runs/local"})
    assert "run folder runs/local, starting with init_from=init.safetensors, on 1 GPU(s)" in done.stdout
    assert (tmp_path / "runs" / "local" / "latest.safetensors").is_file()
    assert not (tmp_path / "runs" / "chunked").exists()
    assert (tmp_path / "out" / "metrics.jsonl").is_file() and list((tmp_path / "out").glob("ema.part.*"))
    assert "finished at step 1" in (tmp_path / "out" / "train.log").read_text()  # the whole output, kept


def test_gpus_2_trains_one_process_per_device(tmp_path: Path) -> None:
    # on the CPU the two processes join with gloo: the same launch as two GPUs with NCCL
    done = run_chunk(tmp_path, {"GPUS": "2"})
    assert "run folder runs/chunked, starting with init_from=init.safetensors, on 2 GPU(s)" in done.stdout
    assert "2 processes, one per device: a global batch of 2 x" in done.stdout
    assert (tmp_path / "runs" / "chunked" / "latest.safetensors").is_file()
