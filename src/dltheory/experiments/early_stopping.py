"""Generalisation dynamics with noisy teachers: Lampinen & Ganguli (2019), "An analytic theory of
generalization dynamics and transfer learning in deep linear networks", arXiv:1809.10374, Sec. 2.2-2.4.

The experiments: where the teacher sits in noisy data (a Marchenko-Pastur bulk with outliers above
it, Sec. 2.2), the train and test error curves of a training-aligned student (Sec. 2.3) and its
optimal stopping point (Sec. 2.4). Each ``run_*`` draws its data from ``rng`` in a fixed order, so one generator passed
through the calls of chapter 2 in the chapter's order gives the chapter's numbers. Variations on the
setting (random initialisation, hidden width, P != N1 examples, randomised targets) are in
:mod:`dltheory.experiments.early_stopping_variants`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import stats

from dltheory._checks import ArgumentTypeError, as_float_array, check_int, check_rng
from dltheory.config import EarlyStoppingSizes
from dltheory.experiments._fine_lines import fine_snr, jumps
from dltheory.experiments._grid import Grid
from dltheory.experiments.lampinen_ganguli import LGSetup
from dltheory.linear_nets import empirical_optimal_stopping
from dltheory.teachers import snr_singular_values
from dltheory.theory.generalization import predicted_error_curves, predicted_optimal_stopping
from dltheory.theory.random_matrix import (
    detection_threshold,
    mp_cdf,
    mp_density,
    mp_edges,
    outlier_singular_value,
    overlap,
    overlap_factors,
)

__all__ = [
    "MULTIPLIERS",
    "BulkResult",
    "OutlierResult",
    "CurvesResult",
    "StoppingResult",
    "snr_grid",
    "curve_pair",
    "run_noise_bulk",
    "run_outliers",
    "run_error_curves",
    "run_optimal_stopping",
]

MULTIPLIERS = (2.0, 4.0, 6.0, 8.0, 10.0)
"""SNR multipliers of the error-curve grid, above the detection threshold that starts it."""


def _check_setup_sizes(setup, sizes) -> None:
    if not isinstance(setup, LGSetup):
        raise ArgumentTypeError(f"setup must be an LGSetup, got {setup!r}")
    if not isinstance(sizes, EarlyStoppingSizes):
        raise ArgumentTypeError(
            f"sizes must be EarlyStoppingSizes (get_scale(name).early_stopping), got {sizes!r}"
        )


def _check_common(setup, sizes, rng) -> None:
    """Raise unless ``setup`` is an :class:`LGSetup`, ``sizes`` chapter 2's sizes and ``rng`` a Generator."""
    _check_setup_sizes(setup, sizes)
    check_rng(rng)


def _train(
    setup: LGSetup, sizes: EarlyStoppingSizes, data, *, hidden=None, init="aligned", rng=None
):
    hidden = sizes.hidden if hidden is None else hidden
    return setup.train(
        data,
        hidden=hidden,
        epochs=sizes.epochs,
        record_every=sizes.record_every,
        init=init,
        rng=rng,
    )


def _multipliers(multipliers) -> np.ndarray:
    m = as_float_array("multipliers", multipliers, ndim=1)
    if m.size == 0 or np.any(m <= 0):
        raise ValueError(
            f"multipliers must be a non-empty list of positive SNRs, got {multipliers!r}"
        )
    return m


def curve_pair(result, which: str, index: tuple = ()) -> tuple[np.ndarray, np.ndarray]:
    """The predicted and the measured ``which`` error curves of one condition of a result, in the
    layout of :func:`dltheory.plotting.theory_vs_sim`.

    Args:
        result: a result holding ``predicted_<which>``, ``(T, *conditions)``, and
            ``<which>_error``, ``(T, *conditions, seed)`` (error curves, examples, widths, the
            deeper student).
        which: ``"train"`` or ``"test"``.
        index: the condition's position on each condition axis, in order (``()`` for none).

    Returns:
        Predicted ``(T,)`` and measured ``(seed, T)``.
    """
    if which not in ("train", "test"):
        raise ValueError(f"which must be 'train' or 'test', got {which!r}")
    th, sim = getattr(result, f"predicted_{which}", None), getattr(result, f"{which}_error", None)
    if not isinstance(th, np.ndarray) or not isinstance(sim, np.ndarray):
        raise ArgumentTypeError(
            f"result must hold predicted_{which} and {which}_error arrays, got {type(result).__name__}"
        )
    if not isinstance(index, tuple) or any(
        isinstance(i, bool) or not isinstance(i, int | np.integer) for i in index
    ):
        raise ValueError(f"index must be a tuple of integer positions, got {index!r}")
    if len(index) != th.ndim - 1 or sim.ndim != th.ndim + 1:
        raise ValueError(f"index must give one position per condition axis, got {index!r}")
    if any(not -n <= i < n for i, n in zip(index, th.shape[1:], strict=True)):
        raise ValueError(f"index {index!r} lies outside the conditions {th.shape[1:]}")
    return th[(slice(None), *index)], sim[(slice(None), *index)].T


