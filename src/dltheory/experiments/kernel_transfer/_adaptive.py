"""The adaptive kernel of one task: the weight-decay fixed point and its NTK, the effective ridge
against richness, and the adaptive against the lazy kernel predictor (chapter 6, first half)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from dltheory.config import KernelTransferSizes
from dltheory.datasets import aligned_teachers, gaussian_task
from dltheory.experiments._grid import Grid
from dltheory.experiments.kernel_transfer._common import KernelTransferSetup, _check_args, _fit
from dltheory.kernel_nets import empirical_ntk, init_params, linear_map
from dltheory.kernel_training import train
from dltheory.progress import progress_bar
from dltheory.theory.kernels import (
    kernel_predictor,
    predicted_adaptive_kernel,
    predicted_fixed_point,
    predicted_lazy_beta,
    predicted_test_mse,
    weight_decay_threshold,
)

FIXED_POINT_PN = ((30, 64), (60, 256), (120, 256))
"""(P, N) of the fixed-point checks: nested data sets of one teacher, two widths."""
N_FRESH = 50  # fresh inputs the trained kernels are compared on
THRESHOLD_FACTORS = (0.5, 2.0)  # weight decay as a multiple of the threshold, on the first data set
GAMMA_SWEEP_P = 60  # samples in the richness sweep


@dataclass(frozen=True)
class FixedPointResult:
    """Weight-decay fixed points of single networks, one per (P, N) of :data:`FIXED_POINT_PN`.

    Attributes:
        P: samples per condition, ``(C,)``; the data sets are nested (the first P of one draw).
        width: hidden width per condition, ``(C,)``.
        teacher: the teacher beta_*, ``(D,)``.
        beta_predicted: fixed point of the theory, ``(C, D)``.
        beta_measured: the trained network's beta, ``(C, D)``.
        beta_error: |beta_measured - beta_predicted| / |beta_predicted|, ``(C,)``.
        kernel_predicted: adaptive kernel of the theory on fresh inputs, ``(C, 50, 50)``.
        kernel_measured: the trained network's empirical NTK on them, ``(C, 50, 50)``.
        kernel_error: relative Frobenius error of the kernel, ``(C,)``.
        kappa_predicted: effective ridge of the theory, ``(C,)``.
        kappa_measured: the ridge the trained network implements, read off its training residual
            (:func:`_implemented_ridge`), ``(C,)``.
        mse_predicted: test MSE of the theory's beta, ``(C,)``.
        mse_measured: test MSE of the network, ``(C,)``.
        speed: final relative speed |theta'| / |theta| of each network, ``(C,)``.
        lam_c: weight-decay threshold gamma |X^T y| / sqrt(D) of the first data set.
        threshold_factors: weight decays of the threshold runs, as multiples of ``lam_c``, ``(2,)``.
        threshold_norm_predicted: |beta| of the theory at those weight decays, ``(2,)``.
        threshold_norm_measured: |beta| of a width-64 network trained there, ``(2,)``.
    """

    P: np.ndarray
    width: np.ndarray
    teacher: np.ndarray
    beta_predicted: np.ndarray
    beta_measured: np.ndarray
    beta_error: np.ndarray
    kernel_predicted: np.ndarray
    kernel_measured: np.ndarray
    kernel_error: np.ndarray
    kappa_predicted: np.ndarray
    kappa_measured: np.ndarray
    mse_predicted: np.ndarray
    mse_measured: np.ndarray
    speed: np.ndarray
    lam_c: float
    threshold_factors: np.ndarray
    threshold_norm_predicted: np.ndarray
    threshold_norm_measured: np.ndarray

    def kappa_trend(self, which: str) -> list[int]:
        """Signs of the successive differences of the effective ridge over the conditions (-1: it
        falls as P grows); ``which`` is ``"predicted"`` or ``"measured"``."""
        if which not in ("predicted", "measured"):
            raise ValueError(f"which must be 'predicted' or 'measured', got {which!r}")
        return np.sign(np.diff(getattr(self, f"kappa_{which}"))).astype(int).tolist()

    def glue(self) -> dict[str, float]:
        """The numbers the chapter's prose quotes, by glue name."""
        out = {
            "worst_beta": float(self.beta_error.max()),
            "worst_K": float(self.kernel_error.max()),
        }
        for P, k, m, t in zip(
            self.P, self.kappa_measured, self.mse_measured, self.mse_predicted, strict=True
        ):
            out |= {f"kappa_{P}": float(k), f"mse_{P}": float(m), f"mse_th_{P}": float(t)}
        net, th = self.threshold_norm_measured.tolist(), self.threshold_norm_predicted.tolist()
        return (
            out
            | {"lam_c": self.lam_c, "thr_half_net": net[0], "thr_half_th": th[0]}
            | {"thr_two_net": net[1]}
        )


