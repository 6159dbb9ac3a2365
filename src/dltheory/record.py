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

A record also stores ``source_sha256`` (the chapter's MyST source, when it is found under ``book/``) and
``library_sha256`` (every file of this package), so a record can be told apart from one written by older
code. Creating a :class:`Record` deletes the chapter's previous record, so a run that dies before
:meth:`Record.finish` leaves no record behind to be mistaken for its result; :meth:`Record.save` writes
through a temporary file and a rename, so a reader never sees half a record.

Run ``python -m dltheory.record check --scale ci CHAPTER ...`` to verify records: each must exist, parse,
come from the expected scale and from the current chapter source and library, and every claim's verdict
is recomputed from its predicted value, measured value and tolerance (the stored ``passed`` flag is not
trusted). A corrupt record is reported in one line and the other chapters are still checked.
"""

from __future__ import annotations

import argparse
import functools
import hashlib
import html
import json
import math
import os
import platform
import re
import sys
import tempfile
import time
import unicodedata
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
    "verdict",
    "library_hash",
    "source_hash",
]

RESULTS_ENV = "DLTHEORY_RESULTS_DIR"


class ClaimFailed(AssertionError):
    """Raised by :meth:`Record.finish` after saving, when at least one claim failed."""


def _project_root(start: Path) -> Path | None:
    for d in (start, *start.parents):
        if (d / "_toc.yml").is_file() and (d / "pyproject.toml").is_file():
            return d
    return None


def _root() -> Path | None:
    """The repository root: above the working directory, else above this package (editable install)."""
    return _project_root(Path.cwd().resolve()) or _project_root(Path(__file__).resolve().parent)


def results_dir() -> Path:
    """Directory for records: ``$DLTHEORY_RESULTS_DIR``, else ``<repo>/_build/results``."""
    env = os.environ.get(RESULTS_ENV)
    if env:
        return Path(env).resolve()
    root = _root()
    return (root if root is not None else Path.cwd()) / "_build" / "results"


_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]*")


def _check_name(what: str, name) -> str:
    """A chapter or figure name is one path component of letters, digits, '_' and '-'."""
    if not isinstance(name, str) or not _NAME.fullmatch(name):
        raise ValueError(
            f"{what} must be letters, digits, '_' or '-' (no path), starting with a letter or digit; "
            f"got {name!r}"
        )
    return name


def _sha256_files(paths) -> str:
    h = hashlib.sha256()
    for rel, path in paths:
        h.update(rel.encode() + b"\0" + path.read_bytes() + b"\0")
    return h.hexdigest()


@functools.cache
def library_hash() -> str:
    """SHA-256 of every source file of the :mod:`dltheory` package (paths and contents)."""
    pkg = Path(__file__).resolve().parent
    files = sorted(
        p for p in pkg.rglob("*") if p.is_file() and p.suffix in {".py", ".mplstyle", ".json"}
    )
    return _sha256_files((p.relative_to(pkg).as_posix(), p) for p in files)


def _chapter_source(chapter: str) -> Path | None:
    root = _root()
    if root is None:
        return None
    path = root / "book" / f"{chapter}.md"
    return path if path.is_file() else None


def source_hash(chapter: str) -> str | None:
    """SHA-256 of the chapter's source ``book/<chapter>.md``, or None where there is none."""
    path = _chapter_source(_check_name("chapter", chapter))
    return None if path is None else _sha256_files([(path.name, path)])


def _finite_positive(name: str, value) -> float:
    v = float(value)
    if not (math.isfinite(v) and v > 0):
        raise ValueError(f"{name} must be a finite number > 0, got {value!r}")
    return v


def _finite(name: str, value) -> float:
    v = float(value)
    if not math.isfinite(v):
        raise ValueError(f"{name} must be finite, got {value!r}")
    return v


def _all_finite(x: Any) -> bool:
    """False if ``x`` (plain, possibly nested) holds a non-finite float or its stored string form."""
    if isinstance(x, list | tuple):
        return all(_all_finite(v) for v in x)
    if isinstance(x, dict):
        return all(_all_finite(v) for v in x.values())
    if isinstance(x, float):
        return math.isfinite(x)
    if isinstance(x, str):
        return x.strip().lower() not in {"nan", "inf", "-inf", "+inf", "infinity", "-infinity"}
    return True


def _number(x: Any) -> float:
    """A stored number as float (NaN for None, strings like 'nan', or anything else not a number)."""
    if isinstance(x, bool) or x is None:
        return float("nan")
    try:
        return float(x)
    except (TypeError, ValueError):
        return float("nan")


def verdict(tolerance: dict, predicted: Any, measured: Any) -> bool:
    """Whether a claim passes, from its tolerance, prediction and measurement alone.

    ``{"rel": r}``: |measured - predicted| <= r |predicted|; ``{"abs": a}``: |measured - predicted| <= a;
    ``{"below": b}`` / ``{"above": b}``: measured < b / measured > b; ``{"exact": True}``: equal and
    finite. Every number involved must be finite and every tolerance finite and > 0, else the claim
    fails. Raises ``ValueError`` for a tolerance that is not one of these forms.
    """
    if not isinstance(tolerance, dict) or len(tolerance) != 1:
        raise ValueError(f"tolerance must be a dict with one key, got {tolerance!r}")
    ((kind, tol),) = tolerance.items()
    if kind == "exact":
        if tol is not True:
            raise ValueError(f"an exact tolerance must be {{'exact': true}}, got {tolerance!r}")
        p, m = _plain(predicted), _plain(measured)
        return _all_finite(p) and _all_finite(m) and p == m
    if kind not in {"rel", "abs", "below", "above"}:
        raise ValueError(f"unknown tolerance kind {kind!r}")
    t, m = _number(tol), _number(measured)
    if not (math.isfinite(t) and math.isfinite(m)):
        return False
    if kind == "below":
        return m < t
    if kind == "above":
        return m > t
    p = _number(predicted)
    if not (math.isfinite(p) and t > 0):
        return False
    return _magnitude(m - p) <= (t * _magnitude(p) if kind == "rel" else t)


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
    """One checked claim: the theory's prediction, the simulation's measurement, the tolerance.

    ``se`` and ``n`` are the standard error of ``measured`` over seeds and the number of seeds, when
    the measurement is a mean over seeds (the tolerance is then set from them); absent otherwise.
    """

    id: str
    source: str
    statement: str
    predicted: Any
    measured: Any
    tolerance: dict
    passed: bool
    se: float | None = None
    n: int | None = None

    def _repr_html_(self) -> str:
        """One table row in a notebook (verdict, id, predicted, measured, tolerance), not the repr."""
        return _html_table(
            ("verdict", "claim", "predicted", "measured", "tolerance"),
            [(_verdict_cell(self.passed), _code(self.id), *_value_cells(self))],
        )


def _spread(se, n) -> dict:
    """Validated ``se`` and ``n`` of a mean over seeds (both or neither)."""
    if se is None and n is None:
        return {}
    if se is None or n is None:
        raise ValueError("give se and n together (the standard error over n seeds), or neither")
    se = _finite("se", se)
    if se < 0:
        raise ValueError(f"se must be >= 0, got {se!r}")
    if isinstance(n, bool) or not isinstance(n, int | np.integer) or n < 2:
        raise ValueError(f"n must be an integer number of seeds >= 2, got {n!r}")
    return {"se": se, "n": int(n)}


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

    def __post_init__(self):
        _check_name("chapter", self.chapter)
        if not isinstance(self.scale, str) or not self.scale:
            raise ValueError(f"scale must be a non-empty string, got {self.scale!r}")
        if isinstance(self.seed, bool) or not isinstance(self.seed, int | np.integer):
            raise TypeError(f"seed must be an integer, got {self.seed!r}")
        # This run's record does not exist until finish(): an earlier one must not stand in for it.
        self.path.unlink(missing_ok=True)

    @property
    def path(self) -> Path:
        """Where :meth:`save` writes: ``<results>/<chapter>.json``."""
        return self.directory / f"{self.chapter}.json"

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
        se: float | None = None,
        n: int | None = None,
    ) -> Claim:
        """Claim that ``measured`` agrees with ``predicted`` within a relative or absolute tolerance.

        ``se`` and ``n``: the standard error of ``measured`` over ``n`` seeds, when it is a mean.
        """
        if (rel is None) == (abs is None):
            raise ValueError("give exactly one of rel= or abs=")
        tol = {"rel": _finite_positive("rel", rel)} if rel is not None else {}
        tol = tol or {"abs": _finite_positive("abs", abs)}
        spread = _spread(se, n)
        p, m = float(predicted), float(measured)
        return self._add(Claim(id, source, statement, p, m, tol, verdict(tol, p, m), **spread))

    def _check_bound(
        self, id, side, measured, bound, predicted, source, statement, se=None, n=None
    ) -> Claim:
        tol = {side: _finite("bound", bound)}
        spread = _spread(se, n)
        m = float(measured)
        p = None if predicted is None else float(predicted)
        return self._add(Claim(id, source, statement, p, m, tol, verdict(tol, p, m), **spread))

    def check_below(
        self,
        id: str,
        *,
        measured: float,
        bound: float,
        predicted: float | None = None,
        source: str = "",
        statement: str = "",
        se: float | None = None,
        n: int | None = None,
    ) -> Claim:
        """Claim that ``measured`` is finite and strictly below ``bound`` (``se``, ``n``: as in
        :meth:`check_close`)."""
        return self._check_bound(
            id, "below", measured, bound, predicted, source, statement, se=se, n=n
        )

    def check_above(
        self,
        id: str,
        *,
        measured: float,
        bound: float,
        predicted: float | None = None,
        source: str = "",
        statement: str = "",
        se: float | None = None,
        n: int | None = None,
    ) -> Claim:
        """Claim that ``measured`` is finite and strictly above ``bound`` (``se``, ``n``: as in
        :meth:`check_close`)."""
        return self._check_bound(
            id, "above", measured, bound, predicted, source, statement, se=se, n=n
        )

    def check_equal(
        self, id: str, *, predicted: Any, measured: Any, source: str = "", statement: str = ""
    ) -> Claim:
        """Claim that ``measured`` equals ``predicted`` exactly (orders, signs, counts); NaN never does."""
        p, m = _plain(predicted), _plain(measured)
        tol = {"exact": True}
        return self._add(Claim(id, source, statement, p, m, tol, verdict(tol, p, m)))

    def summary(self) -> ClaimTable:
        """The claims for a chapter's end: as text, one line per claim (PASS/FAIL, id, predicted,
        measured, tolerance); in a notebook, a table (statement, prediction, measurement,
        tolerance, verdict)."""
        width = max((len(c.id) for c in self.claims), default=0)
        text = "\n".join(
            f"{'PASS' if c.passed else 'FAIL'}  {c.id:{width}s}  predicted {_fmt(c.predicted):>10}  "
            f"measured {_fmt(c.measured):>10}  tolerance {_fmt_tol(c.tolerance)}"
            for c in self.claims
        )
        return ClaimTable(text, tuple(self.claims))

    @property
    def passed(self) -> bool:
        return all(c.passed for c in self.claims)

    @property
    def directory(self) -> Path:
        return results_dir()

    def savefig(self, fig, name: str, **kwargs) -> Path:
        """Save a matplotlib figure as ``<results>/figures/<chapter>/<name>.png``; returns the path."""
        path = self.directory / "figures" / self.chapter / f"{_check_name('name', name)}.png"
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
            "source_sha256": source_hash(self.chapter),
            "library_sha256": library_hash(),
            "claims": [
                _plain(
                    {k: v for k, v in asdict(c).items() if k not in ("se", "n") or v is not None}
                )
                for c in self.claims
            ],
        }

    def save(self) -> Path:
        """Write the record as JSON (atomically: a temporary file, then a rename) and return its path."""
        path = self.path
        path.parent.mkdir(parents=True, exist_ok=True)
        text = json.dumps(self.to_dict(), indent=1) + "\n"
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{self.chapter}.", suffix=".tmp")
        try:
            with os.fdopen(fd, "w") as f:
                f.write(text)
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
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


