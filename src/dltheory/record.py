"""The reproduction record: every claim a chapter makes, predicted against measured, checked in code.

A chapter opens a :class:`Record`, adds claims with :meth:`Record.check_close`, :meth:`Record.check_below`
or :meth:`Record.check_equal`, and ends with :meth:`Record.finish`, which writes
``<results>/<chapter>.json`` and then raises :class:`ClaimFailed` if any claim failed, so a wrong result
fails the chapter (and CI). ``<results>`` is ``$DLTHEORY_RESULTS_DIR`` if set, else ``_build/results``
under the repository root. Figures saved with :meth:`Record.savefig` go to ``<results>/figures/<chapter>/``.

File format (one JSON object per chapter)::

    {"chapter": "01_svd_dynamics", "scale": "ci", "seed": 0, "runtime_s": 4.2,
     "versions": {"python": "...", "numpy": "...", ...},
     "claims": [{"id": "half-time-mode-1", "source": "...", "statement": "...",
                 "predicted": 717.0, "measured": 719.5, "tolerance": {"rel": 0.05}, "passed": true}]}

Run ``python -m dltheory.record check --scale ci CHAPTER ...`` to verify that records exist, come from the
expected scale and pass.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

__all__ = [
    "Claim",
    "ClaimFailed",
    "Record",
    "results_dir",
    "load_records",
    "records_table",
]

RESULTS_ENV = "DLTHEORY_RESULTS_DIR"


class ClaimFailed(AssertionError):
    """Raised by :meth:`Record.finish` after saving, when at least one claim failed."""


def _project_root(start: Path) -> Path | None:
    for d in (start, *start.parents):
        if (d / "_toc.yml").is_file() and (d / "pyproject.toml").is_file():
            return d
    return None


def results_dir() -> Path:
    """Directory for records: ``$DLTHEORY_RESULTS_DIR``, else ``<repo>/_build/results``."""
    env = os.environ.get(RESULTS_ENV)
    if env:
        return Path(env).resolve()
    root = _project_root(Path.cwd().resolve())
    return (root if root is not None else Path.cwd()) / "_build" / "results"


def _plain(x: Any) -> Any:
    """Convert numpy scalars/arrays (possibly nested) to JSON-ready Python values."""
    if isinstance(x, dict):
        return {str(k): _plain(v) for k, v in x.items()}
    if isinstance(x, list | tuple):
        return [_plain(v) for v in x]
    if isinstance(x, np.ndarray):
        return _plain(x.tolist())
    if isinstance(x, np.generic):
        return x.item()
    if isinstance(x, float) and not math.isfinite(x):
        return str(x)
    return x


@dataclass(frozen=True)
class Claim:
    """One checked claim: the theory's prediction, the simulation's measurement, the tolerance."""

    id: str
    source: str
    statement: str
    predicted: Any
    measured: Any
    tolerance: dict
    passed: bool


@dataclass
class Record:
    """The reproduction record of one chapter run.

    Args:
        chapter: chapter name, the stem of its source file (e.g. ``"01_svd_dynamics"``).
        scale: scale name the chapter ran at.
        seed: the notebook's ``SEED``.
    """

    chapter: str
    scale: str
    seed: int
    claims: list[Claim] = field(default_factory=list)
    _t0: float = field(default_factory=time.perf_counter, repr=False)

    def _add(self, claim: Claim) -> Claim:
        if any(c.id == claim.id for c in self.claims):
            raise ValueError(f"claim id {claim.id!r} recorded twice")
        self.claims.append(claim)
        return claim

    def check_close(
        self,
        id: str,
        *,
        predicted: float,
        measured: float,
        rel: float | None = None,
        abs: float | None = None,
        source: str = "",
        statement: str = "",
    ) -> Claim:
        """Claim that ``measured`` agrees with ``predicted`` within a relative or absolute tolerance."""
        if (rel is None) == (abs is None):
            raise ValueError("give exactly one of rel= or abs=")
        p, m = float(predicted), float(measured)
        if rel is not None:
            ok = math.isfinite(m) and math.isfinite(p) and _magnitude(m - p) <= rel * _magnitude(p)
            tol = {"rel": float(rel)}
        else:
            ok = math.isfinite(m) and math.isfinite(p) and _magnitude(m - p) <= abs
            tol = {"abs": float(abs)}
        return self._add(Claim(id, source, statement, p, m, tol, bool(ok)))

    def _check_bound(self, id, side, measured, bound, predicted, source, statement) -> Claim:
        m, b = float(measured), float(bound)
        ok = math.isfinite(m) and (m < b if side == "below" else m > b)
        p = None if predicted is None else float(predicted)
        return self._add(Claim(id, source, statement, p, m, {side: b}, bool(ok)))

    def check_below(
        self,
        id: str,
        *,
        measured: float,
        bound: float,
        predicted: float | None = None,
        source: str = "",
        statement: str = "",
    ) -> Claim:
        """Claim that ``measured`` is finite and strictly below ``bound``."""
        return self._check_bound(id, "below", measured, bound, predicted, source, statement)

    def check_above(
        self,
        id: str,
        *,
        measured: float,
        bound: float,
        predicted: float | None = None,
        source: str = "",
        statement: str = "",
    ) -> Claim:
        """Claim that ``measured`` is finite and strictly above ``bound``."""
        return self._check_bound(id, "above", measured, bound, predicted, source, statement)

    def check_equal(
        self, id: str, *, predicted: Any, measured: Any, source: str = "", statement: str = ""
    ) -> Claim:
        """Claim that ``measured`` equals ``predicted`` exactly (orders, signs, counts)."""
        p, m = _plain(predicted), _plain(measured)
        return self._add(Claim(id, source, statement, p, m, {"exact": True}, p == m))

    @property
    def passed(self) -> bool:
        return all(c.passed for c in self.claims)

    @property
    def directory(self) -> Path:
        return results_dir()

    def savefig(self, fig, name: str, **kwargs) -> Path:
        """Save a matplotlib figure as ``<results>/figures/<chapter>/<name>.png``; returns the path."""
        path = self.directory / "figures" / self.chapter / f"{name}.png"
        path.parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(path, dpi=kwargs.pop("dpi", 120), **kwargs)
        return path

    def to_dict(self) -> dict:
        versions = {"python": platform.python_version()}
        for mod in ("numpy", "scipy", "torch", "matplotlib"):
            m = sys.modules.get(mod)
            if m is not None:
                versions[mod] = getattr(m, "__version__", "?")
        return {
            "chapter": self.chapter,
            "scale": self.scale,
            "seed": int(self.seed),
            "runtime_s": round(time.perf_counter() - self._t0, 2),
            "versions": versions,
            "claims": [_plain(asdict(c)) for c in self.claims],
        }

    def save(self) -> Path:
        """Write the record as JSON and return its path."""
        path = self.directory / f"{self.chapter}.json"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(self.to_dict(), indent=1) + "\n")
        return path

    def finish(self) -> Path:
        """Save, then raise :class:`ClaimFailed` listing every failed claim (if any)."""
        if not self.claims:
            raise ValueError(f"record of {self.chapter} holds no claims")
        path = self.save()
        failed = [c for c in self.claims if not c.passed]
        if failed:
            lines = [
                f"  {c.id}: predicted {c.predicted}, measured {c.measured}, tolerance {c.tolerance}"
                for c in failed
            ]
            raise ClaimFailed(
                f"{len(failed)} claim(s) of {self.chapter} failed:\n" + "\n".join(lines)
            )
        return path


def _magnitude(x: float) -> float:
    return x if x >= 0 else -x


def load_records(directory: str | Path | None = None) -> list[dict]:
    """All records in ``directory`` (default :func:`results_dir`), sorted by chapter."""
    d = Path(directory) if directory is not None else results_dir()
    return [json.loads(p.read_text()) for p in sorted(d.glob("*.json"))]


def _fmt(x: Any) -> str:
    if x is None:
        return "—"
    if isinstance(x, float):
        return f"{x:.4g}"
    return str(x)


def _fmt_tol(tol: dict) -> str:
    key, val = next(iter(tol.items()))
    return {
        "rel": f"±{val:.0%} rel" if val >= 0.01 else f"±{val:g} rel",
        "abs": f"±{val:g}",
        "below": f"< {val:g}",
        "above": f"> {val:g}",
        "exact": "exact",
    }.get(key, f"{key} {val}")


def records_table(records: list[dict]) -> list[dict]:
    """Flatten records into table rows: chapter, claim, predicted, measured, tolerance, passed, runtime."""
    rows = []
    for r in records:
        for c in r["claims"]:
            rows.append(
                {
                    "chapter": r["chapter"],
                    "scale": r["scale"],
                    "claim": c["id"],
                    "predicted": _fmt(c["predicted"]),
                    "measured": _fmt(c["measured"]),
                    "tolerance": _fmt_tol(c["tolerance"]),
                    "passed": "pass" if c["passed"] else "FAIL",
                    "runtime (s)": r["runtime_s"],
                }
            )
    return rows


def _check(directory: Path, chapters: list[str], scale: str | None) -> int:
    problems = []
    for ch in chapters:
        path = directory / f"{ch}.json"
        if not path.is_file():
            problems.append(f"{ch}: no record at {path}")
            continue
        rec = json.loads(path.read_text())
        if scale is not None and rec.get("scale") != scale:
            problems.append(f"{ch}: record is at scale {rec.get('scale')!r}, expected {scale!r}")
        if not rec.get("claims"):
            problems.append(f"{ch}: record holds no claims")
        for c in rec.get("claims", []):
            if not c.get("passed"):
                problems.append(f"{ch}: claim {c['id']} failed")
        n = len(rec.get("claims", []))
        print(f"{ch}: {n} claims, scale {rec.get('scale')}, {rec.get('runtime_s')} s")
    for p in problems:
        print("ERROR:", p, file=sys.stderr)
    return 1 if problems else 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m dltheory.record")
    sub = parser.add_subparsers(dest="cmd", required=True)
    chk = sub.add_parser("check", help="verify that chapter records exist, match a scale and pass")
    chk.add_argument("chapters", nargs="+", help="chapter names or paths to their sources")
    chk.add_argument("--dir", type=Path, default=None, help="records directory")
    chk.add_argument("--scale", default=None, help="expected scale")
    args = parser.parse_args(argv)
    names = [Path(c).stem for c in args.chapters]
    return _check(args.dir or results_dir(), names, args.scale)


if __name__ == "__main__":
    raise SystemExit(main())