def _implemented_ridge(X: np.ndarray, y: np.ndarray, beta: np.ndarray) -> float:
    """The ridge ``kappa`` for which ``beta`` best solves ``(X^T X / D + kappa I) beta = X^T y / sqrt D``.

    Least squares in ``kappa``: ``kappa = beta . u / |beta|^2`` with ``u = X^T (y - X beta / sqrt D) /
    sqrt D``. It uses only the network's function on its training data, not ``lam`` or ``gamma``, so it
    tests the theory's ``kappa = lam / (gamma |beta|)`` instead of restating it.
    """
    D = X.shape[1]
    u = X.T @ (y - X @ beta / np.sqrt(D)) / np.sqrt(D)
    return float(beta @ u / (beta @ beta))


def run_fixed_point(
    setup: KernelTransferSetup, sizes: KernelTransferSizes, *, rng: np.random.Generator
) -> FixedPointResult:
    """Train one network per (P, N) to its weight-decay fixed point; then the threshold runs.

    Draws from ``rng`` in this order: the teacher, the largest data set, the fresh inputs, one
    initialisation per (P, N), the initialisation of the threshold runs.

    Args:
        setup: physical parameters.
        sizes: ``steps`` is used.
        rng: numpy generator.

    Returns:
        :class:`FixedPointResult`.
    """
    _check_args(setup, sizes, rng)
    D, gamma, lam = setup.D, setup.gamma, setup.lam
    fit = _fit(setup, sizes)
    teacher, _ = aligned_teachers(D, 0.0, rng=rng)
    X_all, y_all = gaussian_task(teacher, max(p for p, _ in FIXED_POINT_PN), rng=rng)
    X_fresh, _ = gaussian_task(teacher, N_FRESH, rng=rng)
    rows = []
    for P, width in FIXED_POINT_PN:
        X, y = X_all[:P], y_all[:P]
        theory = predicted_fixed_point(X, y, gamma=gamma, lam=lam)
        run = train(init_params(D, width, rng=rng), X, y, lam=lam, **fit)
        beta = linear_map(run.params, gamma=gamma).numpy()
        K = empirical_ntk(run.params, X_fresh, X_fresh, gamma=gamma).numpy()
        K_th = predicted_adaptive_kernel(X_fresh, X_fresh, theory.beta, gamma=gamma)
        rows.append(  # the fields of FixedPointResult from beta_predicted to speed, in order
            (
                theory.beta, beta, np.linalg.norm(beta - theory.beta) / theory.norm,
                K_th, K, np.linalg.norm(K - K_th) / np.linalg.norm(K_th),
                theory.kappa, _implemented_ridge(X, y, beta),
                predicted_test_mse(theory.beta, teacher), predicted_test_mse(beta, teacher),
                float(run.speed),
            )
        )  # fmt: skip
    cols = [np.array(c) for c in zip(*rows, strict=True)]
    P0 = FIXED_POINT_PN[0][0]
    X0, y0 = X_all[:P0], y_all[:P0]
    lam_c = weight_decay_threshold(X0, y0, gamma=gamma)
    p_thr = init_params(D, FIXED_POINT_PN[0][1], rng=rng)
    norms = []
    for factor in THRESHOLD_FACTORS:
        run = train(p_thr, X0, y0, lam=factor * lam_c, **fit)
        norms.append(
            (
                np.linalg.norm(linear_map(run.params, gamma=gamma).numpy()),
                predicted_fixed_point(X0, y0, gamma=gamma, lam=factor * lam_c).norm,
            )
        )
    return FixedPointResult(
        np.array([p for p, _ in FIXED_POINT_PN]), np.array([n for _, n in FIXED_POINT_PN]),
        teacher, *cols, lam_c=float(lam_c), threshold_factors=np.array(THRESHOLD_FACTORS),
        threshold_norm_predicted=np.array([n[1] for n in norms]),
        threshold_norm_measured=np.array([n[0] for n in norms]),
    )  # fmt: skip