class ClaimTable(str):
    """A record's summary: the text of :meth:`Record.summary` (so ``print`` and string use are
    unchanged), shown as an HTML table by Jupyter and the book."""

    claims: tuple[Claim, ...]

    def __new__(cls, text: str, claims: tuple[Claim, ...] = ()):
        obj = super().__new__(cls, text)
        obj.claims = tuple(claims)
        return obj

    def _repr_pretty_(self, printer, cycle) -> None:
        printer.text(str(self))  # IPython's plain-text view: the lines, not a quoted string

    def _repr_html_(self) -> str:
        rows = [
            (
                f"{html.escape(c.statement)}<br>{_code(c.id)}" if c.statement else _code(c.id),
                *_value_cells(c),
                _verdict_cell(c.passed),
            )
            for c in self.claims
        ]
        return _html_table(("statement", "prediction", "measurement", "tolerance", "verdict"), rows)


def _code(text: str) -> str:
    return f"<code>{html.escape(text)}</code>"


def _verdict_cell(passed: bool) -> str:
    return "<strong>pass</strong>" if passed else '<strong style="color:#b00">FAIL</strong>'


def _value_cells(claim: Claim) -> tuple[str, str, str]:
    """Predicted, measured and tolerance of a claim as escaped table cells (as in records_table)."""
    stored = {"predicted": _plain(claim.predicted), "tolerance": claim.tolerance}
    return tuple(
        html.escape(v)
        for v in (
            _fmt_predicted(stored),
            _fmt_cell(_plain(claim.measured)),
            _fmt_tol_cell(claim.tolerance),
        )
    )


