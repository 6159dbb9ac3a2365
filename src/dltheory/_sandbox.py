"""The two processes of grading one submission (see :mod:`dltheory.grading`).

``run``: executes a submission's code cells in a fresh IPython shell and writes the answer values
the tests read to a JSON file. It runs inside the sandbox (unprivileged, limited), so nothing it
writes is trusted: the file holds data only (numbers, numeric arrays, strings, lists, tuples and
dicts of those), never anything executable, and :func:`decode` rebuilds it strictly.

``verdict``: the grader's own clean process (``python -I``). It reads those values, puts them beside
the chapter context of a trusted reference run, and runs otter's tests on them. Nothing the
submission did (monkeypatching numpy or otter, rewriting files) can reach this process.
"""

from __future__ import annotations

import json
import math
import os
import re
import sys

MAX_ANSWER_BYTES = 16 * 2**20  # answers beyond this are not graded
_MAX_DEPTH = 16
_MAX_ITEMS = 2_000_000
_KINDS = "biuf"
_OTTER_CELL = re.compile(
    r"\A\s*(# Initialize Otter\s*\nimport otter\s*\ngrader = otter\.Notebook\([^)]*\)"
    r"|grader\.check\([^)]*\))\s*\Z"
)  # numeric array kinds that travel: bool, int, unsigned, float


class AnswerError(ValueError):
    """An answer value that cannot travel out of the sandbox as data."""


def encode(value, _depth: int = 0):
    """``value`` as JSON data, with tags for what JSON cannot say (arrays, tuples, int keys)."""
    import numpy as np

    if _depth > _MAX_DEPTH:
        raise AnswerError("nested too deeply")
    if isinstance(value, np.generic):
        if value.dtype.kind not in _KINDS + "c":
            raise AnswerError(f"numpy scalar of dtype {value.dtype}")
        return {"__scalar__": value.dtype.str, "value": encode(value.item(), _depth + 1)}
    if value is None or isinstance(value, bool | int | str):
        if isinstance(value, int) and not isinstance(value, bool) and abs(value) > 2**63:
            raise AnswerError("integer too large")
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else {"__float__": repr(value)}
    if isinstance(value, complex):
        return {"__complex__": [encode(value.real), encode(value.imag)]}
    if isinstance(value, np.ndarray):
        if value.dtype.kind not in _KINDS or value.size > _MAX_ITEMS:
            raise AnswerError(f"array of dtype {value.dtype} and size {value.size}")
        data = [x if math.isfinite(x) else repr(x) for x in value.astype(float).ravel().tolist()]
        return {"__array__": value.dtype.str, "shape": list(value.shape), "data": data}
    if isinstance(value, list | tuple):
        items = [encode(v, _depth + 1) for v in value]
        return items if isinstance(value, list) else {"__tuple__": items}
    if isinstance(value, dict):
        pairs = []
        for k, v in value.items():
            if not isinstance(k, str | int | float | bool | tuple):
                raise AnswerError(f"dict key of type {type(k).__name__}")
            pairs.append([encode(k, _depth + 1), encode(v, _depth + 1)])
        return {"__dict__": pairs}
    raise AnswerError(f"a {type(value).__name__} is not an answer value")


