"""Coursework from the chapters' exercises: otter-grader assignments, and grading a submission.

Every chapter ends with exercises written with sphinx-exercise. An exercise becomes an *autograded*
question when its solution is gated (``solution-start`` ... ``solution-end``) around code cells and a
code cell tagged ``autograder-tests`` follows it; otherwise it is a *manual* question (graded by
hand, its written solution shown only to the instructor). In the chapter source::

    ```{exercise-start} Title
    :label: ex-name
    ```
    The prompt; it names the variables the answer must be stored in.
    ```{exercise-end}
    ```
    ```{solution-start} ex-name
    :class: dropdown
    ```
    (code cells: the reference solution, executed when the book is built)
    ```{solution-end}
    ```
    (a code cell tagged [remove-cell, autograder-tests]: asserts on those variables)

The tests run at every build (and in ``make test``), so the reference solution is checked wherever
the chapter runs. :func:`master_notebook` turns a chapter into an otter-grader master notebook (the
whole chapter, at the ``ci`` scale, with each exercise as an otter question); ``otter assign`` then
writes the student notebook (solutions replaced by ``...``) and the autograder. :func:`grade` checks
a submission before handing it to ``otter run`` so that an empty or broken file gets a clear message.

Command line (``make assignments``, ``make grade``)::

    python -m dltheory.coursework assign book/01_svd_dynamics.md ... [--out _build/assignments]
    python -m dltheory.coursework grade 01 my_submission.ipynb [--assignments _build/assignments]
"""

from __future__ import annotations

import argparse
import ast
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

__all__ = [
    "Exercise",
    "GradeReport",
    "SubmissionError",
    "parse_chapter",
    "master_notebook",
    "assign",
    "grade",
    "main",
]

TESTS_TAG = "autograder-tests"
ASSIGNMENT_SCALE = "ci"  # the scale assignments run at: every chapter in well under a minute
_DIRECTIVES = (
    "exercise-start",
    "exercise-end",
    "solution-start",
    "solution-end",
    "exercise",
    "solution",
)
_OPEN = re.compile(r"^(?P<fence>`{3,}|:{3,})\{(?P<name>[a-z-]+)\}[ \t]*(?P<arg>.*)$")
_ROLE = re.compile(r"\{[a-z:-]+\}`([^`]*)`")


class SubmissionError(ValueError):
    """A submission that cannot be graded (missing, empty, not a notebook, ...)."""


@dataclass
class Exercise:
    """One exercise of a chapter, as written in its MyST source."""

    label: str
    title: str
    prompt: list = field(default_factory=list)  # notebook cells (markdown, maybe code)
    solution: list = field(default_factory=list)  # notebook cells (markdown and code)
    tests: list[str] = field(default_factory=list)  # code of the autograder-tests cells

    @property
    def name(self) -> str:
        """The otter question name (an identifier)."""
        return self.label.replace("-", "_")

    @property
    def autograded(self) -> bool:
        return bool(self.tests) and any(c.cell_type == "code" for c in self.solution)


# ----------------------------------------------------------------------------- parsing
def _split_markdown(text: str) -> list[tuple[str, str, str]]:
    """Split markdown into ("text", text, "") and (directive, arg, options+body) pieces."""
    lines = text.split("\n")
    pieces, plain, i = [], [], 0
    while i < len(lines):
        m = _OPEN.match(lines[i])
        if m is None or m["name"] not in _DIRECTIVES:
            plain.append(lines[i])
            i += 1
            continue
        fence = m["fence"]
        j = i + 1
        while j < len(lines):
            s = lines[j].strip()
            if s and set(s) == {fence[0]} and len(s) >= len(fence):
                break
            j += 1
        if j == len(lines):
            raise ValueError(f"unclosed {{{m['name']}}} directive: {lines[i]!r}")
        if plain:
            pieces.append(("text", "\n".join(plain), ""))
            plain = []
        pieces.append((m["name"], m["arg"].strip(), "\n".join(lines[i + 1 : j])))
        i = j + 1
    if plain:
        pieces.append(("text", "\n".join(plain), ""))
    return pieces


