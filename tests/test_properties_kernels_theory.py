"""Property tests of the lazy vs adaptive kernel theory (chapter 6; Lauditi, Bordelon & Pehlevan 2025,
arXiv:2507.04448, our derivation in their framework): the weight-decay fixed point, its kernels, the
readout and scratch errors and the transfer boundary."""

import numpy as np
import pytest
from conftest import EXACT
from hypothesis import given
from hypothesis import strategies as st

from dltheory.theory.kernels import (
    expected_rho_squared,
    kernel_predictor,
    predicted_adaptive_kernel,
    predicted_fixed_point,
    predicted_lazy_beta,
    predicted_lazy_finetune_beta,
    predicted_lazy_ntk,
    predicted_readout_mse,
    predicted_readout_mse_alpha,
    predicted_scratch_mse,
    predicted_test_mse,
    predicted_transfer_boundary,
    weight_decay_threshold,
)

seeds = st.integers(0, 2**32 - 1)
dims = st.integers(2, 12)
samples = st.integers(1, 20)
gammas = st.floats(0.1, 10.0)
cosines = st.floats(-1.0, 1.0)


def _task(seed, P, D):
    rng = np.random.default_rng(seed)
    beta = rng.standard_normal(D)
    beta *= np.sqrt(D) / np.linalg.norm(beta)
    X = rng.standard_normal((P, D))
    return X, X @ beta / np.sqrt(D), beta


@given(seeds, samples, dims, gammas, st.floats(0.01, 0.99))
def test_fixed_point_solves_its_equation(seed, P, D, gamma, frac):
    X, y, _ = _task(seed, P, D)
    lam = frac * weight_decay_threshold(X, y, gamma=gamma)
    fp = predicted_fixed_point(X, y, gamma=gamma, lam=lam)
    assert fp.nonzero
    # (C_x + kappa I) beta = b with kappa = lam / (gamma |beta|)
    lhs = (X.T @ X / D + fp.kappa * np.eye(D)) @ fp.beta
    b = X.T @ y / np.sqrt(D)
    np.testing.assert_allclose(lhs, b, atol=1e-9 * np.linalg.norm(b))
    np.testing.assert_allclose(fp.kappa * gamma * fp.norm, lam, rtol=1e-12)


@given(seeds, samples, dims, gammas, st.floats(1.0, 10.0))
def test_fixed_point_is_zero_at_and_above_the_threshold(seed, P, D, gamma, factor):
    X, y, _ = _task(seed, P, D)
    lam_c = weight_decay_threshold(X, y, gamma=gamma)
    np.testing.assert_allclose(lam_c, gamma * np.linalg.norm(X.T @ y) / np.sqrt(D), rtol=EXACT)
    fp = predicted_fixed_point(X, y, gamma=gamma, lam=lam_c * factor)
    assert fp.norm == pytest.approx(0.0, abs=EXACT) and not fp.nonzero and np.isposinf(fp.kappa)
    assert fp.threshold == lam_c  # the branch is decided by the same float the threshold returns


@given(seeds, samples, dims, gammas, st.lists(st.floats(1e-3, 1.0), min_size=2, max_size=8))
def test_fixed_point_norm_falls_with_weight_decay(seed, P, D, gamma, fracs):
    X, y, _ = _task(seed, P, D)
    lam_c = weight_decay_threshold(X, y, gamma=gamma)
    lams = lam_c * np.unique(fracs)
    norms = [predicted_fixed_point(X, y, gamma=gamma, lam=lam).norm for lam in lams]
    assert np.all(np.diff(norms) < 0)


@given(seeds, samples, dims, gammas, st.floats(1e-12, 1e-6))
def test_fixed_point_is_continuous_at_the_threshold(seed, P, D, gamma, delta):
    # just below lam_c the norm is O(delta): h(u) = |b|^2 - 2 u sum c_k b_k^2 + ... gives
    # |beta| = u lam / gamma ~ delta |b|^2 / sum c_k b_k^2, with no jump at the threshold
    X, y, _ = _task(seed, P, D)
    lam_c = weight_decay_threshold(X, y, gamma=gamma)
    near = predicted_fixed_point(X, y, gamma=gamma, lam=lam_c * (1 - delta)).norm
    b = X.T @ y / np.sqrt(D)
    c_b2 = b @ (X.T @ X / D) @ b
    assert near <= 4 * delta * (lam_c / gamma) * (b @ b) / c_b2 + 1e-12


@given(seeds, samples, st.integers(12, 30), gammas)
def test_fixed_point_tends_to_the_minimum_norm_interpolant(seed, P, D, gamma):
    # lam -> 0: kappa -> 0 and beta -> C_x^+ b, the min-norm interpolant (P < D: C_x is singular)
    X, y, _ = _task(seed, P, D)
    min_norm = np.linalg.pinv(X / np.sqrt(D)) @ y
    for lam in (1e-14, 1e-200):
        fp = predicted_fixed_point(X, y, gamma=gamma, lam=lam)
        np.testing.assert_allclose(fp.beta, min_norm, atol=1e-8 * np.linalg.norm(min_norm))
        np.testing.assert_allclose(
            predicted_lazy_beta(X, y, lam=lam), min_norm, atol=1e-8 * np.linalg.norm(min_norm)
        )


