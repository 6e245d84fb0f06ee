"""`worldsim --help` answers without importing torch; `--version`; option errors come before any work."""

import subprocess
import sys
from pathlib import Path

import pytest

import worldsim
from worldsim.cli import main

ROOT = Path(__file__).resolve().parents[1]


def test_building_the_command_line_imports_no_heavy_library():
    code = ("import sys; from worldsim.cli import build_parser; build_parser(); "
            "print(sorted(m for m in ('torch', 'cv2', 'pygame', 'matplotlib') if m in sys.modules))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True)
    assert result.stdout.strip() == "[]"


def test_version(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["--version"])
    assert exit_info.value.code == 0
    assert capsys.readouterr().out.strip() == f"worldsim {worldsim.__version__}"


def test_bench_render_runs_without_an_output_file(capsys):
    # the README's `python -m worldsim.bench.render --device cpu --batches 1 64 256`, made quick
    assert main(["bench", "render", "--device", "cpu", "--batches", "1", "--size", "16", "--warmup", "0",
                 "--seconds", "0.01", "--no-progress"]) == 0
    out = capsys.readouterr().out
    assert "one world, one CPU thread" in out and "batch      1 on cpu" in out and "wrote" not in out
