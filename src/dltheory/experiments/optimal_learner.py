"""The optimal non-gradient learner against optimally stopped gradient descent: Lampinen & Ganguli
(2019), "An analytic theory of generalization dynamics and transfer learning in deep linear networks",
arXiv:1809.10374, Sec. 2.5.

Among learners that keep the singular vectors of the data Sigma^31 = W_bar + Z and choose only the
strength of each mode, the test error is smallest for the strength s_bar O(s_bar) on every outlier
and 0 in the bulk; written as a function of the data singular value it is the Frobenius-optimal
shrinker of Gavish & Donoho 2017 (arXiv:1405.7511). Gradient descent from small aligned weights gives
every mode its own sigmoid s(t, s_hat) but shares one stopping time among them. Each learner is run
on the same data sets (:mod:`dltheory.shrinkage`) beside gradient descent in mode space, and its
asymptotic test error (:mod:`dltheory.theory.optimal_learner`) is kept beside the measured one.

The random streams are consumed in a fixed order (chapter 3 relies on it): :func:`run_plugin_example`
draws one rank-3 teacher and its noise; :func:`run_learners` draws, for the rank-1 and the rank-3 SNR
sweeps, the rank-1 claim conditions and the rank-3 teacher in turn, the teachers, the training noise
and the held-out noise; :func:`run_finite_size` draws, for each N1 in turn, the teachers and the noise.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from dltheory._checks import as_float_array, check_int, check_rng
from dltheory.config import OptimalLearnerSizes
from dltheory.experiments._grid import Grid
from dltheory.experiments.lampinen_ganguli import LGSetup
from dltheory.linear_nets import GDRecord, empirical_optimal_stopping
from dltheory.shrinkage import (
    Estimate,
    empirical_best_strengths,
    empirical_learner_errors,
    empirical_test_error,
    oracle_estimate,
    plugin_estimate,
)
from dltheory.teachers import NoisyData, noisy_data, snr_singular_values
from dltheory.theory.generalization import predicted_optimal_stopping
from dltheory.theory.mode_dynamics import predicted_time_to_strength
from dltheory.theory.optimal_learner import (
    optimal_shrinkage,
    predicted_learner_error,
    predicted_optimal_error,
)
from dltheory.theory.random_matrix import outlier_singular_value

__all__ = [
    "RANK3",
    "LEARNERS",
    "CLAIM_SNRS",
    "PluginExample",
    "LearnerRun",
    "LearnerComparison",
    "FiniteSizeResult",
    "predicted_errors",
    "run_plugin_example",
    "run_learners",
    "run_finite_size",
]

RANK3 = snr_singular_values(3, 1.0)
"""The rank-3 teacher of the chapter, singular values (3, 2, 1)."""

LEARNERS = (
    "plugin",
    "gd_stopped",
    "least_squares",
    "ridge",
    "truncated_svd",
    "hard_threshold",
    "soft_threshold",
)
"""The learners compared, each with a closed-form asymptotic error (:func:`predicted_errors`)."""

_MAPS = ("least_squares", "ridge", "truncated_svd", "hard_threshold", "soft_threshold")
CLAIM_SNRS = (2.0, 4.0)
"""SNRs of the rank-1 claims; the third rank-1 condition is the detection threshold."""


def _check(setup, sizes) -> None:
    if not isinstance(setup, LGSetup):
        raise TypeError(f"setup must be an LGSetup, got {type(setup).__name__}")
    if not isinstance(sizes, OptimalLearnerSizes):
        raise TypeError(f"sizes must be an OptimalLearnerSizes, got {type(sizes).__name__}")
    r = len(RANK3)
    if not r <= sizes.n_out <= sizes.n_in or sizes.hidden < r:
        raise ValueError(
            f"sizes must have {r} <= n_out <= n_in and hidden >= {r} (the teacher has rank {r}), "
            f"got n_in={sizes.n_in}, n_out={sizes.n_out}, hidden={sizes.hidden}"
        )
    if min(sizes.finite_size_n_in, default=0) < 2 * r:
        raise ValueError(
            f"sizes.finite_size_n_in must be non-empty with every N1 >= {2 * r} (N3 = N1 / 2 >= "
            f"{r}), got {sizes.finite_size_n_in}"
        )


def _theory(setup: LGSetup, sizes: OptimalLearnerSizes, s_bar: np.ndarray):
    """Asymptotic test errors per learner, ``(conditions,)`` each, and GD's optimal stopping time."""
    n_in, n_out = sizes.n_in, sizes.n_out
    out = {
        name: predicted_learner_error(
            s_bar, name, n_in=n_in, n_out=n_out, noise_std=setup.noise_std
        )
        for name in _MAPS
    }
    t_opt, out["gd_stopped"] = predicted_optimal_stopping(
        s_bar, hidden=sizes.hidden, **setup.theory(n_in, n_out)
    )
    best = predicted_optimal_error(s_bar, aspect_ratio=n_out / n_in, noise_std=setup.noise_std)
    for name in ("plugin", "oracle", "best"):  # all three tend to the optimal error
        out[name] = best.copy()
    return out, t_opt


