"""Readout transfer under plain gradient flow (no weight decay), predicted by the weight moments of
:mod:`dltheory.theory.linear_moments`: the book's derivation in the framework of Lauditi, Bordelon &
Pehlevan (2025), arXiv:2507.04448 (the parameterisation of the companion code of arXiv:2502.07998).

Without weight decay the source network keeps its initial features and adds a spike along the learned
direction, M_s = I + (spike), whose size grows with the source richness gamma_1; a readout on the frozen
features then depends on gamma_1 and on the source data ratio nu_1 = P_s / D. (With weight decay to
convergence M_s is rank one for every gamma_1 above threshold, and gamma_1 drops out.)
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from dltheory._checks import check_in_range, check_int, check_positive
from dltheory.config import KernelTransferSizes
from dltheory.datasets import aligned_teachers, gaussian_task
from dltheory.experiments._grid import Grid
from dltheory.experiments.kernel_transfer._common import _check_args, _test_inputs, flow_claim
from dltheory.kernel_nets import TwoLayerParams, feature_kernels, init_params, readout_predictions
from dltheory.kernel_training import train
from dltheory.theory.kernels import predicted_scratch_mse, predicted_test_mse
from dltheory.theory.linear_moments import (
    Moments,
    empirical_moments,
    infinite_width_start,
    integrate_source,
)

FLOW_GAMMAS = (0.05, 0.1, 0.2, 0.5, 1.0, 2.0)
"""Source richness values gamma_1 of the readout sweep (at P_s = setup.P_s)."""
FLOW_NU1 = (0.25, 0.5, 1.0, 2.0, 4.0)
"""Source data ratios nu_1 = P_s / D of the second sweep (at gamma_1 = setup.gamma)."""
FRESH_INITS = 4
"""Fresh width-N initialisations per source from which the theory gauges the typical finite-width bias."""


@dataclass(frozen=True)
class FlowSetup:
    """Physical parameters of the plain-gradient-flow transfer experiments.

    Attributes:
        D: input dimension.
        P_s: source samples of the richness sweep (and of the matched-scale comparison).
        P_t: target samples (at most D, at least 3).
        alpha: alignment cos(beta_s, beta_t) of every target teacher, in [-1, 1].
        gamma: source richness of the nu_1 sweep and of the matched-scale comparison.
        ridge: ridge of the readout on the frozen features (small: near min-norm).
        ridge_matched: ridge of the kernel regressions of the matched-scale comparison, large enough
            that the kernel's scale would matter if it were not matched.
        time: source training time (gradient descent for time / dt steps).
        dt: time step at gamma_1 <= 1 (divided by gamma_1 above, as the kernel grows with it).
    """

    D: int = 40
    P_s: int = 80
    P_t: int = 10
    alpha: float = 0.8
    gamma: float = 1.0
    ridge: float = 1e-3
    ridge_matched: float = 1.0
    time: float = 50.0
    dt: float = 0.02

    def __post_init__(self):
        object.__setattr__(self, "D", check_int("D", self.D, minimum=2))
        object.__setattr__(self, "P_s", check_int("P_s", self.P_s))
        object.__setattr__(self, "P_t", check_int("P_t", self.P_t, minimum=3))
        if self.P_t > self.D:
            raise ValueError(f"P_t must be at most D = {self.D}, got {self.P_t}")
        object.__setattr__(self, "alpha", check_in_range("alpha", self.alpha, -1.0, 1.0))
        for name in ("gamma", "ridge", "ridge_matched", "time", "dt"):
            object.__setattr__(self, name, check_positive(name, getattr(self, name)))


FLOW_SETUP = FlowSetup()
"""D = 40, P_s = 80, P_t = 10, alpha = 0.8, gamma = 1, readout ridge 1e-3, matched ridge 1, time 50."""


@dataclass(frozen=True)
class FlowTransferResult:
    """Readouts on frozen source features after plain gradient flow, theory beside networks.

    Seed values are means over the seed's ``n_targets`` target draws (the same draws for every
    condition, for theory and networks). ``*_predicted`` is the theory from the infinite-width start
    M = I, m = 0, q = 1. ``*_exact`` is the theory from each network's own initial moments, which
    reproduces that network to round-off: its difference from ``*_predicted`` is the finite-width
    effect on these networks. ``*_finite`` is the theory from :data:`FRESH_INITS` fresh width-N
    initialisations per source (not the networks'; same data and targets), averaged over them: the
    typical finite-width effect.

    Attributes:
        gamma: grid of gamma_1 (axis ``gamma``) times seeds.
        nu1: grid of nu_1 (axis ``nu1``) times seeds.
        readout_gamma_predicted, readout_gamma_measured, readout_gamma_finite, readout_gamma_exact:
            readout test MSE, ``(gamma, seed)``.
        readout_nu1_predicted, readout_nu1_measured, readout_nu1_finite, readout_nu1_exact:
            ``(nu1, seed)``.
        spike_gamma_predicted, spike_gamma_measured: top eigenvalue of M_s, ``(gamma, seed)``.
        scratch_predicted: 1 - P_t / D, min-norm regression on the target alone.
        scratch_measured: its test MSE on the same target draws, ``(seed,)``.
        matched_predicted, matched_measured, matched_finite, matched_exact: test MSE of kernel
            regression with the
            source-adapted NTK minus that with the lazy NTK rescaled to the same trace, ``(seed,)``.
        adaptive_matched_predicted, lazy_matched_predicted: the two MSEs of the theory, ``(seed,)``.
        width: hidden width N of the networks.
        setup: the :class:`FlowSetup`.
    """

    gamma: Grid
    nu1: Grid
    readout_gamma_predicted: np.ndarray
    readout_gamma_measured: np.ndarray
    readout_gamma_finite: np.ndarray
    readout_gamma_exact: np.ndarray
    readout_nu1_predicted: np.ndarray
    readout_nu1_measured: np.ndarray
    readout_nu1_finite: np.ndarray
    readout_nu1_exact: np.ndarray
    spike_gamma_predicted: np.ndarray
    spike_gamma_measured: np.ndarray
    scratch_predicted: float
    scratch_measured: np.ndarray
    matched_predicted: np.ndarray
    matched_measured: np.ndarray
    matched_finite: np.ndarray
    matched_exact: np.ndarray
    adaptive_matched_predicted: np.ndarray
    lazy_matched_predicted: np.ndarray
    width: int
    setup: FlowSetup

    def claim(self, which: str) -> dict:
        """``check_close`` numbers (:func:`~._common.flow_claim`) of ``which``: ``"gamma"``, ``"nu1"``
        or ``"matched"``; ``at`` is the condition's value (NaN for ``"matched"``), and
        ``exact_error`` the largest |exact - measured| over the grid (round-off if the moment
        equations hold for each network)."""
        if which not in ("gamma", "nu1", "matched"):
            raise ValueError(f"which must be 'gamma', 'nu1' or 'matched', got {which!r}")
        if which == "matched":
            p, m, f, x = (
                getattr(self, f"matched_{k}")[None]
                for k in ("predicted", "measured", "finite", "exact")
            )
            at = np.array([np.nan])
        else:
            p, m, f, x = (
                getattr(self, f"readout_{which}_{k}")
                for k in ("predicted", "measured", "finite", "exact")
            )
            at = next(iter(getattr(self, which).axes.values()))
        out = flow_claim(p, m, f, [float(a) for a in at], n_sources=p.shape[-1])
        return out | dict(exact_error=float(np.max(np.abs(x - m))))


def _check_setup(setup, sizes, rng) -> None:
    _check_args(setup, sizes, rng, kind=FlowSetup)


def _dt(setup: FlowSetup, gamma: float) -> tuple[float, int]:
    dt = setup.dt / max(gamma, 1.0)
    return dt, int(round(setup.time / dt))


def _readout_beta(K_X, K_xX, Xt, yt, ridge: float) -> np.ndarray:
    """beta of kernel regression f(x) = K(x, X)(K(X, X) + ridge I)^{-1} y for K(x, x') = x^T B x' / D:
    ``K_X`` = X B X^T / D ``(..., P, P)``, ``K_xX`` = B X^T / sqrt(D) ``(..., D, P)``."""
    eye = np.eye(K_X.shape[-1])
    return (K_xX @ np.linalg.solve(K_X + ridge * eye, yt[..., None]))[..., 0]


def _readout_mse(M: np.ndarray, Xt, yt, beta_t, ridge: float) -> np.ndarray:
    """Test MSE of the readout on features with moment M ``(S, D, D)``, targets ``(S, R, ...)``."""
    D = M.shape[-1]
    M = M[:, None]
    XtT = np.swapaxes(Xt, -1, -2)
    beta = _readout_beta(Xt @ M @ XtT / D, M @ XtT / np.sqrt(D), Xt, yt, ridge)
    return predicted_test_mse(beta, beta_t)


def _matched(K_X, K_xX, Xt, yt, beta_t, ridge: float) -> tuple[np.ndarray, np.ndarray]:
    """Test MSEs of kernel regression with K and with the lazy 2 x.x'/D scaled to K's trace on X."""
    D = Xt.shape[-1]
    XtT = np.swapaxes(Xt, -1, -2)
    K0 = 2 * Xt @ XtT / D
    c = np.trace(K_X, axis1=-2, axis2=-1) / np.trace(K0, axis1=-2, axis2=-1)
    lazy = _readout_beta(
        c[..., None, None] * K0, 2 * c[..., None, None] * XtT / np.sqrt(D), Xt, yt, ridge
    )
    adaptive = _readout_beta(K_X, K_xX, Xt, yt, ridge)
    return predicted_test_mse(adaptive, beta_t), predicted_test_mse(lazy, beta_t)


def _matched_theory(mom: Moments, Xt, yt, beta_t, ridge: float):
    D = mom.D
    B = (mom.M + np.asarray(mom.q)[..., None, None] * np.eye(D))[:, None]
    XtT = np.swapaxes(Xt, -1, -2)
    return _matched(Xt @ B @ XtT / D, B @ XtT / np.sqrt(D), Xt, yt, beta_t, ridge)


def run_flow_transfer(
    setup: FlowSetup, sizes: KernelTransferSizes, *, rng: np.random.Generator
) -> FlowTransferResult:
    """Source networks trained by plain gradient flow, then readouts on their frozen features.

    For each seed: a source teacher, ``max(FLOW_NU1) * D`` source samples (each condition uses the first
    P_s), one initial network, ``sizes.gf_targets`` target teachers at alignment ``setup.alpha`` with
    P_t samples each. Conditions: gamma_1 in :data:`FLOW_GAMMAS` at P_s = ``setup.P_s``, and nu_1 in
    :data:`FLOW_NU1` at gamma_1 = ``setup.gamma``. Draws from ``rng`` in this order: the teachers, the
    source data, the initial networks, the target teachers, the target data, the fresh initialisations
    of the finite-width theory (:data:`FRESH_INITS` per source).

    Args:
        setup: physical parameters.
        sizes: ``gf_width``, ``gf_seeds`` and ``gf_targets`` are used.
        rng: numpy generator.

    Returns:
        :class:`FlowTransferResult`.
    """
    _check_setup(setup, sizes, rng)
    D, S, R, N = setup.D, sizes.gf_seeds, sizes.gf_targets, sizes.gf_width
    if S < 2:
        raise ValueError(f"sizes.gf_seeds must be at least 2 (a standard error), got {S}")
    P_max = max(setup.P_s, int(round(max(FLOW_NU1) * D)))
    teachers, _ = aligned_teachers(D, np.zeros(S), rng=rng)
    X, y = gaussian_task(teachers, P_max, rng=rng)
    p0 = init_params(D, N, batch=(S,), rng=rng)
    _, beta_t = aligned_teachers(D, np.full((S, R), setup.alpha), rng=rng, source=teachers[:, None])
    Xt, yt = gaussian_task(beta_t, setup.P_t, rng=rng)
    E = _test_inputs(D, (S, R))
    F = FRESH_INITS
    fresh = init_params(D, N, batch=(S, F), rng=rng)
    starts = {
        "predicted": infinite_width_start(D),
        "exact": empirical_moments(p0.w, p0.z),
        "finite": empirical_moments(fresh.w, fresh.z),
    }
    conds = {(g, setup.P_s) for g in FLOW_GAMMAS}
    conds |= {(setup.gamma, max(int(round(nu * D)), 1)) for nu in FLOW_NU1}
    out = {}
    for g, P_s in sorted(conds):
        dt, steps = _dt(setup, g)
        matched = (g, P_s) == (setup.gamma, setup.P_s)
        kw = dict(gamma=g, lam=0.0, dt=dt, steps=steps)
        kw_net = dict(gamma=g, lam=0.0, steps=steps)
        row, mom = {}, {}
        for name, start in starts.items():
            Xs, ys = X[:, :P_s], y[:, :P_s]
            if name == "finite":
                Xs, ys = Xs[:, None], ys[:, None]
            mom[name] = integrate_source(Xs, ys, start=start, **kw)
            row |= _theory(name, mom[name], Xt, yt, beta_t, setup, matched=matched)
        run = train(p0, X[:, :P_s], y[:, :P_s], lr=dt, **kw_net, desc=f"source g={g} P={P_s}")
        net = TwoLayerParams(run.params.w[:, None], run.params.z[:, None])
        b_net = readout_predictions(net, Xt, yt, E, ridge=setup.ridge).numpy()
        row["measured"] = predicted_test_mse(b_net, beta_t).mean(-1)
        row["spike_predicted"] = np.linalg.eigvalsh(mom["predicted"].M)[:, -1]
        M_net = empirical_moments(run.params.w, run.params.z).M
        row["spike_measured"] = np.linalg.eigvalsh(M_net)[:, -1]
        if matched:
            row["matched_measured"] = _matched_networks(net, Xt, yt, beta_t, setup.ridge_matched)
        out[g, P_s] = row
    keys_g = [(g, setup.P_s) for g in FLOW_GAMMAS]
    keys_n = [(setup.gamma, max(int(round(nu * D)), 1)) for nu in FLOW_NU1]

    def stack(keys, field):
        return np.array([out[k][field] for k in keys])

    mt = out[setup.gamma, setup.P_s]
    XtT = np.swapaxes(Xt, -1, -2)
    b_sc = np.sqrt(D) * (XtT @ np.linalg.solve(Xt @ XtT, yt[..., None]))[..., 0]
    return FlowTransferResult(
        gamma=Grid(axes={"gamma": np.array(FLOW_GAMMAS)}, n_seeds=S),
        nu1=Grid(axes={"nu1": np.array(FLOW_NU1)}, n_seeds=S),
        readout_gamma_predicted=stack(keys_g, "predicted"),
        readout_gamma_measured=stack(keys_g, "measured"),
        readout_gamma_finite=stack(keys_g, "finite"),
        readout_gamma_exact=stack(keys_g, "exact"),
        readout_nu1_predicted=stack(keys_n, "predicted"),
        readout_nu1_measured=stack(keys_n, "measured"),
        readout_nu1_finite=stack(keys_n, "finite"),
        readout_nu1_exact=stack(keys_n, "exact"),
        spike_gamma_predicted=stack(keys_g, "spike_predicted"),
        spike_gamma_measured=stack(keys_g, "spike_measured"),
        scratch_predicted=predicted_scratch_mse(setup.P_t, D),
        scratch_measured=predicted_test_mse(b_sc, beta_t).mean(-1),
        matched_predicted=mt["matched_predicted"], matched_measured=mt["matched_measured"],
        matched_finite=mt["matched_finite"], matched_exact=mt["matched_exact"],
        adaptive_matched_predicted=mt["adaptive_predicted"],
        lazy_matched_predicted=mt["lazy_predicted"], width=N, setup=setup,
    )  # fmt: skip


def _theory(name: str, mom: Moments, Xt, yt, beta_t, setup: FlowSetup, *, matched: bool) -> dict:
    """Readout (and, if ``matched``, matched-scale) test MSEs of the theory's moments, seed values.

    ``mom`` has batch ``(S,)``, or ``(S, F)`` for fresh initialisations (averaged over F)."""
    moms = [mom] if mom.M.ndim == 3 else [
        Moments(mom.M[:, f], mom.m[:, f], mom.q[:, f]) for f in range(mom.M.shape[1])
    ]  # fmt: skip
    out = {name: np.mean([_readout_mse(k.M, Xt, yt, beta_t, setup.ridge) for k in moms], 0)}
    if matched:
        mse = [_matched_theory(k, Xt, yt, beta_t, setup.ridge_matched) for k in moms]
        ad, lz = np.mean([a for a, _ in mse], 0), np.mean([b for _, b in mse], 0)
        out |= {f"matched_{name}": ad - lz, f"adaptive_{name}": ad, f"lazy_{name}": lz}
    return {k: v.mean(-1) for k, v in out.items()}


def _matched_networks(net: TwoLayerParams, Xt, yt, beta_t, ridge: float) -> np.ndarray:
    """Adaptive minus trace-matched lazy test MSE of the networks, seed values.

    Their NTK comes from the hidden features (K = Phi + G * C of
    :func:`dltheory.kernel_nets.feature_kernels`), a code path independent of the moments."""
    E = _test_inputs(Xt.shape[-1], Xt.shape[:-2]).numpy()
    _, _, K_X = feature_kernels(net, Xt, Xt)
    _, _, K_EX = feature_kernels(net, E, Xt)
    ad, lz = _matched(K_X.numpy(), K_EX.numpy(), Xt, yt, beta_t, ridge)
    return (ad - lz).mean(-1)
