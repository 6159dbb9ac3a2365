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
writes the student notebook (solutions replaced by ``...``) and the autograder. Each autograded
question gets public tests (defined, type, shape, finite: derived from the reference answer), which
``grader.check`` runs in the student's notebook, and the chapter's tests as hidden tests, which only
grading runs. Grading itself (in isolation, one process per submission) is :mod:`dltheory.grading`.

Command line (``make assignments``, ``make grade``)::

    python -m dltheory.coursework assign book/01_svd_dynamics.md ... [--out _build/assignments]
    python -m dltheory.coursework grade 01 SUBMISSION_OR_FOLDER [--assignments _build/assignments]
        [--timeout 300]
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

from dltheory import grading_markdown
from dltheory.grading import GradeReport, SubmissionError, grade, grade_many
from dltheory.grading_questions import _answer_list, _md, _question, _raw, _test_names

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
def master_notebook(
    path: str | Path,
    *,
    scale: str = ASSIGNMENT_SCALE,
    points: int = 1,
    signatures: dict | None = None,
    glued: dict | None = None,
):
    """An otter-grader master notebook for one chapter: the chapter at ``scale``, exercises as questions.

    ``signatures`` (answer name -> kind, shape, keys of the reference answer; :func:`assign` measures
    them) sharpen the public tests; without them the public tests check only that answers are defined.
    The Markdown is plain Jupyter Markdown: ``glued`` (name -> value, from the reference run) fills
    in the numbers of the prose; citations and equation references are spelled out.
    """
    from dltheory.config import SCALES

    path = _chapter_source(path)
    if scale not in SCALES:
        raise ValueError(f"scale must be one of {tuple(SCALES)}, got {scale!r}")
    if isinstance(points, bool) or not isinstance(points, int) or points < 1:
        raise ValueError(f"points must be an integer >= 1, got {points!r}")
    cells, exercises = parse_chapter(path)
    if not exercises:
        raise ValueError(f"{path}: the chapter has no exercises")
    bib = path.parent / "references.bib"
    context = {
        "glued": dict(glued or {}),
        "bib": grading_markdown.bibliography(bib) if bib.is_file() else {},
        "equations": grading_markdown.equation_numbers(path.read_text()),
        "theorems": grading_markdown.theorem_titles(path.parent),
    }
    for cell in [*cells, *(c for ex in exercises for c in ex.prompt + ex.solution)]:
        if cell.cell_type == "markdown":
            cell.source = grading_markdown.plain(cell.source, **context)
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
            out += _question(by_label[label], points, signatures)
            continue
        out.append(cell)
        if cell.cell_type == "code" and "parameters" in cell.metadata.get("tags", []):
            out.append(nbformat.v4.new_code_cell(f'scale = "{scale}"  # the assignment\'s scale'))
    nb = nbformat.v4.new_notebook()
    nb.cells = out
    grading_markdown.plain_python_metadata(nb)
    return nb


def _reference_notebook(master):
    """The master notebook as the instructor's run: chapter cells and solutions, no otter cells."""
    nb = nbformat.v4.new_notebook()
    in_tests = False
    for cell in master.cells:
        if cell.cell_type == "raw":
            first = cell.source.split("\n")[0].strip()
            in_tests = {"# BEGIN TESTS": True, "# END TESTS": False}.get(first, in_tests)
            continue
        if cell.cell_type != "code" or in_tests:
            continue
        src = cell.source
        if "# BEGIN SOLUTION NO PROMPT" in src:
            src = src.split("# BEGIN SOLUTION NO PROMPT", 1)[1].split("# END SOLUTION", 1)[0]
        nb.cells.append(nbformat.v4.new_code_cell(src))
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
MARKER = ".dltheory-assignment"  # written into every folder assign() makes; only those are replaced


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


