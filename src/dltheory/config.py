"""Scales: the one place where problem sizes (widths, seeds, epochs, grids) live.

Every chapter has one parameter, ``scale``, set by papermill or the ``BOOK_SCALE`` environment variable:

* ``ci``    -- small enough that all chapters together run in a few minutes on 2 CPU cores, while still
  checking every claim with a tolerance honest for that size (``make test``);
* ``book``  -- what the rendered website shows, each chapter a minute or two (``make book``);
* ``paper`` -- the papers' own sizes, for a full reproduction (``make chapter CH=01 SCALE=paper``).

Physical parameters of an experiment (learning rate, initial strength, teacher singular values) are
part of the chapter's statement and live in the chapter, next to the text that explains them.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Literal, get_args

__all__ = ["ScaleName", "SVDDynamicsSizes", "Scale", "SCALES", "scale", "default_scale_name"]

ScaleName = Literal["ci", "book", "paper"]


@dataclass(frozen=True)
class SVDDynamicsSizes:
    """Sizes for chapter 1 (SVD learning dynamics).

    Attributes:
        n_in: input size N1 = P (one-hot examples).
        n_out: output size N3 (aspect ratio N3/N1).
        hidden: hidden width N2 of the students.
        n_seeds: independent teachers/data sets/initialisations.
        epochs: gradient-descent epochs for the one-hidden-layer students.
        deep_epochs: epochs for the deeper students.
        record_every: epochs between recorded snapshots.
        n_sweep: points in the sweeps of half-time against singular value and initial strength.
    """

    n_in: int
    n_out: int
    hidden: int
    n_seeds: int
    epochs: int
    deep_epochs: int
    record_every: int
    n_sweep: int


@dataclass(frozen=True)
class Scale:
    """All sizes of one scale, one field per chapter."""

    name: ScaleName
    svd_dynamics: SVDDynamicsSizes


SCALES: dict[str, Scale] = {
    "ci": Scale(
        name="ci",
        svd_dynamics=SVDDynamicsSizes(
            n_in=40, n_out=20, hidden=20, n_seeds=3, epochs=5000, deep_epochs=5000,
            record_every=10, n_sweep=6,
        ),
    ),
    "book": Scale(
        name="book",
        svd_dynamics=SVDDynamicsSizes(
            n_in=100, n_out=50, hidden=50, n_seeds=5, epochs=5000, deep_epochs=5000,
            record_every=10, n_sweep=12,
        ),
    ),
    "paper": Scale(
        name="paper",
        svd_dynamics=SVDDynamicsSizes(
            n_in=100, n_out=50, hidden=50, n_seeds=10, epochs=8000, deep_epochs=8000,
            record_every=5, n_sweep=24,
        ),
    ),
}  # fmt: skip


def default_scale_name() -> str:
    """The scale named by ``BOOK_SCALE``, else ``"book"``."""
    return os.environ.get("BOOK_SCALE", "book")


def scale(name: str | None = None) -> Scale:
    """Return the :class:`Scale` called ``name`` (``"ci"``, ``"book"`` or ``"paper"``).

    Args:
        name: scale name; ``None`` reads ``BOOK_SCALE`` (default ``"book"``).

    Raises:
        ValueError: for an unknown name.
    """
    name = default_scale_name() if name is None else name
    if name not in get_args(ScaleName):
        raise ValueError(f"scale must be one of {get_args(ScaleName)}, got {name!r}")
    return SCALES[name]