def _html_table(headers, rows) -> str:
    """A table in a horizontally scrolling box, so that it never widens the page. Cells are HTML."""
    head = "".join(f"<th>{h}</th>" for h in headers)
    body = "".join("<tr>" + "".join(f"<td>{c}</td>" for c in row) + "</tr>" for row in rows)
    return (
        '<div class="dltheory-claims" style="overflow-x:auto;max-width:100%">'
        f'<table class="dltheory-claims-table"><thead><tr>{head}</tr></thead>'
        f"<tbody>{body}</tbody></table></div>"
    )


def _magnitude(x: float) -> float:
    return x if x >= 0 else -x


def load_records(directory: str | Path | None = None) -> list[dict]:
    """All records in ``directory`` (default :func:`results_dir`), sorted by chapter; none if it is absent."""
    d = Path(directory) if directory is not None else results_dir()
    if d.exists() and not d.is_dir():
        raise ValueError(f"directory {d} is a file, not a folder of records")
    records = []
    for p in sorted(d.glob("*.json")):
        try:
            records.append(json.loads(p.read_text()))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
            raise ValueError(f"corrupt record {p}: {e}") from None
    return records


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


def _fmt_cell(x: Any) -> str:
    """A stored value for a table cell: numbers to 4 significant digits, also inside lists."""
    if isinstance(x, list):
        return "[" + ", ".join(_fmt_cell(v) for v in x) + "]"
    if isinstance(x, float):
        return f"{x:.4g}"
    return _fmt(x)


