"""Tests of dltheory.theory.linear_moments: the moment dynamics against trained networks, the flow's
ODE, and the weight-decay fixed point of dltheory.theory.kernels."""

import numpy as np
import pytest
import torch
from scipy.integrate import solve_ivp

from dltheory.datasets import aligned_teachers, gaussian_task
from dltheory.kernel_nets import TwoLayerParams, empirical_ntk, init_params
from dltheory.kernel_training import train
from dltheory.theory.kernels import predicted_fixed_point
from dltheory.theory.linear_moments import (
    Moments,
    empirical_cross_moments,
    empirical_moments,
    infinite_width_start,
    integrate_source,
    integrate_target,
)

D, N, P = 8, 50, 12


def _task(rng, P=P):
    beta, _ = aligned_teachers(D, 0.0, rng=rng)
    return gaussian_task(beta, P, rng=rng)


def _close(a: Moments, b: Moments, rtol=1e-10):
    for f in ("M", "m", "q"):
        x, y = np.asarray(getattr(a, f)), np.asarray(getattr(b, f))
        assert np.max(np.abs(x - y)) <= rtol * np.max(np.abs(y)), f


@pytest.mark.parametrize("lam", [0.0, 0.3])
def test_source_moments_are_those_of_the_trained_network(rng, lam):
    # gradient descent of kernel_training written on the moments: equal to round-off at any width
    X, y = _task(rng)
    p0 = init_params(D, N, batch=(2,), rng=rng)
    run = train(p0, X, y, gamma=0.7, lam=lam, lr=0.02, steps=300, progress=False)
    th = integrate_source(
        X, y, gamma=0.7, lam=lam, dt=0.02, steps=300, start=empirical_moments(p0.w, p0.z)
    )
    _close(empirical_moments(run.params.w, run.params.z), th)


@pytest.mark.parametrize(("lam", "delta"), [(0.1, 0.5), (0.0, 0.2)])
def test_target_moments_with_elastic_coupling(rng, lam, delta):
    X, y = _task(rng)
    anchor = init_params(D, N, rng=rng)
    src = empirical_moments(anchor.w, anchor.z)
    g = torch.Generator().manual_seed(int(rng.integers(2**31)))
    start = TwoLayerParams(
        anchor.w + 0.3 * torch.randn(N, D, generator=g, dtype=torch.float64),
        anchor.z + 0.3 * torch.randn(N, generator=g, dtype=torch.float64),
    )
    kw = dict(gamma=1.0, lam=lam, lr=0.01, steps=300, elastic=delta, progress=False)
    run = train(start, X, y, anchor=anchor, **kw)
    th, cross = integrate_target(
        X, y, src, gamma=1.0, lam=lam, delta=delta, dt=0.01, steps=300,
        start=empirical_moments(start.w, start.z),
        cross0=empirical_cross_moments(start.w, start.z, anchor.w, anchor.z),
    )  # fmt: skip
    _close(empirical_moments(run.params.w, run.params.z), th)
    net = empirical_cross_moments(run.params.w, run.params.z, anchor.w, anchor.z)
    for k, v in cross.items():
        np.testing.assert_allclose(net[k], v, rtol=1e-10, atol=1e-12)
    # from the anchor itself (the default start)
    run = train(anchor, X, y, **kw)
    th, _ = integrate_target(X, y, src, gamma=1.0, lam=lam, delta=delta, dt=0.01, steps=300)
    _close(empirical_moments(run.params.w, run.params.z), th)


def _flow(t, s, C, b0, gamma, lam, delta, Ms, ms, qs):
    """The moment ODE of the module docstring, written out independently."""
    a = lam + delta
    M, m, q, A, b, c, e = np.split(s, np.cumsum([D * D, D, 1, D * D, D, D]))
    M, A, q, e = M.reshape(D, D), A.reshape(D, D), q[0], e[0]
    u = b0 - C @ m / gamma
    dM = gamma * (np.outer(u, m) + np.outer(m, u)) - 2 * a * M + delta * (A + A.T)
    dm = gamma * (q * u + M @ u) - 2 * a * m + delta * (b + c)
    dq = 2 * gamma * m @ u - 2 * a * q + 2 * delta * e
    dA = gamma * np.outer(u, c) - a * A + delta * Ms
    db, dc = gamma * e * u - a * b + delta * ms, gamma * A.T @ u - a * c + delta * ms
    de = gamma * b @ u - a * e + delta * qs
    return np.concatenate([dM.ravel(), dm, [dq], dA.ravel(), db, dc, [de]])


