"""Coursework: chapter exercises -> otter-grader assignment -> grading a submission.

The parsing tests use small synthetic chapters. One end-to-end test builds chapter 1's assignment
with otter and grades three submissions: the reference solutions (full marks), the untouched student
notebook (zero on the graded questions) and an empty / broken file (a clear message, no crash).
"""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest

from dltheory import coursework, grading_questions
from dltheory.coursework import SubmissionError, master_notebook, parse_chapter

ROOT = Path(__file__).resolve().parents[1]
CHAPTER_1 = ROOT / "book" / "01_svd_dynamics.md"

HEADER = """---
jupytext:
  text_representation:
    extension: .md
    format_name: myst
kernelspec:
  display_name: Python 3
  language: python
  name: python3
---

# A chapter

```{code-cell} ipython3
:tags: [parameters]

scale = "book"
```

```{code-cell} ipython3
x0 = 3
```
"""

GATED = """
```{exercise-start} Double it
:label: ex-double
```

Store $2 x_0$ in `y`. See {ref}`somewhere`.

```{exercise-end}
```

```{solution-start} ex-double
:class: dropdown
```

```{code-cell} ipython3
helper = 2
y = helper * x0
```

Because doubling.

```{solution-end}
```

```{code-cell} ipython3
:tags: [remove-cell, autograder-tests]

assert y == 6
```
"""

PLAIN = """
```{exercise} Explain
:label: ex-explain

Why?
```

````{solution} ex-explain
:class: dropdown

Because.

```python
print("not executed")
```
````
"""


def write(tmp_path, text, name="07_test.md"):
    path = tmp_path / name
    path.write_text(text)
    return path


def test_parse_gated_and_plain(tmp_path):
    cells, exercises = parse_chapter(write(tmp_path, HEADER + GATED + PLAIN))
    assert [e.label for e in exercises] == ["ex-double", "ex-explain"]
    double, explain = exercises
    assert double.autograded and not explain.autograded
    assert double.title == "Double it" and double.name == "ex_double"
    assert [c.cell_type for c in double.solution] == ["code", "markdown"]
    assert double.tests == ["assert y == 6"]
    assert "Because." in explain.solution[0].source and "not executed" in explain.solution[0].source
    # the chapter keeps its own cells and one placeholder per exercise; no solution or test leaks
    text = "\n".join(c.source for c in cells)
    assert "x0 = 3" in text and "helper" not in text and "assert y" not in text
    assert [c.metadata.get("exercise") for c in cells if "exercise" in c.metadata] == [
        "ex-double",
        "ex-explain",
    ]


def test_master_notebook_structure(tmp_path):
    nb = master_notebook(write(tmp_path, HEADER + GATED + PLAIN))
    raw = [c.source.split("\n")[0] for c in nb.cells if c.cell_type == "raw"]
    assert raw[0] == "# ASSIGNMENT CONFIG"
    assert raw[1:] == ["# BEGIN QUESTION", "# BEGIN SOLUTION", "# END SOLUTION", "# BEGIN TESTS",
                       "# END TESTS", "# END QUESTION", "# BEGIN QUESTION", "# BEGIN SOLUTION",
                       "# END SOLUTION", "# END QUESTION"]  # fmt: skip
    sources = [c.source for c in nb.cells]
    # the assignment runs at the ci scale: a cell right after the parameters cell says so
    i = next(k for k, c in enumerate(nb.cells) if 'scale = "book"' in c.source)
    assert nb.cells[i + 1].source.startswith('scale = "ci"')
    # the student stub defines exactly what the tests read, not the solution's helpers
    (answer,) = [s for s in sources if "# BEGIN PROMPT" in s]
    stub = answer.split("# END PROMPT")[0]
    assert "y = ..." in stub and "helper" not in stub
    assert "{ref}" not in "\n".join(sources)
    manual = next(c for c in nb.cells if c.cell_type == "raw" and "ex_explain" in c.source)
    assert "manual: true" in manual.source


def test_parse_errors(tmp_path):
    with pytest.raises(ValueError, match="no :label:"):
        parse_chapter(write(tmp_path, HEADER + "\n```{exercise} No label\n\nText\n```\n"))
    with pytest.raises(ValueError, match="unknown exercise"):
        parse_chapter(write(tmp_path, HEADER + "\n```{solution} ex-none\n\nText\n```\n"))
    with pytest.raises(ValueError, match="unclosed"):
        parse_chapter(write(tmp_path, HEADER + "\n```{exercise} Open\n:label: ex-open\n\nText\n"))
    with pytest.raises(ValueError, match="no exercises"):
        master_notebook(write(tmp_path, HEADER))


def test_every_chapter_has_an_autograded_exercise():
    chapters = sorted((ROOT / "book").glob("[0-9][0-9]_*.md"))
    assert chapters
    for path in chapters:
        _, exercises = parse_chapter(path)
        assert len(exercises) >= 3, path.name
        assert any(e.autograded for e in exercises), f"{path.name} has no autograded exercise"


