from dataclasses import dataclass, field
from typing import Literal

import pytest

from worldsim.config import ConfigError, from_dict, load_config, to_dict


@dataclass
class Inner:
    rate: float = 0.1
    mode: Literal["a", "b"] = "a"


@dataclass
class Outer:
    name: str = "x"
    steps: int = 3
    blocks: list[tuple[int, int]] = field(default_factory=lambda: [(4, 4), (2, 2)])
    inner: Inner = field(default_factory=Inner)
    limit: int | None = None


def test_defaults_round_trip():
    cfg = Outer()
    assert from_dict(Outer, to_dict(cfg)) == cfg


def test_yaml_and_overrides(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text("steps: 7\ninner:\n  mode: b\nblocks: [[8, 8]]\n")
    cfg = load_config(Outer, path, ["inner.rate=2", "limit=5"])
    assert cfg.steps == 7 and cfg.inner.mode == "b" and cfg.inner.rate == 2.0 and cfg.limit == 5
    assert cfg.blocks == [(8, 8)]


@pytest.mark.parametrize(
    "overrides, message",
    [
        (["stepz=3"], "stepz"),
        (["inner.speed=1"], "inner.speed"),
        (["steps=abc"], "steps"),
        (["inner.mode=c"], "inner.mode"),
        (["inner.rate=fast"], "inner.rate"),
        (["inner.rate=[1]"], "inner.rate"),
        (["steps"], "key=value"),
        (["blocks=[[1, 2, 3]]"], "blocks"),
    ],
)
def test_bad_overrides_name_the_key(overrides, message):
    with pytest.raises(ConfigError, match=message):
        load_config(Outer, None, overrides)


def test_unknown_key_in_file(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text("inner:\n  rat: 1\n")
    with pytest.raises(ConfigError, match="rat"):
        load_config(Outer, path)


def test_missing_file(tmp_path):
    with pytest.raises(ConfigError, match="not found"):
        load_config(Outer, tmp_path / "nope.yaml")


def test_bool_is_not_int():
    with pytest.raises(ConfigError, match="steps"):
        from_dict(Outer, {"steps": True})


def test_exponent_without_dot_is_a_float():
    assert load_config(Outer, None, ["inner.rate=4e-4"]).inner.rate == 4e-4


@pytest.mark.parametrize("value", [".inf", "-.inf", ".nan", "inf", "nan", "1e999"])
def test_non_finite_numbers_are_refused(value, tmp_path):
    with pytest.raises(ConfigError, match=r"inner\.rate.*finite"):
        load_config(Outer, None, [f"inner.rate={value}"])
    path = tmp_path / "c.yaml"
    path.write_text(f"inner:\n  rate: {value}\n")
    with pytest.raises(ConfigError, match=r"c\.yaml\.inner\.rate.*finite"):
        load_config(Outer, path)


def test_an_override_type_error_names_the_override_not_the_file(tmp_path):
    path = tmp_path / "tiny.yaml"
    path.write_text("steps: 7\n")
    with pytest.raises(ConfigError) as error:
        load_config(Outer, path, ["steps=abc"])
    assert "override steps" in str(error.value) and "tiny.yaml" not in str(error.value)
    path.write_text("steps: abc\n")
    with pytest.raises(ConfigError, match=r"tiny\.yaml\.steps"):
        load_config(Outer, path, ["inner.rate=2"])


def test_finite_float_for_command_line_options():
    import argparse

    from worldsim.config import finite_float

    assert finite_float("2.5") == 2.5
    for text in ("nan", "inf", "-inf", "abc"):
        with pytest.raises(argparse.ArgumentTypeError, match="finite number"):
            finite_float(text)
