"""Argument validation shared by the library: every bad argument raises ``ValueError`` naming it."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


class ArgumentTypeError(TypeError, ValueError):
    """An argument of the wrong type. Both a ``TypeError`` and a ``ValueError`` (as numpy's ``AxisError``
    is both an ``IndexError`` and a ``ValueError``), so callers catching either see it."""


def check_real(name: str, value) -> float:
    """Return ``value`` as a finite float; a bool, a string or anything not a real number is rejected."""
    if isinstance(value, bool | np.bool_ | str | bytes) or not isinstance(
        value, int | float | np.integer | np.floating | np.ndarray
    ):
        raise ArgumentTypeError(f"{name} must be a real number, got {value!r}")
    if isinstance(value, np.ndarray) and (value.ndim != 0 or value.dtype.kind not in "iuf"):
        raise ArgumentTypeError(f"{name} must be a real number, got {value!r}")
    v = float(value)
    if not np.isfinite(v):
        raise ValueError(f"{name} must be finite, got {value!r}")
    return v


def check_positive(name: str, value) -> float:
    """Return ``value`` as float, raising ``ValueError`` unless it is a finite number > 0."""
    v = check_real(name, value)
    if v <= 0:
        raise ValueError(f"{name} must be a positive finite number, got {value!r}")
    return v


def check_nonneg(name: str, value) -> float:
    """Return ``value`` as float, raising ``ValueError`` unless it is a finite number >= 0."""
    v = check_real(name, value)
    if v < 0:
        raise ValueError(f"{name} must be a finite number >= 0, got {value!r}")
    return v


def check_in_range(name: str, value, lo: float, hi: float) -> float:
    """Return ``value`` as float, raising ``ValueError`` unless ``lo <= value <= hi``."""
    v = check_real(name, value)
    if not lo <= v <= hi:
        raise ValueError(f"{name} must lie in [{lo:g}, {hi:g}], got {value!r}")
    return v


def check_instance(name: str, value, kind: type):
    """``value`` itself if it is a ``kind``; otherwise an :class:`ArgumentTypeError` naming ``name``."""
    if not isinstance(value, kind):
        raise ArgumentTypeError(f"{name} must be a {kind.__name__}, got {type(value).__name__}")
    return value


def check_int(name: str, value, *, minimum: int = 1) -> int:
    """Return ``value`` as int, raising ``ValueError`` unless it is an integer >= ``minimum``."""
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}")
    return int(value)


def check_rng(rng, *, optional: bool = False):
    """``rng`` if it is a numpy Generator (or None where ``optional``); else an ArgumentTypeError."""
    if isinstance(rng, np.random.Generator) or (optional and rng is None):
        return rng
    alt = " or None" if optional else ""
    raise ArgumentTypeError(
        f"rng must be a numpy Generator (np.random.default_rng(seed)){alt}, got {rng!r}"
    )


def check_choice(name: str, value, choices: Sequence[str]) -> str:
    """Raise ``ValueError`` unless ``value`` is one of ``choices``."""
    if value not in choices:
        raise ValueError(f"{name} must be one of {tuple(choices)}, got {value!r}")
    return value


def as_float_array(
    name: str,
    value,
    *,
    nonneg: bool = False,
    ndim: int | None = None,
    allow_inf: bool = False,
    what: str = "real numbers",
) -> np.ndarray:
    """Convert to a finite float array, checking sign and number of dimensions.

    Booleans and strings are rejected (``True`` is not the number 1 here), with an
    :class:`ArgumentTypeError` naming the argument. ``allow_inf`` admits +inf (the end of training
    for a time, a CDF's argument); NaN and -inf are rejected still. ``what`` names the entries in the
    type error ("times in epochs").
    """
    try:
        raw = np.asarray(value)
    except (TypeError, ValueError):
        raise ArgumentTypeError(f"{name} must be an array of {what}, got {value!r}") from None
    if raw.dtype.kind not in "iuf":
        raise ArgumentTypeError(f"{name} must be an array of {what}, got dtype {raw.dtype}")
    arr = raw.astype(float, copy=False)
    if ndim is not None and arr.ndim != ndim:
        raise ValueError(f"{name} must have {ndim} dimension(s), got shape {arr.shape}")
    if allow_inf:
        if np.any(np.isnan(arr) | (arr == -np.inf)):
            raise ValueError(f"{name} must not be NaN or -inf (+inf is allowed)")
    elif not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} must be finite")
    if nonneg and np.any(arr < 0):
        raise ValueError(f"{name} must be >= 0")
    return arr


def broadcast(**arrays: np.ndarray) -> tuple[np.ndarray, ...]:
    """``np.broadcast_arrays`` of named arrays, with an error naming them when they do not broadcast."""
    try:
        return tuple(np.broadcast_arrays(*arrays.values()))
    except ValueError:
        shapes = ", ".join(f"{k} {v.shape}" for k, v in arrays.items())
        raise ValueError(f"{' and '.join(arrays)} must broadcast together, got {shapes}") from None


def check_task_grid(s_a, s_b, q) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Validate and broadcast transfer-task parameters: s_a > 0, s_b >= 0, q in [0, 1]."""
    s_a = as_float_array("s_a", s_a)
    s_b = as_float_array("s_b", s_b, nonneg=True)
    q = as_float_array("q", q)
    if np.any(s_a <= 0):
        raise ValueError("s_a must be > 0 (task A's errors are normalised by s_a^2)")
    if np.any((q < 0) | (q > 1)):
        raise ValueError("q must lie in [0, 1]")
    try:
        return tuple(np.broadcast_arrays(s_a, s_b, q))
    except ValueError:
        raise ValueError(
            f"s_a, s_b and q must broadcast together, got shapes {s_a.shape}, {s_b.shape}, {q.shape}"
        ) from None