@pytest.fixture(scope="module")
def chapter1_assignment(tmp_path_factory):
    out = tmp_path_factory.mktemp("assignments")
    dest = coursework.assign(CHAPTER_1, out, check=False)
    return dest


def test_assignment_files(chapter1_assignment):
    dest = chapter1_assignment
    student = dest / "student" / "01_svd_dynamics.ipynb"
    assert student.exists() and coursework.autograder_zip(dest).exists()
    text = student.read_text()
    assert "extra_epochs = ..." in text
    assert "extra_epochs[layers] = float(t6 - t3)" not in text  # the solution is gone
    assert "diagonal pair" not in text  # so is a written solution


def test_reference_gets_full_marks(chapter1_assignment):
    dest = chapter1_assignment
    report = coursework.grade(dest, dest / "autograder" / "01_svd_dynamics.ipynb")
    assert report.questions and report.score == report.possible


def test_student_notebook_gets_zero(chapter1_assignment):
    dest = chapter1_assignment
    site = ROOT / "_build" / "results" / "01_svd_dynamics.json"  # the site's record of chapter 1
    before = site.read_bytes() if site.exists() else None
    report = coursework.grade(dest, dest / "student" / "01_svd_dynamics.ipynb")
    assert report.questions and report.score == 0
    # grading runs the chapter, but its record goes to a temporary directory, not the site's
    assert (site.read_bytes() if site.exists() else None) == before


def test_bad_submissions_get_a_clear_message(chapter1_assignment, tmp_path, capsys):
    dest = chapter1_assignment
    empty = tmp_path / "empty.ipynb"
    empty.write_text("")
    with pytest.raises(SubmissionError, match="is empty"):
        coursework.grade(dest, empty)
    garbage = tmp_path / "garbage.ipynb"
    garbage.write_text("{not json")
    with pytest.raises(SubmissionError, match="not a valid Jupyter notebook"):
        coursework.grade(dest, garbage)
    no_code = tmp_path / "nocode.ipynb"
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_markdown_cell("hello")]
    nbformat.write(nb, no_code)
    with pytest.raises(SubmissionError, match="no code cells"):
        coursework.grade(dest, no_code)
    with pytest.raises(SubmissionError, match="does not exist"):
        coursework.grade(dest, tmp_path / "missing.ipynb")
    # the command line grades what it was given: a bad file is a row with status invalid, exit 0
    assert coursework.main(["grade", str(dest), str(empty)]) == 0
    assert "invalid" in (tmp_path / "grades.csv").read_text()
    assert "is empty" in (tmp_path / "empty.feedback.txt").read_text()
    # a path that is not there is a usage error: one line, exit 2, no traceback
    assert coursework.main(["grade", str(dest), str(tmp_path / "missing.ipynb")]) == 2
    assert "error: no submission" in capsys.readouterr().err


def test_broken_submission_is_graded_not_crashed(chapter1_assignment, tmp_path):
    """A notebook whose answer cell raises still gets a report (zero for that question)."""
    dest = chapter1_assignment
    nb = nbformat.read(dest / "autograder" / "01_svd_dynamics.ipynb", as_version=4)
    for cell in nb.cells:
        if (
            cell.cell_type == "code"
            and "extra_epochs" in cell.source
            and "assert" not in cell.source
        ):
            cell.source = "raise RuntimeError('half-finished work')\n" + cell.source
    broken = tmp_path / "broken.ipynb"
    nbformat.write(nb, broken)
    report = coursework.grade(dest, broken)
    assert report.questions and report.score == 0


def test_unknown_chapter(tmp_path):
    sub = tmp_path / "x.ipynb"
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell("x = 1")]
    nbformat.write(nb, sub)
    with pytest.raises(SubmissionError, match="no single assignment"):
        coursework.grade("99", sub, assignments=tmp_path)


@pytest.mark.parametrize("chapter", [".", "..", "", "book", "README.md"])
def test_assign_rejects_a_path_that_is_not_a_chapter_and_deletes_nothing(tmp_path, chapter):
    keep = tmp_path / "keep.txt"
    keep.write_text("mine")
    with pytest.raises(ValueError, match="chapter"):
        coursework.assign(chapter, tmp_path, check=False)
    assert keep.read_text() == "mine"


def test_assign_never_replaces_a_folder_it_did_not_write(tmp_path):
    foreign = tmp_path / CHAPTER_1.stem
    foreign.mkdir()
    (foreign / "notes.txt").write_text("mine")
    with pytest.raises(ValueError, match="not an assignment"):
        coursework.assign(CHAPTER_1, tmp_path, check=False)
    assert (foreign / "notes.txt").read_text() == "mine"
    assert sorted(p.name for p in foreign.iterdir()) == ["notes.txt"]
    # a marker for another chapter does not make the folder ours either
    (foreign / coursework.MARKER).write_text("02_other\n")
    with pytest.raises(ValueError, match="not an assignment"):
        coursework.assign(CHAPTER_1, tmp_path, check=False)
    assert (foreign / "notes.txt").read_text() == "mine"