def snr_grid(setup: LGSetup, sizes: EarlyStoppingSizes, multipliers=MULTIPLIERS) -> np.ndarray:
    """The SNRs of the error-curve grid: the detection threshold, then ``multipliers``.

    Args:
        setup: the physical parameters.
        sizes: chapter 2's sizes (N1, N3 set the threshold).
        multipliers: SNR multipliers m > 0 after the threshold.

    Returns:
        ``(1 + len(multipliers),)``.
    """
    _check_setup_sizes(setup, sizes)
    m = _multipliers(multipliers)
    return np.array([setup.threshold(sizes.n_in, sizes.n_out), *m])


@dataclass(frozen=True)
class BulkResult:
    """Singular values of one pure-noise matrix and of one noisy rank-3 data set.

    Attributes:
        aspect_ratio: A = N3 / N1 of the random-matrix checks.
        noise_sv: singular values of a pure-noise matrix (entries of variance sigma_z^2 / N1), ``(N3,)``.
        ks: Kolmogorov-Smirnov distance between them and the Marchenko-Pastur CDF.
        spiked_s_bar: teacher singular values of the noisy data set, ``(3,)``.
        spiked_sv: singular values of that data set, ``(N3,)``.
        predicted_outliers: predicted outlier positions s_hat(s_bar), ``(3,)``.
        bulk_edge: upper edge 1 + sqrt(A) of the Marchenko-Pastur law.
        fine_sv: singular values from 0 to past the edge for the law's line, ``(F,)``.
        fine_density: the Marchenko-Pastur density there, ``(F,)``.
    """

    aspect_ratio: float
    noise_sv: np.ndarray
    ks: float
    spiked_s_bar: np.ndarray
    spiked_sv: np.ndarray
    predicted_outliers: np.ndarray
    bulk_edge: float
    fine_sv: np.ndarray
    fine_density: np.ndarray


def run_noise_bulk(
    setup: LGSetup, sizes: EarlyStoppingSizes, *, rng: np.random.Generator
) -> BulkResult:
    """The Marchenko-Pastur bulk and three outliers above it (Lampinen & Ganguli 2019, Sec. 2.2).

    Draws the noise matrix from ``rng`` itself, then the teacher and the noise of the rank-3 data
    from one spawned child each.

    Args:
        setup: the physical parameters.
        sizes: chapter 2's sizes (``rmt_n_in``, ``rmt_n_out``).
        rng: source of randomness.

    Returns:
        A :class:`BulkResult`.
    """
    _check_common(setup, sizes, rng)
    n_in, n_out = sizes.rmt_n_in, sizes.rmt_n_out
    law = dict(aspect_ratio=n_out / n_in, noise_std=setup.noise_std)
    noise = rng.standard_normal((n_out, n_in)) / np.sqrt(n_in) * setup.noise_std
    sv = np.linalg.svd(noise, compute_uv=False)
    ks = stats.kstest(sv, lambda s: mp_cdf(s, **law)).statistic
    s_bar = np.array([3.0, 2.0, 1.5])
    spiked = setup.draw(n_in, n_out, s_bar, 1, rng=rng)
    edge = mp_edges(**law)[1]
    fine = np.linspace(0, edge + 0.2, 400)
    return BulkResult(
        aspect_ratio=law["aspect_ratio"],
        noise_sv=sv,
        ks=float(ks),
        spiked_s_bar=s_bar,
        spiked_sv=spiked.s_hat[0],
        predicted_outliers=outlier_singular_value(s_bar, **law),
        bulk_edge=float(edge),
        fine_sv=fine,
        fine_density=mp_density(fine, **law),
    )


