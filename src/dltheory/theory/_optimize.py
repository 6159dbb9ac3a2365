"""Shared numerics of the theory modules."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from scipy import optimize


def refine_grid_minimum(
    curve: Callable[[float], float], grid: np.ndarray, values: np.ndarray, *, xatol: float
) -> tuple[float, float]:
    """Minimum of a scalar curve known on a grid, refined between the grid neighbours.

    Args:
        curve: the function t -> value, evaluated at single points.
        grid: increasing abscissae, ``(G,)``.
        values: ``curve`` on the grid, ``(G,)``.
        xatol: absolute tolerance of the bounded search in t.

    Returns:
        ``(t_min, value_min)``; the grid point itself where the minimum is at the first point or
        the bounded search does not improve on it.
    """
    i = int(np.argmin(values))
    if i == 0:
        return float(grid[0]), float(values[0])
    lo, hi = grid[i - 1], grid[min(i + 1, grid.size - 1)]
    res = optimize.minimize_scalar(
        curve, bounds=(lo, hi), method="bounded", options={"xatol": xatol}
    )
    if res.fun < values[i]:
        return float(res.x), float(res.fun)
    return float(grid[i]), float(values[i])
