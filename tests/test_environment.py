"""environment.yml and constraints.txt must pin the same dependencies as pyproject.toml."""

import re
import tomllib
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]


def _norm(req: str) -> str:
    name, _, version = req.partition("==")
    return f"{re.sub(r'[-_.]+', '-', name.strip().lower())}=={version.strip()}"


def pyproject_requirements() -> set[str]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    reqs = list(project["dependencies"])
    for extra in project["optional-dependencies"].values():
        reqs += extra
    return {_norm(r) for r in reqs}


def test_every_dependency_is_pinned():
    assert all("==" in r for r in pyproject_requirements())
    assert "torch==2.13.0" in pyproject_requirements()


def test_environment_yml_matches_pyproject():
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    deps = env["dependencies"]
    assert "python=3.11" in deps
    pip = next(d["pip"] for d in deps if isinstance(d, dict) and "pip" in d)
    assert {_norm(r) for r in pip if not r.startswith("-e")} == pyproject_requirements()


def test_constraints_agree_with_pyproject():
    lines = (ROOT / "constraints.txt").read_text().splitlines()
    pins = {_norm(x) for x in lines if x and not x.startswith("#")}
    names = {p.split("==")[0]: p for p in pins}
    for req in pyproject_requirements():
        assert names.get(req.split("==")[0]) == req, req