def _options_and_body(block: str) -> tuple[dict, str]:
    options, lines = {}, block.split("\n")
    k = 0
    while k < len(lines) and (m := re.match(r"^:([\w-]+):\s*(.*)$", lines[k])):
        options[m[1]] = m[2].strip()
        k += 1
    return options, "\n".join(lines[k:]).strip("\n")


def _md(text: str):
    return nbformat.v4.new_markdown_cell(text)


def parse_chapter(path: str | Path) -> tuple[list, list[Exercise]]:
    """Read a chapter's MyST source into notebook cells, pulling its exercises out.

    Returns:
        ``(cells, exercises)``: the chapter's cells in order, with each exercise replaced by a
        placeholder markdown cell whose metadata names it (``{"exercise": label}``), its solutions
        and test cells removed; and the exercises, in order.
    """
    import jupytext

    nb = jupytext.read(_chapter_source(path), fmt="md:myst")
    cells, exercises = [], {}
    state, current = None, None  # state: None | "prompt" | "solution"

    def placeholder(ex):
        cell = _md(f"*(exercise {ex.label})*")
        cell.metadata["exercise"] = ex.label
        return cell

    def sink() -> list:  # where the current cell goes: the chapter, or an exercise's part
        return {"prompt": current.prompt, "solution": current.solution}[state] if state else cells

    for cell in nb.cells:
        if cell.cell_type == "code":
            tags = cell.metadata.get("tags", [])
            if TESTS_TAG in tags:
                if current is None:
                    raise ValueError(f"{path}: an {TESTS_TAG} cell before any exercise")
                current.tests.append(cell.source)
            else:
                sink().append(cell)
            continue
        if cell.cell_type != "markdown":
            cells.append(cell)
            continue
        for kind, arg, block in _split_markdown(cell.source):
            if kind == "text":
                if arg.strip():
                    sink().append(_md(arg.strip("\n")))
                continue
            options, body = _options_and_body(block)
            if kind in ("exercise", "exercise-start"):
                label = options.get("label")
                if not label:
                    raise ValueError(f"{path}: exercise {arg!r} has no :label:")
                current = exercises[label] = Exercise(label=label, title=arg)
                if body:
                    current.prompt.append(_md(body))
                cells.append(placeholder(current))
                state = "prompt" if kind == "exercise-start" else None
            elif kind == "exercise-end":
                state = None
            elif kind in ("solution", "solution-start"):
                if arg not in exercises:
                    raise ValueError(f"{path}: solution for unknown exercise {arg!r}")
                current = exercises[arg]
                if body:
                    current.solution.append(_md(body))
                state = "solution" if kind == "solution-start" else None
            elif kind == "solution-end":
                state = None
    if state is not None:
        raise ValueError(f"{path}: unterminated {state} block")
    return cells, list(exercises.values())


# ----------------------------------------------------------------------------- master notebook
def _raw(text: str):
    return nbformat.v4.new_raw_cell(text)


def _plain_markdown(text: str) -> str:
    """MyST roles ({ref}`x`, {cite}`x`, ...) as plain text, for Jupyter."""
    return _ROLE.sub(r"\1", text)


def _answer_names(solution_code: str, tests: list[str]) -> list[str]:
    """Top-level names the solution defines and the tests read: what the student must define."""
    assigned: list[str] = []
    for node in ast.parse(solution_code).body:
        targets = (
            node.targets
            if isinstance(node, ast.Assign)
            else [node.target]
            if isinstance(node, ast.AnnAssign | ast.AugAssign)
            else []
        )
        for t in targets:
            for n in ast.walk(t):
                if isinstance(n, ast.Name) and n.id not in assigned:
                    assigned.append(n.id)
    used = {n.id for t in tests for n in ast.walk(ast.parse(t)) if isinstance(n, ast.Name)}
    return [name for name in assigned if name in used]


