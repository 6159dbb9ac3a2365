"""Grading submissions in isolation, one process per submission, for a whole class.

What a submission runs in (:func:`grade`): its own process, in a fresh temporary folder that holds
only a copy of the notebook, with a wall-clock limit, a memory limit (``RLIMIT_AS``), a cap on the
size of every file it writes (its output included, ``RLIMIT_FSIZE``), no core files, and, when the
grader runs as root, as an unprivileged user (``nobody``) that cannot read the assignment's private
folders (the reference solution, the hidden tests, the chapter values the tests read: 0700, owned by
the grader). Its processes are killed when it ends, including any it detached (the grader is their
subreaper).

How the verdict is reached: the submission's process exports only the answer values the tests read,
as JSON data (numbers, numeric arrays, strings, lists, tuples, dicts; see :mod:`dltheory._sandbox`).
A separate, clean process of the grader (``python -I``) rebuilds them, puts them beside the trusted
reference run's chapter values, and runs otter's tests (public and hidden) on them. So nothing the
submission does to numpy, otter or the files on disk changes its grade: only its answers count.
"""

from __future__ import annotations

import csv
import json
import math
import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

from dltheory._checks import ArgumentTypeError
from dltheory.grading_sandbox import execute as _execute

__all__ = ["grade_many"]

DEFAULT_TIMEOUT = 300.0  # seconds per submission
DEFAULT_MEMORY_MB = 6144  # address space of a submission's process (the chapter and its imports)
DEFAULT_OUTPUT_MB = 32  # largest file a submission may write, its printed output included
MAX_NOTEBOOK_BYTES = 20 * 2**20
SANDBOX_USER = "nobody"
STATUSES = ("ok", "timeout", "error", "invalid")


class SubmissionError(ValueError):
    """A submission that cannot be graded (missing, empty, not a notebook, ...)."""


@dataclass
class GradeReport:
    """Scores of one graded submission (autograded questions only)."""

    chapter: str
    questions: list[tuple[str, float, float]]  # (name, score, max score)
    output: dict = field(default_factory=dict)  # feedback per question
    status: str = "ok"  # ok | timeout | error | invalid
    seconds: float = 0.0
    submission: str = ""
    message: str = ""  # why a submission was not graded normally

    @property
    def score(self) -> float:
        return sum(q[1] for q in self.questions)

    @property
    def possible(self) -> float:
        return sum(q[2] for q in self.questions)

    def __str__(self) -> str:
        lines = [f"{self.chapter}: {self.score:g} / {self.possible:g} ({self.status})"]
        for name, score, most in self.questions:
            lines.append(f"  {name:28s} {score:g} / {most:g}")
        if self.message:
            lines.append(f"  {self.message}")
        return "\n".join(lines)

    def feedback(self) -> str:
        """The text a student gets back: scores, failed public tests, hidden-test counts."""
        lines = [f"Submission {self.submission}", str(self), ""]
        for name, text in self.output.items():
            lines += [f"## {name}", text.strip(), ""]
        return "\n".join(lines)


