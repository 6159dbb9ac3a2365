"""Tests of dltheory.theory.jacobian_split: limiting cases, identities and a brute-force check."""

import numpy as np
import pytest

from dltheory.datasets import corrupt_labels, one_hot, stack_classes
from dltheory.theory.jacobian_split import (
    bias_term,
    class_mean_energy,
    distance_bound,
    fit_time,
    predicted_direction_decay,
    predicted_label_energy,
    predicted_split_residual,
    random_baseline,
    variance_shape,
)


def test_direction_decay_limits():
    lam = np.array([2.0, 1.0, 0.0])
    d = predicted_direction_decay([0, 1, 3], lam, lr=0.25)
    np.testing.assert_allclose(d[0], 1.0)  # t = 0 is the initialisation
    np.testing.assert_allclose(d[1], [0.0, 0.75, 1.0])  # eta = 1/lambda_1^2 kills direction 1
    np.testing.assert_allclose(d[2, 1], 0.75**3)
    with pytest.raises(ValueError, match="lr"):
        predicted_direction_decay([0], lam, lr=0)


def test_split_residual_sums_to_the_whole(rng):
    lam = np.sort(rng.uniform(0, 1, 8))[::-1]
    c = rng.standard_normal(8)
    info, nuis = predicted_split_residual([0, 5], lam, c, lr=1.0, rank=3)
    np.testing.assert_allclose(info[0] ** 2 + nuis[0] ** 2, c @ c)
    np.testing.assert_allclose(info[0], np.linalg.norm(c[:3]))
    assert info[1] < info[0] and nuis[1] < nuis[0]
    with pytest.raises(ValueError, match="rank"):
        predicted_split_residual([0], lam, c, lr=1.0, rank=8)
    with pytest.raises(ValueError, match="coeffs0"):
        predicted_split_residual([0], lam, c[:3], lr=1.0, rank=2)


def test_baselines():
    np.testing.assert_allclose(random_baseline([0, 5, 10], 10), [0, 0.5, 1])
    assert class_mean_energy(np.repeat(np.arange(4), 5), 4) == pytest.approx(0.25)
    with pytest.raises(ValueError, match="r must"):
        random_baseline([11], 10)


def test_predicted_label_energy_limits(rng):
    K, n = 3, 12
    labels = np.repeat(np.arange(K), n // K)
    Q, _ = np.linalg.qr(rng.standard_normal((K * n, K * n)))
    y = stack_classes(one_hot(labels, K))
    # rho = 0 is the clean profile exactly
    clean = np.cumsum((Q.T @ y) ** 2) / n
    np.testing.assert_allclose(predicted_label_energy(Q, labels, 0.0, K), clean, rtol=1e-12)
    # a complete basis holds all of ||y_rho||^2 = n for every rho
    for rho in (0.3, 1.0):
        np.testing.assert_allclose(predicted_label_energy(Q, labels, rho, K)[-1], 1.0, rtol=1e-12)
    with pytest.raises(ValueError, match="rows"):
        predicted_label_energy(Q[:5], labels, 0.5, K)
    with pytest.raises(ValueError, match="rho"):
        predicted_label_energy(Q, labels, 1.5, K)


def test_predicted_label_energy_brute_force(rng):
    """The expectation against an average over many corruption draws."""
    K, n, r = 4, 40, 10
    labels = np.repeat(np.arange(K), n // K)
    Q, _ = np.linalg.qr(rng.standard_normal((K * n, r)))
    rho = 0.5
    draws = [
        np.sum(
            (Q.T @ stack_classes(one_hot(corrupt_labels(labels, rho, num_classes=K, rng=rng), K)))
            ** 2
        )
        / n
        for _ in range(4000)
    ]
    pred = predicted_label_energy(Q, labels, rho, K)[-1]
    # Monte-Carlo standard error of the mean, plus the O(1/n) of corrupting exactly rho n labels
    se = np.std(draws) / np.sqrt(len(draws))
    assert abs(np.mean(draws) - pred) < 4 * se + pred / n


def test_bound_shapes():
    assert fit_time(2.0, 1.0, np.exp(-1)) == pytest.approx(4.0)
    np.testing.assert_allclose(distance_bound(1.0, 2.0, 0.5, gamma=2.0), 10.0)
    np.testing.assert_allclose(bias_term(np.sqrt(100.0), 100), 2.0)  # ||Pi_N y|| = ||y||
    np.testing.assert_allclose(variance_shape([1.0, 2.0], 4), [0.5, 0.25])
    for bad in (
        lambda: fit_time(1.0, 1.0, 2.0),
        lambda: distance_bound(1, 1, 0.0),
        lambda: variance_shape(-1.0, 4),
    ):
        with pytest.raises(ValueError):
            bad()
