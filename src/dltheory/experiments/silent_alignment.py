"""The silent alignment effect: Atanasov, Bordelon & Pehlevan (2022), "Neural networks as kernel
learners: the silent alignment effect", arXiv:2111.00034, for linear networks (closed forms of
:mod:`dltheory.theory.silent_alignment`) and, as simulation only, a two-layer ReLU network.

A scalar linear network f(x) = a^T W_{L-1} ... W_1 x is trained by full-batch gradient descent on
|X w - y|^2 / (2P), P < D (the data fix only the row space of X). Inputs are whitened (X X^T = P I)
or anisotropic (variances spread log-uniformly over ``spread``); y = X beta* is scaled to
b = |X^T y| / P = 1. Each run records the network's exact tangent kernel on the training inputs, its
kernel-target alignment and the loss. Each ``run_*`` draws data, then initial weights, from its rng.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass

import numpy as np

from dltheory._checks import (
    ArgumentTypeError,
    check_instance,
    check_int,
    check_positive,
    check_rng,
)
from dltheory.config import SilentAlignmentSizes
from dltheory.theory import silent_alignment as th

__all__ = [
    "SilentAlignmentSetup",
    "SETUP",
    "SilentRun",
    "DepthResult",
    "ReluResult",
    "ClaimNumbers",
    "claim_numbers",
    "run_two_layer",
    "run_anisotropic",
    "run_depth",
    "run_relu",
]


@dataclass(frozen=True)
class SilentAlignmentSetup:
    """Physical parameters (the same at every scale, so each claim is checked where it is stated).

    D, P, N: input dimension, samples, two-layer width; sigmas: the chapter's initial weight scale and
    3x it (weights of variance sigma^2 / N); dt, t_end: time step and duration (time in units of 1/b);
    spread: input-variance ratio of the anisotropic runs; depths: weight matrices of the decoupled deep
    runs; deep_*: their initial strength, first-layer random scale, width and duration; relu_*: the
    ReLU network's D, P, N, initial scale, time step and duration.
    """

    D: int = 40
    P: int = 20
    N: int = 100
    sigmas: tuple[float, float] = (0.01, 0.03)
    dt: float = 0.02
    t_end: float = 16.0
    spread: float = 30.0
    depths: tuple[int, ...] = (2, 3, 4)
    deep_eps: float = 1e-3
    deep_sigma: float = 0.1
    deep_width: int = 40
    deep_t_end: float = 24.0
    relu_D: int = 20
    relu_P: int = 100
    relu_N: int = 200
    relu_sigma: float = 0.01
    relu_dt: float = 0.05
    relu_t_end: float = 20.0


SETUP = SilentAlignmentSetup()


@dataclass(frozen=True)
class SilentRun:
    """Linear networks trained from small initialisation, predicted beside measured, per seed.

    Attributes:
        n_weights, sigma, dt: weight matrices; initial (or first-layer random) scale; time step.
        t: recorded times ``(T,)``; align, loss: measured ``(T, seed)``; align_theory, loss_theory:
            the closed form (or reduced flow) from each seed's initial state; eps ``(seed,)``.
        t_align, t_loss: times A reaches 90% of its final value and the loss has fallen by 10%
            ``(seed,)``; align_at_loss: A(t_loss) / A(end); each with its ``*_theory``.
        kr_gap: mean over isotropic held-out x of |f_net - f_KR|^2 / |f_net|^2, f_KR kernel regression
            with the final tangent kernel; kr_gap_theory: from each seed's initial weights (or nan).
    """

    n_weights: int
    sigma: float
    dt: float
    t: np.ndarray
    align: np.ndarray
    loss: np.ndarray
    align_theory: np.ndarray
    loss_theory: np.ndarray
    eps: np.ndarray
    t_align: np.ndarray
    t_loss: np.ndarray
    t_align_theory: np.ndarray
    t_loss_theory: np.ndarray
    align_at_loss: np.ndarray
    align_at_loss_theory: np.ndarray
    kr_gap: np.ndarray
    kr_gap_theory: np.ndarray

    @property
    def ratio(self) -> np.ndarray:
        """Measured t_align / t_loss per seed."""
        return self.t_align / self.t_loss

    @property
    def ratio_theory(self) -> np.ndarray:
        """Predicted t_align / t_loss per seed."""
        return self.t_align_theory / self.t_loss_theory

    @property
    def deviation(self) -> np.ndarray:
        """max over time of |A_sim - A_theory| per seed."""
        return np.max(np.abs(self.align - self.align_theory), axis=0)


@dataclass(frozen=True)
class DepthResult:
    """Decoupled deep linear networks, one :class:`SilentRun` per depth (``runs[i]`` has
    ``depths[i]`` weight matrices), at the time step ``dt`` and at ``dt / 2`` (``half_step``)."""

    depths: tuple[int, ...]
    runs: tuple[SilentRun, ...]
    half_step: tuple[SilentRun, ...]


@dataclass(frozen=True)
class ReluResult:
    """ReLU networks (simulation only): alignment, loss ``(T, seed)`` and t_align / t_loss ``(seed,)``."""

    t: np.ndarray
    align: np.ndarray
    loss: np.ndarray
    ratio: np.ndarray


def _check(setup, sizes, rng):
    if not isinstance(setup, SilentAlignmentSetup):
        raise ArgumentTypeError(f"setup must be a SilentAlignmentSetup, got {type(setup).__name__}")
    if not isinstance(sizes, SilentAlignmentSizes):
        raise ArgumentTypeError(f"sizes must be a SilentAlignmentSizes, got {type(sizes).__name__}")
    for name in ("n_seeds", "n_seeds_deep", "n_seeds_relu"):
        check_int(f"sizes.{name}", getattr(sizes, name), minimum=2)
    check_int("sizes.record_every", sizes.record_every)
    check_rng(rng)
    if not 2 <= setup.P <= setup.D:
        raise ValueError(f"setup needs 2 <= P <= D, got P={setup.P}, D={setup.D}")
    check_positive("setup.dt", setup.dt)


def _data(rng, S, D, P, spread=None):
    """S data sets, X (S, P, D) and y (S, P); whitened if spread is None."""
    Xs, ys = [], []
    for _ in range(S):
        if spread is None:
            Q, _ = np.linalg.qr(rng.standard_normal((D, P)))
            X = np.sqrt(P) * Q.T
        else:
            X = rng.standard_normal((P, D)) * spread ** np.linspace(-0.25, 0.25, D)
        y = X @ rng.standard_normal(D)
        Xs.append(X)
        ys.append(y / np.linalg.norm(X.T @ y / P))
    return np.array(Xs), np.array(ys)


def _ntk(Ws, a):
    """Lower products B_l = W_l ... W_1 and the vectors u_l above each layer, batched over seeds."""
    B = [Ws[0]]
    for W in Ws[1:]:
        B.append(W @ B[-1])
    u = [a]
    for W in Ws[:0:-1]:
        u.append((u[-1][:, None, :] @ W)[:, 0])
    return B, u[::-1]


def _kernel(B, u, D):
    """Input-space tangent kernel M (S, D, D): K(x, x') = x^T M x'."""
    M = np.swapaxes(B[-1], 1, 2) @ B[-1] + np.sum(u[0] ** 2, 1)[:, None, None] * np.eye(D)
    for j in range(1, len(B)):
        M += np.sum(u[j] ** 2, 1)[:, None, None] * (np.swapaxes(B[j - 1], 1, 2) @ B[j - 1])
    return M


def _train(Ws, a, X, y, dt, steps, every):
    """Full-batch gradient descent of all layers; records (t, A, loss), final kernel and w."""
    S, P, D = X.shape
    C = np.swapaxes(X, 1, 2) @ X / P
    g = (y[:, None, :] @ X)[:, 0] / P
    Xt, yy = np.swapaxes(X, 1, 2), np.sum(y * y, 1)
    out, ks = {"A": [], "loss": []}, []
    for k in range(steps + 1):
        B, u = _ntk(Ws, a)
        w = (a[:, None, :] @ B[-1])[:, 0]
        r = g - (C @ w[:, :, None])[..., 0]
        if k % every == 0 or k == steps:
            M = _kernel(B, u, D)
            K = X @ M @ Xt
            Ky = (K @ y[:, :, None])[..., 0]
            out["A"].append(np.sum(Ky * y, 1) / (np.linalg.norm(K, axis=(1, 2)) * yy))
            out["loss"].append(0.5 * np.mean(((X @ w[:, :, None])[..., 0] - y) ** 2, 1))
            ks.append(k)
        if k == steps:
            break
        a = a + dt * (B[-1] @ r[:, :, None])[..., 0]
        low = [r] + [(Bl @ r[:, :, None])[..., 0] for Bl in B[:-1]]
        Ws = [W + dt * u[j][:, :, None] * low[j][:, None, :] for j, W in enumerate(Ws)]
    return dt * np.array(ks, dtype=float), {k: np.array(x) for k, x in out.items()}, M, w


def _times(t, A, loss):
    """Measured (t_align, t_loss, A(t_loss)/A(end)) per seed."""
    ta = np.array([th.first_crossing(t, A[:, i], 0.9 * A[-1, i]) for i in range(A.shape[1])])
    tl = np.array([th.first_crossing(t, L, 0.9 * L[0], falling=True) for L in loss.T])
    at = np.array([np.interp(tl[i], t, A[:, i]) / A[-1, i] for i in range(A.shape[1])])
    return ta, tl, at


def _random_init(rng, S, N, D, sigma):
    Ws = [sigma / np.sqrt(N) * rng.standard_normal((S, N, D))]
    return Ws, sigma / np.sqrt(N) * rng.standard_normal((S, N))


def _two_layer_run(setup, sizes, streams, sigma, spread, dt):
    S, D, P, N = sizes.n_seeds, setup.D, setup.P, setup.N
    X, y = _data(copy.deepcopy(streams[0]), S, D, P, spread)
    Ws, a = _random_init(copy.deepcopy(streams[1]), S, N, D, sigma)
    every = max(1, int(round(sizes.record_every * setup.dt / dt)))
    t, m, M, w = _train(Ws, a, X, y, dt, int(round(setup.t_end / dt)), every)
    # Gradient descent grows the early mode by 1 + b dt per step where the flow grows it by e^(b dt):
    # step k is flow time k ln(1 + b dt) / b (b = 1 here), which is where the theory is evaluated.
    t_flow = t * np.log1p(dt) / dt
    if spread is None:
        pred = [th.two_layer_theory(t_flow, Ws[0][i], a[i], X[i], y[i]) for i in range(S)]
        eps = np.array([p["eps"] for p in pred])
        curves = [(p["align"], p["loss"]) for p in pred]
        gap_th = np.array([th.kr_gap_from_init(Ws[0][i], a[i], X[i], y[i]) for i in range(S)])
    else:
        v = [X[i].T @ y[i] / np.linalg.norm(X[i].T @ y[i]) for i in range(S)]
        eps = np.array([np.sum((Ws[0][i] @ v[i] + a[i]) ** 2) / 4 for i in range(S)])
        M0 = _kernel(*_ntk(Ws, a), D)
        curves = [
            th.reduced_alignment(t_flow, X[i], y[i], eps=eps[i], tau=1.0, m0=M0[i])
            for i in range(S)
        ]
        gap_th = np.full(S, np.nan)
    A_th, L_th = (np.array(z).T for z in zip(*curves, strict=True))
    # Both read off the same recorded times, so the interpolation between records cancels.
    ta, tl, at = _times(t, m["A"], m["loss"])
    ta_th, tl_th, at_th = _times(t, A_th, L_th)
    # Both predictors are linear, f(x) = x . beta, so their mean squared difference over isotropic
    # held-out inputs x ~ N(0, I) is |beta_net - beta_KR|^2, computed exactly rather than sampled.
    beta_kr = np.array([
        M[i] @ X[i].T @ np.linalg.lstsq(X[i] @ M[i] @ X[i].T, y[i], rcond=None)[0] for i in range(S)
    ])  # fmt: skip
    gap = np.sum((w - beta_kr) ** 2, 1) / np.sum(w**2, 1)
    return SilentRun(
        2, sigma, dt, t, m["A"], m["loss"], A_th, L_th, eps, ta, tl, ta_th, tl_th, at, at_th,
        gap, gap_th,
    )  # fmt: skip


def run_two_layer(
    setup: SilentAlignmentSetup, sizes: SilentAlignmentSizes, *, rng: np.random.Generator
) -> tuple[SilentRun, ...]:
    """Two-layer linear networks on whitened inputs from random init.

    Returns three runs: ``setup.sigmas[0]`` and ``setup.sigmas[1]`` at the time step ``setup.dt``,
    and ``setup.sigmas[0]`` at ``dt / 2`` on the same data and initial weights as the first (the
    step's effect). The theory of each seed is the book's matched solution (``two_layer_theory``)
    from that seed's initial weights; ``kr_gap_theory`` is the mean of ``kr_gap_from_init``.
    """
    _check(setup, sizes, rng)
    first, second = rng.spawn(2), rng.spawn(2)
    return (
        _two_layer_run(setup, sizes, first, setup.sigmas[0], None, setup.dt),
        _two_layer_run(setup, sizes, second, setup.sigmas[1], None, setup.dt),
        _two_layer_run(setup, sizes, first, setup.sigmas[0], None, setup.dt / 2),
    )


def run_anisotropic(
    setup: SilentAlignmentSetup, sizes: SilentAlignmentSizes, *, rng: np.random.Generator
) -> tuple[SilentRun, ...]:
    """Two-layer linear networks on anisotropic inputs (variances spread over ``setup.spread``), one
    run per ``setup.sigmas``; the theory is the reduced flow of the small-initialisation limit, from
    each seed's initial mode strength and measured initial kernel."""
    _check(setup, sizes, rng)
    check_positive("setup.spread", setup.spread)
    return tuple(
        _two_layer_run(setup, sizes, rng.spawn(2), sg, setup.spread, setup.dt)
        for sg in setup.sigmas
    )


def _decoupled_init(rng, S, N, D, L, eps, sigma, v):
    """Mode aligned and balanced at strength eps, plus a random first layer orthogonal to it."""
    h = [v]
    for _ in range(L - 1):
        z = rng.standard_normal((S, N))
        h.append(z / np.linalg.norm(z, axis=1, keepdims=True))
    e = eps ** (1.0 / L)
    Ws = [e * np.einsum("sn,sd->snd", h[i + 1], h[i]) for i in range(L - 1)]
    J = sigma / np.sqrt(N) * rng.standard_normal((S, N, D))
    J -= np.einsum("snd,sd,se->sne", J, v, v)  # J v = 0
    J -= np.einsum("sn,sm,smd->snd", h[1], h[1], J)  # h_1^T J = 0
    Ws[0] = Ws[0] + J
    return Ws, e * h[-1], np.einsum("snd,sne->sde", J, J)


def _depth_run(setup, sizes, streams, L, dt):
    S, D, P = sizes.n_seeds_deep, setup.D, setup.P
    X, y = _data(copy.deepcopy(streams[0]), S, D, P)
    g = np.einsum("spi,sp->si", X, y) / P
    v = g / np.linalg.norm(g, axis=1, keepdims=True)
    Ws, a, JJ = _decoupled_init(
        copy.deepcopy(streams[1]), S, setup.deep_width, D, L, setup.deep_eps, setup.deep_sigma, v
    )
    every = max(1, int(round(sizes.record_every * setup.dt / dt)))
    t, m, _, _ = _train(Ws, a, X, y, dt, int(round(setup.deep_t_end / dt)), every)
    kw = {"eps": setup.deep_eps, "tau": 1.0, "n_weights": L}
    pred = [th.predicted_alignment(t, X[i], y[i], m0=JJ[i], **kw) for i in range(S)]
    A_th, L_th = (np.array(z).T for z in zip(*pred, strict=True))
    ta, tl, at = _times(t, m["A"], m["loss"])
    nan = np.full(S, np.nan)
    return SilentRun(
        L, setup.deep_sigma, dt, t, m["A"], m["loss"], A_th, L_th, np.full(S, setup.deep_eps),
        ta, tl, *_times(t, A_th, L_th)[:2], at, _times(t, A_th, L_th)[2], nan, nan,
    )  # fmt: skip


def run_depth(
    setup: SilentAlignmentSetup, sizes: SilentAlignmentSizes, *, rng: np.random.Generator
) -> DepthResult:
    """Deep linear networks from the decoupled initialisation, one run per ``setup.depths``, at the
    time step ``setup.dt`` and (the discretisation check, on the same draws) at half of it."""
    _check(setup, sizes, rng)
    depths = tuple(int(check_int("setup.depths", L, minimum=2)) for L in setup.depths)
    pairs = [(rng.spawn(2), L) for L in depths]
    runs = tuple(_depth_run(setup, sizes, st, L, setup.dt) for st, L in pairs)
    return DepthResult(
        depths, runs, tuple(_depth_run(setup, sizes, *p, setup.dt / 2) for p in pairs)
    )


def run_relu(
    setup: SilentAlignmentSetup, sizes: SilentAlignmentSizes, *, rng: np.random.Generator
) -> ReluResult:
    """Two-layer ReLU networks f(x) = a . relu(W x) from small init on whitened inputs (X^T X = P I,
    P > D), learning one ReLU unit y = relu(x . beta), trained by gradient descent in torch; the
    tangent kernel phi phi^T + (a 1[h > 0])(a 1[h > 0])^T * X X^T is computed exactly from the weights."""
    _check(setup, sizes, rng)
    from dltheory._torch import torch, torch_generator

    D, P, N, S = setup.relu_D, setup.relu_P, setup.relu_N, sizes.n_seeds_relu
    gen = torch_generator(rng.spawn(1)[0])
    Q, _ = torch.linalg.qr(torch.randn(P, D, generator=gen, dtype=torch.float64))
    X = np.sqrt(P) * Q  # X^T X = P I
    y = torch.relu(X @ torch.randn(D, generator=gen, dtype=torch.float64))  # one ReLU teacher
    y = y / y.norm() * np.sqrt(P)
    W = setup.relu_sigma / np.sqrt(N) * torch.randn(S, N, D, generator=gen, dtype=torch.float64)
    a = setup.relu_sigma / np.sqrt(N) * torch.randn(S, N, generator=gen, dtype=torch.float64)
    W, a = W.requires_grad_(), a.requires_grad_()
    steps = int(round(setup.relu_t_end / setup.relu_dt))
    G, rec = X @ X.T, {"A": [], "loss": []}
    for k in range(steps + 1):
        h = torch.einsum("snd,pd->snp", W, X)
        f = torch.einsum("sn,snp->sp", a, torch.relu(h))
        loss = 0.5 * ((f - y) ** 2).mean(1)
        if k % sizes.record_every == 0:
            with torch.no_grad():
                phi, act = torch.relu(h), (h > 0).double() * a[:, :, None]
                K = phi.transpose(1, 2) @ phi + (act.transpose(1, 2) @ act) * G
                A = torch.einsum("spq,p,q->s", K, y, y) / (K.norm(dim=(1, 2)) * (y @ y))
            rec["A"].append(A.numpy().copy())
            rec["loss"].append(loss.detach().numpy().copy())
        if k == steps:
            break
        gW, ga = torch.autograd.grad(loss.sum(), (W, a))
        with torch.no_grad():
            W -= setup.relu_dt * gW
            a -= setup.relu_dt * ga
    t = setup.relu_dt * np.arange(0, steps + 1, sizes.record_every, dtype=float)
    A, L = np.array(rec["A"]), np.array(rec["loss"])
    return ReluResult(t, A, L, np.divide(*_times(t, A, L)[:2]))


@dataclass(frozen=True)
class ClaimNumbers:
    """One claim's numbers: seed means, the standard error of the paired difference (measured minus
    predicted, seed by seed), the number of seeds and the finite-size bias measured beside it."""

    predicted: float
    measured: float
    se: float
    n: int
    bias: float

    @property
    def tol(self) -> float:
        """3 se + bias."""
        return 3.0 * self.se + self.bias


def _paired(measured, predicted, bias) -> ClaimNumbers:
    d = np.asarray(measured) - np.asarray(predicted)
    n = d.size
    se = float(np.std(d, ddof=1) / np.sqrt(n))
    return ClaimNumbers(float(np.mean(predicted)), float(np.mean(measured)), se, n, float(bias))


def claim_numbers(two=None, aniso=None, depth=None) -> dict[str, ClaimNumbers]:
    """The chapter's claims computable from the runs given: :func:`run_two_layer` (two claims and the
    kernel-regression one), :func:`run_anisotropic` and :func:`run_depth` (one each). Each bias is the
    same statistic's (measured - predicted) at 3x the initial scale, or, for the depth runs, twice its
    change from dt to dt/2 (the step's effect, linear in dt)."""
    for name, runs, k in (("two", two, 3), ("aniso", aniso, 2)):
        if runs is not None and not (
            isinstance(runs, tuple)
            and len(runs) == k
            and all(isinstance(r, SilentRun) for r in runs)
        ):
            raise ArgumentTypeError(f"{name} must be a tuple of {k} SilentRun, got {runs!r:.80}")
    if depth is not None:
        check_instance("depth", depth, DepthResult)
    out = {}
    if two is not None:
        main, large, half = two
        ratio_bias = abs(np.mean(large.ratio - large.ratio_theory))
        # The curve deviation is proportional to the time step: extrapolate to dt -> 0 (Richardson).
        dev0 = 2.0 * half.deviation - main.deviation
        dev_bias = abs(np.mean(large.deviation - main.deviation))
        kr_bias = abs(np.mean(large.kr_gap / large.kr_gap_theory - 1.0)) * np.mean(
            main.kr_gap_theory
        )
        out["alignment-precedes-loss-drop"] = _paired(main.ratio, main.ratio_theory, ratio_bias)
        out["kernel-alignment-curve-max-deviation"] = _paired(dev0, np.zeros_like(dev0), dev_bias)
        out["final-kernel-regression-equivalence"] = _paired(
            main.kr_gap, main.kr_gap_theory, kr_bias
        )
    if aniso is not None:
        an, an_large = aniso
        an_bias = abs(np.mean(an_large.align_at_loss - an_large.align_at_loss_theory))
        out["anisotropic-inputs-weaken-alignment"] = _paired(
            an.align_at_loss, an.align_at_loss_theory, an_bias
        )
    if depth is not None:
        lo, hi = min(depth.depths), max(depth.depths)

        def depth_ratio(runs):
            rs = dict(zip(depth.depths, runs, strict=True))
            m = rs[hi].ratio.mean() / rs[lo].ratio.mean()
            p = rs[hi].ratio_theory.mean() / rs[lo].ratio_theory.mean()
            rel = [
                _paired(rs[L].ratio, rs[L].ratio_theory, 0).se / rs[L].ratio.mean()
                for L in (lo, hi)
            ]
            return p, m, m * np.hypot(*rel), rs[hi].ratio.size

        p, m, se, n = depth_ratio(depth.runs)
        p_h, m_h, se_h, _ = depth_ratio(depth.half_step)
        bias = 2.0 * abs((m_h - p_h) - (m - p))  # an error linear in dt halves from dt to dt/2
        se = np.hypot(se, 2.0 * se_h)  # of the step-corrected difference; the runs share draws
        out["depth-alignment-timing"] = ClaimNumbers(float(p), float(m), float(se), int(n), bias)
    return out
