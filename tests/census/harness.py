"""How a census case is built and judged.

A :class:`Case` gives one valid call (keyword arguments, built from an ``rng``) and the values that are
out of domain for each argument. The harness adds generic bad values by the type of each valid value:

* a float: NaN, +inf, -inf, ``True`` and a string;
* an integer: 1.5, NaN, ``True`` and a string;
* an array or list of floats: the same with one entry NaN, one entry inf, and a string;
* a numpy Generator: an integer and a string;
* any other object (a data set, a network, a callable, ...): a string.

Strings, paths, bools and None get no generic values (a string is a valid path; a flag is a flag):
their bad values are the case's ``domain``.

Each bad call must raise ``ValueError`` or ``TypeError`` whose message names the argument (or one of the
``names`` the case gives for it). ``allow`` lists generic values that are in fact valid for an argument
(for example ``t=inf``, the end of training), each with the reason in a comment of the census file.
"""

from __future__ import annotations

import importlib
import inspect
import math
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np


@dataclass(frozen=True)
class Case:
    """One valid call and the out-of-domain values of each argument.

    Attributes:
        valid: ``rng -> kwargs`` of a valid call (cheap: the call itself is made once, as a check).
        domain: argument -> values outside its domain (wrong shapes, signs, ranges, choices).
        allow: argument -> reprs of generic bad values that are valid for it.
        names: argument -> other words an error message may use for it.
        generic: whether to add the generic bad values (off for arguments listed in ``skip``).
        skip: arguments not perturbed generically (a flag, a label, a free-form object).
        method: call this method of the object ``valid`` builds under the key ``self`` (None: a function).
    """

    valid: Callable[[np.random.Generator], dict]
    domain: dict[str, list] = field(default_factory=dict)
    allow: dict[str, list[str]] = field(default_factory=dict)
    names: dict[str, list[str]] = field(default_factory=dict)
    skip: tuple[str, ...] = ()


def resolve(qualname: str) -> Callable:
    module, _, name = qualname.rpartition(".")
    return getattr(importlib.import_module(module), name)


def _generic(value: Any) -> list:
    if isinstance(value, bool | str | os.PathLike) or value is None:
        return []
    if isinstance(value, np.random.Generator):
        return [0, "seed"]
    if isinstance(value, int | np.integer):
        return [1.5, math.nan, True, "3"]
    if isinstance(value, float | np.floating):
        return [math.nan, math.inf, -math.inf, True, "1.0"]
    if isinstance(value, list | tuple | np.ndarray):
        arr = np.asarray(value)
        if arr.dtype.kind == "f" and arr.size:
            out = []
            for bad in (math.nan, math.inf):
                a = arr.copy()
                a.flat[0] = bad
                out.append(a)
            return [*out, "x"]
        if arr.dtype.kind in "iu" and arr.size:
            return ["x"]
        return []
    return ["x"]


def _key(value: Any) -> str:
    if isinstance(value, np.ndarray):
        return f"array{value.shape}:{'nan' if np.isnan(value).any() else 'inf'}"
    return repr(value)


def bad_calls(case: Case, rng: np.random.Generator):
    """``(argument, bad value, kwargs)`` for every bad value of every argument of ``case``."""
    base = case.valid(rng)
    for arg, value in base.items():
        if arg == "self":
            continue
        bads = [] if arg in case.skip else _generic(value)
        allowed = set(case.allow.get(arg, ()))
        bads = [b for b in bads if _key(b) not in allowed]
        for bad in bads + list(case.domain.get(arg, ())):
            yield arg, bad, {**base, arg: bad}


def call(fn: Callable, kwargs: dict):
    kwargs = dict(kwargs)
    obj = kwargs.pop("self", None)
    if obj is not None:
        return getattr(obj, fn.__name__)(**kwargs)
    return fn(**kwargs)


@dataclass
class Outcome:
    kind: str  # "clear", "unnamed", "other-exception", "silent"
    detail: str


def judge(fn: Callable, arg: str, kwargs: dict, names: list[str]) -> Outcome:
    """Call ``fn`` with one bad argument and classify what happens."""
    try:
        out = call(fn, kwargs)
    except (ValueError, TypeError) as e:
        msg = str(e)
        if any(n in msg for n in [arg, *names]):
            return Outcome("clear", msg)
        return Outcome("unnamed", f"{type(e).__name__}: {msg}")
    except Exception as e:  # noqa: BLE001 - the census classifies every failure
        return Outcome("other-exception", f"{type(e).__name__}: {e}")
    del out
    return Outcome("silent", "returned without an error")


def public_api(modules: list[str]) -> list[str]:
    """Qualified names of every public callable in ``__all__`` of ``modules``."""
    names = []
    for m in modules:
        mod = importlib.import_module(m)
        for n in getattr(mod, "__all__", ()):
            obj = getattr(mod, n)
            if callable(obj) and not isinstance(obj, type(np)):
                names.append(f"{m}.{n}")
    return names


def parameters(fn: Callable) -> list[str]:
    try:
        return list(inspect.signature(fn).parameters)
    except (TypeError, ValueError):
        return []