@dataclass(frozen=True)
class OutlierResult:
    """The top singular value and overlaps of noisy rank-1 data against the teacher's strength.

    Attributes:
        grid: teacher strength ``s_bar`` x seed of the sweep.
        aspect_ratio: A = N3 / N1.
        top: top singular value of each data set, ``(s_bar, seed)``.
        o_u, o_v: |u_hat . u_bar| and |v_hat . v_bar| of the top modes, ``(s_bar, seed)``.
        predicted_top, predicted_o_u, predicted_o_v: their predictions, ``(s_bar,)``.
        claim_grid: the draws at s_bar = 2 the claims average over (``s_bar`` x seed).
        claim_top, claim_overlap: top singular value and O = O_u O_v there, ``(1, seed)``.
        claim_predicted_top, claim_predicted_overlap: their predictions.
        threshold: the detection threshold A^(1/4).
        fine_s_bar: a fine grid of teacher strengths for the theory lines, ``(F,)``.
        fine_top, fine_o_u, fine_o_v: predicted there, ``(F,)``.
    """

    grid: Grid
    aspect_ratio: float
    top: np.ndarray
    o_u: np.ndarray
    o_v: np.ndarray
    predicted_top: np.ndarray
    predicted_o_u: np.ndarray
    predicted_o_v: np.ndarray
    claim_grid: Grid
    claim_top: np.ndarray
    claim_overlap: np.ndarray
    claim_predicted_top: float
    claim_predicted_overlap: float
    threshold: float
    fine_s_bar: np.ndarray
    fine_top: np.ndarray
    fine_o_u: np.ndarray
    fine_o_v: np.ndarray


def _top_overlaps(data) -> tuple[np.ndarray, np.ndarray]:
    o_u = np.abs(np.einsum("bi,bi->b", data.U_hat[:, :, 0], data.teacher.U[:, :, 0]))
    o_v = np.abs(np.einsum("bi,bi->b", data.V_hat[:, :, 0], data.teacher.V[:, :, 0]))
    return o_u, o_v


def run_outliers(
    setup: LGSetup, sizes: EarlyStoppingSizes, *, rng: np.random.Generator
) -> OutlierResult:
    """Outlier singular value and singular-vector overlaps of noisy rank-1 data (Lampinen & Ganguli
    2019, Sec. 2.2; Benaych-Georges & Nadakuditi 2012).

    Sweeps ``n_sbar_grid`` teacher strengths in [0.25, 5] with ``rmt_seeds`` draws each, then draws
    ``rmt_claim_seeds`` data sets at s_bar = 2 for the claims (two spawned children per batch).

    Args:
        setup: the physical parameters.
        sizes: chapter 2's sizes (``rmt_*``, ``n_sbar_grid``).
        rng: source of randomness.

    Returns:
        An :class:`OutlierResult`.
    """
    _check_common(setup, sizes, rng)
    n_in, n_out = sizes.rmt_n_in, sizes.rmt_n_out
    a = n_out / n_in
    law = dict(aspect_ratio=a, noise_std=setup.noise_std)
    grid = Grid(axes={"s_bar": np.linspace(0.25, 5.0, sizes.n_sbar_grid)}, n_seeds=sizes.rmt_seeds)
    s_bar = grid.axes["s_bar"]
    sweep = setup.draw(n_in, n_out, s_bar[:, None], grid.n_seeds, rng=rng)
    o_u, o_v = _top_overlaps(sweep)
    claim_grid = Grid(axes={"s_bar": np.array([2.0])}, n_seeds=sizes.rmt_claim_seeds)
    claim = setup.draw(n_in, n_out, [[2.0]], claim_grid.n_seeds, rng=rng)
    c_u, c_v = _top_overlaps(claim)
    p_u, p_v = overlap_factors(s_bar, **law)
    fine = np.linspace(0.0, 5.2, 400)
    f_u, f_v = overlap_factors(fine, **law)
    return OutlierResult(
        grid=grid,
        aspect_ratio=a,
        top=grid.unflatten(sweep.s_hat[:, 0]),
        o_u=grid.unflatten(o_u),
        o_v=grid.unflatten(o_v),
        predicted_top=outlier_singular_value(s_bar, **law),
        predicted_o_u=p_u,
        predicted_o_v=p_v,
        claim_grid=claim_grid,
        claim_top=claim_grid.unflatten(claim.s_hat[:, 0]),
        claim_overlap=claim_grid.unflatten(c_u * c_v),
        claim_predicted_top=float(outlier_singular_value(2.0, **law)),
        claim_predicted_overlap=float(overlap(2.0, **law)),
        threshold=float(detection_threshold(**law)),
        fine_s_bar=fine,
        fine_top=outlier_singular_value(fine, **law),
        fine_o_u=f_u,
        fine_o_v=f_v,
    )