def predicted_errors(setup: LGSetup, sizes: OptimalLearnerSizes, s_bar) -> dict[str, np.ndarray]:
    """Asymptotic test error of every learner for each teacher (rows of ``s_bar``).

    The fixed maps s_hat -> s use :func:`dltheory.theory.optimal_learner.predicted_learner_error`;
    optimally stopped gradient descent uses
    :func:`dltheory.theory.generalization.predicted_optimal_stopping`; the plug-in learner, the oracle
    and the per-data-set floor ``"best"`` all tend to the optimal error
    :func:`dltheory.theory.optimal_learner.predicted_optimal_error` (Lampinen & Ganguli 2019,
    Sec. 2.5).

    Args:
        setup: the physical parameters (noise level, learning rate, initial strength).
        sizes: N1, N3 and the hidden width N2.
        s_bar: teacher singular values, ``(conditions, r)``, each > 0.

    Returns:
        learner -> error, ``(conditions,)``, for the keys of :data:`LEARNERS` and ``"oracle"``,
        ``"best"``.
    """
    _check(setup, sizes)
    s_bar = as_float_array("s_bar", s_bar, ndim=2)
    if 0 in s_bar.shape or np.any(s_bar <= 0):
        raise ValueError(
            f"s_bar must be a non-empty (conditions, r) array of values > 0, got {s_bar}"
        )
    return _theory(setup, sizes, s_bar)[0]


@dataclass(frozen=True)
class PluginExample:
    """The plug-in learner on one data set of the teacher (3, 2, 1).

    Attributes:
        data: the data set (a batch of one).
        estimate: the plug-in estimate of it (no batch axis).
        s_hat_weak: predicted outlier of the weakest teacher mode, s_hat(1).
        s_weak: the optimal strength of that outlier, eta(s_hat(1)).
    """

    data: NoisyData
    estimate: Estimate
    s_hat_weak: float
    s_weak: float

    @property
    def glue(self) -> dict:
        """Numbers the chapter's prose quotes, by glue name."""
        return {
            "one_rank": int(self.estimate.rank),
            "shat_weak": self.s_hat_weak,
            "opt_weak": self.s_weak,
        }


def run_plugin_example(
    setup: LGSetup, sizes: OptimalLearnerSizes, *, rng: np.random.Generator
) -> PluginExample:
    """Draw one data set of the teacher (3, 2, 1) and apply the plug-in learner to it.

    Args:
        setup: the physical parameters.
        sizes: N1 and N3.
        rng: draws the teacher, then the noise.

    Returns:
        :class:`PluginExample`.
    """
    _check(setup, sizes)
    check_rng(rng)
    data = setup.draw(sizes.n_in, sizes.n_out, RANK3, 1, rng=rng)
    a, sigma = sizes.n_out / sizes.n_in, setup.noise_std
    weak = outlier_singular_value(RANK3[-1], aspect_ratio=a, noise_std=sigma)
    return PluginExample(
        data=data,
        estimate=plugin_estimate(data.sigma31[0]),
        s_hat_weak=float(weak),
        s_weak=float(optimal_shrinkage(weak, aspect_ratio=a, noise_std=sigma)),
    )


