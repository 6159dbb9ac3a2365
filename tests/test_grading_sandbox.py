"""Grading in isolation: hostile submissions against a tiny synthetic assignment.

One assignment (a chapter with one autograded question, `y = 2 * x0`, checked with ``np.isclose``)
is built once; a class folder of good, wrong, broken and hostile notebooks is graded once; each test
then reads its row. Every hostile submission answers wrongly and tries to win anyway, or to escape.
"""

from __future__ import annotations

import csv
import json
import os
import resource
import socket
import subprocess
import sys
import uuid
from pathlib import Path

import nbformat
import pytest

from dltheory import coursework, grading, grading_sandbox

ROOT = Path(__file__).resolve().parents[1]
ROOTED = os.geteuid() == 0
TOKEN = uuid.uuid4().hex[:12]  # names every file a hostile submission tries to leave behind
ESCAPES = ["/tmp", "/var/tmp", "/dev/shm", "/run/lock", str(ROOT / "_build")]

CHAPTER = """---
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
import numpy as np

x0 = 3
```

```{exercise-start} Double it
:label: ex-double
```

Store $2 x_0$ in `y`.

```{exercise-end}
```

```{solution-start} ex-double
:class: dropdown
```

```{code-cell} ipython3
y = 2 * x0
```

```{solution-end}
```

```{code-cell} ipython3
:tags: [remove-cell, autograder-tests]

# Autograder tests for ex-double: hidden from the page.
assert np.isclose(y, 2 * x0)
```
"""

HOSTILE = {
    # reads the hidden tests and the reference from disk (paths found through /proc), runs them
    "reads_reference": """
import glob, os, re
y = 5
paths = [AUTOGRADER + "/07_test.ipynb", AUTOGRADER + "/tests/ex_double.py",
         AUTOGRADER + "/context.pkl", MASTER + "/07_test.ipynb"]
for d in glob.glob("/proc/[0-9]*"):
    try:
        paths += [p.decode() for p in open(d + "/cmdline", "rb").read().split(b"\\0") if p]
    except OSError:
        pass
for p in paths:
    if "autograder" not in p and "master" not in p:
        continue
    try:
        text = open(p, errors="ignore").read()
    except OSError:
        continue
    if "isclose" in text or "x0" in text:  # the reference, or the tests
        y = 2 * x0
""",
    "patches_isclose": """
import numpy as np
np.isclose = lambda *a, **k: True
np.allclose = lambda *a, **k: True
y = 5
""",
    "rewrites_tests": """
y = 5
good = "test = {'name': 'ex_double', 'points': 1, 'suites': [{'cases': [], 'type': 'doctest'}]}"
import os
for p in [AUTOGRADER + "/tests/ex_double.py", "tests/ex_double.py"]:
    try:
        os.makedirs(os.path.dirname(p), exist_ok=True)
        open(p, "w").write(good)
    except OSError:
        pass
""",
    "patches_otter": """
y = 5
import doctest
doctest.DocTestRunner.run = lambda *a, **k: doctest.TestResults(0, 0)
try:
    import otter.test_files.ok_test as ok
    ok.run_doctest = lambda *a, **k: (True, "")
except Exception:
    pass
""",
    "loops": "y = 6\nwhile True:\n    pass\n",
    "escapes": """
import os, time
y = 5
for d in ESCAPES:
    try:
        open(os.path.join(d, "escape-" + TOKEN), "w").write("out")
    except OSError:
        pass
for p in [VICTIM, os.path.expanduser("~/../escape-" + TOKEN)]:
    try:
        os.remove(p) if os.path.exists(p) else open(p, "w").write("out")
    except OSError:
        pass
import socket
try:
    socket.create_connection(("127.0.0.1", PORT), timeout=2).sendall(TOKEN.encode())
except OSError:
    pass
if os.fork() == 0:  # a detached process that outlives the notebook
    os.setsid()
    time.sleep(600)
    os._exit(0)
""",
    "prints": "import sys\ny = 6\nchunk = 'x' * 2**20\nfor _ in range(200):\n    sys.stdout.write(chunk)\n",
}
EXPECTED = {  # name -> (score, status)
    "good": (1, "ok"),
    "wrong": (0, "ok"),
    "broken": (0, "ok"),
    "unanswered": (0, "ok"),
    "empty": (0, "invalid"),
    "reads_reference": (0, "ok"),
    "patches_isclose": (0, "ok"),
    "rewrites_tests": (0, "ok"),
    "patches_otter": (0, "ok"),
    "loops": (0, "timeout"),
    "escapes": (0, "ok"),
    "prints": (0, "error"),
}