def _question(ex: Exercise, points: int) -> list:
    out = [
        _raw(
            f"# BEGIN QUESTION\nname: {ex.name}\npoints: {points}"
            + ("" if ex.autograded else "\nmanual: true")
        )
    ]
    # the parser made the prompt's markdown cells; code cells in a prompt are kept as they are
    prompt = [_md(_plain_markdown(c.source)) if c.cell_type == "markdown" else c for c in ex.prompt]
    head = f"**Exercise `{ex.name}`: {ex.title}**"
    if prompt and prompt[0].cell_type == "markdown":
        prompt[0] = _md(head + "\n\n" + prompt[0].source)
    else:
        prompt.insert(0, _md(head))
    out += prompt
    out.append(_raw("# BEGIN SOLUTION"))
    if ex.autograded:
        code = "\n\n".join(c.source for c in ex.solution if c.cell_type == "code")
        names = _answer_names(code, ex.tests)
        stub = "\n".join(f"{n} = ..." for n in names) or "..."
        out.append(
            nbformat.v4.new_code_cell(
                "# BEGIN PROMPT\n"
                f"# Your answer: define {', '.join(names) or 'the answer'} (see the exercise above).\n"
                f"{stub}\n# END PROMPT\n"
                f"# BEGIN SOLUTION NO PROMPT\n{code}\n# END SOLUTION"
            )
        )
        out.append(_raw("# END SOLUTION"))
        out.append(_raw("# BEGIN TESTS"))
        out += [nbformat.v4.new_code_cell(t) for t in ex.tests]
        out.append(_raw("# END TESTS"))
    else:
        sol = [c for c in ex.solution if c.cell_type == "markdown"] or [
            _md("(no written solution)")
        ]
        out += [_md(_plain_markdown(c.source)) for c in sol]
        out.append(_raw("# END SOLUTION"))
    out.append(_raw("# END QUESTION"))
    return out


def master_notebook(path: str | Path, *, scale: str = ASSIGNMENT_SCALE, points: int = 1):
    """An otter-grader master notebook for one chapter: the chapter at ``scale``, exercises as questions."""
    from dltheory.config import SCALES

    path = _chapter_source(path)
    if scale not in SCALES:
        raise ValueError(f"scale must be one of {tuple(SCALES)}, got {scale!r}")
    if isinstance(points, bool) or not isinstance(points, int) or points < 1:
        raise ValueError(f"points must be an integer >= 1, got {points!r}")
    cells, exercises = parse_chapter(path)
    if not exercises:
        raise ValueError(f"{path}: the chapter has no exercises")
    by_label = {ex.label: ex for ex in exercises}
    config = (
        "# ASSIGNMENT CONFIG\n"
        f"name: {path.stem}\n"
        "init_cell: true\ncheck_all_cell: false\nexport_cell: false\n"
        "run_tests: false\nsolutions_pdf: false\n"
        "generate:\n  pdf: false\n  filtering: false\n"
    )
    n_auto = sum(ex.autograded for ex in exercises)
    intro = _md(
        f"*Assignment generated from the chapter `{path.name}`.* The chapter runs at the `{scale}` "
        f"scale so that it is quick to run and to grade. {n_auto} of its {len(exercises)} exercises "
        "are graded automatically: fill in the cells that contain `...` and check your answer with "
        "the `grader.check(...)` cell below each. The others are marked by hand: write your answer "
        "in the cell provided."
    )
    out = [_raw(config), intro]
    for cell in cells:
        label = cell.metadata.get("exercise") if cell.cell_type == "markdown" else None
        if label is not None:
            out += _question(by_label[label], points)
            continue
        out.append(cell)
        if cell.cell_type == "code" and "parameters" in cell.metadata.get("tags", []):
            out.append(nbformat.v4.new_code_cell(f'scale = "{scale}"  # the assignment\'s scale'))
    nb = nbformat.v4.new_notebook()
    nb.cells = out
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    nb.metadata["language_info"] = {"name": "python"}
    return nb