@given(seeds, samples, dims, gammas, st.floats(0.01, 0.99))
def test_kernels_are_symmetric_positive_semidefinite(seed, P, D, gamma, frac):
    X, y, _ = _task(seed, P, D)
    fp = predicted_fixed_point(
        X, y, gamma=gamma, lam=frac * weight_decay_threshold(X, y, gamma=gamma)
    )
    for K in (predicted_adaptive_kernel(X, X, fp.beta, gamma=gamma), predicted_lazy_ntk(X, X)):
        np.testing.assert_allclose(K, K.T, rtol=1e-12, atol=1e-12 * np.abs(K).max())
        assert np.linalg.eigvalsh(K).min() >= -1e-10 * np.abs(K).max()
    # along beta the adaptive kernel is twice as strong as across it: K = (q/D) x^T (I + bb^T) x'
    bh = fp.beta / fp.norm
    k_par = predicted_adaptive_kernel(bh[None], bh[None], fp.beta, gamma=gamma)[0, 0]
    np.testing.assert_allclose(k_par, 2 * fp.q / D, rtol=1e-12)


@given(seeds, samples, dims, gammas, st.floats(0.05, 0.95))
def test_adaptive_kernel_regression_reproduces_the_fixed_point(seed, P, D, gamma, frac):
    X, y, _ = _task(seed, P, D)
    lam = frac * weight_decay_threshold(X, y, gamma=gamma)
    fp = predicted_fixed_point(X, y, gamma=gamma, lam=lam)
    Xt = np.random.default_rng(seed + 1).standard_normal((5, D))
    K = predicted_adaptive_kernel(X, X, fp.beta, gamma=gamma)
    Kx = predicted_adaptive_kernel(Xt, X, fp.beta, gamma=gamma)
    np.testing.assert_allclose(
        kernel_predictor(K, Kx, y, ridge=2 * lam),
        Xt @ fp.beta / np.sqrt(D),
        atol=1e-8 * (1 + np.abs(y).max()),
    )


@given(seeds, samples, dims, st.floats(1e-3, 1e3))
def test_lazy_beta_is_ridge_regression_with_its_limits(seed, P, D, lam):
    X, y, _ = _task(seed, P, D)
    beta = predicted_lazy_beta(X, y, lam=lam)
    b = X.T @ y / np.sqrt(D)
    np.testing.assert_allclose(
        (X.T @ X / D + lam * np.eye(D)) @ beta, b, atol=1e-9 * (1 + np.abs(b).max())
    )
    Xt = np.random.default_rng(seed + 1).standard_normal((4, D))
    pred = kernel_predictor(predicted_lazy_ntk(X, X), predicted_lazy_ntk(Xt, X), y, ridge=2 * lam)
    np.testing.assert_allclose(pred, Xt @ beta / np.sqrt(D), atol=1e-9 * (1 + np.abs(y).max()))
    # lam -> inf: beta = b / lam - C_x b / lam^2 + ..., the correction ~ |C_x| / lam of |b|
    np.testing.assert_allclose(
        1e9 * predicted_lazy_beta(X, y, lam=1e9), b, atol=1e-6 * np.abs(b).max()
    )


@given(seeds, st.integers(1, 10), dims)
def test_lazy_finetune_interpolates_from_beta_s(seed, P, D):
    X, y, _ = _task(seed, min(P, D), D)
    beta_s = np.random.default_rng(seed + 1).standard_normal(D)
    bt = predicted_lazy_finetune_beta(X, y, beta_s)
    np.testing.assert_allclose(X @ bt / np.sqrt(D), y, atol=1e-8 * (1 + np.abs(y).max()))
    # data beta_s already fits: nothing to correct
    np.testing.assert_allclose(
        predicted_lazy_finetune_beta(X, X @ beta_s / np.sqrt(D), beta_s),
        beta_s,
        atol=1e-9 * np.abs(beta_s).max(),
    )


@given(seeds, dims, st.floats(0.0, 5.0))
def test_test_mse_is_a_scaled_squared_distance(seed, D, c):
    rng = np.random.default_rng(seed)
    b1, b2 = rng.standard_normal((2, D))
    m = float(predicted_test_mse(b1, b2))
    np.testing.assert_allclose(m, np.sum((b1 - b2) ** 2) / D, rtol=EXACT)
    np.testing.assert_allclose(predicted_test_mse(b1, b1), 0.0, atol=1e-15)
    np.testing.assert_allclose(predicted_test_mse(b2, b1), m, rtol=EXACT)
    np.testing.assert_allclose(
        predicted_test_mse(c * b1, c * b2), c**2 * m, rtol=1e-12, atol=1e-300
    )