@pytest.fixture(scope="module")
def assignment(tmp_path_factory):
    src = tmp_path_factory.mktemp("chapter") / "07_test.md"
    src.write_text(CHAPTER)
    return coursework.assign(src, tmp_path_factory.mktemp("assignments"))


def _with_answer(student: Path, code: str, path: Path) -> None:
    nb = nbformat.read(student, as_version=4)
    for cell in nb.cells:
        if cell.cell_type == "code" and "y = ..." in cell.source:
            cell.source = code
    nbformat.write(nb, path)


@pytest.fixture(scope="module")
def graded(assignment, tmp_path_factory):
    folder = tmp_path_factory.mktemp("class")
    victim = tmp_path_factory.mktemp("victim") / "keep.txt"
    victim.write_text("mine")
    student = assignment / "student" / "07_test.ipynb"
    consts = (
        f"AUTOGRADER = {str(assignment / 'autograder')!r}\nMASTER = {str(assignment / 'master')!r}\n"
        f"ESCAPES = {ESCAPES!r}\nTOKEN = {TOKEN!r}\nVICTIM = {str(victim)!r}\n"
    )
    answers = {"good": "y = 2 * x0", "wrong": "y = 5", "broken": "raise RuntimeError('oops')",
               "unanswered": "y = ..."}  # fmt: skip
    answers |= {k: "PORT = 0\n" + v for k, v in HOSTILE.items()}
    (folder / "empty.ipynb").write_text("")
    listener = socket.create_server(("127.0.0.1", 0))
    listener.setblocking(False)
    consts += f"PORT = {listener.getsockname()[1]}\n"
    for name, code in answers.items():
        _with_answer(student, code.replace("PORT = 0\n", consts), folder / f"{name}.ipynb")
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    reports = grading.grade_many(assignment, folder, timeout=20, output_mb=4, echo=False)
    after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    try:
        connected = listener.accept()
    except BlockingIOError:
        connected = None
    listener.close()
    with open(folder / "grades.csv") as f:
        rows = {Path(r["submission"]).stem: r for r in csv.DictReader(f)}
    return {"folder": folder, "rows": rows, "reports": reports, "victim": victim,
            "grader_kb": after - before, "connected": connected}  # fmt: skip


def test_reference_gets_full_marks(assignment):
    report = grading.grade(assignment, assignment / "autograder" / "07_test.ipynb")
    assert (report.score, report.possible, report.status) == (1, 1, "ok")


def test_relative_paths(assignment, monkeypatch):
    """`make assignments` passes a relative --out: grading must not depend on the working folder of
    the processes it starts."""
    monkeypatch.chdir(assignment.parent)
    rel = Path(assignment.name)
    report = grading.grade(rel, rel / "autograder" / "07_test.ipynb")
    assert (report.score, report.possible, report.status) == (1, 1, "ok")


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_class_folder_grades(graded, name):
    row = graded["rows"][name]
    score, status = EXPECTED[name]
    assert (float(row["score"]), row["status"]) == (score, status), row
    assert float(row["max_score"]) == 1 and float(row["seconds"]) >= 0
    assert (graded["folder"] / f"{name}.feedback.txt").read_text().strip()


def test_grades_csv_columns(graded):
    header = (graded["folder"] / "grades.csv").read_text().splitlines()[0]
    assert header == "submission,score,max_score,status,seconds"
    assert set(graded["rows"]) == set(EXPECTED)