@dataclass(frozen=True)
class LearnerRun:
    """Every learner on ``n_seeds`` data sets per teacher ``s_bar = snr * base``.

    Attributes:
        grid: axis ``"snr"`` (the multiplier of ``base``; the SNR for rank 1) times the data sets.
        base: teacher singular values at multiplier 1, ``(r,)``.
        predicted: learner -> asymptotic test error, ``(snr,)`` (:func:`predicted_errors`).
        measured: learner -> test error, ``(snr, seed)``, for the keys of :data:`LEARNERS`, the
            ``"oracle"`` that knows s_bar and sigma and the floor ``"best"`` of
            :func:`dltheory.shrinkage.empirical_best_strengths`; ``"gd_stopped"`` is the smallest
            recorded test error of gradient descent.
        t_opt: predicted optimal stopping time of gradient descent in epochs, ``(snr,)``.
        data: the training data, flat batch (conditions-major).
        gd: gradient descent from aligned initialisation on every data set.
    """

    grid: Grid
    base: np.ndarray
    predicted: dict[str, np.ndarray]
    measured: dict[str, np.ndarray]
    t_opt: np.ndarray
    data: NoisyData
    gd: GDRecord

    def best_strengths(self, top: int = 5) -> tuple[np.ndarray, np.ndarray]:
        """``(s_hat, best)`` of the top data modes, ``(runs, top)`` each: the strength
        u_hat^T W_bar v_hat that minimises the test error, which needs the teacher."""
        top = check_int("top", top)
        s_hat, best = empirical_best_strengths(self.data.sigma31, self.data.teacher.W)
        return s_hat[:, :top], best[:, :top]

    def best_stopping_times(self, top: int = 3) -> tuple[np.ndarray, np.ndarray]:
        """``(s_hat, t)``, ``(runs, top)`` each: per data mode, the recorded epoch at which gradient
        descent's strength was closest to the mode's best strength."""
        s_hat, best = self.best_strengths(top)
        gap = np.abs(self.gd.mode_strength[:, :, :top] - best[None])
        return s_hat, self.gd.steps[np.argmin(gap, axis=0)]

    def plugin(self, snr: float | None = None) -> tuple[Estimate, np.ndarray]:
        """The plug-in estimates and the teachers of the data sets at ``snr`` (None: all)."""
        runs = slice(None) if snr is None else self.grid.runs_of(snr=snr)
        return plugin_estimate(self.data.sigma31[runs]), self.data.teacher.W[runs]


def _run(setup, sizes, snrs, base, n_seeds, rng) -> LearnerRun:
    grid = Grid(axes={"snr": snrs}, n_seeds=n_seeds)
    s_bar = snrs[:, None] * base
    data = setup.draw(sizes.n_in, sizes.n_out, s_bar, n_seeds, rng=rng)
    # a second set of targets for the same one-hot inputs, only to choose the ridge
    held_out = noisy_data(data.teacher, noise_std=setup.noise_std, rng=rng.spawn(1)[0])
    errors = empirical_learner_errors(
        data.sigma31,
        data.teacher.W,
        s_bar=data.teacher.s,
        noise_std=setup.noise_std,
        sigma31_val=held_out.sigma31,
    )
    gd = setup.train(
        data, hidden=sizes.hidden, epochs=sizes.epochs, record_every=sizes.record_every
    )
    errors["gd_stopped"] = empirical_optimal_stopping(gd.steps, gd.test_error)[1]
    predicted, t_opt = _theory(setup, sizes, s_bar)
    measured = {name: grid.unflatten(e) for name, e in errors.items()}
    return LearnerRun(grid, base, predicted, measured, t_opt, data, gd)


