"""The GPU job scripts (scripts/*.sh) call `worldsim` with options its parser knows: a misspelt flag would
otherwise surface only minutes into a job on a GPU server."""

import re
import shlex
from pathlib import Path

import pytest

from worldsim.cli import build_parser
from worldsim.cli.eval import normalize_argv

SCRIPTS = sorted((Path(__file__).resolve().parents[1] / "scripts").glob("*.sh"))
CHOICES = {"$downscale": "area"}  # script variables that hold one of an option's choices


def worldsim_commands(script: str) -> list[str]:
    """Every `python -m worldsim ...` command line in a shell script, continuations joined, cut at the
    first pipe, redirection or `&&`."""
    joined = script.replace("\\\n", " ")
    commands = []
    for match in re.finditer(r"python -m worldsim (.*)", joined):
        line = re.split(r"\s(?:\|\|?|&&|2>&1|>>?)\s?", match.group(1))[0]
        commands.append(line)
    return commands


def parse(command: str) -> list[str]:
    """argv of a script's command with the shell's expansions replaced by placeholder words; returns the
    options the parser did not recognise."""
    command = re.sub(r"\$\(\(.*?\)\)", "1", command)  # shell arithmetic
    # a word list expansion stands for one positional word (a checkpoint, a key=value override)
    words = ["x=1" if word in ("${start[@]}", "$@") else word for word in shlex.split(command)]
    words = [CHOICES.get(word, word) for word in words]
    words = ["1" if word.startswith("$") and "/" not in word else word for word in words]  # numbers, mostly
    args, extra = build_parser().parse_known_args(normalize_argv(words))
    assert getattr(args, "func", None), f"no subcommand in {command!r}"
    return [word for word in extra if word.startswith("-")]


def test_the_scripts_call_worldsim():
    found = {script.name: worldsim_commands(script.read_text()) for script in SCRIPTS}
    assert {"gpu_train_chunk.sh", "gpu_eval.sh", "gpu_atari_chunk.sh", "gpu_recall_toy.sh",
            "gpu_train_side_by_side.sh"} <= {name for name, c in found.items() if c}


@pytest.mark.parametrize("script", SCRIPTS, ids=lambda path: path.name)
def test_every_worldsim_option_in_the_script_exists(script):
    for command in worldsim_commands(script.read_text()):
        assert parse(command) == [], f"{script.name}: unknown options in `worldsim {command}`"


def test_a_misspelt_option_is_caught():
    assert parse('eval memory a.safetensors b.safetensors --device cuda --no-progres --out "$out/memory"') == [
        "--no-progres"]
