"""Finite-size checks of chapter 2: Lampinen & Ganguli (2019), "An analytic theory of generalization
dynamics and transfer learning in deep linear networks", arXiv:1809.10374, Sec. 2.2-2.4.

How far the whole simulated error curve lies from the predicted one, where the top singular value
(and the whole sorted spectrum) of shuffled (randomised) targets sits, and the optimally stopped
error of a deeper student; ``three_se_claim`` turns a seed sample and a bias into the numbers of a
claim. Each comes with the finite-size bias the chapter's tolerances use, measured or derived here:

* the noise bulk of rank-r data is the spectrum of an (N3 - r) x (N1 - r) noise matrix, so its
  energy falls short of the theory's (N3 - r) sigma^2 by (N3 - r) r sigma^2 / N1 (this book's
  derivation; the empirical bulk agrees, see the tests);
* the top singular value of an N3 x N1 Gaussian matrix lies below the Marchenko-Pastur edge by a
  Tracy-Widom shift of order N^(-2/3), measured here on Gaussian draws of the same shape;
* the empirical overlap of the top data mode with the teacher fluctuates around O(s_bar), and its
  mean is shifted at finite size; the floor 1 - O^2 of the test error is measured on data draws.

The deeper student's test error curve is built here from the deep mode dynamics of
:mod:`dltheory.theory.mode_dynamics` with the bookkeeping of
:mod:`dltheory.theory.generalization` (which covers one hidden layer only).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from dltheory._checks import ArgumentTypeError, as_float_array, check_int, check_positive
from dltheory.config import EarlyStoppingSizes
from dltheory.experiments._grid import Grid, seed_stats
from dltheory.experiments.early_stopping import CurvesResult, _check_common, _check_setup_sizes
from dltheory.experiments.lampinen_ganguli import LGSetup
from dltheory.linear_nets import empirical_optimal_stopping
from dltheory.theory.generalization import predicted_error_curves
from dltheory.theory.mode_dynamics import predicted_mode_strength
from dltheory.theory.random_matrix import (
    mp_quadrature,
    mp_quantile,
    outlier_singular_value,
    overlap,
)

__all__ = [
    "CurveDeviation",
    "three_se_claim",
    "EdgeResult",
    "DeepResult",
    "curve_deviation",
    "predicted_shuffled_edge",
    "predicted_spectra",
    "run_shuffled_edge",
    "run_deep_stopping",
]


def three_se_claim(predicted, samples, *, bias: float = 0.0) -> dict:
    """The numbers of a claim that the seed mean of ``samples`` equals ``predicted`` within three
    standard errors plus a finite-size ``bias`` measured or derived elsewhere.

    Args:
        predicted: the predicted value, finite.
        samples: one measurement per seed, ``(n,)`` with n >= 2.
        bias: the finite-size bias added to the tolerance (its size counts).

    Returns:
        Keyword arguments of :meth:`dltheory.record.Record.check_close`: ``predicted``,
        ``measured`` (the mean), ``abs`` (3 se + |bias|), ``se`` and ``n``.
    """
    p = as_float_array("predicted", predicted)
    b = as_float_array("bias", bias)
    if p.size != 1 or not np.isfinite(p).all():
        raise ValueError(f"predicted must be one finite number, got {predicted!r}")
    if b.size != 1 or not np.isfinite(b).all():
        raise ValueError(f"bias must be one finite number, got {bias!r}")
    x = as_float_array("samples", samples, ndim=1)
    if x.size < 2:
        raise ValueError(f"samples needs at least 2 seeds for a standard error, got {x.size}")
    m, se, n = seed_stats(x)
    return dict(
        predicted=float(p), measured=float(m), abs=float(3 * se + np.abs(b)), se=float(se), n=n
    )


@dataclass(frozen=True)
class CurveDeviation:
    """Largest distance between the seed-mean simulated and the predicted error curve.

    Attributes:
        deviation: max over recorded times of |mean_seeds(sim) - predicted|, divided by the predicted
            error at t = 0.
        se: standard error of the seed mean at that time, in the same units.
        n: seeds.
        t_max: the epoch of the largest deviation.
        bias: the bulk's energy deficit (N3 - r) r sigma^2 / N1 in the same units (the error's
            numerator at t = 0 is sum s_bar^2 for the test error, sum s_bar^2 + N3 sigma^2 for the
            training error): the finite-size offset of the curve once the bulk is fitted.
    """

    deviation: float
    se: float
    n: int
    t_max: float
    bias: float


def curve_deviation(
    curves: CurvesResult, sizes: EarlyStoppingSizes, *, which: str, rank: int = 1, snr: float = 4.0
) -> CurveDeviation:
    """The largest deviation of the simulated from the predicted ``which`` error curve (Lampinen &
    Ganguli 2019, Sec. 2.3), rank ``rank`` and SNR ``snr`` of ``curves``.

    Args:
        curves: a :class:`~dltheory.experiments.early_stopping.CurvesResult`.
        sizes: the sizes it was run with (N1, N3 set the bias).
        which: ``"test"`` or ``"train"``.
        rank: a teacher rank of ``curves.grid``.
        snr: an SNR of ``curves.grid``.

    Returns:
        A :class:`CurveDeviation`.
    """
    if not isinstance(curves, CurvesResult):
        raise ArgumentTypeError(f"curves must be a CurvesResult, got {curves!r}")
    if not isinstance(sizes, EarlyStoppingSizes):
        raise ArgumentTypeError(f"sizes must be EarlyStoppingSizes, got {sizes!r}")
    if which not in ("test", "train"):
        raise ValueError(f"which must be 'test' or 'train', got {which!r}")
    rank, snr = check_int("rank", rank), check_positive("snr", snr)
    i, k = curves.grid.index("rank", rank), curves.grid.index("snr", snr)
    sim = (curves.test_error if which == "test" else curves.train_error)[:, i, k]
    pred = (curves.predicted_test if which == "test" else curves.predicted_train)[:, i, k]
    n = sim.shape[-1]
    mean, se = sim.mean(axis=-1), sim.std(axis=-1, ddof=1) / np.sqrt(n)
    dev = np.abs(mean - pred) / pred[0]
    j = int(np.argmax(dev))
    s_bar = float(snr) * np.arange(rank, 0, -1.0)
    energy = np.sum(s_bar**2) + (0.0 if which == "test" else sizes.n_out)  # sigma_z = 1 units
    deficit = (sizes.n_out - rank) * rank / sizes.n_in
    return CurveDeviation(
        deviation=float(dev[j]),
        se=float(se[j] / pred[0]),
        n=int(n),
        t_max=float(curves.epochs[j]),
        bias=float(deficit / energy),
    )


def predicted_shuffled_edge(
    setup: LGSetup, sizes: EarlyStoppingSizes, s_bar
) -> tuple[float, float]:
    """Top singular value of shuffled targets and of the structured ones (this book's derivation).

    Shuffling the N3 x N1 entries of Sigma^31 = W_bar + Z leaves (nearly) independent entries of
    variance v = E||Sigma^31||^2 / (N1 N3) = (sum s_bar^2 + N3 sigma^2) / (N1 N3). A matrix of such
    entries has the Marchenko-Pastur law of this book's normalisation (variance sigma^2 / N1)
    with sigma^2 = N1 v, so its top singular value tends to the edge
    sqrt((sum s_bar^2 + N3 sigma^2) / N3) (1 + sqrt(A)). The structured data's top singular value is
    the outlier s_hat(s_bar_1).

    Args:
        setup: the physical parameters.
        sizes: chapter 2's sizes (N1, N3).
        s_bar: teacher singular values, descending, ``(r,)``, > 0.

    Returns:
        ``(edge, structured_top)``.
    """
    _check_setup_sizes(setup, sizes)
    s = as_float_array("s_bar", s_bar).ravel()
    if s.size == 0 or np.any(~np.isfinite(s)) or np.any(s <= 0):
        raise ValueError(f"s_bar must be positive teacher singular values, got {s_bar!r}")
    a = sizes.n_out / sizes.n_in
    scale = np.sqrt((np.sum(s**2) + sizes.n_out * setup.noise_std**2) / sizes.n_out)
    top = outlier_singular_value(s.max(), aspect_ratio=a, noise_std=setup.noise_std)
    return float(scale * (1 + np.sqrt(a))), float(top)


def predicted_spectra(setup: LGSetup, sizes: EarlyStoppingSizes, s_bar) -> np.ndarray:
    """Predicted sorted singular values of structured and of shuffled targets (this book's
    derivation for the shuffled ones, see :func:`predicted_shuffled_edge`).

    The k-th largest of n values drawn from a law sits near its quantile 1 - (k - 1/2) / n. The
    structured data: the outliers s_hat(s_bar) of the modes above the detection threshold, then the
    remaining N3 - (their number) values from the Marchenko-Pastur bulk. The shuffled data: all N3
    values from the bulk stretched by the entries' variance.

    Args:
        setup: the physical parameters.
        sizes: chapter 2's sizes (N1, N3).
        s_bar: teacher singular values, ``(r,)``, > 0.

    Returns:
        ``(2, N3)``: row 0 structured, row 1 shuffled, each descending.
    """
    edge, _ = predicted_shuffled_edge(setup, sizes, s_bar)  # checks the arguments
    s = np.sort(np.ravel(s_bar))[::-1]
    a = sizes.n_out / sizes.n_in
    law = dict(aspect_ratio=a, noise_std=setup.noise_std)
    out = outlier_singular_value(s[s > setup.threshold(sizes.n_in, sizes.n_out)], **law)

    def quantiles(n: int, noise_std: float) -> np.ndarray:
        return mp_quantile(1 - (np.arange(n) + 0.5) / n, aspect_ratio=a, noise_std=noise_std)

    bulk = quantiles(sizes.n_out - out.size, setup.noise_std)
    return np.stack([np.concatenate([out, bulk]), quantiles(sizes.n_out, edge / (1 + np.sqrt(a)))])


@dataclass(frozen=True)
class EdgeResult:
    """Top singular value of shuffled targets over that of the structured ones, many draws.

    Attributes:
        grid: one ``multiplier`` x draw.
        ratio: measured ratio per draw, ``(draw,)``.
        predicted_ratio: the stretched Marchenko-Pastur edge over s_hat(s_bar_1).
        gaussian_bias: mean relative shift of the top singular value of N3 x N1 Gaussian matrices
            below the edge 1 + sqrt(A), measured on as many draws (negative: the Tracy-Widom shift).
    """

    grid: Grid
    ratio: np.ndarray
    predicted_ratio: float
    gaussian_bias: float


def run_shuffled_edge(
    setup: LGSetup, sizes: EarlyStoppingSizes, *, rng: np.random.Generator, multiplier: float = 10.0
) -> EdgeResult:
    """Where the top singular value of shuffled targets sits (Lampinen & Ganguli 2019, the
    randomised-data experiment; the stretched edge is :func:`predicted_shuffled_edge`).

    Draws ``bias_draws`` rank-3 data sets with singular values multiplier (3, 2, 1) (two spawned
    children), shuffles each with one spawned child, then draws as many Gaussian matrices from one
    child. SVDs only, no training.

    Args:
        setup: the physical parameters.
        sizes: chapter 2's sizes.
        rng: source of randomness.
        multiplier: > 0.

    Returns:
        An :class:`EdgeResult`.
    """
    _check_common(setup, sizes, rng)
    multiplier = check_positive("multiplier", multiplier)
    n = check_int("bias_draws", sizes.bias_draws)
    s_bar = multiplier * np.array([3.0, 2.0, 1.0])
    grid = Grid(axes={"multiplier": np.array([multiplier])}, n_seeds=n)
    data = setup.draw(sizes.n_in, sizes.n_out, s_bar, n, rng=rng)
    shuffled = np.stack(
        [
            r.permutation(y.ravel()).reshape(y.shape)
            for r, y in zip(rng.spawn(n), data.sigma31, strict=True)
        ]
    )
    top = np.linalg.svd(shuffled, compute_uv=False)[:, 0]
    g = rng.spawn(1)[0].standard_normal((n, sizes.n_out, sizes.n_in)) / np.sqrt(sizes.n_in)
    edge_1 = 1 + np.sqrt(sizes.n_out / sizes.n_in)
    edge, top_struct = predicted_shuffled_edge(setup, sizes, s_bar)
    return EdgeResult(
        grid=grid,
        ratio=top / data.s_hat[:, 0],
        predicted_ratio=edge / top_struct,
        gaussian_bias=float(np.linalg.svd(g, compute_uv=False)[:, 0].mean() / edge_1 - 1),
    )


@dataclass(frozen=True)
class DeepResult:
    """Optimal stopping of a deeper student (``n_weights`` weight matrices), aligned initialisation.

    Attributes:
        grid: ``n_weights`` x seed.
        epochs: recorded epochs, ``(T,)``.
        test_error: measured, ``(T, seed)``.
        predicted_test: predicted, ``(T,)``.
        t_opt, min_error: per seed, the recorded epoch of smallest test error and that error.
        predicted_t_opt, predicted_min_error: the predicted curve's minimum over the recorded
            epochs.
        floor_bias: measured finite-size shift of the overlap floor 1 - O^2 of the test error, mean
            over ``bias_draws`` data sets of 1 - (u_hat . W_bar v_hat / s_bar)^2 minus 1 - O(s_bar)^2.
    """

    grid: Grid
    epochs: np.ndarray
    test_error: np.ndarray
    predicted_test: np.ndarray
    t_opt: np.ndarray
    min_error: np.ndarray
    predicted_t_opt: float
    predicted_min_error: float
    floor_bias: float


def _deep_test_error(t, s_bar: float, sizes: EarlyStoppingSizes, setup: LGSetup, n_weights: int):
    """Test error of :mod:`dltheory.theory.generalization` (rank 1, N2 >= N3: the whole bulk is
    learnable) with the mode strengths of an ``n_weights``-matrix network."""
    a = sizes.n_out / sizes.n_in
    law = dict(aspect_ratio=a, noise_std=setup.noise_std)
    s_hat, o = outlier_singular_value(s_bar, **law), overlap(s_bar, **law)
    nodes, w = mp_quadrature(**law, n=200)
    kw = dict(eps=setup.eps, tau=setup.tau, n_weights=n_weights)
    s = predicted_mode_strength(t, s_hat, **kw)
    bulk = predicted_mode_strength(t, nodes, **kw) ** 2 @ w
    return ((sizes.n_out - 1) * bulk + (s - s_bar) ** 2 + 2 * s * s_bar * (1 - o)) / s_bar**2


def run_deep_stopping(
    setup: LGSetup,
    sizes: EarlyStoppingSizes,
    *,
    rng: np.random.Generator,
    snr: float = 4.0,
    n_weights: int = 3,
) -> DeepResult:
    """Optimally stopped test error of a deeper student (Lampinen & Ganguli 2019, deeper networks).

    Draws ``n_seeds`` rank-1 data sets (two spawned children) and trains students with
    ``n_weights`` weight matrices (hidden width N2) from aligned initialisation, exactly in mode
    space, for twice ``epochs`` (deeper students start slower from the same small eps); then draws
    ``bias_draws`` data sets (two children) for the floor bias.

    Args:
        setup: the physical parameters.
        sizes: chapter 2's sizes (N2 >= N3 is assumed by the prediction).
        rng: source of randomness.
        snr: the teacher's SNR, > the detection threshold.
        n_weights: number of weight matrices, >= 3.

    Returns:
        A :class:`DeepResult`.
    """
    _check_common(setup, sizes, rng)
    snr = check_positive("snr", snr)
    n_weights = check_int("n_weights", n_weights)
    if n_weights < 3:
        raise ValueError(f"n_weights must be >= 3 (a deeper student), got {n_weights}")
    if snr <= setup.threshold(sizes.n_in, sizes.n_out):
        raise ValueError(f"snr must lie above the detection threshold, got {snr}")
    if sizes.hidden < sizes.n_out:
        raise ValueError("the deep prediction assumes N2 >= N3 (the whole bulk is learnable)")
    grid = Grid(axes={"n_weights": np.array([n_weights])}, n_seeds=sizes.n_seeds)
    data = setup.draw(sizes.n_in, sizes.n_out, [[snr]], grid.n_seeds, rng=rng)
    run = setup.train(
        data, hidden=sizes.hidden, hidden_layers=n_weights - 1, epochs=2 * sizes.epochs,
        record_every=sizes.record_every,
    )  # fmt: skip
    t_opt, err = empirical_optimal_stopping(run.steps, run.test_error)
    curve = _deep_test_error(run.steps, snr, sizes, setup, n_weights)
    draws = setup.draw(sizes.n_in, sizes.n_out, [[snr]], sizes.bias_draws, rng=rng)
    c = np.einsum("bi,bi->b", draws.U_hat[:, :, 0], draws.teacher.U[:, :, 0]) * np.einsum(
        "bi,bi->b", draws.V_hat[:, :, 0], draws.teacher.V[:, :, 0]
    )
    o = overlap(snr, aspect_ratio=sizes.n_out / sizes.n_in, noise_std=setup.noise_std)
    return DeepResult(
        grid=grid,
        epochs=run.steps,
        test_error=run.test_error,
        predicted_test=curve,
        t_opt=t_opt,
        min_error=err,
        predicted_t_opt=float(run.steps[np.argmin(curve)]),
        predicted_min_error=float(curve.min()),
        floor_bias=float(np.mean(1 - c**2) - (1 - o**2)),
    )


def _predicted_t_half(setup: LGSetup, sizes: EarlyStoppingSizes, s_bar, half: float) -> np.ndarray:
    """Times at which the predicted training error of the structured and of the shuffled targets
    first falls below ``half`` (aligned-initialisation theory, found on a fine time grid)."""
    t = np.linspace(0.0, 20 * setup.tau, 20001)
    theory = setup.theory(sizes.n_in, sizes.n_out)
    struct = predicted_error_curves(t, s_bar, hidden=sizes.hidden, **theory).train
    a = sizes.n_out / sizes.n_in
    scale = np.sqrt((np.sum(s_bar**2) + sizes.n_out * setup.noise_std**2) / sizes.n_out)
    nodes, w = mp_quadrature(aspect_ratio=a, noise_std=scale, n=1000)
    s = predicted_mode_strength(t, nodes, eps=setup.eps, tau=setup.tau)
    shuffled = ((s - nodes) ** 2 @ w) / (nodes**2 @ w)
    return np.array([t[np.argmax(c < half)] for c in (struct, shuffled)])
