"""How an exercise becomes an otter question: its answer names, public tests and hidden tests.

The student must define the names the reference solution assigns and the tests read. The public
tests (run by ``grader.check`` in the student's notebook) check that each answer is defined, of the
reference answer's type, shape or keys, and finite. The chapter's own test cells become the hidden
tests, which only grading runs.
"""

from __future__ import annotations

import ast
import builtins
import re
from typing import TYPE_CHECKING

import nbformat

if TYPE_CHECKING:
    from dltheory.coursework import Exercise

_ROLE = re.compile(r"\{[a-z:-]+\}`([^`]*)`")


def _md(text: str):
    return nbformat.v4.new_markdown_cell(text)


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


_LEADING_COMMENTS = re.compile(r"\A(?:[ \t]*(?:#[^\n]*)?\n)*")


def _hidden_test(source: str) -> str:
    """A chapter test cell as an otter hidden test.

    otter reads a test cell as hidden when its first line is a comment holding the word "hidden";
    the chapters' own leading comments (which say the test is hidden *from the page*) are dropped so
    that only this explicit marker decides.
    """
    return "# HIDDEN\n" + _LEADING_COMMENTS.sub("", source + "\n").rstrip("\n")


def _public_test(names: list[str], signatures: dict | None = None) -> str:
    """The public test of an answer: defined (not ``...``), then type, shape and finiteness.

    ``signatures`` (name -> what :func:`dltheory.grading.signature` says of the reference answer)
    adds the type and shape checks; without it only "defined" is checked.
    """
    lines = ["import numpy as _np", ""]
    for n in names:
        lines.append(f'assert {n} is not ..., "{n}: replace ... with your answer"')
        sig = (signatures or {}).get(n) or {}
        kind = sig.get("kind")
        if kind == "number":
            lines.append(
                f"assert isinstance({n}, (int, float, _np.integer, _np.floating)) and "
                f'bool(_np.isfinite({n})), "{n} should be a finite number"'
            )
        elif kind == "array":
            lines.append(f'assert _np.shape({n}) == {tuple(sig["shape"])!r}, '
                         f'"{n} should have shape {tuple(sig["shape"])}"')  # fmt: skip
            lines.append(f'assert _np.all(_np.isfinite(_np.asarray({n}, dtype=float))), '
                         f'"{n} should be finite"')  # fmt: skip
        elif kind == "dict":
            lines.append(f'assert isinstance({n}, dict) and sorted({n}, key=repr) == '
                         f'{sorted(sig["keys"], key=repr)!r}, "{n} should have keys {sig["keys"]}"')  # fmt: skip
            if sig.get("numbers"):
                lines.append(f'assert all(_np.isfinite(float(v)) for v in {n}.values()), '
                             f'"the values of {n} should be finite numbers"')  # fmt: skip
        elif kind == "str":
            lines.append(f'assert isinstance({n}, str) and {n}.strip(), "{n} should be some text"')
    return "\n".join(lines)


def _question(ex: Exercise, points: int, signatures: dict | None = None) -> list:
    out = [
        _raw(
            f"# BEGIN QUESTION\nname: {ex.name}\npoints: {points}"
            + ("\nall_or_nothing: true" if ex.autograded else "\nmanual: true")
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
        code = _solution_code(ex)
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
        out.append(nbformat.v4.new_code_cell(_public_test(names, signatures)))
        out += [nbformat.v4.new_code_cell(_hidden_test(t)) for t in ex.tests]
        out.append(_raw("# END TESTS"))
    else:
        sol = [c for c in ex.solution if c.cell_type == "markdown"] or [
            _md("(no written solution)")
        ]
        out += [_md(_plain_markdown(c.source)) for c in sol]
        out.append(_raw("# END SOLUTION"))
    out.append(_raw("# END QUESTION"))
    return out


def _solution_code(ex: Exercise) -> str:
    """The code of an exercise's reference solution, its code cells joined."""
    return "\n\n".join(c.source for c in ex.solution if c.cell_type == "code")


def _answer_list(ex: Exercise) -> list[str]:
    """What the student must define for an autograded exercise (empty for a manual one)."""
    return _answer_names(_solution_code(ex), ex.tests) if ex.autograded else []


def _test_names(ex: Exercise) -> list[str]:
    """Every name an exercise's tests read that they do not define themselves."""
    out: list[str] = []
    for t in ex.tests:
        tree = ast.parse(t)
        bound = {
            n.id for n in ast.walk(tree) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store)
        }
        bound |= {n.name for n in ast.walk(tree) if isinstance(n, ast.FunctionDef)}
        for n in ast.walk(tree):
            if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load) and n.id not in bound:
                if n.id not in out and not hasattr(builtins, n.id):
                    out.append(n.id)
    return out
