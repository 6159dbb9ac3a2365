"""What a training loop records over time: one record type and one recording convention.

The library's three training loops (:func:`dltheory.linear_nets.simulate_gd`,
:func:`dltheory.nets.train_gd` and :func:`dltheory.kernel_nets.train`) return a subclass of
:class:`Trajectory` and choose the steps they record with :func:`recorded_steps`: ``record_every=k`` records step 0,
every ``k``-th step and the last; ``record_steps=[...]`` records exactly those steps. Their progress
bars follow :mod:`dltheory.progress` (``progress=None`` reads the environment; ``True``/``False``
force it) and are labelled by ``desc``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from dltheory._checks import ArgumentTypeError, check_int, check_positive

__all__ = ["Trajectory", "recorded_steps"]


@dataclass(frozen=True)
class Trajectory:
    """The part every training record shares.

    Attributes:
        steps: recorded step (epoch) numbers, ``(T,)``, increasing; the record's time axis. Every
            other time series of the record has ``T`` entries on its first axis.
        lr: learning rate (time step); continuous time is ``steps * lr`` in units of the time
            constant ``tau = 1 / lr`` steps.
    """

    steps: np.ndarray
    lr: float

    def __post_init__(self):
        steps = np.asarray(self.steps)
        if steps.dtype.kind not in "iu" or steps.ndim != 1 or steps.size == 0:
            raise ValueError(f"steps must be a non-empty 1-D array of integers, got {self.steps!r}")
        if np.any(np.diff(steps) <= 0) or steps[0] < 0:
            raise ValueError(f"steps must be increasing and >= 0, got {self.steps!r}")
        object.__setattr__(self, "steps", steps)
        object.__setattr__(self, "lr", check_positive("lr", self.lr))

    @property
    def tau(self) -> float:
        """Time constant of the dynamics, in steps."""
        return 1.0 / self.lr

    @property
    def time(self) -> np.ndarray:
        """Recorded times ``steps * lr`` (units of ``tau``)."""
        return self.steps * self.lr


def recorded_steps(
    total: int,
    *,
    record_every: int | None = None,
    record_steps: Sequence[int] | None = None,
    default_every: int = 1,
) -> np.ndarray:
    """The steps a loop of ``total`` steps records: the library's one recording convention.

    Args:
        total: number of update steps (the loop visits steps ``0 .. total``).
        record_every: record step 0, every ``record_every``-th step and the last.
        record_steps: record exactly these increasing step numbers in ``[0, total]`` instead.
        default_every: the loop's interval when neither is given.

    Returns:
        ``(T,)`` increasing int64 step numbers.
    """
    total = check_int("total", total, minimum=0)
    if record_every is not None and record_steps is not None:
        raise ValueError("give record_every or record_steps, not both")
    if record_steps is None:
        every = check_int("record_every", default_every if record_every is None else record_every)
        return np.unique(np.r_[np.arange(0, total, every), total]).astype(np.int64)
    if isinstance(record_steps, bool | str | bytes | int | float | np.number):
        raise ArgumentTypeError(
            f"record_steps must be a sequence of step numbers, got {record_steps!r}"
        )
    rec = np.asarray(record_steps)
    if rec.size and rec.dtype.kind not in "iu":
        raise ArgumentTypeError(f"record_steps must be integers, got {record_steps!r}")
    if rec.ndim != 1 or rec.size == 0 or np.any(np.diff(rec) <= 0) or rec[0] < 0 or rec[-1] > total:
        raise ValueError(
            f"record_steps must be increasing integers in [0, {total}], got {record_steps!r}"
        )
    return rec.astype(np.int64, copy=False)