# ----------------------------------------------------------------------------- the assignment side
def _prepare_autograder(
    folder: str | Path, notebook: str, answers: dict, tests: dict, context: str | Path
) -> Path:
    """Lay out what the verdict reads in an assignment's private ``autograder`` folder.

    Args:
        folder: the assignment's ``autograder`` folder.
        notebook: the assignment's stem (the notebook is ``<notebook>.ipynb``).
        answers: question -> the answer names its tests read.
        tests: question -> otter's test file (its source).
        context: the pickle :func:`_reference_run` wrote; moved into ``folder``.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise ValueError(f"folder must be an existing directory, got {folder!r}")
    if not isinstance(notebook, str) or not notebook:
        raise ValueError(f"notebook must be a non-empty name, got {notebook!r}")
    if not isinstance(answers, dict) or not isinstance(tests, dict) or set(answers) != set(tests):
        raise ValueError("answers and tests must be dicts over the same questions")
    if not Path(context).is_file():
        raise ValueError(f"context must be the reference run's pickle, got {context!r}")
    (folder / "tests").mkdir(exist_ok=True)
    for question, source in tests.items():
        (folder / "tests" / f"{question}.py").write_text(source)
    manifest = {"notebook": notebook, "questions": {q: {"answers": a} for q, a in answers.items()}}
    (folder / "manifest.json").write_text(json.dumps(manifest, indent=1))
    shutil.move(str(context), folder / "context.pkl")
    folder.chmod(0o700)
    return folder


def _reference_run(notebook: str | Path, names: list[str], out: str | Path) -> tuple[dict, dict]:
    """Run the instructor's reference notebook (trusted) and keep the values ``names`` hold.

    Writes ``out`` (a pickle of the values the hidden tests read). Returns each name's signature
    (kind, shape, keys), from which the public tests are written, and the values the chapter glued
    for its prose, which the student notebook shows as numbers.
    """
    if not Path(notebook).is_file():
        raise ValueError(f"notebook must be an existing file, got {notebook!r}")
    if not isinstance(names, list | tuple) or not all(isinstance(n, str) for n in names):
        raise ArgumentTypeError(f"names must be a list of names, got {names!r}")
    with tempfile.TemporaryDirectory() as tmp:
        env = dict(os.environ, DLTHEORY_RESULTS_DIR=tmp, DLTHEORY_PROGRESS="0", MPLBACKEND="Agg")
        proc = subprocess.run(
            [sys.executable, "-I", "-m", "dltheory._sandbox", "context",
             str(Path(notebook).resolve()), ",".join(names), str(Path(out).resolve())],
            cwd=tmp, env=env, capture_output=True, text=True,
        )  # fmt: skip
    if proc.returncode != 0 or not Path(out).is_file():
        raise RuntimeError(f"the reference run of {notebook} failed:\n{proc.stderr[-3000:]}")
    sig_path = Path(str(out) + ".json")
    found = json.loads(sig_path.read_text())
    sig_path.unlink()
    return found["signatures"], found["glued"]


# ----------------------------------------------------------------------------- checks
def _check_submission(path: Path) -> None:
    if not path.is_file():
        raise SubmissionError(f"submission {path} does not exist")
    if path.suffix != ".ipynb":
        raise SubmissionError(f"submission {path} is not a .ipynb notebook")
    size = path.stat().st_size
    if size == 0:
        raise SubmissionError(f"submission {path} is empty")
    if size > MAX_NOTEBOOK_BYTES:
        raise SubmissionError(f"submission {path} is larger than {MAX_NOTEBOOK_BYTES} bytes")
    try:
        nb = nbformat.read(path, as_version=4)
        nbformat.validate(nb)
    except Exception as err:  # nbformat raises several types for unreadable files
        first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise SubmissionError(
            f"submission {path} is not a valid Jupyter notebook: {first}"
        ) from err
    if not any(c.cell_type == "code" for c in nb.cells):
        raise SubmissionError(f"submission {path} has no code cells")


def _assignment_dir(chapter: str | Path, assignments: str | Path) -> Path:
    chapter = Path(chapter)
    if chapter.is_dir():
        return chapter
    hits = sorted(Path(assignments).glob(f"{chapter.name}*"))
    hits = [h for h in hits if h.is_dir()]
    if len(hits) != 1:
        have = sorted(p.name for p in Path(assignments).glob("*") if p.is_dir())
        raise SubmissionError(
            f"no single assignment for chapter {chapter.name!r} in {assignments} "
            f"(have: {', '.join(have) or 'none; run `make assignments` first'})"
        )
    if not (hits[0] / "autograder" / "manifest.json").is_file():
        raise SubmissionError(f"{hits[0]} has no autograder; run `make assignments` again")
    return hits[0]


def _positive(name: str, value) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ArgumentTypeError(f"{name} must be a number, got {value!r}")
    if not (value > 0 and math.isfinite(value)):
        raise ValueError(f"{name} must be a finite number > 0, got {value!r}")
    return float(value)


def _check_limits(timeout, memory_mb, output_mb, user) -> tuple[float, float, float]:
    """The sandbox's limits as floats, after checking them and the user name."""
    limits = tuple(
        _positive(name, value)
        for name, value in (
            ("timeout", timeout),
            ("memory_mb", memory_mb),
            ("output_mb", output_mb),
        )
    )
    if not isinstance(user, str) or not user:
        raise ArgumentTypeError(f"user must be a user name, got {user!r}")
    return limits


