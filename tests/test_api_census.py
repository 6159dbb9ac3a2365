"""The census of bad inputs over the whole public API (see tests/census/)."""

from __future__ import annotations

import importlib
import pkgutil
import warnings

import numpy as np
import pytest
from census.harness import bad_calls, judge, public_api, resolve

import dltheory

SPEC_MODULES = [
    importlib.import_module(f"census.{m.name}")
    for m in pkgutil.iter_modules(importlib.import_module("census").__path__)
    if m.name.startswith("spec_")
]
CASES = {k: v for s in SPEC_MODULES for k, v in s.CASES.items()}
EXEMPT = {k: v for s in SPEC_MODULES for k, v in s.EXEMPT.items()}
# valid calls too slow to make here (they run otter); their bad calls fail before any work
NOT_CALLED = set().union(*(getattr(s, "NOT_CALLED", set()) for s in SPEC_MODULES))
MODULES = sorted(
    m.name
    for m in pkgutil.walk_packages(dltheory.__path__, "dltheory.")
    if not any(part.startswith("_") for part in m.name.split("."))
)


def test_every_public_callable_is_in_the_census():
    api = public_api(MODULES)
    missing = sorted(set(api) - set(CASES) - set(EXEMPT))
    assert not missing, (
        f"public callables with no census case (add one to tests/census/): {missing}"
    )
    stale = sorted((set(CASES) | set(EXEMPT)) - set(api))
    assert not stale, f"census entries for names that are not public: {stale}"
    assert not set(CASES) & set(EXEMPT)
    assert all(reason.strip() for reason in EXEMPT.values())


@pytest.fixture(autouse=True)
def _records_in_tmp(tmp_path, monkeypatch):
    # Record() deletes the previous record of its chapter: keep the census away from real ones.
    monkeypatch.setenv("DLTHEORY_RESULTS_DIR", str(tmp_path))


@pytest.mark.parametrize("qualname", sorted(set(CASES) - NOT_CALLED))
def test_valid_call_works(qualname):
    # The census's reference call must itself be valid, or every bad call would prove nothing.
    from census.harness import call

    case = CASES[qualname]
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        call(resolve(qualname), case.valid(np.random.default_rng(0)))


@pytest.mark.parametrize("qualname", sorted(CASES))
def test_bad_inputs_get_a_clear_error(qualname):
    case, fn = CASES[qualname], resolve(qualname)
    failures = []
    for arg, bad, kwargs in bad_calls(case, np.random.default_rng(0)):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            out = judge(fn, arg, kwargs, case.names.get(arg, []))
        if out.kind != "clear":
            shown = bad if not isinstance(bad, np.ndarray) else f"array with {bad.flat[0]}"
            failures.append(f"{arg}={shown!r}: {out.kind}: {out.detail[:160]}")
    assert not failures, "\n".join(failures)
