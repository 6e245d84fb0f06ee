"""Threads wait passively; the default count is measured (1 thread vs all cores); long commands take --threads."""

import time

import pytest
import torch

from worldsim import cpu_threads
from worldsim.cli import build_parser, main


@pytest.fixture
def restore_threads():
    before = torch.get_num_threads()
    yield
    torch.set_num_threads(before)


def fake_probe(milliseconds: dict[int, float]):
    return lambda threads, repeats: milliseconds[threads] / 1000 * repeats / cpu_threads.PROBE_REPEATS


def test_more_threads_only_when_clearly_faster():
    assert cpu_threads.fastest_threads([1, 2], fake_probe({1: 11.6, 2: 7.4}))[0] == 2  # idle 2-core machine
    assert cpu_threads.fastest_threads([1, 2], fake_probe({1: 37.0, 2: 96.0}))[0] == 1  # busy: threads wait
    assert cpu_threads.fastest_threads([1, 2], fake_probe({1: 10.0, 2: 9.0}))[0] == 1  # within 15 %: fewer
    assert cpu_threads.fastest_threads([1, 13, 16], fake_probe({1: 20.0, 13: 4.0, 16: 3.9}))[0] == 13


def test_free_cores_subtract_the_load_and_keep_one():
    assert cpu_threads.free_cores(2, 0.2) == 2
    assert cpu_threads.free_cores(2, 6.0) == 1
    assert cpu_threads.free_cores(16, 3.0) == 13


def test_choice_order_is_flag_then_environment_then_probe(monkeypatch):
    monkeypatch.setattr(cpu_threads, "usable_cores", lambda: 8)
    monkeypatch.setattr(cpu_threads, "load_average", lambda: 5.2)
    monkeypatch.setattr(cpu_threads, "probe_seconds", fake_probe({1: 10.0, 3: 4.0, 8: 30.0}))
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    choice = cpu_threads.choose_threads()
    assert choice.threads == 3 and choice.reason == "probe: 1 thread 10 ms, 3 threads 4 ms, 8 threads 30 ms"
    monkeypatch.setenv("OMP_NUM_THREADS", "2")
    assert cpu_threads.choose_threads() == cpu_threads.ThreadChoice(2, "OMP_NUM_THREADS", 8)
    assert cpu_threads.choose_threads(5).threads == 5
    with pytest.raises(ValueError, match="--threads must be >= 1"):
        cpu_threads.choose_threads(0)


def test_the_real_probe_is_quick(restore_threads):
    start = time.perf_counter()
    threads, medians = cpu_threads.fastest_threads([1, 2])
    assert threads in (1, 2) and set(medians) == {1, 2}
    assert time.perf_counter() - start < 5.0  # 0.1 s on an idle 2-core machine


@pytest.mark.parametrize("command", [["play"], ["eval", "compare", "a.safetensors"],
                                     ["eval", "memory", "a.safetensors", "--out", "m"], ["record", "--out", "d"],
                                     ["train", "--out", "r"]])
def test_long_running_commands_take_threads(command):
    assert build_parser().parse_args([*command, "--threads", "3"]).threads == 3


def test_the_command_line_gives_torch_the_chosen_threads(monkeypatch, tmp_path, capsys, restore_threads):
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    monkeypatch.setattr(cpu_threads, "usable_cores", lambda: 2)
    monkeypatch.setattr(cpu_threads, "probe_seconds", fake_probe({1: 37.0, 2: 96.0}))
    argv = ["play", "--world", "maze", "--headless", "--frames", "2", "--no-progress", "--out", str(tmp_path / "a.mp4")]
    assert main(argv) == 0
    assert torch.get_num_threads() == 1
    assert "using 1 of 2 CPU threads, the fastest on this machine now (probe: 1 thread 37 ms" in capsys.readouterr().err
    assert main([*argv, "--threads", "2"]) == 0
    assert torch.get_num_threads() == 2
    assert "CPU threads" not in capsys.readouterr().err  # asked for: no note


@pytest.mark.parametrize("given, expected", [(None, "PASSIVE"), ("ACTIVE", "ACTIVE")])
def test_importing_worldsim_makes_waiting_threads_sleep_unless_told_otherwise(given, expected):
    import os
    import subprocess
    import sys

    environment = {key: value for key, value in os.environ.items() if key != "OMP_WAIT_POLICY"}
    if given:
        environment["OMP_WAIT_POLICY"] = given
    code = "import os, worldsim; print(os.environ['OMP_WAIT_POLICY'])"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=environment, check=True)
    assert result.stdout.strip() == expected