def test_nothing_written_outside_the_sandbox(graded, assignment):
    assert graded["victim"].read_text() == "mine"
    left = [p for d in ESCAPES for p in Path(d).glob(f"escape-{TOKEN}*")]
    assert not left
    assert not list(Path("/tmp").glob(f"*/escape-{TOKEN}"))
    assert sorted(p.name for p in (assignment / "autograder" / "tests").iterdir()) == [
        "ex_double.py"
    ]
    assert "'cases': []" not in (assignment / "autograder" / "tests" / "ex_double.py").read_text()
    assert not list(graded["folder"].glob("stolen*")) and not (graded["folder"] / "tests").exists()


@pytest.mark.skipif(not ROOTED, reason="the network namespace needs root")
def test_no_network(graded):
    assert graded["connected"] is None


def test_no_process_outlives_grading(graded):
    # the grader is the subreaper of what a submission detaches: none may be left among its own
    assert not [pid for pid, _, _ in grading_sandbox._descendants()]
    assert graded["grader_kb"] < 200_000, "the grader must not hold a submission's output"


@pytest.mark.skipif(not ROOTED, reason="the private folders matter where the grader is root")
def test_private_folders(assignment):
    for name in ("autograder", "master"):
        assert (assignment / name).stat().st_mode & 0o077 == 0


def test_feedback_names_public_failures_not_hidden_tests(graded):
    text = (graded["folder"] / "wrong.feedback.txt").read_text()
    assert "0 of 1 hidden tests passed" in text and "isclose" not in text
    text = (graded["folder"] / "unanswered.feedback.txt").read_text()
    assert "replace ... with your answer" in text
    assert "not tested (timeout)" in (graded["folder"] / "loops.feedback.txt").read_text()


def test_grader_check_in_the_student_notebook(assignment, tmp_path):
    """grader.check runs the public tests: an unanswered question does not pass, an answer does."""
    student = tmp_path / "student"
    student.mkdir()
    nb = (assignment / "student" / "07_test.ipynb").read_text()
    (student / "07_test.ipynb").write_text(nb)
    code = (
        "import otter\ngrader = otter.Notebook('07_test.ipynb')\nx0 = 3\n"
        "y = ...\nprint(grader.check('ex_double').passed_all_public)\n"
        "y = 2 * x0\nprint(grader.check('ex_double').passed_all_public)\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], cwd=student, capture_output=True,
                          text=True, timeout=300)  # fmt: skip
    assert proc.stdout.split()[-2:] == ["False", "True"], proc.stderr[-2000:]


def test_answers_travel_as_data_only():
    import numpy as np

    from dltheory._sandbox import AnswerError, decode, encode

    value = {1: np.arange(3.0), "a": (1, 2.5, "s"), 3: [np.float64(2.0), float("nan")]}
    back = decode(json.loads(json.dumps(encode(value))))
    assert back[1].tolist() == [0.0, 1.0, 2.0] and back["a"] == (1, 2.5, "s")
    assert isinstance(back[3][0], np.float64) and np.isnan(back[3][1])
    for bad in (lambda: 1, np.array([object()]), {object(): 1}, ...):
        with pytest.raises(AnswerError):
            encode(bad)
    for bad in ({"__array__": "|O", "shape": [1], "data": [1]}, {"__reduce__": "os.system"},
                {"__array__": "<f8", "shape": [2], "data": [1]}):  # fmt: skip
        with pytest.raises(AnswerError):
            decode(bad)


def test_grade_many_usage_errors(assignment, tmp_path):
    with pytest.raises(ValueError, match="target"):
        grading.grade_many(assignment, tmp_path / "missing")
    with pytest.raises(ValueError, match="timeout"):
        grading.grade(assignment, tmp_path / "x.ipynb", timeout=0)
    assert coursework.main(["grade", str(assignment), str(tmp_path / "missing")]) == 2