@given(cosines, cosines, st.integers(2, 10**4))
def test_expected_rho_squared_is_a_second_moment_of_a_cosine(alpha, c, D):
    r2 = float(expected_rho_squared(alpha, c, D))
    assert 0.0 <= r2 <= 1.0 + EXACT
    # limits: a perfect source recovers alpha^2; the sign of a cosine does not matter
    np.testing.assert_allclose(
        expected_rho_squared(alpha, 1.0, D), alpha**2, rtol=EXACT, atol=EXACT
    )
    np.testing.assert_allclose(expected_rho_squared(-alpha, -c, D), r2, rtol=EXACT, atol=EXACT)
    # c^2 = 1/D makes E[rho^2] = 1/D whatever alpha: a random direction's mean squared cosine
    np.testing.assert_allclose(expected_rho_squared(alpha, 1 / np.sqrt(D), D), 1 / D, rtol=1e-12)


@given(st.floats(-1.0, 1.0), st.integers(3, 10**4))
def test_readout_error_limits(rho, P_t):
    mse = float(predicted_readout_mse(rho, P_t))
    assert mse >= 0.0
    np.testing.assert_allclose(predicted_readout_mse(1.0, P_t), 0.0, atol=1e-15)
    np.testing.assert_allclose(predicted_readout_mse(0.0, P_t), (P_t - 1) / (P_t - 2), rtol=EXACT)
    np.testing.assert_allclose(mse, (1 - rho**2) * (1 + 1 / (P_t - 2)), rtol=EXACT)


@given(st.integers(1, 10**4), st.integers(1, 10**4))
def test_scratch_error_is_the_unexplained_fraction(P_t, D):
    m = predicted_scratch_mse(P_t, D)
    assert 0.0 <= m < 1.0
    np.testing.assert_allclose(m, max(1 - P_t / D, 0.0), rtol=EXACT)
    assert predicted_scratch_mse(P_t + 1, D) <= m


@given(st.integers(3, 200), st.integers(2, 400), st.floats(0.0, 1.0))
def test_transfer_boundary_balances_readout_and_scratch(P_t, D, c):
    a_star = predicted_transfer_boundary(P_t, D, c)
    scratch = predicted_scratch_mse(P_t, D)
    if c**2 <= 1 / D:
        assert np.isnan(a_star)  # E[rho^2] <= 1/D for every alpha: the readout never wins
        return
    if np.isnan(a_star):  # then even alpha = 1 loses (or at best ties)
        assert float(predicted_readout_mse_alpha(1.0, c, P_t, D)) >= scratch - 1e-12
        return
    assert 0.0 <= a_star <= 1.0
    np.testing.assert_allclose(
        predicted_readout_mse_alpha(a_star, c, P_t, D), scratch, rtol=1e-9, atol=1e-12
    )
    # above the boundary the readout wins, below it loses
    if a_star < 1.0 - 1e-6:
        assert float(predicted_readout_mse_alpha(min(a_star + 1e-3, 1.0), c, P_t, D)) < scratch
    if a_star > 1e-3:
        assert float(predicted_readout_mse_alpha(a_star - 1e-3, c, P_t, D)) > scratch


@given(st.integers(3, 200), st.integers(2, 400), st.floats(0.0, 1.0), st.floats(0.0, 1.0))
def test_a_better_source_needs_less_alignment(P_t, D, c1, c2):
    lo, hi = sorted((c1, c2))
    a_lo, a_hi = predicted_transfer_boundary(P_t, D, lo), predicted_transfer_boundary(P_t, D, hi)
    if not np.isnan(a_lo):
        assert a_hi <= a_lo + 1e-12  # a source closer to its teacher transfers from lower alignment
    # only c^2 enters
    b = predicted_transfer_boundary(P_t, D, -c1)
    a = predicted_transfer_boundary(P_t, D, c1)
    assert (np.isnan(a) and np.isnan(b)) or a == b


def test_transfer_boundary_where_alignment_stops_mattering():
    # c^2 = 1/D: E[rho^2] = 1/D for every alpha (this divided by zero), below what transfer needs
    assert np.isnan(predicted_transfer_boundary(10, 4, cos_source=0.5))
    assert np.isnan(predicted_transfer_boundary(10, 40, cos_source=0.0))


def test_cosines_out_of_range_are_rejected():
    import pytest

    with pytest.raises(ValueError, match="alpha"):
        predicted_readout_mse_alpha(2.0, 1.0, 10, 100)  # gave a negative MSE
    for bad in (2.0, float("nan")):
        with pytest.raises(ValueError, match="cos_source"):
            predicted_transfer_boundary(10, 4, cos_source=bad)
