import numpy as np
import pytest
from conftest import EXACT

from dltheory.theory.kernels import (
    expected_rho_squared,
    kernel_predictor,
    predicted_adaptive_kernel,
    predicted_fixed_point,
    predicted_lazy_beta,
    predicted_lazy_finetune_beta,
    predicted_lazy_ntk,
    predicted_readout_mse,
    predicted_scratch_mse,
    predicted_test_mse,
    predicted_transfer_boundary,
    weight_decay_threshold,
)

D = 40


def _task(rng, P, D=D):
    beta = rng.standard_normal(D)
    beta *= np.sqrt(D) / np.linalg.norm(beta)
    X = rng.standard_normal((P, D))
    return X, X @ beta / np.sqrt(D), beta


@pytest.mark.parametrize("P", [10, 30, 60, 120])
def test_fixed_point_solves_its_equation(rng, P):
    X, y, _ = _task(rng, P)
    fp = predicted_fixed_point(X, y, gamma=1.0, lam=0.5)
    assert fp.nonzero
    np.testing.assert_allclose(fp.kappa, 0.5 / fp.norm, rtol=EXACT)
    lhs = (X.T @ X / D + fp.kappa * np.eye(D)) @ fp.beta
    np.testing.assert_allclose(lhs, X.T @ y / np.sqrt(D), atol=1e-11)
    assert fp.q == pytest.approx(fp.norm)


def test_zero_below_threshold_and_continuous_at_it(rng):
    X, y, _ = _task(rng, 30)
    lam_c = weight_decay_threshold(X, y, gamma=2.0)
    np.testing.assert_allclose(lam_c, 2.0 * np.linalg.norm(X.T @ y) / np.sqrt(D), rtol=EXACT)
    # At and above lam_c the solver takes its zero branch, decided by the same float as lam_c itself
    # (one threshold function), so the result is the zero vector on every BLAS kernel.
    for lam in (lam_c * 1.001, lam_c):
        fp = predicted_fixed_point(X, y, gamma=2.0, lam=lam)
        assert not fp.nonzero and not fp.beta.any()
    near = predicted_fixed_point(X, y, gamma=2.0, lam=lam_c * (1 - 1e-8)).norm
    assert 0 < near < 1e-6


def test_effective_ridge_falls_with_data_and_richness(rng):
    X, y, _ = _task(rng, 120)
    kappas = [predicted_fixed_point(X[:P], y[:P], gamma=1.0, lam=0.5).kappa for P in (30, 60, 120)]
    assert np.all(np.diff(kappas) < 0)
    k_g = [predicted_fixed_point(X, y, gamma=g, lam=0.5).kappa for g in (0.5, 1.0, 2.0)]
    assert np.all(np.diff(k_g) < 0)


def test_adaptive_predictor_reproduces_the_fixed_point(rng):
    # f = K(x, X)(K + 2 lam)^{-1} y with the adaptive kernel equals beta . x / sqrt(D)
    X, y, _ = _task(rng, 30)
    fp = predicted_fixed_point(X, y, gamma=1.5, lam=0.5)
    Xt = rng.standard_normal((7, D))
    K = predicted_adaptive_kernel(X, X, fp.beta, gamma=1.5)
    Kx = predicted_adaptive_kernel(Xt, X, fp.beta, gamma=1.5)
    np.testing.assert_allclose(
        kernel_predictor(K, Kx, y, ridge=1.0), Xt @ fp.beta / np.sqrt(D), atol=1e-10
    )


def test_lazy_predictor_is_ridge_regression(rng):
    X, y, _ = _task(rng, 25)
    Xt = rng.standard_normal((5, D))
    pred = kernel_predictor(predicted_lazy_ntk(X, X), predicted_lazy_ntk(Xt, X), y, ridge=1.0)
    np.testing.assert_allclose(
        pred, Xt @ predicted_lazy_beta(X, y, lam=0.5) / np.sqrt(D), atol=1e-10
    )


def test_readout_formula_against_monte_carlo():
    rng = np.random.default_rng(1)
    rho, P_t, n = 0.6, 10, 40000
    s = rng.standard_normal((n, P_t))
    y = rho * s + np.sqrt(1 - rho**2) * rng.standard_normal((n, P_t))
    c = np.sum(s * y, 1) / np.sum(s * s, 1)
    mse = (c - rho) ** 2 + 1 - rho**2  # test error of y_hat = c s
    assert mse.mean() == pytest.approx(float(predicted_readout_mse(rho, P_t)), rel=0.02)


def test_scratch_min_norm_and_rho_limits(rng):
    errs = []
    for _ in range(300):
        X, y, beta = _task(rng, 10)
        errs.append(predicted_test_mse(np.linalg.pinv(X / np.sqrt(D)) @ y, beta))
    assert np.mean(errs) == pytest.approx(predicted_scratch_mse(10, D), abs=0.02)
    assert predicted_scratch_mse(50, D) == pytest.approx(0.0, abs=1e-15)
    np.testing.assert_allclose(expected_rho_squared([0.0, 0.5, 1.0], 1.0, D), [0.0, 0.25, 1.0])


def test_boundary_solves_equal_errors():
    a = predicted_transfer_boundary(10, D, cos_source=0.99)
    P_t = 10
    from dltheory.theory.kernels import predicted_readout_mse_alpha

    ft = predicted_readout_mse_alpha(a, 0.99, P_t, D)
    np.testing.assert_allclose(ft, predicted_scratch_mse(P_t, D), rtol=1e-12)
    # large P_t, perfect source: alpha*^2 -> nu2
    assert predicted_transfer_boundary(400, 1000) ** 2 == pytest.approx(0.4, abs=0.01)


def test_lazy_finetune_interpolates_and_keeps_beta_s_off_data(rng):
    X, y, _ = _task(rng, 10)
    beta_s = rng.standard_normal(D)
    bt = predicted_lazy_finetune_beta(X, y, beta_s)
    np.testing.assert_allclose(X @ bt / np.sqrt(D), y, atol=1e-10)  # interpolates the target
    # no data: the predictor stays at beta_s; data consistent with beta_s: no change
    np.testing.assert_allclose(
        predicted_lazy_finetune_beta(X, X @ beta_s / np.sqrt(D), beta_s), beta_s, atol=1e-10
    )


@pytest.mark.parametrize(
    "call",
    [
        lambda X, y: predicted_fixed_point(X, y, gamma=0.0, lam=0.5),
        lambda X, y: predicted_fixed_point(X, y, gamma=1.0, lam=-1.0),
        lambda X, y: predicted_fixed_point(X, y[:-1], gamma=1.0, lam=0.5),
        lambda X, y: predicted_fixed_point(X[0], y, gamma=1.0, lam=0.5),
        lambda X, y: predicted_readout_mse(1.5, 10),
        lambda X, y: predicted_readout_mse(0.5, 2),
        lambda X, y: kernel_predictor(np.eye(3), np.eye(3), np.ones(3), ridge=-1.0),
        lambda X, y: predicted_lazy_finetune_beta(X, y, np.zeros(D)),
        lambda X, y: predicted_adaptive_kernel(X, X[:, :3], np.ones(D), gamma=1.0),
    ],
)
def test_invalid_inputs_raise(rng, call):
    X, y, _ = _task(rng, 5)
    with pytest.raises(ValueError):
        call(X, y)