def test_assign_never_follows_a_link(tmp_path):
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "notes.txt").write_text("mine")
    out = tmp_path / "out"
    out.mkdir()
    (out / CHAPTER_1.stem).symlink_to(elsewhere)
    with pytest.raises(ValueError, match="not an assignment"):
        coursework.assign(CHAPTER_1, out, check=False)
    assert (elsewhere / "notes.txt").read_text() == "mine"


@pytest.mark.parametrize("chapter", [".", ".."])
def test_assign_command_line_rejects_dot_paths(tmp_path, chapter, capsys):
    out = tmp_path / "out" / "inner"
    out.mkdir(parents=True)
    (out / "keep.txt").write_text("mine")
    (tmp_path / "out" / "also.txt").write_text("mine")
    assert coursework.main(["assign", chapter, "--out", str(out)]) == 2
    assert "chapter must be" in capsys.readouterr().err
    assert (out / "keep.txt").read_text() == "mine"
    assert (tmp_path / "out" / "also.txt").read_text() == "mine"


def test_every_autograded_question_has_public_and_hidden_tests():
    """Read the test cells as otter does: hidden iff the first line is a comment saying "hidden"."""
    import re

    for path in sorted((ROOT / "book").glob("[0-9][0-9]_*.md")):
        nb = master_notebook(path, signatures={})
        in_tests, blocks = False, []
        for cell in nb.cells:
            first = cell.source.split("\n")[0]
            if cell.cell_type == "raw":
                if first == "# BEGIN TESTS":
                    in_tests, blocks = True, [*blocks, []]
                elif first == "# END TESTS":
                    in_tests = False
            elif in_tests:
                hidden = first.lstrip().startswith("#") and bool(
                    re.search(r"\bhidden\b", first, flags=re.IGNORECASE)
                )
                blocks[-1].append(hidden)
        n_auto = sum(e.autograded for e in parse_chapter(path)[1])
        assert len(blocks) == n_auto, path.name
        for block in blocks:
            assert False in block and True in block, f"{path.name}: public and hidden tests"


def test_public_tests_catch_an_unanswered_question():
    """The public test fails on ``...`` and passes on a value of the reference's kind and shape."""
    import numpy as np

    sigs = {"a": {"kind": "number"}, "b": {"kind": "array", "shape": [2]},
            "c": {"kind": "dict", "keys": [1, 3], "numbers": True}}  # fmt: skip
    code = grading_questions._public_test(["a", "b", "c"], sigs)
    good = {"a": 1.5, "b": np.ones(2), "c": {1: 2.0, 3: 4.0}}
    exec(code, dict(good))
    for name, bad in [("a", ...), ("b", np.ones(3)), ("c", {1: 2.0}), ("a", float("nan"))]:
        with pytest.raises(AssertionError):
            exec(code, {**good, name: bad})


def test_student_markdown_is_plain_jupyter():
    from dltheory import grading_markdown as gm

    bib = gm.bibliography(ROOT / "book" / "references.bib")
    text = (
        "See {cite:t}`saxe2014exact` and {cite:p}`saxe2014exact`; {eq}`eq-a` gives "
        "{glue:text}`v:.2f` and {glue:text}`missing:.1f`.\n\n$$\nx = 1\n$$ (eq-a)\n\n"
        "```{prf:theorem} Title\n:label: thm-t\n\nBody $y$.\n```\n\nBy {prf:ref}`thm-t`."
    )
    out = gm.plain(text, glued={"v": 3.14159}, bib=bib, equations=gm.equation_numbers(text),
                   theorems={"thm-t": "Theorem (Title)"})  # fmt: skip
    assert "Saxe et al. (2014)" in out and "(Saxe et al. 2014)" in out
    assert "(1) gives 3.14" in out and "\\tag{1}" in out and "`missing`" in out
    assert "**Theorem** (Title).\nBody $y$." in out and "By Theorem (Title)." in out
    assert "{" not in out.replace("\\tag{1}", "")


@pytest.mark.parametrize(
    "path", sorted((ROOT / "book").glob("[0-9][0-9]_*.md")), ids=lambda p: p.stem
)
def test_student_notebooks_hold_no_myst(path):
    import re

    nb = master_notebook(path)
    text = "\n".join(c.source for c in nb.cells if c.cell_type == "markdown")
    assert not re.findall(r"\{[a-z:-]+\}`", text), "a MyST role is left"
    assert not re.findall(r"^[`:]{3,}\{", text, flags=re.M), "a MyST directive is left"
    assert not re.findall(r"\$\$\s*\([A-Za-z0-9_:-]+\)", text), "an equation label is left"
