"""The middle floor: one module per paper result, joining a closed form of :mod:`dltheory.theory` to the
simulation that tests it.

Each module holds a frozen setup of the result's physical parameters and functions
``run_<result>(setup, sizes, *, rng) -> Result``. A result holds what the theory predicts beside what
the simulation measured, on a named (condition, seed) :class:`Grid`. Chapters, ``bench`` and the tests
call the same functions (the tests at tiny sizes), so the lesson, the timing and the check are of one
computation.

Floors, bottom up: ``theory`` (closed forms, numpy/scipy only) and the simulators (``linear_nets``,
``nets``, ``jacobian``, ``kernel_nets``) know nothing of chapters; ``experiments`` joins them for one
result; a chapter is the lesson around a few experiment calls.
"""

from dltheory.experiments._grid import Grid, seed_stats

__all__ = ["Grid", "seed_stats"]