def decode(data, _depth: int = 0):
    """The value :func:`encode` made; anything else raises :class:`AnswerError`."""
    import numpy as np

    if _depth > _MAX_DEPTH:
        raise AnswerError("nested too deeply")
    if data is None or isinstance(data, bool | int | float | str):
        return data
    if isinstance(data, list):
        return [decode(v, _depth + 1) for v in data]
    if not isinstance(data, dict) or len(data) not in (1, 2, 3):
        raise AnswerError("not an encoded answer")
    if set(data) == {"__float__"} and data["__float__"] in ("nan", "inf", "-inf"):
        return float(data["__float__"])
    if set(data) == {"__complex__"} and isinstance(data["__complex__"], list):
        re_, im = (decode(v, _depth + 1) for v in data["__complex__"])
        return complex(float(re_), float(im))
    if set(data) == {"__tuple__"} and isinstance(data["__tuple__"], list):
        return tuple(decode(v, _depth + 1) for v in data["__tuple__"])
    if set(data) == {"__dict__"} and isinstance(data["__dict__"], list):
        out = {}
        for pair in data["__dict__"]:
            if not isinstance(pair, list) or len(pair) != 2:
                raise AnswerError("bad dict item")
            key = decode(pair[0], _depth + 1)
            if not isinstance(key, str | int | float | bool | tuple):
                raise AnswerError("bad dict key")
            out[key] = decode(pair[1], _depth + 1)
        return out
    if set(data) == {"__scalar__", "value"}:
        dtype = _dtype(data["__scalar__"], _KINDS + "c")
        return dtype.type(decode(data["value"], _depth + 1))
    if set(data) == {"__array__", "shape", "data"}:
        dtype = _dtype(data["__array__"], _KINDS)
        shape, flat = data["shape"], data["data"]
        if not (isinstance(shape, list) and all(isinstance(n, int) and n >= 0 for n in shape)):
            raise AnswerError("bad array shape")
        if not isinstance(flat, list) or math.prod(shape) != len(flat):
            raise AnswerError("array data does not match its shape")
        if not all(isinstance(x, int | float) or x in ("nan", "inf", "-inf") for x in flat):
            raise AnswerError("array data must be numbers")
        return np.array([float(x) for x in flat], dtype=float).astype(dtype).reshape(shape)
    raise AnswerError("not an encoded answer")


def _dtype(text, kinds):
    import numpy as np

    try:
        dtype = np.dtype(text) if isinstance(text, str) and len(text) < 8 else None
    except TypeError:
        dtype = None
    if dtype is None or dtype.kind not in kinds or dtype.hasobject:
        raise AnswerError(f"bad dtype {text!r}")
    return dtype


# ----------------------------------------------------------------------------- inside the sandbox
def _execute(notebook: str, glued: dict | None = None) -> dict:
    """Run ``notebook``'s code cells in order in a fresh IPython shell; its namespace.

    With ``glued``, the values the notebook glues for its prose are kept there.
    """
    from IPython.core.interactiveshell import InteractiveShell

    if glued is not None:
        import myst_nb

        myst_nb.glue = lambda name, variable, display=True: glued.__setitem__(name, variable)

    with open(notebook) as f:
        nb = json.load(f)
    shell = InteractiveShell.instance()
    for cell in nb.get("cells", []):
        if cell.get("cell_type") != "code":
            continue
        source = cell.get("source", "")
        source = "".join(source) if isinstance(source, list) else str(source)
        if _OTTER_CELL.match(source):
            continue  # otter's own cells: they cannot change a grade, and importing otter is slow
        shell.run_cell(source)
    return shell.user_ns


def run(notebook: str, names: str, out: str) -> int:
    """Execute ``notebook``, then write the values of ``names`` (comma-separated) as JSON data."""
    namespace = _execute(notebook)
    answers, problems = {}, {}
    for name in filter(None, names.split(",")):
        if name not in namespace:
            problems[name] = "not defined"
            continue
        try:
            answers[name] = encode(namespace[name])
        except (AnswerError, RecursionError) as err:
            problems[name] = str(err)
    text = json.dumps({"answers": answers, "problems": problems})
    with open(out, "w") as f:
        f.write(text[: MAX_ANSWER_BYTES + 1])
    return 0


def context(notebook: str, names: str, out: str) -> int:
    """Trusted: run the reference notebook and pickle the chapter values the tests read.

    Only ever run on the instructor's reference notebook, never on a submission.
    """
    import pickle
    import types

    glued: dict = {}
    namespace = _execute(notebook, glued)
    values, modules = {}, {}
    for name in filter(None, names.split(",")):
        value = namespace.get(name)
        if isinstance(value, types.ModuleType):
            modules[name] = value.__name__
            continue
        try:
            values[name] = pickle.loads(pickle.dumps(value))
        except Exception:  # noqa: BLE001 (a value that does not pickle: the tests cannot read it)
            continue
    values["__modules__"] = modules
    with open(out, "wb") as f:
        pickle.dump(values, f)
    with open(out + ".json", "w") as f:
        sigs = {n: signature(namespace[n]) for n in names.split(",") if n in namespace}
        text = {k: v for k, v in glued.items() if isinstance(v, bool | int | float | str)}
        json.dump({"signatures": sigs, "glued": text}, f)
    return 0