def _fmt_tol_cell(tol: dict) -> str:
    """A tolerance for a table cell: as :func:`_fmt_tol`, numbers to 3 significant digits."""
    key, val = next(iter(tol.items()))
    if key in ("abs", "below", "above") and isinstance(val, int | float):
        return {"abs": "±", "below": "< ", "above": "> "}[key] + f"{val:.3g}"
    return _fmt_tol(tol)


def _fmt_predicted(claim: dict) -> str:
    """The prediction of a claim; a bound with no prediction beside it (None or 0) shows as "—"."""
    p = claim.get("predicted")
    if next(iter(claim["tolerance"])) in ("below", "above"):
        v = _number(p)
        if not math.isfinite(v) or v == 0:
            return "—"
    return _fmt_cell(p)


_FENCE = re.compile(r"^\s*(`{3,}|~{3,}|:{3,})(.*)$")
_HEADING = re.compile(r"^(#{1,6})\s+(.+?)(?:\s+#+)?\s*$")
_LITERAL = re.compile(r"""(f?)(["'])((?:(?!\2).)+)\2""")
# an f-string that can build a claim id: starts with id characters, no spaces outside its fields
_ID_TEMPLATE = re.compile(r"[A-Za-z0-9_.-]+(\{[^{}]+\}[A-Za-z0-9_.-]*)+")


def _section_id(title: str) -> str | None:
    """The id Sphinx gives a section titled ``title`` (docutils' ``make_id``); None for titles
    holding roles, whose rendered text cannot be read off the source."""
    if "{" in title:
        return None
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", title)  # [text](url) -> text
    text = re.sub(r"[$`*]", "", text)
    text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii").lower()
    text = re.sub(r"[^a-z0-9]+", "-", " ".join(text.split()))
    return re.sub(r"^[-0-9]+|-+$", "", text) or None


def _chapter_outline(chapter: str) -> tuple[str, list[tuple[str, bool, str | None]]]:
    """A chapter's title and, in order, every string literal of its code cells as (text, is an
    f-string, id of the section it is in: None before the first subsection or where the id is not
    known). Empty where the chapter's source is not found."""
    path = _chapter_source(chapter) if _NAME.fullmatch(chapter) else None
    if path is None:
        return "", []
    title, section, seen, literals = "", None, set(), []
    fences: list[tuple[str, int, bool]] = []  # open fences: (character, length, is a code cell)
    for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
        m = _FENCE.match(line)
        if m:
            mark, rest = m.group(1), m.group(2).strip()
            if fences and fences[-1][0] == mark[0] and len(mark) >= fences[-1][1] and not rest:
                fences.pop()
            else:
                fences.append((mark[0], len(mark), rest.startswith("{code-cell}")))
            continue
        if not fences:
            h = _HEADING.match(line)
            if h and len(h.group(1)) == 1 and not title:
                title = h.group(2).strip()
            elif h:
                sid = _section_id(h.group(2))
                section = None if sid in seen else sid  # a repeated title gets a numbered id
                seen.add(sid)
        elif fences[-1][2]:
            literals += [(t, f == "f", section) for f, _, t in _LITERAL.findall(line)]
    return title, literals


