"""A named grid of conditions, each run for several seeds, laid out as one flat batch of runs.

Batched simulators take a flat batch; the theory and the claims think in conditions and seeds. The
batch is conditions-major: the runs of condition ``k`` are ``k * n_seeds ... (k + 1) * n_seeds - 1``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from dltheory._checks import as_float_array, check_int

__all__ = ["Grid", "seed_stats"]


@dataclass(frozen=True)
class Grid:
    """Conditions on named axes (their outer product, in order) times ``n_seeds`` seeds each.

    Attributes:
        axes: axis name -> the values along it, in order; the conditions are their outer product.
        n_seeds: runs per condition.
    """

    axes: dict[str, np.ndarray]
    n_seeds: int
    _values: dict[str, np.ndarray] = field(init=False, repr=False, compare=False)

    def __post_init__(self):
        if not isinstance(self.axes, dict) or not self.axes:
            raise ValueError(f"axes must be a non-empty dict of name -> values, got {self.axes!r}")
        axes = {}
        for name, values in self.axes.items():
            if not isinstance(name, str) or not name.isidentifier():
                raise ValueError(f"axes names must be identifiers, got {name!r}")
            v = np.asarray(values)
            if v.ndim < 1 or len(v) == 0:
                raise ValueError(f"axes[{name!r}] needs at least one value, got {values!r}")
            axes[name] = v
        object.__setattr__(self, "axes", axes)
        object.__setattr__(self, "n_seeds", check_int("n_seeds", self.n_seeds, minimum=1))

    @property
    def shape(self) -> tuple[int, ...]:
        """Conditions shape (one entry per axis) followed by ``n_seeds``."""
        return (*(len(v) for v in self.axes.values()), self.n_seeds)

    @property
    def n_conditions(self) -> int:
        return int(np.prod(self.shape[:-1]))

    @property
    def n_runs(self) -> int:
        return self.n_conditions * self.n_seeds

    def per_run(self, name: str) -> np.ndarray:
        """The value of axis ``name`` for every run of the flat batch, ``(n_runs, ...)``."""
        if name not in self.axes:
            raise KeyError(f"no axis {name!r}; the axes are {list(self.axes)}")
        k = list(self.axes).index(name)
        idx = np.indices(self.shape[:-1])[k].ravel()
        return np.repeat(self.axes[name][idx], self.n_seeds, axis=0)

    def unflatten(self, x, axis: int = 0) -> np.ndarray:
        """Reshape the flat run axis ``axis`` of ``x`` into the grid's shape (conditions..., seeds)."""
        x = np.asarray(x)
        axis = axis % x.ndim
        if x.shape[axis] != self.n_runs:
            raise ValueError(
                f"axis {axis} has {x.shape[axis]} entries, the grid has {self.n_runs} runs"
            )
        return x.reshape(*x.shape[:axis], *self.shape, *x.shape[axis + 1 :])

    def index(self, name: str, value) -> int:
        """Position of ``value`` on axis ``name`` (numbers compared with ``np.isclose``, labels exactly)."""
        if name not in self.axes:
            raise KeyError(f"no axis {name!r}; the axes are {list(self.axes)}")
        values = self.axes[name]
        numeric = values.dtype.kind in "iuf" and isinstance(value, int | float | np.number)
        hits = np.flatnonzero(np.isclose(values, value) if numeric else values == value)
        if hits.size == 0:
            raise ValueError(f"{value!r} is not on axis {name!r} ({self.axes[name]})")
        return int(hits[0])

    def runs_of(self, **where) -> np.ndarray:
        """Flat-batch indices of the seeds of one condition, named by its axis values."""
        if set(where) != set(self.axes):
            raise ValueError(f"name one value on every axis {list(self.axes)}, got {list(where)}")
        pos = tuple(self.index(name, where[name]) for name in self.axes)
        k = int(np.ravel_multi_index(pos, self.shape[:-1]))
        return np.arange(k * self.n_seeds, (k + 1) * self.n_seeds)


def seed_stats(x, axis: int = -1) -> tuple[np.ndarray, np.ndarray, int]:
    """Mean, standard error of the mean and the number of seeds along ``axis`` (the seed axis)."""
    x = as_float_array("x", x)
    if (
        isinstance(axis, bool)
        or not isinstance(axis, int | np.integer)
        or not -x.ndim <= axis < x.ndim
    ):
        raise ValueError(f"axis must be an integer axis of x (ndim {x.ndim}), got {axis!r}")
    n = x.shape[axis]
    if n < 2:
        raise ValueError(
            f"x needs at least 2 seeds along axis {axis} for a standard error, got {n}"
        )
    return x.mean(axis=axis), x.std(axis=axis, ddof=1) / np.sqrt(n), int(n)