@dataclass(frozen=True)
class CurvesResult:
    """Train and test error over time of training-aligned students, predicted beside measured.

    Attributes:
        grid: teacher ``rank`` x ``snr`` (multiplier m, singular values m (r, ..., 1)) x seed.
        epochs: recorded epochs, ``(T,)``.
        train_error, test_error: measured, ``(T, rank, snr, seed)``.
        predicted_train, predicted_test: predicted, ``(T, rank, snr)``.
        t_opt, min_error: per run, the recorded epoch of smallest test error and that error,
            ``(rank, snr, seed)``.
        predicted_t_opt, predicted_min_error: predicted, ``(rank, snr)``, one condition at a time.
        fine_snr: a fine grid of multipliers for the theory lines, ``(F,)``, densest near the
            threshold, where the optimal stopping time changes fastest.
        fine_t_opt, fine_min_error: predicted there, ``(rank, F)``.
        fine_jumps: ``(rank, F - 1)``, True where the predicted optimal stopping time jumps between
            two neighbouring grid points (the global minimum of the test error moves to another
            local minimum, or the threshold is crossed), not merely rises steeply; see
            :func:`~dltheory.experiments._fine_lines.jumps`. A line is broken there, not joined.
    """

    grid: Grid
    epochs: np.ndarray
    train_error: np.ndarray
    test_error: np.ndarray
    predicted_train: np.ndarray
    predicted_test: np.ndarray
    t_opt: np.ndarray
    min_error: np.ndarray
    predicted_t_opt: np.ndarray
    predicted_min_error: np.ndarray
    fine_snr: np.ndarray
    fine_t_opt: np.ndarray
    fine_min_error: np.ndarray
    fine_jumps: np.ndarray

    def t_opt_line(self, i: int) -> tuple[np.ndarray, np.ndarray]:
        """``(snr, t_opt)`` of rank index ``i`` on the fine grid, with a ``nan`` in ``t_opt`` (at the
        interval's midpoint) at every jump, where a plotted line breaks."""
        i = check_int("i", i, minimum=0)
        if i >= self.fine_t_opt.shape[0]:
            raise ValueError(
                f"i must be below the number of ranks {self.fine_t_opt.shape[0]}, got {i}"
            )
        x, y, cut = self.fine_snr, self.fine_t_opt[i], np.flatnonzero(self.fine_jumps[i]) + 1
        return np.insert(x, cut, (x[cut - 1] + x[cut]) / 2), np.insert(y, cut, np.nan)


def run_error_curves(
    setup: LGSetup,
    sizes: EarlyStoppingSizes,
    *,
    rng: np.random.Generator,
    ranks=(1, 3),
    multipliers=MULTIPLIERS,
) -> CurvesResult:
    """Error curves and optimal stopping on a rank x SNR grid (Lampinen & Ganguli 2019, Sec. 2.3-2.4).

    For each rank in order, draws ``n_seeds`` data sets per SNR of :func:`snr_grid` (two spawned
    children) and trains them from aligned initialisation, exactly in mode space.

    Args:
        setup: the physical parameters.
        sizes: chapter 2's sizes.
        rng: source of randomness.
        ranks: teacher ranks, each in [1, N3].
        multipliers: SNR multipliers after the threshold, each > 0.

    Returns:
        A :class:`CurvesResult`.
    """
    _check_common(setup, sizes, rng)
    if not isinstance(ranks, tuple | list) or not ranks:
        raise ValueError(f"ranks must be a non-empty tuple of teacher ranks, got {ranks!r}")
    ranks = [check_int("ranks", r) for r in ranks]
    if max(ranks) > sizes.n_out:
        raise ValueError(f"ranks must be at most N3 = {sizes.n_out}, got {ranks}")
    snrs = snr_grid(setup, sizes, multipliers)
    grid = Grid(axes={"rank": np.array(ranks), "snr": snrs}, n_seeds=sizes.n_seeds)
    theory = setup.theory(sizes.n_in, sizes.n_out)
    teachers = {r: np.stack([snr_singular_values(r, m) for m in snrs]) for r in ranks}
    runs = {
        r: _train(
            setup, sizes, setup.draw(sizes.n_in, sizes.n_out, teachers[r], grid.n_seeds, rng=rng)
        )
        for r in ranks
    }
    t = runs[ranks[0]].steps
    curves = [predicted_error_curves(t, teachers[r], hidden=sizes.hidden, **theory) for r in ranks]
    shape = grid.shape[1:]
    optima = [empirical_optimal_stopping(t, runs[r].test_error) for r in ranks]
    predicted = np.array(
        [
            [predicted_optimal_stopping(s, hidden=sizes.hidden, **theory) for s in teachers[r]]
            for r in ranks
        ]
    )
    fine = fine_snr()

    def optimum(m, r):
        s_bar = np.asarray(m)[:, None] * np.arange(r, 0, -1.0)
        return predicted_optimal_stopping(s_bar, hidden=sizes.hidden, **theory)

    fine_opt = [optimum(fine, r) for r in ranks]
    fine_jumps = np.stack(
        [
            jumps(fine, f[0], lambda m, r=r: optimum(m, r)[0])
            for f, r in zip(fine_opt, ranks, strict=True)
        ]
    )
    return CurvesResult(
        grid=grid,
        epochs=t,
        train_error=grid.unflatten(np.concatenate([runs[r].train_error for r in ranks], 1), 1),
        test_error=grid.unflatten(np.concatenate([runs[r].test_error for r in ranks], 1), 1),
        predicted_train=np.stack([c.train for c in curves], axis=1),
        predicted_test=np.stack([c.test for c in curves], axis=1),
        t_opt=np.stack([o[0].reshape(shape) for o in optima]),
        min_error=np.stack([o[1].reshape(shape) for o in optima]),
        predicted_t_opt=predicted[:, :, 0],
        predicted_min_error=predicted[:, :, 1],
        fine_snr=fine,
        fine_t_opt=np.stack([f[0] for f in fine_opt]),
        fine_min_error=np.stack([f[1] for f in fine_opt]),
        fine_jumps=fine_jumps,
    )