def _claim_section(claim_id: str, literals: list[tuple[str, bool, str | None]]) -> str | None:
    """The section whose code first names ``claim_id``, literally or through an f-string template."""
    for text, is_f, section in literals:
        if text == claim_id:
            return section
        if is_f and _ID_TEMPLATE.fullmatch(text):
            pattern = re.sub(r"\\\{.*?\\\}", "[^ ]+", re.escape(text))
            if re.fullmatch(pattern, claim_id):
                return section
    return None


def records_table(records: list[dict]) -> list[dict]:
    """Flatten records into table rows, one per claim.

    Keys: chapter, scale, claim, predicted, measured, tolerance, passed ("pass" or "FAIL"),
    runtime (s) (the whole chapter's), statement, source, chapter_title (the chapter's first heading,
    "" where its source is not found) and section (the id of the chapter section whose code names
    the claim, "" where it cannot be told). A bound's prediction shows as "—" unless the record holds
    a nonzero one; its tolerance shows as "< b" or "> b".
    """
    if not isinstance(records, list) or not all(
        isinstance(r, dict) and {"chapter", "scale", "claims", "runtime_s"} <= r.keys()
        for r in records
    ):
        raise ValueError("records must be a list of chapter records, as load_records returns")
    rows = []
    for r in records:
        title, literals = _chapter_outline(str(r["chapter"]))
        for c in r["claims"]:
            rows.append(
                {
                    "chapter": r["chapter"],
                    "scale": r["scale"],
                    "claim": c["id"],
                    "predicted": _fmt_predicted(c),
                    "measured": _fmt_cell(c["measured"]),
                    "tolerance": _fmt_tol_cell(c["tolerance"]),
                    "passed": "pass" if c["passed"] else "FAIL",
                    "runtime (s)": r["runtime_s"],
                    "statement": c.get("statement", ""),
                    "source": c.get("source", ""),
                    "chapter_title": title,
                    "section": _claim_section(c["id"], literals) or "",
                }
            )
    return rows


def _record_problems(rec: Any, ch: str, scale: str | None) -> list[str]:
    """Everything wrong with one parsed record (empty if it is valid, current and passing)."""
    if not isinstance(rec, dict):
        return ["record is not a JSON object"]
    problems = []
    if rec.get("chapter") != ch:
        problems.append(f"record names chapter {rec.get('chapter')!r}")
    if scale is not None and rec.get("scale") != scale:
        problems.append(f"record is at scale {rec.get('scale')!r}, expected {scale!r}")
    src = source_hash(ch)
    if src is not None and rec.get("source_sha256") != src:
        problems.append("record is older than the chapter's source (rerun the chapter)")
    if rec.get("library_sha256") != library_hash():
        problems.append("record is older than the library (rerun the chapter)")
    claims = rec.get("claims")
    if not isinstance(claims, list) or not claims:
        return [*problems, "record holds no claims"]
    for c in claims:
        cid = c.get("id", "?") if isinstance(c, dict) else "?"
        try:
            ok = verdict(c["tolerance"], c.get("predicted"), c.get("measured"))
        except (KeyError, TypeError, ValueError, AttributeError) as e:
            problems.append(f"claim {cid}: malformed ({e})")
            continue
        if not ok:
            problems.append(f"claim {cid} failed (recomputed from predicted, measured, tolerance)")
        elif c.get("passed") is not True:
            problems.append(
                f"claim {cid}: stored verdict {c.get('passed')!r} disagrees with the data"
            )
    return problems


def _check(directory: Path, chapters: list[str], scale: str | None) -> int:
    problems = []
    for ch in chapters:
        path = directory / f"{ch}.json"
        if not path.is_file():
            problems.append(f"{ch}: no record at {path}")
            continue
        try:
            rec = json.loads(path.read_text())
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
            problems.append(f"{ch}: corrupt record {path}: {type(e).__name__}: {e}")
            continue
        problems += [f"{ch}: {p}" for p in _record_problems(rec, ch, scale)]
        if isinstance(rec, dict):
            n = len(rec.get("claims") or [])
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
    for n in names:
        if not _NAME.fullmatch(n):
            parser.error(f"not a chapter name: {n!r}")
    return _check(args.dir or results_dir(), names, args.scale)


if __name__ == "__main__":
    raise SystemExit(main())