@dataclass(frozen=True)
class LearnerComparison:
    """Every learner on the SNR sweeps and on the conditions of the chapter's claims.

    Attributes:
        setup: the physical parameters.
        sizes: the sizes it ran at.
        sweep: teacher rank (1 or 3) -> the SNR sweep from the detection threshold to 10.
        rank1: rank-1 teachers at SNR 2, 4 and the detection threshold A^(1/4), in this order.
        rank3: the teacher (3, 2, 1) (one condition, snr = 1).
    """

    setup: LGSetup
    sizes: OptimalLearnerSizes
    sweep: dict[int, LearnerRun]
    rank1: LearnerRun
    rank3: LearnerRun

    @property
    def t_opt3(self) -> float:
        """Predicted optimal stopping time of gradient descent on the teacher (3, 2, 1), epochs."""
        return float(self.rank3.t_opt[0])

    @property
    def plugin_known_sigma(self) -> np.ndarray:
        """Test error of the plug-in learner told the true noise level, rank-3 data sets ``(seeds,)``."""
        data = self.rank3.data
        est = plugin_estimate(data.sigma31, noise_std=self.setup.noise_std)
        return empirical_test_error(est.W, data.teacher.W)

    @property
    def gap_fixed(self) -> np.ndarray:
        """Per rank-3 data set, ``(seeds,)``: test error of gradient descent stopped at the predicted
        optimal time :attr:`t_opt3` (the nearest recorded epoch) minus that of the plug-in learner
        told the noise level (:attr:`plugin_known_sigma`), which the predicted time uses too."""
        k = int(np.argmin(np.abs(self.rank3.gd.steps - self.t_opt3)))
        return self.rank3.gd.test_error[k] - self.plugin_known_sigma

    @property
    def gap_predicted(self) -> float:
        """Predicted gap: optimally stopped gradient descent minus the optimal learner, teacher (3, 2, 1)."""
        return float(self.rank3.predicted["gd_stopped"][0] - self.rank3.predicted["plugin"][0])

    @property
    def glue(self) -> dict:
        """Numbers the chapter's prose quotes, by glue name."""
        sizes, tau = self.sizes, self.setup.tau
        r1, r3 = self.rank1.measured, self.rank3.measured
        sub, sub_W = self.rank1.plugin(self.rank1.grid.axes["snr"][2])
        sub_norm = np.linalg.norm(sub.W, axis=(1, 2)) / np.linalg.norm(sub_W, axis=(1, 2))
        gap_sim = r3["gd_stopped"] - r3["plugin"]
        plugin_r3 = self.rank3.plugin()[0]
        k_fixed = int(np.argmin(np.abs(self.rank3.gd.steps - self.t_opt3)))
        gd_fixed = self.rank3.gd.test_error[k_fixed]
        a = sizes.n_out / sizes.n_in
        s_hat3 = outlier_singular_value(RANK3, aspect_ratio=a, noise_std=self.setup.noise_std)
        eta3 = optimal_shrinkage(s_hat3, aspect_ratio=a, noise_std=self.setup.noise_std)
        t_star = predicted_time_to_strength(eta3, s_hat3, eps=self.setup.eps, tau=tau)
        pred_r3, gd_pred_r3 = (self.rank3.predicted[k][0] for k in ("plugin", "gd_stopped"))
        return {
            "n1": sizes.n_in,
            "n3": sizes.n_out,
            "n_seeds": sizes.n_seeds,
            "n_claims": sizes.n_seeds_claims,
            "n_rank3": self.rank3.grid.n_seeds,
            "epochs": sizes.epochs,
            "t_opt3": self.t_opt3 / tau,
            **{f"t_star_{k}": float(t / tau) for k, t in enumerate(t_star)},
            "pred_snr2": float(self.rank1.predicted["plugin"][0]),
            "plugin_snr2": float(r1["plugin"][0].mean()),
            "gd_snr2": float(r1["gd_stopped"][0].mean()),
            "pred_r3": float(pred_r3),
            "plugin_r3": float(r3["plugin"].mean()),
            "oracle_r3": float(r3["oracle"].mean()),
            "gd_pred_r3": float(gd_pred_r3),
            "gd_sim_r3": float(r3["gd_stopped"].mean()),
            "gap_pred": float(gd_pred_r3 - pred_r3),
            "gap_sim": float(gap_sim.mean()),
            "gap_pct": float(100 * np.mean(gap_sim > 0)),
            "plugin_snr4": float(r1["plugin"][1].mean()),
            "oracle_snr4": float(r1["oracle"][1].mean()),
            "gd_snr4": float(r1["gd_stopped"][1].mean()),
            "plugin_sub": float(r1["plugin"][2].mean()),
            "plugin_sub_max": float(r1["plugin"][2].max()),
            "gd_sub": float(r1["gd_stopped"][2].mean()),
            "zero_pct": float(100 * np.mean(sub.rank == 0)),
            "sub_norm": float(sub_norm.mean()),
            "sigma_r3": float(plugin_r3.noise_std.mean()),
            "rank3_pct": float(100 * np.mean(plugin_r3.rank == 3)),
            "gd_fixed_r3": float(gd_fixed.mean()),
            "gap_fixed": float(np.mean(self.gap_fixed)),
            "gap_fixed_sigmahat": float(np.mean(gd_fixed - r3["plugin"][0])),
            "plugin_sigma_r3": float(np.mean(self.plugin_known_sigma)),
            "gap_fixed_se": float(np.std(self.gap_fixed, ddof=1) / np.sqrt(self.gap_fixed.size)),
        }