def test_small_steps_follow_the_moment_ode(rng):
    X, y = _task(rng)
    src = integrate_source(
        X, y, gamma=1.0, lam=0.0, dt=0.01, steps=200, start=infinite_width_start(D)
    )
    Xt, yt = _task(rng)
    T, gamma, lam, delta = 1.0, 0.8, 0.05, 0.3
    C, b0 = Xt.T @ Xt / D, Xt.T @ yt / np.sqrt(D)
    s0 = np.concatenate([src.M.ravel(), src.m, [src.q], src.M.ravel(), src.m, src.m, [src.q]])
    sol = solve_ivp(
        _flow, (0, T), s0, args=(C, b0, gamma, lam, delta, src.M, src.m, src.q),
        rtol=1e-10, atol=1e-12,
    )  # fmt: skip
    M_ode = sol.y[: D * D, -1].reshape(D, D)
    errs = []
    for dt in (0.01, 0.005):
        th, _ = integrate_target(
            Xt, yt, src, gamma=gamma, lam=lam, delta=delta, dt=dt, steps=int(round(T / dt))
        )
        errs.append(np.max(np.abs(th.M - M_ode)) / np.max(np.abs(M_ode)))
    assert errs[0] < 1e-2
    assert 1.6 < errs[0] / errs[1] < 2.4  # first order in dt, as Euler


def test_weight_decay_reaches_the_fixed_point_of_the_kernels_module(rng):
    X, y = _task(rng, 20)
    gamma, lam = 1.0, 0.5
    th = integrate_source(
        X, y, gamma=gamma, lam=lam, dt=0.02, steps=3000, start=infinite_width_start(D)
    )
    fp = predicted_fixed_point(X, y, gamma=gamma, lam=lam)
    np.testing.assert_allclose(th.beta(gamma), fp.beta, rtol=1e-7, atol=1e-9)
    g = gamma * fp.norm
    np.testing.assert_allclose(th.q, g, rtol=1e-7)
    np.testing.assert_allclose(th.M, g * np.outer(fp.beta, fp.beta) / fp.norm**2, atol=1e-7)


def test_kernels_match_the_network(rng):
    p = init_params(D, N, rng=rng)
    mom = empirical_moments(p.w, p.z)
    X1, X2 = rng.standard_normal((4, D)), rng.standard_normal((3, D))
    K = empirical_ntk(p, X1, X2, gamma=0.9).numpy()
    np.testing.assert_allclose(mom.ntk(X1, X2), K, rtol=1e-10)
    F1, F2 = X1 @ p.w.numpy().T / np.sqrt(D), X2 @ p.w.numpy().T / np.sqrt(D)
    np.testing.assert_allclose(mom.feature_kernel(X1, X2), F1 @ F2.T / N, rtol=1e-10)
    np.testing.assert_allclose(mom.beta(0.9), p.w.numpy().T @ p.z.numpy() / (0.9 * N))


def test_infinite_width_start_is_the_wide_limit(rng):
    inf = infinite_width_start(D)
    np.testing.assert_allclose(inf.q, 1.0, rtol=1e-15)
    np.testing.assert_allclose(inf.m, 0.0, atol=0.0)
    p = init_params(D, 20000, rng=rng)
    wide = empirical_moments(p.w, p.z)
    assert np.max(np.abs(wide.M - inf.M)) < 0.05
    assert np.max(np.abs(wide.m)) < 0.05


def test_batches_broadcast(rng):
    X, y = _task(rng)
    Xb, yb = np.stack([X, 2 * X]), np.stack([y, y])
    both = integrate_source(
        Xb, yb, gamma=1.0, lam=0.0, dt=0.01, steps=50, start=infinite_width_start(D)
    )
    one = integrate_source(
        Xb[1], yb[1], gamma=1.0, lam=0.0, dt=0.01, steps=50, start=infinite_width_start(D)
    )
    assert both.M.shape == (2, D, D) and both.q.shape == (2,)
    _close(Moments(both.M[1], both.m[1], both.q[1]), one, rtol=1e-12)


def test_too_large_a_step_is_an_error(rng):
    X, y = _task(rng)
    with pytest.raises(ValueError, match="dt"):
        integrate_source(X, y, gamma=3.0, lam=0.0, dt=2.0, steps=400, start=infinite_width_start(D))


def test_bad_moments():
    with pytest.raises(ValueError, match="M"):
        Moments(np.ones((2, 3)), np.zeros(3), 1.0)
    with pytest.raises(ValueError, match="m"):
        Moments(np.eye(3), np.zeros(2), 1.0)
    with pytest.raises(ValueError, match="q"):
        Moments(np.eye(3), np.zeros(3), -1.0)
