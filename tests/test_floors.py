"""The library's floors, checked on the source: what each floor may import, and module sizes.

Bottom up: ``theory`` (closed forms: numpy, scipy and ``dltheory._checks`` only); the simulators,
which know nothing of chapters or experiments; ``experiments`` (one module per paper result, joining a
theory to its simulation); the chapters. Support modules import nothing from the science.
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src" / "dltheory"
MODULES = sorted(p for p in SRC.rglob("*.py"))
SUPPORT = {"config", "glue", "record", "plotting", "progress", "threads", "trajectory", "_checks"}
STDLIB = set(sys.stdlib_module_names)
MAX_LINES = 500
# Longer modules, each with the reason it stays whole.
LONG = {
    "record": "the record and its `python -m dltheory.record check`: the verdicts CI applies are "
    "visibly the code that wrote them",
}


def _name(path: Path) -> str:
    return ".".join(path.relative_to(SRC.parent).with_suffix("").parts).removesuffix(".__init__")


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    out = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            out.add(node.module)
    return out


def _top(module: str) -> str:
    return module.split(".")[0]


@pytest.mark.parametrize("path", MODULES, ids=_name)
def test_floor_imports(path):
    name = _name(path)
    imports = _imports(path)
    ours = {m for m in imports if _top(m) == "dltheory"}
    if name.startswith("dltheory.theory"):
        outside = {m for m in imports if _top(m) not in STDLIB | {"numpy", "scipy", "dltheory"}}
        assert not outside, f"{name}: theory imports only numpy/scipy, got {outside}"
        bad = {m for m in ours if not (m == "dltheory._checks" or m.startswith("dltheory.theory"))}
        assert not bad, f"{name}: theory imports only dltheory._checks from the library, got {bad}"
    elif name.split(".")[-1] in SUPPORT and name.count(".") == 1:
        allowed = {"dltheory._checks"}
        bad = ours - allowed
        assert not bad, f"{name}: support modules import nothing from the science, got {bad}"
    elif not name.startswith("dltheory.experiments"):
        bad = {m for m in ours if m.startswith("dltheory.experiments")}
        assert not bad, f"{name}: below the experiments floor, it may not import {bad}"


@pytest.mark.parametrize("path", MODULES, ids=_name)
def test_module_size(path):
    stem = path.stem
    n = len(path.read_text().splitlines())
    if stem in LONG:
        assert LONG[stem].strip()
        return
    assert n <= MAX_LINES, (
        f"{_name(path)} has {n} lines (at most {MAX_LINES}): split it by what it holds"
    )
