"""Figures in the book's style: theory as solid lines, simulation as markers with error bars over seeds.

Helpers draw on an ``Axes`` they are given and never create, show or close figures themselves.
"""

from __future__ import annotations

from importlib import resources

import matplotlib.pyplot as plt
import numpy as np

from dltheory._checks import as_float_array, check_int

__all__ = ["STYLE_PATH", "use_book_style", "theory_vs_sim"]

STYLE_PATH = resources.files("dltheory") / "book.mplstyle"


def use_book_style() -> None:
    """Apply the committed ``book.mplstyle`` to matplotlib's global rc parameters."""
    plt.style.use(str(STYLE_PATH))


def _curve(name: str, y) -> np.ndarray:
    # A non-finite value is a gap in a curve (a quantity undefined or unbounded there, e.g. the
    # effective ridge below the weight-decay threshold); matplotlib draws around it.
    try:
        return np.asarray(y, dtype=float)
    except (TypeError, ValueError):
        raise TypeError(f"{name} must be an array of real numbers, got {y!r}") from None


def theory_vs_sim(
    ax,
    t_theory,
    y_theory,
    t_sim,
    y_sim,
    *,
    color=None,
    label: str | None = None,
    marker: str = "o",
    every: int = 1,
    sim_label: str | None = None,
):
    """Draw a theory curve (solid line) and simulation markers with error bars over seeds.

    Args:
        ax: matplotlib Axes to draw on.
        t_theory: abscissae of the theory curve, ``(T,)``.
        y_theory: theory values, ``(T,)``.
        t_sim: abscissae of the simulation, ``(S,)``.
        y_sim: simulation values, ``(S,)`` for one run or ``(n_seeds, S)``: markers at the seed mean,
            error bars of one standard deviation over seeds.
        color: one colour for both (default: the next in the cycle).
        label: legend label of the theory line.
        marker: marker of the simulation points.
        every: plot every ``every``-th simulation point (keeps dense records readable).
        sim_label: legend label of the markers (default: none, the colour already pairs them).

    Returns:
        ``(line, errorbar_container)``.
    """
    if not (hasattr(ax, "plot") and hasattr(ax, "errorbar")):
        raise TypeError(f"ax must be a matplotlib Axes, got {type(ax).__name__}")
    t_theory, t_sim = as_float_array("t_theory", t_theory), as_float_array("t_sim", t_sim)
    y_theory, y_sim = _curve("y_theory", y_theory), _curve("y_sim", y_sim)
    every = check_int("every", every)
    if not isinstance(marker, str):
        raise TypeError(f"marker must be a matplotlib marker string, got {marker!r}")
    if t_theory.shape != y_theory.shape:
        raise ValueError(f"t_theory {t_theory.shape} and y_theory {y_theory.shape} differ in shape")
    y2 = y_sim[None, :] if y_sim.ndim == 1 else y_sim
    if y2.ndim != 2 or y2.shape[1] != t_sim.size:
        raise ValueError(
            f"y_sim must be (S,) or (n_seeds, S) with S={t_sim.size}, got {y_sim.shape}"
        )
    (line,) = ax.plot(t_theory, y_theory, "-", color=color, label=label, zorder=2)
    mean = y2.mean(axis=0)[::every]
    err = (y2.std(axis=0, ddof=1) if y2.shape[0] > 1 else np.zeros(y2.shape[1]))[::every]
    cont = ax.errorbar(
        t_sim[::every],
        mean,
        yerr=err,
        fmt=marker,
        color=line.get_color(),
        mfc="white",
        mew=1.2,
        label=sim_label,
        zorder=3,
    )
    return line, cont
