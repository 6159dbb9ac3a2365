"""Tests of dltheory.kernel_nets: the empirical NTK, the frozen-feature readout, the lazy predictor."""

import numpy as np
import pytest
import torch

from dltheory.datasets import aligned_teachers, binary_labels, gaussian_task
from dltheory.kernel_nets import (
    TwoLayerParams,
    empirical_ntk,
    feature_kernels,
    forward,
    init_params,
    linearised_beta,
    readout_predictions,
)
from dltheory.kernel_training import train

D = 12


def _task(rng, P):
    beta, _ = aligned_teachers(D, 0.0, rng=rng)
    X, y = gaussian_task(beta, P, rng=rng)
    return torch.as_tensor(X), torch.as_tensor(y)


@pytest.mark.parametrize("activation", ["linear", "relu"])
def test_empirical_ntk_equals_dense_jacobian_and_feature_kernels(rng, activation):
    X, _ = _task(rng, 6)
    p = init_params(D, 5, rng=rng)
    gamma = 0.8
    K = empirical_ntk(p, X, X, gamma=gamma, activation=activation)
    # dense Jacobian with torch.autograd.functional
    theta = torch.cat([p.w.reshape(-1), p.z])

    def f(th):
        return forward(
            TwoLayerParams(th[: p.w.numel()].reshape(p.w.shape), th[p.w.numel() :]),
            X,
            gamma=gamma,
            activation=activation,
        )

    J = torch.autograd.functional.jacobian(f, theta)
    np.testing.assert_allclose(K, p.width * gamma**2 * J @ J.T, atol=1e-12)
    _, _, K2 = feature_kernels(p, X, X, activation=activation)
    np.testing.assert_allclose(K, K2, atol=1e-12)


def test_readout_on_rank_one_features_is_one_coefficient_least_squares(rng):
    beta_s, beta_t = aligned_teachers(D, 0.6, rng=rng)
    u = torch.as_tensor(beta_s / np.linalg.norm(beta_s))
    z = torch.as_tensor(rng.standard_normal(5))
    p = TwoLayerParams(z[:, None] * u[None, :] + 1e-12 * torch.randn(5, D, dtype=torch.float64), z)
    X, y = gaussian_task(beta_t, 10, rng=rng)
    E = np.sqrt(D) * np.eye(D)
    beta = readout_predictions(p, X, y, E).numpy()
    s = X @ u.numpy()
    c = (s @ y) / (s @ s)
    np.testing.assert_allclose(beta, np.sqrt(D) * c * u.numpy(), atol=1e-8)


@pytest.mark.parametrize(
    "call",
    [
        lambda p, X, y: forward(p, X, gamma=0.0),
        lambda p, X, y: forward(p, X, gamma=1.0, activation="tanh"),
        lambda p, X, y: forward(p, X[:, :3], gamma=1.0),
        lambda p, X, y: train(p, X, y, gamma=1.0, lam=-0.1, lr=0.1, steps=1),
        lambda p, X, y: train(p, X, y, gamma=1.0, lam=0.1, lr=0.1, steps=0),
        lambda p, X, y: train(p, X, y[:-1], gamma=1.0, lam=0.1, lr=0.1, steps=1),
        lambda p, X, y: train(p, X, y, gamma=1.0, lam=0.1, lr=0.1, steps=1, elastic=-1.0),
        lambda p, X, y: readout_predictions(p, X, y, X, rcond=0.0),
        lambda p, X, y: init_params(D, 0, rng=np.random.default_rng(0)),
        lambda p, X, y: aligned_teachers(D, 1.5, rng=np.random.default_rng(0)),
        lambda p, X, y: binary_labels([1, 2], ()),
        lambda p, X, y: empirical_ntk(
            init_params(D, 3, batch=(2,), rng=np.random.default_rng(0)), X, X, gamma=1.0
        ),
    ],
)
def test_invalid_inputs_raise(rng, call):
    X, y = _task(rng, 5)
    p = init_params(D, 4, rng=rng)
    with pytest.raises(ValueError):
        call(p, X, y)


@pytest.mark.parametrize("offset", [False, True])
def test_linearised_predictor_interpolates_the_target(rng, offset):
    # kernel regression without a ridge fits the P_t <= D target samples exactly, around any f_0
    p = init_params(D, 7, batch=(2, 1), rng=rng)
    beta_t, _ = aligned_teachers(D, np.zeros((2, 3)), rng=rng)
    X, y = gaussian_task(beta_t, 5, rng=rng)
    beta0 = rng.standard_normal((2, 3, D)) if offset else np.zeros((2, 3, D))
    beta = linearised_beta(p, X, y, beta0).numpy()
    assert beta.shape == (2, 3, D)
    np.testing.assert_allclose(np.einsum("...pd,...d->...p", X, beta) / np.sqrt(D), y, atol=1e-9)
    # one network by hand: beta0 + K(sqrt(D) e_k, X) K(X, X)^{-1} (y - X beta0 / sqrt(D))
    K = empirical_ntk(p[1, 0], X[1, 2], X[1, 2], gamma=1.0).numpy()
    Kx = empirical_ntk(p[1, 0], np.sqrt(D) * np.eye(D), X[1, 2], gamma=1.0).numpy()
    r = y[1, 2] - X[1, 2] @ beta0[1, 2] / np.sqrt(D)
    np.testing.assert_allclose(beta[1, 2], beta0[1, 2] + Kx @ np.linalg.solve(K, r), atol=1e-9)