@dataclass(frozen=True)
class StoppingResult:
    """Optimal stopping of training-aligned students on one teacher, predicted beside measured.

    Attributes:
        grid: ``teacher`` (its singular values) x seed.
        t_opt, min_error: per run, ``(teacher, seed)``.
        predicted_t_opt, predicted_min_error: ``(teacher,)``.
        selection_bias: the seed mean of the per-run minima minus the minimum of the seed-mean test
            error curve, ``(teacher,)``. Stopping each run at its own best recorded epoch picks its
            luckiest moment, so the mean of the minima lies below the minimum of the mean curve,
            which is what the theory predicts; measured on the same runs, no theory involved.
    """

    grid: Grid
    t_opt: np.ndarray
    min_error: np.ndarray
    predicted_t_opt: np.ndarray
    predicted_min_error: np.ndarray
    selection_bias: np.ndarray


def run_optimal_stopping(
    setup: LGSetup, sizes: EarlyStoppingSizes, s_bar, *, rng: np.random.Generator
) -> StoppingResult:
    """Optimal stopping time and minimal test error for teachers ``s_bar`` (Lampinen & Ganguli 2019,
    Sec. 2.4): ``n_seeds`` data sets each (two spawned children), aligned initialisation.

    Args:
        setup: the physical parameters.
        sizes: chapter 2's sizes.
        s_bar: teacher singular values, ``(r,)`` for one teacher or ``(K, r)``; each > 0, r <= N3.
        rng: source of randomness.

    Returns:
        A :class:`StoppingResult`.
    """
    _check_common(setup, sizes, rng)
    s = as_float_array("s_bar", s_bar)
    s2 = np.atleast_2d(s)
    if s2.ndim != 2 or 0 in s2.shape or np.any(s2 <= 0) or s2.shape[1] > sizes.n_out:
        raise ValueError(
            f"s_bar must be (r,) or (K, r) positive values with r <= N3, got {s_bar!r}"
        )
    grid = Grid(axes={"teacher": s2}, n_seeds=sizes.n_seeds)
    theory = setup.theory(sizes.n_in, sizes.n_out)
    run = _train(setup, sizes, setup.draw(sizes.n_in, sizes.n_out, s, grid.n_seeds, rng=rng))
    t_opt, err = empirical_optimal_stopping(run.steps, run.test_error)
    predicted = np.array([predicted_optimal_stopping(x, hidden=sizes.hidden, **theory) for x in s2])
    curves = grid.unflatten(run.test_error, 1)  # (T, teacher, seed)
    return StoppingResult(
        grid=grid,
        t_opt=grid.unflatten(t_opt),
        min_error=grid.unflatten(err),
        predicted_t_opt=predicted[:, 0],
        predicted_min_error=predicted[:, 1],
        selection_bias=curves.min(axis=0).mean(axis=-1) - curves.mean(axis=-1).min(axis=0),
    )