# ----------------------------------------------------------------------------- otter assign
def _chapter_env(tmp: str) -> dict:
    """Environment for running a chapter outside the book: records to ``tmp``, no progress bars."""
    return dict(os.environ, DLTHEORY_RESULTS_DIR=tmp, DLTHEORY_PROGRESS="0")


def autograder_zip(directory: str | Path) -> Path:
    """The autograder zip otter wrote for one chapter's assignment directory."""
    zips = sorted((Path(directory) / "autograder").glob("*-autograder_*.zip"))
    if not zips:
        raise FileNotFoundError(f"no autograder in {directory}; run `make assignments` first")
    return zips[-1]


_STEM = re.compile(r"[0-9]{2}_[A-Za-z0-9_-]+")


def _chapter_source(chapter) -> Path:
    """``chapter`` as the path of an existing chapter source ``NN_name.md``, or a ``ValueError``."""
    if not isinstance(chapter, str | os.PathLike) or not str(chapter):
        raise ValueError(
            f"chapter must be the path of a chapter source NN_name.md, got {chapter!r}"
        )
    path = Path(chapter)
    if path.suffix != ".md" or not _STEM.fullmatch(path.stem) or not path.is_file():
        raise ValueError(
            f"chapter must be the path of a chapter source NN_name.md, got {chapter!r}"
        )
    return path


def assign(chapter: str | Path, out_dir: str | Path, *, check: bool = True) -> Path:
    """Write ``<out_dir>/<chapter>/{master,student,autograder}`` for one chapter with ``otter assign``.

    With ``check``, the autograder's reference notebook is graded and must get full marks.
    Returns the chapter's assignment directory.
    """
    chapter = _chapter_source(chapter)
    if not isinstance(out_dir, str | os.PathLike) or not str(out_dir):
        raise ValueError(f"out_dir must be a directory path, got {out_dir!r}")
    dest = Path(out_dir) / chapter.stem
    master = dest / "master" / f"{chapter.stem}.ipynb"
    notebook = master_notebook(chapter)  # parse before touching anything on disk
    if dest.exists():
        # Only ever replace an assignment this function wrote: never a folder it did not make.
        if not dest.is_dir() or not master.is_file():
            raise ValueError(
                f"out_dir already holds {dest}, which is not an assignment of {chapter.stem}; "
                "remove it or choose another out_dir"
            )
        shutil.rmtree(dest)
    master.parent.mkdir(parents=True)
    nbformat.write(notebook, master)
    with tempfile.TemporaryDirectory() as tmp:
        proc = subprocess.run(
            [sys.executable, "-m", "otter", "assign", "-v", str(master), str(dest)],
            env=_chapter_env(tmp),
            capture_output=True,
            text=True,
        )
    if proc.returncode != 0:
        raise RuntimeError(f"otter assign failed for {chapter.name}:\n{proc.stdout}\n{proc.stderr}")
    if check:
        report = grade(dest, dest / "autograder" / master.name)
        if report.score != report.possible:
            raise RuntimeError(
                f"{chapter.name}: the reference solutions do not get full marks:\n{report}"
            )
    return dest


# ----------------------------------------------------------------------------- grading
@dataclass
class GradeReport:
    """Scores of one graded submission (autograded questions only)."""

    chapter: str
    questions: list[tuple[str, float, float]]  # (name, score, max score)
    output: dict = field(default_factory=dict)  # otter's message per question

    @property
    def score(self) -> float:
        return sum(q[1] for q in self.questions)

    @property
    def possible(self) -> float:
        return sum(q[2] for q in self.questions)

    def __str__(self) -> str:
        lines = [f"{self.chapter}: {self.score:g} / {self.possible:g}"]
        for name, score, most in self.questions:
            lines.append(f"  {name:28s} {score:g} / {most:g}")
        return "\n".join(lines)


