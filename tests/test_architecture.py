"""docs/architecture.md's import table holds for every import in worldsim/, lazy ones included."""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
ROW = re.compile(r"^\| `worldsim/(\w+)(?:\.py|/)` \| .* \| (.+) \|$")


def allowed_imports() -> dict[str, set[str]]:
    """unit ("env", "checkpoint", ...) -> the units or `unit.module`s it may import; "*" for everything."""
    rules: dict[str, set[str]] = {}
    for line in (ROOT / "docs" / "architecture.md").read_text().splitlines():
        match = ROW.match(line)
        if match is None:
            continue
        unit, cell = match.groups()
        entries = {entry.strip() for entry in re.sub(r"\([^)]*\)", "", cell).split(",")} - {"", "–"}
        allowed: set[str] = set()
        for entry in entries:
            if entry == "everything above":
                allowed |= set(rules)
            elif entry == "everything":
                allowed.add("*")
            else:
                allowed.add(entry)
        rules[unit] = allowed
    return rules


def worldsim_imports(path: Path) -> list[tuple[int, str]]:
    """(line, dotted module below worldsim, e.g. "eval.metrics") of every absolute worldsim import."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.ImportFrom):
            assert node.level == 0, f"{path}:{node.lineno}: relative import (use worldsim.*)"
            modules = [f"{node.module}.{a.name}" for a in node.names] if node.module == "worldsim" else [node.module]
        elif isinstance(node, ast.Import):
            modules = [alias.name for alias in node.names]
        else:
            continue
        found += [(node.lineno, m.removeprefix("worldsim.")) for m in modules if m.startswith("worldsim.")]
    return found


def test_every_import_follows_the_architecture_table() -> None:
    rules = allowed_imports()
    assert {"config", "actions", "env", "model", "checkpoint", "engine", "eval", "cli"} <= set(rules)
    assert all(entry == "*" or entry.split(".")[0] in rules for allowed in rules.values() for entry in allowed)
    violations = []
    for path in sorted((ROOT / "worldsim").rglob("*.py")):
        relative = path.relative_to(ROOT / "worldsim")
        unit = relative.parts[0].removesuffix(".py")
        if unit == "__init__":
            continue
        assert unit in rules, f"worldsim/{relative}: {unit} has no row in docs/architecture.md"
        allowed = rules[unit]
        for line, module in worldsim_imports(path):
            target = module.split(".")[0]
            ok = target == unit or "*" in allowed or target in allowed or any(
                module == entry or module.startswith(f"{entry}.") for entry in allowed if "." in entry)
            if not ok:
                violations.append(f"worldsim/{relative}:{line} imports worldsim.{module}")
    assert not violations, "imports the table does not allow:\n" + "\n".join(violations)


def test_the_check_catches_a_forbidden_import(tmp_path: Path) -> None:
    """The checker itself: an engine module importing the trainer is reported."""
    module = tmp_path / "bad.py"
    module.write_text("def f():\n    from worldsim.train.trainer import train\n    from worldsim import checkpoint\n")
    assert worldsim_imports(module) == [(2, "train.trainer"), (3, "checkpoint")]
    assert "train" not in allowed_imports()["engine"] and "checkpoint" in allowed_imports()["engine"]