def run_learners(
    setup: LGSetup, sizes: OptimalLearnerSizes, *, rng: np.random.Generator
) -> LearnerComparison:
    """Every learner and gradient descent on the same data, over SNR and at the claimed conditions.

    Rank-1 teachers ``s_bar = m`` and rank-3 teachers ``m (3, 2, 1)`` for ``sizes.n_snr_grid``
    multipliers m from the detection threshold to 10 (``sizes.n_seeds`` data sets each), then
    ``sizes.n_seeds_claims`` data sets for rank 1 at SNR 2, 4 and the threshold and
    ``sizes.n_seeds_rank3`` (default ``n_seeds_claims``) for the teacher (3, 2, 1). Every data set gets a held-out copy with fresh noise for the ridge.

    Args:
        setup: the physical parameters.
        sizes: sizes, seeds and training length.
        rng: draws teachers, training noise and held-out noise for each group in turn.

    Returns:
        :class:`LearnerComparison`.
    """
    _check(setup, sizes)
    check_rng(rng)
    threshold = setup.threshold(sizes.n_in, sizes.n_out)
    snrs = np.geomspace(threshold, 10.0, sizes.n_snr_grid)
    base = {1: np.array([1.0]), 3: RANK3}
    sweep = {r: _run(setup, sizes, snrs, base[r], sizes.n_seeds, rng) for r in (1, 3)}
    n = sizes.n_seeds_claims
    rank1 = _run(setup, sizes, np.array([*CLAIM_SNRS, threshold]), base[1], n, rng)
    n3 = n if sizes.n_seeds_rank3 is None else sizes.n_seeds_rank3
    rank3 = _run(setup, sizes, np.array([1.0]), RANK3, n3, rng)
    return LearnerComparison(setup, sizes, sweep, rank1, rank3)


@dataclass(frozen=True)
class FiniteSizeResult:
    """The plug-in learner and the oracle on the teacher (3, 2, 1) at N3 = N1 / 2 for growing N1.

    Attributes:
        grid: axis ``"n_in"`` (N1) times the data sets.
        predicted: the asymptotic optimal error at aspect ratio 1/2.
        measured: ``"plugin"``, ``"oracle"`` and ``"plugin_sigma"`` (the plug-in told the true noise
            level) -> test error, ``(n_in, seed)``.
        noise_std: the plug-in learner's estimated noise level, ``(n_in, seed)``.
    """

    grid: Grid
    predicted: float
    measured: dict[str, np.ndarray]
    noise_std: np.ndarray

    @property
    def glue(self) -> dict:
        """Numbers the chapter's prose quotes, by glue name."""
        large = self.measured["plugin"][-1]
        return {
            "plugin_large": float(np.mean(large)),
            "n_large": int(self.grid.axes["n_in"][-1]),
            "finite_seeds": self.grid.n_seeds,
            "sigma_large": float(self.noise_std[-1].mean()),
            "plugin_large_sd": float(np.std(large, ddof=1)),
        }


def run_finite_size(
    setup: LGSetup, sizes: OptimalLearnerSizes, *, rng: np.random.Generator
) -> FiniteSizeResult:
    """Test error of the plug-in learner and the oracle for N1 in ``sizes.finite_size_n_in``.

    Args:
        setup: the physical parameters.
        sizes: ``finite_size_n_in`` and ``finite_size_seeds`` data sets per size.
        rng: draws, for each N1 in turn, the teachers and the noise.

    Returns:
        :class:`FiniteSizeResult`.
    """
    _check(setup, sizes)
    check_rng(rng)
    grid = Grid(axes={"n_in": np.array(sizes.finite_size_n_in)}, n_seeds=sizes.finite_size_seeds)
    errors = {"plugin": [], "oracle": [], "plugin_sigma": []}
    noise = []
    for n_in in grid.axes["n_in"]:
        data = setup.draw(int(n_in), int(n_in) // 2, RANK3, grid.n_seeds, rng=rng)
        plugin = plugin_estimate(data.sigma31)
        oracle = oracle_estimate(data.sigma31, RANK3, noise_std=setup.noise_std)
        errors["plugin"].append(empirical_test_error(plugin.W, data.teacher.W))
        errors["oracle"].append(empirical_test_error(oracle.W, data.teacher.W))
        known = plugin_estimate(data.sigma31, noise_std=setup.noise_std)
        errors["plugin_sigma"].append(empirical_test_error(known.W, data.teacher.W))
        noise.append(plugin.noise_std)
    predicted = predicted_optimal_error(RANK3, aspect_ratio=0.5, noise_std=setup.noise_std)
    measured = {name: np.array(e) for name, e in errors.items()}
    return FiniteSizeResult(grid, float(predicted), measured, np.array(noise))