def _check_submission(path: Path) -> None:
    if not path.is_file():
        raise SubmissionError(f"submission {path} does not exist")
    if path.suffix != ".ipynb":
        raise SubmissionError(f"submission {path} is not a .ipynb notebook")
    if path.stat().st_size == 0:
        raise SubmissionError(f"submission {path} is empty")
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
    return hits[0]


def grade(
    chapter: str | Path, submission: str | Path, *, assignments: str | Path = "_build/assignments"
) -> GradeReport:
    """Grade a submission with ``otter run`` against a chapter's autograder.

    Args:
        chapter: the chapter's assignment directory, or its number / name ("01", "01_svd_dynamics")
            looked up in ``assignments``.
        submission: the student's notebook.

    Raises:
        SubmissionError: the submission is missing, empty or not a notebook, or otter failed on it.
    """
    if not isinstance(submission, str | os.PathLike):
        raise SubmissionError(f"submission must be the path of a notebook, got {submission!r}")
    submission = Path(submission)
    _check_submission(submission)
    directory = _assignment_dir(chapter, assignments)
    zip_path = autograder_zip(directory)
    with tempfile.TemporaryDirectory() as tmp:
        proc = subprocess.run(
            [sys.executable, "-m", "otter", "run", "--no-logo", "-a", str(zip_path), "-o", tmp,
             str(submission)],
            env=_chapter_env(tmp),
            capture_output=True,
            text=True,
        )  # fmt: skip
        results = Path(tmp) / "results.json"
        if proc.returncode != 0 or not results.exists():
            tail = "\n".join((proc.stdout + proc.stderr).strip().splitlines()[-5:])
            raise SubmissionError(f"otter could not grade {submission}:\n{tail}")
        data = json.loads(results.read_text())
    questions, output = [], {}
    for test in data.get("tests", []):
        if "max_score" in test and test.get("name") != "Public Tests":
            questions.append(
                (test["name"], float(test.get("score") or 0.0), float(test["max_score"]))
            )
            output[test["name"]] = test.get("output", "")
    return GradeReport(chapter=directory.name, questions=questions, output=output)


# ----------------------------------------------------------------------------- command line
def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m dltheory.coursework", description=__doc__.split("\n")[0]
    )
    sub = parser.add_subparsers(dest="command", required=True)
    p_assign = sub.add_parser("assign", help="student notebooks and autograders from chapters")
    p_assign.add_argument("chapters", nargs="+", help="chapter sources, book/NN_*.md")
    p_assign.add_argument("--out", default="_build/assignments")
    p_assign.add_argument(
        "--no-check", action="store_true", help="skip grading the reference solutions"
    )
    p_grade = sub.add_parser("grade", help="grade a submission")
    p_grade.add_argument("chapter", help="chapter number or name, e.g. 01")
    p_grade.add_argument("submission", help="the student's .ipynb")
    p_grade.add_argument("--assignments", default="_build/assignments")
    args = parser.parse_args(argv)
    try:
        if args.command == "assign":
            for chapter in args.chapters:  # check every argument before assigning any
                _chapter_source(chapter)
            for chapter in args.chapters:
                dest = assign(chapter, args.out, check=not args.no_check)
                student = dest / "student" / f"{Path(chapter).stem}.ipynb"
                print(f"{Path(chapter).stem}: student {student}, autograder {autograder_zip(dest)}")
            return 0
        report = grade(args.chapter, args.submission, assignments=args.assignments)
    except ValueError as err:  # SubmissionError included: a bad argument, in one line
        print(f"error: {err}", file=sys.stderr)
        return 2
    print(report)
    return 0


if __name__ == "__main__":
    sys.exit(main())
