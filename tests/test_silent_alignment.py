"""Closed forms of the silent alignment effect (dltheory.theory.silent_alignment): the kernel of a
balanced rank-one mode against its definition, the closed form against the reduced flow, and the
two-layer matched solution and the kernel-regression gap against gradient descent."""

import numpy as np
import pytest
from conftest import EXACT

from dltheory.experiments import silent_alignment as sa
from dltheory.theory import silent_alignment as th
from dltheory.theory.mode_dynamics import predicted_mode_strength


def _whitened(seed=0, D=12, P=6):
    rng = np.random.default_rng(seed)
    Q, _ = np.linalg.qr(rng.standard_normal((D, P)))
    X = np.sqrt(P) * Q.T
    y = X @ rng.standard_normal(D)
    return X, y / (np.linalg.norm(X.T @ y) / P)


def _ntk_of_layers(Ws, a, D):
    B, u = sa._ntk([W[None] for W in Ws], a[None])
    return sa._kernel(B, u, D)[0]


@pytest.mark.parametrize("L", [2, 3, 4])
def test_linear_ntk_is_the_kernel_of_a_balanced_rank_one_mode(L):
    rng = np.random.default_rng(L)
    D, N, s = 5, 4, 0.7
    v = rng.standard_normal(D)
    v /= np.linalg.norm(v)
    h = [v] + [x / np.linalg.norm(x) for x in rng.standard_normal((L - 1, N))]
    e = s ** (1 / L)
    Ws = [e * np.outer(h[i + 1], h[i]) for i in range(L - 1)]
    assert np.allclose(_ntk_of_layers(Ws, e * h[-1], D), th.linear_ntk(s, v, n_weights=L))


def test_alignment_from_strength_matches_the_kernel():
    X, y = _whitened()
    M0 = 0.01 * np.diag(np.linspace(0.5, 1.5, X.shape[1]))
    s = np.array([0.0, 1e-3, 0.1, 1.0])
    v = X.T @ y
    for L in (2, 3):
        K = X @ th.linear_ntk(s, v, n_weights=L, m0=M0) @ X.T
        direct = th.kernel_alignment(K[1:], y)  # s = 0 is a limit for L > 2 (K vanishes)
        assert np.allclose(th.alignment_from_strength(s, X, y, n_weights=L, m0=M0)[1:], direct)


def test_kernel_alignment_bounds():
    y = np.array([1.0, -2.0, 0.5])
    assert np.isclose(th.kernel_alignment(np.outer(y, y), y), 1.0)
    assert th.kernel_alignment(np.eye(3), y) == pytest.approx(1 / np.sqrt(3))


@pytest.mark.parametrize("L", [2, 3])
def test_closed_form_equals_reduced_flow_on_whitened_data(L):
    X, y = _whitened(1)
    t = np.linspace(0, 12, 40)
    kw = {"eps": 1e-3, "tau": 1.0, "n_weights": L, "m0": 1e-3}
    A1, l1 = th.predicted_alignment(t, X, y, **kw)
    A2, l2 = th.reduced_alignment(t, X, y, **kw)
    assert np.allclose(A1, A2, atol=1e-8) and np.allclose(l1, l2, atol=1e-8)


def test_silent_times_order_and_scaling():
    X, y = _whitened(2)
    small = th.predicted_silent_times(X, y, eps=1e-6, tau=1.0, m0=1e-5)
    big = th.predicted_silent_times(X, y, eps=1e-6, tau=1.0, m0=1e-4)
    assert small["t_align"] < small["t_loss"] and small["ratio"] < big["ratio"]
    # L = 2: alignment depends on s / m0, so the strength at alignment scales with m0 (up to the
    # O(m0 / b) shift of the final alignment itself)
    assert big["s_align"] / small["s_align"] == pytest.approx(10, rel=1e-3)
    assert small["t_loss"] == pytest.approx(big["t_loss"])  # the loss does not see m0
    A = th.alignment_from_strength(np.array([small["s_align"], 1.0]), X, y, m0=1e-5)
    assert A[0] == pytest.approx(0.9 * A[1])


def test_first_crossing():
    t = np.arange(5.0)
    assert th.first_crossing(t, t**2, 2.0) == pytest.approx(1 + 1 / 3)
    assert th.first_crossing(t, -t, -2.5, falling=True) == pytest.approx(2.5)
    assert np.isnan(th.first_crossing(t, t, 10.0))
    assert th.first_crossing(t, t, -1.0) == pytest.approx(0.0, abs=EXACT)


def test_two_layer_theory_starts_at_the_initial_kernel_and_tracks_gradient_descent():
    rng = np.random.default_rng(3)
    X, y = _whitened(3)
    D, N, S = X.shape[1], 20, 2
    Ws, a = sa._random_init(rng, S, N, D, 0.02)
    t, m, M, _ = sa._train(Ws, a, X[None].repeat(S, 0), y[None].repeat(S, 0), 0.01, 1200, 10)
    for i in range(S):
        r = th.two_layer_theory(t * np.log1p(0.01) / 0.01, Ws[0][i], a[i], X, y)
        M0 = Ws[0][i].T @ Ws[0][i] + a[i] @ a[i] * np.eye(D)
        assert np.allclose(r["kernel"][0], M0)
        assert np.max(np.abs(r["align"] - m["A"][:, i])) < 2e-3
        assert np.max(np.abs(r["loss"] - m["loss"][:, i])) < 5e-3
        s = predicted_mode_strength(t[-1], 1.0, eps=r["eps"], tau=1.0)
        assert s == pytest.approx(1.0, abs=1e-6)


def test_kr_gap_from_init_matches_the_trained_network():
    rng = np.random.default_rng(4)
    X, y = _whitened(4, D=16, P=6)
    D, N = X.shape[1], 30
    Ws, a = sa._random_init(rng, 1, N, D, 0.02)
    _, _, M, w = sa._train(Ws, a, X[None], y[None], 0.02, 1200, 100)
    beta_kr = M[0] @ X.T @ np.linalg.solve(X @ M[0] @ X.T, y)
    gap = np.sum((w[0] - beta_kr) ** 2) / np.sum(w[0] ** 2)
    assert gap == pytest.approx(th.kr_gap_from_init(Ws[0][0], a[0], X, y), rel=0.02)
    assert th.predicted_kr_gap(0.02, D=16, P=6, N=30, b=1.0) == pytest.approx(0.02**2 * 10 / 120)


def test_kernel_regression_interpolates():
    rng = np.random.default_rng(5)
    Z = rng.standard_normal((4, 6))
    K = Z @ Z.T
    y = rng.standard_normal(4)
    assert np.allclose(th.kernel_regression(K, K, y), y)


def test_bad_arguments():
    X, y = _whitened()
    with pytest.raises(ValueError, match="whitened"):
        th.predicted_alignment([0.0, 1.0], X * np.linspace(1, 2, X.shape[1]), y, eps=1e-3, tau=1.0)
    with pytest.raises(ValueError, match="eps"):
        th.predicted_silent_times(X, y, eps=0.5, tau=1.0, m0=1e-4)
    with pytest.raises(ValueError, match="P must be <= D"):
        th.predicted_kr_gap(0.1, D=4, P=5, N=3, b=1.0)