def signature(value) -> dict:
    """What a public test may check of an answer: its kind, and shape or keys."""
    import numpy as np

    if isinstance(value, bool | str):
        return {"kind": "str" if isinstance(value, str) else "other"}
    if isinstance(value, int | float | np.integer | np.floating):
        return {"kind": "number"}
    if isinstance(value, np.ndarray) and value.dtype.kind in _KINDS:
        return {"kind": "array", "shape": list(value.shape)}
    if isinstance(value, dict) and all(isinstance(k, int | float | str) for k in value):
        numbers = all(isinstance(v, int | float | np.integer | np.floating) for v in value.values())
        return {"kind": "dict", "keys": list(value), "numbers": numbers}
    return {"kind": "other"}


# ----------------------------------------------------------------------------- the grader's side
def _run_ok_test(path: str, env: dict) -> list[tuple[bool, bool, str]]:
    """(hidden, passed, message) per case of an otter OK-format test file, as otter runs them.

    The same doctest run as ``otter.test_files.ok_test.run_doctest``, without importing otter
    (seconds per submission).
    """
    import contextlib
    import doctest
    import io
    from textwrap import dedent

    namespace: dict = {}
    with open(path) as f:
        exec(f.read(), namespace)  # otter's own test file, from the private autograder folder
    test = namespace["test"]
    out = []
    for i, case in enumerate(test["suites"][0]["cases"]):
        name = f"{test['name']} {i}"
        code = dedent(case["code"])
        examples = [
            e for e in doctest.DocTestParser().parse(code, name) if isinstance(e, doctest.Example)
        ]
        runner = doctest.DocTestRunner(verbose=False)
        log = io.StringIO()
        with contextlib.redirect_stdout(log), contextlib.redirect_stderr(log):
            runner.run(doctest.DocTest(examples, env, name, None, None, code), out=log.write,
                       clear_globs=False)  # fmt: skip
        failed = runner.failures
        out.append((bool(case.get("hidden", True)), failed == 0, log.getvalue()))
    return out


def verdict(answers_path: str, autograder: str) -> int:
    """Print, as JSON, otter's results for each question on the answers in ``answers_path``."""
    import importlib
    import pickle

    with open(os.path.join(autograder, "manifest.json")) as f:
        manifest = json.load(f)
    with open(os.path.join(autograder, "context.pkl"), "rb") as f:
        context = pickle.load(f)  # written by the trusted reference run (grading.build_context)
    env = {name: importlib.import_module(mod) for name, mod in context.pop("__modules__").items()}
    env.update(context)
    problems = {}
    try:
        if os.path.getsize(answers_path) > MAX_ANSWER_BYTES:
            raise AnswerError(f"answers larger than {MAX_ANSWER_BYTES} bytes")
        with open(answers_path) as f:
            data = json.load(f)
        raw = (
            data["answers"]
            if isinstance(data, dict) and isinstance(data.get("answers"), dict)
            else {}
        )
        problems = {str(k): str(v)[:200] for k, v in dict(data.get("problems", {})).items()}
    except (OSError, ValueError, AttributeError, TypeError) as err:
        raw, problems = {}, {"*": f"no readable answers ({type(err).__name__})"}
    results = {}
    for question, info in manifest["questions"].items():
        local = dict(env)
        for name in info["answers"]:
            local.pop(name, None)  # the reference's own answer never stands in for the student's
            if name in raw:
                try:
                    local[name] = decode(raw[name])
                except (AnswerError, ValueError, TypeError, OverflowError) as err:
                    problems[name] = str(err)[:200]
        cases = _run_ok_test(os.path.join(autograder, "tests", f"{question}.py"), local)
        public = [msg for hidden, ok, msg in cases if not hidden and not ok]
        hidden = [ok for hidden, ok, _ in cases if hidden]
        possible = float(info.get("points", 1))
        score = possible if all(ok for _, ok, _ in cases) else 0.0  # all or nothing, as assigned
        results[question] = {
            "score": score,
            "possible": possible,
            "public_failures": public,
            "hidden": f"{sum(hidden)} of {len(hidden)} hidden tests passed",
        }
    json.dump({"questions": results, "problems": problems}, sys.stdout)
    return 0


def main(argv: list[str]) -> int:
    command, *args = argv
    return {"run": run, "context": context, "verdict": verdict}[command](*args)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
