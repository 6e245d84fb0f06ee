"""YAML files and `key=value` overrides mapped onto typed dataclasses; unknown keys are errors."""

from __future__ import annotations

import argparse
import dataclasses
import math
import types
import typing
from pathlib import Path
from typing import Any, TypeVar

import yaml

T = TypeVar("T")


class ConfigError(ValueError):
    """A config file or override that does not fit its dataclass."""


def from_dict(cls: type[T], data: dict[str, Any], where: str = "config") -> T:
    """Build dataclass `cls` from a nested dict, rejecting unknown keys and wrong types."""
    if not isinstance(data, dict):
        raise ConfigError(f"{where}: expected a mapping, got {type(data).__name__}")
    hints = typing.get_type_hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls)}
    unknown = sorted(set(data) - set(fields))
    if unknown:
        raise ConfigError(f"{where}: unknown key(s) {unknown}; known keys: {sorted(fields)}")
    values = {name: _coerce(hints[name], value, f"{where}.{name}") for name, value in data.items()}
    return cls(**values)


def to_dict(obj: Any) -> dict[str, Any]:
    """Dataclass to plain nested dict (tuples become lists), suitable for YAML or JSON."""
    return _plain(dataclasses.asdict(obj))


def load_config(cls: type[T], path: str | Path | None = None, overrides: list[str] | None = None) -> T:
    """Defaults of `cls`, then the YAML file at `path`, then `a.b=value` overrides (values parsed as YAML)."""
    data: dict[str, Any] = to_dict(cls())
    if path is not None:
        path = Path(path)
        if not path.is_file():
            raise ConfigError(f"config file not found: {path}")
        loaded = yaml.safe_load(path.read_text()) or {}
        if not isinstance(loaded, dict):
            raise ConfigError(f"{path}: top level must be a mapping")
        _merge(data, loaded, str(path), known=data)
    for item in overrides or []:
        key, sep, raw = item.partition("=")
        if not sep or not key:
            raise ConfigError(f"override {item!r} is not of the form key=value")
        key = key.strip()
        value = yaml.safe_load(raw)
        _set_dotted(data, key, value)
        _coerce(_hint_at(cls, key), value, f"override {key}")  # a bad value is the override's fault, not the file's
    return from_dict(cls, data, where=str(path) if path else cls.__name__)


def finite_float(text: str) -> float:
    """argparse `type=` for float options: a finite number ("nan" and "inf" are refused)."""
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"expected a finite number, got {text!r}")
    return value


def explicit_keys(path: str | Path | None = None, overrides: list[str] | None = None) -> set[str]:
    """Dotted keys that the YAML file at `path` or the `key=value` overrides set (call after load_config
    accepted them); every other key holds its dataclass default."""
    keys: set[str] = set()
    if path is not None:
        _collect_keys(yaml.safe_load(Path(path).read_text()) or {}, "", keys)
    keys.update(item.partition("=")[0].strip() for item in overrides or [])
    return keys


def is_explicit(key: str, keys: set[str]) -> bool:
    """`key` (e.g. "model.width") or a mapping above it (e.g. "model") is in `keys`."""
    parts = key.split(".")
    return any(".".join(parts[: i + 1]) in keys for i in range(len(parts)))


def _collect_keys(data: dict, prefix: str, keys: set[str]) -> None:
    for key, value in data.items():
        if isinstance(value, dict):
            _collect_keys(value, f"{prefix}{key}.", keys)  # an empty mapping sets nothing
        else:
            keys.add(f"{prefix}{key}")


def _merge(base: dict, new: dict, where: str, known: dict) -> None:
    for key, value in new.items():
        if key not in known:
            raise ConfigError(f"{where}: unknown key {key!r}; known keys: {sorted(known)}")
        if isinstance(value, dict) and isinstance(base.get(key), dict):
            _merge(base[key], value, f"{where}.{key}", known[key])
        else:
            base[key] = value


def _set_dotted(data: dict, key: str, value: Any) -> None:
    parts = key.split(".")
    node = data
    for i, part in enumerate(parts):
        if not isinstance(node, dict) or part not in node:
            raise ConfigError(f"override {key!r}: unknown key {'.'.join(parts[: i + 1])!r}")
        if i == len(parts) - 1:
            node[part] = value
        else:
            node = node[part]


def _hint_at(cls: type, dotted: str) -> Any:
    """The type hint of dataclass field `a.b.c` below `cls` (Any below a field that is not a dataclass)."""
    hint: Any = cls
    for part in dotted.split("."):
        if not dataclasses.is_dataclass(hint):
            return Any
        hint = typing.get_type_hints(hint)[part]
    return hint


def _coerce(hint: Any, value: Any, where: str) -> Any:
    origin = typing.get_origin(hint)
    args = typing.get_args(hint)
    if dataclasses.is_dataclass(hint):
        return from_dict(hint, value, where)
    if origin in (typing.Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        errors = []
        for arg in (a for a in args if a is not type(None)):
            try:
                return _coerce(arg, value, where)
            except ConfigError as e:
                errors.append(str(e))
        raise ConfigError(f"{where}: {value!r} fits none of {hint}")
    if origin is typing.Literal:
        if value not in args:
            raise ConfigError(f"{where}: {value!r} is not one of {list(args)}")
        return value
    if origin in (tuple, list):
        if not isinstance(value, (list, tuple)):
            raise ConfigError(f"{where}: expected a list, got {value!r}")
        if origin is tuple and args and args[-1] is not Ellipsis:
            if len(args) != len(value):
                raise ConfigError(f"{where}: expected {len(args)} items, got {len(value)}")
            return tuple(_coerce(a, v, f"{where}[{i}]") for i, (a, v) in enumerate(zip(args, value)))
        item = args[0] if args else Any
        items = [_coerce(item, v, f"{where}[{i}]") for i, v in enumerate(value)]
        return tuple(items) if origin is tuple else items
    if hint is Any:
        return value
    if hint is float:
        # YAML 1.1 reads "4e-4" (no dot) as a string; accept it, reject anything that is not a number
        if isinstance(value, str):
            try:
                number = float(value)
            except ValueError:
                raise ConfigError(f"{where}: expected a number, got {value!r}") from None
        elif isinstance(value, (int, float)) and not isinstance(value, bool):
            number = float(value)
        else:
            raise ConfigError(f"{where}: expected a number, got {value!r}")
        if not math.isfinite(number):  # .inf / .nan would silently poison a run (e.g. optim.lr=.inf)
            raise ConfigError(f"{where}: expected a finite number, got {value!r}")
        return number
    if hint in (int, str, bool) and not (isinstance(value, hint) and not (hint is int and isinstance(value, bool))):
        raise ConfigError(f"{where}: expected {hint.__name__}, got {value!r}")
    return value


def _plain(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value