# ------------------------------------------------------------------------------ richness


@dataclass(frozen=True)
class GammaSweepResult:
    """Effective ridge and test error against richness, on ``n_seeds`` data sets of P = 60.

    Attributes:
        grid: conditions ``gamma`` (the simulated richness values) times data sets.
        kappa_predicted: effective ridge of the theory, ``(gamma, seed)``.
        kappa_measured: lam / (gamma |beta|) of the trained networks, ``(gamma, seed)``.
        mse_predicted: test MSE of the theory, ``(gamma, seed)``.
        mse_measured: test MSE of the networks, ``(gamma, seed)``.
        curve_gamma: a fine richness grid for the theory curves, ``(G,)``.
        curve_kappa: the theory's kappa on it, mean over the data sets, ``(G,)`` (inf where the
            solution is zero).
        curve_mse: the theory's test MSE on it, mean over the data sets, ``(G,)``.
        mse_lazy: test MSE of the lazy predictor (ridge regression with ridge lam), ``(seed,)``.
        gamma_c: richness below which weight decay wins, per data set, ``(seed,)``.
        P: samples per data set.
    """

    grid: Grid
    kappa_predicted: np.ndarray
    kappa_measured: np.ndarray
    mse_predicted: np.ndarray
    mse_measured: np.ndarray
    curve_gamma: np.ndarray
    curve_kappa: np.ndarray
    curve_mse: np.ndarray
    mse_lazy: np.ndarray
    gamma_c: np.ndarray
    P: int


def run_gamma_sweep(
    setup: KernelTransferSetup, sizes: KernelTransferSizes, *, rng: np.random.Generator
) -> GammaSweepResult:
    """Train the same initial networks at ``sizes.n_gamma`` richness values from 0.1 to 4.

    Richer networks have larger kernels: at gamma > 1 the time step is divided by gamma and the step
    count multiplied by it, so every run reaches the same training time. Draws from ``rng``: the
    teachers, the data sets, one batch of initial networks.

    Args:
        setup: physical parameters (``gamma`` is swept, not used).
        sizes: ``n_seeds``, ``n_gamma``, ``width`` and ``steps`` are used.
        rng: numpy generator.

    Returns:
        :class:`GammaSweepResult`.
    """
    _check_args(setup, sizes, rng)
    D, lam, S = setup.D, setup.lam, sizes.n_seeds
    teachers, _ = aligned_teachers(D, np.zeros(S), rng=rng)
    X, y = gaussian_task(teachers, GAMMA_SWEEP_P, rng=rng)
    gamma_fine = np.geomspace(0.02, 10, 120)
    gamma_sim = np.geomspace(0.1, 4, sizes.n_gamma)

    def theory(gammas):
        fps = [
            [predicted_fixed_point(X[s], y[s], gamma=g, lam=lam) for g in gammas] for s in range(S)
        ]
        kappa = np.array([[f.kappa for f in row] for row in fps])
        mse = np.array(
            [[predicted_test_mse(f.beta, teachers[s]) for f in row] for s, row in enumerate(fps)]
        )
        return kappa, mse  # (seed, gamma)

    kappa_fine, mse_fine = theory(gamma_fine)
    kappa_th, mse_th = theory(gamma_sim)
    mse_lazy = np.array(
        [
            predicted_test_mse(predicted_lazy_beta(X[s], y[s], lam=lam), teachers[s])
            for s in range(S)
        ]
    )
    p0 = init_params(D, sizes.width, batch=(S,), rng=rng)
    kappa, mse = [], []
    for g in gamma_sim:
        slow = max(g, 1.0)
        run = train(p0, X, y, gamma=g, lam=lam, lr=setup.lr / slow, steps=int(sizes.steps * slow))
        b = linear_map(run.params, gamma=g).numpy()
        kappa.append(lam / (g * np.linalg.norm(b, axis=-1)))
        mse.append(predicted_test_mse(b, teachers))
    with np.errstate(invalid="ignore"):
        curve_kappa = kappa_fine.mean(0)
    return GammaSweepResult(
        grid=Grid(axes={"gamma": gamma_sim}, n_seeds=S),
        kappa_predicted=kappa_th.T.copy(), kappa_measured=np.array(kappa),
        mse_predicted=mse_th.T.copy(), mse_measured=np.array(mse),
        curve_gamma=gamma_fine, curve_kappa=curve_kappa, curve_mse=mse_fine.mean(0),
        mse_lazy=mse_lazy,
        gamma_c=np.array([lam / weight_decay_threshold(X[s], y[s], gamma=1.0) for s in range(S)]),
        P=GAMMA_SWEEP_P,
    )  # fmt: skip