def _verdict(answers: Path, autograder: Path, work: Path) -> dict:
    proc = subprocess.run(
        [sys.executable, "-I", "-m", "dltheory._sandbox", "verdict", str(answers), str(autograder)],
        cwd=work, capture_output=True, text=True, timeout=600,
        env=dict(os.environ, MPLBACKEND="Agg", DLTHEORY_PROGRESS="0", DLTHEORY_RESULTS_DIR=str(work)),
    )  # fmt: skip
    if proc.returncode != 0:
        raise RuntimeError(f"the verdict failed:\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout)


# ----------------------------------------------------------------------------- grading
def grade(
    chapter: str | Path,
    submission: str | Path,
    *,
    assignments: str | Path = "_build/assignments",
    timeout: float = DEFAULT_TIMEOUT,
    memory_mb: float = DEFAULT_MEMORY_MB,
    output_mb: float = DEFAULT_OUTPUT_MB,
    user: str = SANDBOX_USER,
) -> GradeReport:
    """Grade one submission in isolation against a chapter's autograder.

    Args:
        chapter: the chapter's assignment directory, or its number / name ("01", "01_svd_dynamics")
            looked up in ``assignments``.
        submission: the student's notebook.
        timeout: wall-clock seconds the submission may run (then status ``timeout``, score 0).
        memory_mb, output_mb: its address-space limit, and the largest file (output) it may write.
        user: whom it runs as when the grader is root.

    Returns:
        a report with status ``ok`` (scored), ``timeout`` or ``error`` (it did not finish: 0).

    Raises:
        SubmissionError: the submission is missing, empty or not a notebook (status ``invalid``
            in :func:`grade_many`).
    """
    if not isinstance(submission, str | os.PathLike):
        raise SubmissionError(f"submission must be the path of a notebook, got {submission!r}")
    timeout, memory_mb, output_mb = _check_limits(timeout, memory_mb, output_mb, user)
    submission = Path(submission)
    _check_submission(submission)
    # absolute: the verdict runs in its own working folder, and --out is often relative
    directory = _assignment_dir(chapter, assignments).resolve()
    autograder = directory / "autograder"
    manifest = json.loads((autograder / "manifest.json").read_text())
    questions = manifest["questions"]
    answers = sorted({n for q in questions.values() for n in q["answers"]})
    start = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="dltheory-grade-") as tmp:
        work = Path(tmp)
        status, copied, tail = _execute(
            submission, f"{manifest['notebook']}.ipynb", answers, work, timeout=timeout,
            memory_mb=memory_mb, output_mb=output_mb, user=user,
        )  # fmt: skip
        if copied is None:
            (work / "answers.json").write_text('{"answers": {}}')
            copied = work / "answers.json"
        result = _verdict(copied, autograder, work)
    rows, output = [], {}
    for name, r in result["questions"].items():
        score = r["score"] if status == "ok" else 0.0
        rows.append((name, float(score), float(r["possible"])))
        text = "\n".join(r["public_failures"]) or "public tests passed"
        output[name] = f"{text}\n{r['hidden']}" if status == "ok" else f"not tested ({status})"
    message = {
        "timeout": f"stopped after {timeout:g} s: every question scores 0",
        "error": "the notebook did not run to the end (crash, memory or output limit): "
        "every question scores 0",
    }.get(status, "")
    if result.get("problems"):
        message += "".join(f"\n  {k}: {v}" for k, v in result["problems"].items())
    if status != "ok":
        message += "\n  last output:\n" + tail[-1500:]
    return GradeReport(
        chapter=directory.name, questions=rows, output=output, status=status,
        seconds=time.monotonic() - start, submission=str(submission), message=message.strip(),
    )  # fmt: skip


def grade_many(
    chapter: str | Path,
    target: str | Path,
    *,
    assignments: str | Path = "_build/assignments",
    timeout: float = DEFAULT_TIMEOUT,
    memory_mb: float = DEFAULT_MEMORY_MB,
    output_mb: float = DEFAULT_OUTPUT_MB,
    user: str = SANDBOX_USER,
    echo: bool = True,
) -> list[GradeReport]:
    """Grade one notebook or every ``*.ipynb`` in a folder; write ``grades.csv`` and feedback.

    ``grades.csv`` (submission, score, max_score, status, seconds) and ``<name>.feedback.txt`` per
    submission go next to the notebooks. A submission that cannot be graded is a row with status
    ``invalid``, not an error. With ``echo``, prints the table.
    """
    if not isinstance(target, str | os.PathLike):
        raise ArgumentTypeError(f"target must be a notebook or a folder, got {target!r}")
    _check_limits(timeout, memory_mb, output_mb, user)
    if not isinstance(echo, bool):
        raise ArgumentTypeError(f"echo must be True or False, got {echo!r}")
    target = Path(target)
    if target.is_dir():
        folder, files = target, sorted(target.glob("*.ipynb"))
    elif target.exists():
        folder, files = target.parent, [target]
    else:
        raise ValueError(f"target must be a notebook or a folder, got {str(target)!r}")
    directory = _assignment_dir(chapter, assignments)
    possible = None
    reports = []
    for path in files:
        try:
            report = grade(directory, path, timeout=timeout, memory_mb=memory_mb,
                           output_mb=output_mb, user=user)  # fmt: skip
            possible = report.possible
        except SubmissionError as err:
            report = GradeReport(chapter=directory.name, questions=[], status="invalid",
                                 submission=str(path), message=str(err))  # fmt: skip
        reports.append(report)
        path.with_name(path.stem + ".feedback.txt").write_text(report.feedback())
    if possible is None:
        manifest = json.loads((directory / "autograder" / "manifest.json").read_text())
        possible = float(len(manifest["questions"]))
    with open(folder / "grades.csv", "w", newline="") as f:
        out = csv.writer(f)
        out.writerow(["submission", "score", "max_score", "status", "seconds"])
        for r in reports:
            most = r.possible if r.questions else possible
            out.writerow([Path(r.submission).name, f"{r.score:g}", f"{most:g}", r.status,
                          f"{r.seconds:.1f}"])  # fmt: skip
    if echo:
        width = max([len(Path(r.submission).name) for r in reports] + [10])
        print(f"{'submission':{width}s}  score  status   seconds")
        for r in reports:
            most = r.possible if r.questions else possible
            print(f"{Path(r.submission).name:{width}s}  {r.score:g}/{most:g}  {r.status:8s} "
                  f"{r.seconds:6.1f}")  # fmt: skip
    return reports