def _fresh_destination(out_dir: Path, stem: str) -> Path:
    """``out_dir/stem``, empty and marked as ours: never a folder this module did not write."""
    if not _STEM.fullmatch(stem):  # '' or '..' would put the folder at or above out_dir
        raise ValueError(f"chapter stem must look like NN_name, got {stem!r}")
    out_dir.mkdir(parents=True, exist_ok=True)
    dest = out_dir / stem
    if dest.is_symlink() or (dest.exists() and not dest.is_dir()):
        raise ValueError(f"out_dir already holds {dest}, which is not an assignment folder")
    if dest.resolve().parent != out_dir.resolve():
        raise ValueError(f"out_dir: {dest} is not a folder directly inside {out_dir}")
    if dest.exists() and any(dest.iterdir()):
        if not (dest / MARKER).is_file() or (dest / MARKER).read_text().strip() != stem:
            raise ValueError(
                f"out_dir already holds {dest}, which is not an assignment of {stem} written "
                "by this command (no marker file); remove it or choose another out_dir"
            )
        shutil.rmtree(dest)  # ours (the marker says so), and directly inside out_dir
    dest.mkdir(exist_ok=True)
    (dest / MARKER).write_text(stem + "\n")
    return dest


def assign(chapter: str | Path, out_dir: str | Path, *, check: bool = True) -> Path:
    """Write ``<out_dir>/<chapter>/{master,student,autograder}`` for one chapter with ``otter assign``.

    Writes only inside ``<out_dir>/<chapter>``, and replaces that folder only if an earlier call
    wrote it (its marker file); a foreign non-empty folder there is refused, nothing deleted. The
    reference notebook runs once (trusted) to measure the answers' shapes for the public tests and
    to keep the chapter values the hidden tests read. ``master`` and ``autograder`` (the solutions,
    the hidden tests) are readable by their owner only. With ``check``, the reference notebook is
    graded like a submission and must get full marks. Returns the chapter's assignment directory.
    """
    from dltheory.grading import _prepare_autograder, _reference_run

    chapter = _chapter_source(chapter)
    if not isinstance(out_dir, str | os.PathLike) or not str(out_dir):
        raise ValueError(f"out_dir must be a directory path, got {out_dir!r}")
    _, exercises = parse_chapter(chapter)  # parse before touching anything on disk
    master_notebook(chapter)
    dest = _fresh_destination(Path(out_dir), chapter.stem)
    private = [dest / "master", dest / "autograder"]
    for folder in private:
        folder.mkdir(mode=0o700)
    graded = [ex for ex in exercises if ex.autograded]
    answers = {ex.name: _answer_list(ex) for ex in graded}
    names = sorted(
        {n for ex in graded for n in _test_names(ex)} | {n for a in answers.values() for n in a}
    )
    reference = dest / "master" / f"{chapter.stem}.reference.ipynb"
    nbformat.write(_reference_notebook(master_notebook(chapter)), reference)
    context = dest / "master" / "context.pkl"
    signatures, glued = _reference_run(reference, names, context)
    master = dest / "master" / f"{chapter.stem}.ipynb"
    nbformat.write(master_notebook(chapter, signatures=signatures, glued=glued), master)
    with tempfile.TemporaryDirectory() as tmp:
        proc = subprocess.run(
            [sys.executable, "-m", "otter", "assign", "-v", str(master), str(dest)],
            env=_chapter_env(tmp),
            capture_output=True,
            text=True,
        )
    if proc.returncode != 0:
        raise RuntimeError(f"otter assign failed for {chapter.name}:\n{proc.stdout}\n{proc.stderr}")
    for folder in private:
        folder.chmod(0o700)
    with zipfile.ZipFile(autograder_zip(dest)) as z:
        tests = {q: z.read(f"tests/{q}.py").decode() for q in answers}
    _prepare_autograder(dest / "autograder", chapter.stem, answers, tests, context)
    if check:
        report = grade(dest, dest / "autograder" / master.name)
        if report.score != report.possible or report.status != "ok":
            raise RuntimeError(
                f"{chapter.name}: the reference solutions do not get full marks:\n{report}"
            )
    return dest


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
    p_grade = sub.add_parser("grade", help="grade a submission, or every notebook in a folder")
    p_grade.add_argument("chapter", help="chapter number or name, e.g. 01")
    p_grade.add_argument("submission", help="a student's .ipynb, or a folder of them")
    p_grade.add_argument("--assignments", default="_build/assignments")
    p_grade.add_argument("--timeout", type=float, default=300.0, help="seconds per submission")
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
        if not Path(args.submission).exists():
            raise ValueError(f"no submission or folder {args.submission}")
        grade_many(args.chapter, args.submission, assignments=args.assignments,
                   timeout=args.timeout)  # fmt: skip
    except ValueError as err:  # SubmissionError included: a bad argument, in one line
        print(f"error: {err}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
