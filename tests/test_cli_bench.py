"""Every `worldsim bench` name is registered and hands its arguments to its module."""

import pytest

from worldsim.cli import main
from worldsim.cli.bench import FORWARDED


@pytest.mark.parametrize("name", sorted(FORWARDED))
def test_forwarded_benchmarks_answer_help(name, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["bench", name, "-h"])
    assert exit_info.value.code == 0
    assert "usage:" in capsys.readouterr().out
