"""Argument validation shared by the library: every bad argument raises ``ValueError`` naming it."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def check_positive(name: str, value) -> float:
    """Return ``value`` as float, raising ``ValueError`` unless it is finite and > 0."""
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a positive number, got {value!r}") from None
    if not np.isfinite(v) or v <= 0:
        raise ValueError(f"{name} must be a positive finite number, got {value!r}")
    return v


def check_int(name: str, value, *, minimum: int = 1) -> int:
    """Return ``value`` as int, raising ``ValueError`` unless it is an integer >= ``minimum``."""
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}")
    return int(value)


def check_choice(name: str, value, choices: Sequence[str]) -> str:
    """Raise ``ValueError`` unless ``value`` is one of ``choices``."""
    if value not in choices:
        raise ValueError(f"{name} must be one of {tuple(choices)}, got {value!r}")
    return value


def as_float_array(
    name: str, value, *, nonneg: bool = False, ndim: int | None = None
) -> np.ndarray:
    """Convert to a finite float array, checking sign and number of dimensions."""
    arr = np.asarray(value, dtype=float)
    if ndim is not None and arr.ndim != ndim:
        raise ValueError(f"{name} must have {ndim} dimension(s), got shape {arr.shape}")
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} must be finite")
    if nonneg and np.any(arr < 0):
        raise ValueError(f"{name} must be >= 0")
    return arr


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