# ------------------------------------------------------------------------------ adaptive vs lazy


@dataclass(frozen=True)
class AdaptiveVsLazyResult:
    """Kernel predictors K(x, X)(K + 2 lam I)^{-1} y with the empirical NTK after and before training.

    Attributes:
        grid: conditions ``P`` (training samples) times seeds (teacher, data set, initialisation).
        adaptive_predicted: test MSE of the theory's fixed point, ``(P, seed)``.
        adaptive_measured: test MSE with the NTK of the trained network, ``(P, seed)``.
        lazy_predicted: test MSE of ridge regression with ridge lam (the infinite-width lazy NTK
            2 x.x'/D with ridge 2 lam), ``(P, seed)``.
        lazy_measured: test MSE with the NTK of the initial network, ``(P, seed)``.
        gap_predicted: max over P >= D/2 of the seed-mean adaptive minus lazy MSE, theory.
        gap_measured: the same for the networks.
    """

    grid: Grid
    adaptive_predicted: np.ndarray
    adaptive_measured: np.ndarray
    lazy_predicted: np.ndarray
    lazy_measured: np.ndarray
    gap_predicted: float
    gap_measured: float


def run_adaptive_vs_lazy(
    setup: KernelTransferSetup, sizes: KernelTransferSizes, *, rng: np.random.Generator
) -> AdaptiveVsLazyResult:
    """Adaptive against lazy kernel predictors for ``sizes.n_p_grid`` sample sizes from 5 to 80.

    Draws from ``rng``: the teachers, then for each P its data sets and initial networks.

    Args:
        setup: physical parameters.
        sizes: ``n_seeds``, ``n_p_grid``, ``width`` and ``steps`` are used.
        rng: numpy generator.

    Returns:
        :class:`AdaptiveVsLazyResult`.
    """
    _check_args(setup, sizes, rng)
    D, gamma, lam, S = setup.D, setup.gamma, setup.lam, sizes.n_seeds
    E = np.sqrt(D) * np.eye(D)
    P_grid = np.unique(np.round(np.linspace(5, 80, sizes.n_p_grid)).astype(int))
    teachers, _ = aligned_teachers(D, np.zeros(S), rng=rng)
    ad, lz, ad_th, lz_th = (np.zeros((S, P_grid.size)) for _ in range(4))
    with progress_bar(total=P_grid.size, desc="P sweep") as bar:
        for j, P in enumerate(P_grid):
            X, y = gaussian_task(teachers, int(P), rng=rng)
            p0 = init_params(D, sizes.width, batch=(S,), rng=rng)
            run = train(p0, X, y, lam=lam, **_fit(setup, sizes))
            for s in range(S):
                beta = {}
                for name, params in (("adaptive", run.params[s]), ("lazy", p0[s])):
                    K = empirical_ntk(params, X[s], X[s], gamma=gamma).numpy()
                    Kx = empirical_ntk(params, E, X[s], gamma=gamma).numpy()
                    beta[name] = kernel_predictor(K, Kx, y[s], ridge=2 * lam)
                ad[s, j] = predicted_test_mse(beta["adaptive"], teachers[s])
                lz[s, j] = predicted_test_mse(beta["lazy"], teachers[s])
                fp = predicted_fixed_point(X[s], y[s], gamma=gamma, lam=lam)
                ad_th[s, j] = predicted_test_mse(fp.beta, teachers[s])
                lz_th[s, j] = predicted_test_mse(
                    predicted_lazy_beta(X[s], y[s], lam=lam), teachers[s]
                )
            bar.update()
    big = P_grid >= D / 2
    return AdaptiveVsLazyResult(
        grid=Grid(axes={"P": P_grid}, n_seeds=S),
        adaptive_predicted=ad_th.T.copy(), adaptive_measured=ad.T.copy(),
        lazy_predicted=lz_th.T.copy(), lazy_measured=lz.T.copy(),
        gap_predicted=np.max(ad_th[:, big].mean(0) - lz_th[:, big].mean(0)),
        gap_measured=np.max(ad[:, big].mean(0) - lz[:, big].mean(0)),
    )  # fmt: skip
