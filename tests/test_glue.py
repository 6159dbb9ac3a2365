"""Glued values reach myst-nb as plain Python scalars that its format specs can parse."""

from __future__ import annotations

import numpy as np
import pytest

from dltheory import glue as glue_module
from dltheory._checks import ArgumentTypeError
from dltheory.glue import as_glue_value, glue_all


@pytest.mark.parametrize(
    "value, expected",
    [(np.float64(0.25), 0.25), (np.int64(3), 3), (np.bool_(True), True), (2, 2), ("a, b", "a, b")],
)
def test_numpy_scalars_become_python_values(value, expected):
    out = as_glue_value("x", value)
    assert out == expected and type(out) is type(expected)
    # the build formats the stored repr with the chapter's format string, e.g. {glue:text}`x:.2f`
    if isinstance(out, float):
        assert format(float(repr(out)), ".2f") == "0.25"


@pytest.mark.parametrize("value", [np.array([0.5]), np.zeros(3), [1.0], None, {"a": 1}])
def test_non_scalars_are_refused(value):
    with pytest.raises(ArgumentTypeError, match="'x'"):
        as_glue_value("x", value)


def test_nan_and_bad_names_are_refused():
    for bad in (np.float64("nan"), float("inf")):
        with pytest.raises(ValueError, match="finite"):
            as_glue_value("x", bad)
    for name in ("", None, 3):
        with pytest.raises(ArgumentTypeError, match="name"):
            as_glue_value(name, 1.0)


def test_glue_all_checks_every_value_before_gluing(monkeypatch):
    glued = []
    monkeypatch.setattr(glue_module, "glue", lambda name, value: glued.append((name, value)))
    glue_all({"a": np.float32(0.5)}, b=np.int8(2))
    assert glued == [("a", 0.5), ("b", 2)]
    assert [type(v) for _, v in glued] == [float, int]
    glued.clear()
    with pytest.raises(ArgumentTypeError, match="'c'"):
        glue_all({"a": 1.0}, c=np.ones(2))
    assert glued == []  # nothing half-glued
    with pytest.raises(ArgumentTypeError, match="mapping"):
        glue_all([("a", 1.0)])
