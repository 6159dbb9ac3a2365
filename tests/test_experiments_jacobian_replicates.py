"""Tests of chapter 5's seed-replicated comparisons and the closed forms they rest on."""

import numpy as np
import pytest

from dltheory import datasets as ds
from dltheory._torch import torch
from dltheory.experiments import jacobian_replicates as jr
from dltheory.jacobian import label_energy, two_layer_gram
from dltheory.nets import linearised, train_gd, two_layer_net
from dltheory.theory import jacobian_split as js


def _unit_rows(rng, n, d):
    X = rng.standard_normal((n, d))
    return X / np.linalg.norm(X, axis=1, keepdims=True)


def test_expected_gram_closed_form_cases():
    x = np.array([[1.0, 0.0], [0.0, 2.0], [-1.0, 0.0]])
    S = js.expected_gram(x)
    assert S[0, 0] == pytest.approx(0.5)  # same direction: P(w.x > 0) = 1/2
    assert S[1, 1] == pytest.approx(2.0)  # ||x||^2 / 2
    assert S[0, 1] == pytest.approx(0.0)  # orthogonal: x.x' = 0
    assert S[0, 2] == pytest.approx(0.0)  # opposite: never both active


def test_expected_gram_is_the_wide_limit_of_the_network_gram(rng):
    X = _unit_rows(rng, 12, 4)
    S = js.expected_gram(X)
    G = two_layer_gram(two_layer_net(4, 20000, 3, rng=rng), X)
    # 10,000 independent units: entries fluctuate by about 1/sqrt(10^4) of their scale (1/2)
    np.testing.assert_allclose(G, np.kron(np.eye(3), S), atol=0.03)


def test_expected_label_energy_profile(rng):
    X = _unit_rows(rng, 9, 5)
    labels = np.array([0, 1, 2] * 3)
    E, F = js.expected_label_energy(js.expected_gram(X), labels, 3)
    assert E[-1] == pytest.approx(1.0) and F[-1] == pytest.approx(1.0)
    assert np.all(np.diff(E) >= -1e-12) and np.all(np.diff(F) >= -1e-12)
    # against the eigenvectors of the full multiclass matrix I_K (x) Sigma
    w, V = np.linalg.eigh(np.kron(np.eye(3), js.expected_gram(X)))
    full = label_energy(V[:, ::-1], ds.stack_classes(ds.one_hot(labels, 3)))
    assert E[-2] == pytest.approx(full[3 * 8 - 1])


def test_linearised_net_is_kernel_gradient_descent(rng):
    X = _unit_rows(rng, 20, 5)
    net = two_layer_net(5, 8, 3, rng=rng)
    lin = linearised(net)
    with torch.no_grad():
        assert torch.allclose(lin(torch.as_tensor(X)), net(torch.as_tensor(X)))
    G = two_layer_gram(net, X)
    Y = np.eye(3)[rng.integers(0, 3, 20)]
    lr = 0.5 / np.linalg.eigvalsh(G)[-1]
    train_gd(lin, X, Y, lr=lr, steps=30, progress=False)
    y = ds.stack_classes(Y)
    r = -y
    for _ in range(30):
        r = r - lr * G @ r
    with torch.no_grad():
        f = lin(torch.as_tensor(X)).numpy()
    np.testing.assert_allclose(ds.stack_classes(f), r + y, atol=1e-10)


def test_exact_count_expectation_matches_draws(rng):
    K, labels = 3, np.repeat(np.arange(3), 4)
    U = np.linalg.qr(rng.standard_normal((12 * K, 12 * K)))[0]
    rho = 0.5
    draws = np.array(
        [
            label_energy(
                U,
                ds.stack_classes(
                    ds.one_hot(ds.corrupt_labels(labels, rho, num_classes=K, rng=rng), K)
                ),
            )
            for _ in range(6000)
        ]
    )[:, :-1]  # E(K n) = 1 for every draw
    m, se = draws.mean(0), draws.std(0) / np.sqrt(len(draws))
    exact = js.predicted_label_energy(U, labels, rho, K, exact_count=True)[:-1]
    independent = js.predicted_label_energy(U, labels, rho, K)[:-1]
    assert np.max(np.abs(m - exact) / se) < 4.5
    assert np.max(np.abs(m - independent) / se) > 4.5  # the correction is needed at n = 12


def test_exact_count_needs_a_whole_number_of_corrupted_labels():
    U = np.linalg.qr(np.random.default_rng(0).standard_normal((18, 4)))[0]
    with pytest.raises(ValueError, match="whole number"):
        js.predicted_label_energy(U, np.array([0, 1, 2] * 2), 0.3, 3, exact_count=True)


@pytest.fixture(scope="module")
def problem():
    from census.spec_exp_jacobian_information import _problem

    return _problem()


@pytest.fixture(scope="module")
def spectrum():
    from census.spec_exp_jacobian_information import _spectrum

    return _spectrum()


def test_corruption_sweep_shapes_and_determinism(problem, spectrum):
    a = jr.run_corruption_sweep(problem, spectrum, rng=np.random.default_rng(1))
    b = jr.run_corruption_sweep(problem, spectrum, rng=np.random.default_rng(1))
    L, C = len(jr.SWEEP_RHOS), a.grid.axes["r"].size
    assert a.predicted.shape == a.mean.shape == a.se.shape == (L, C)
    assert a.test_error.shape == (2, L + 1) and a.bias.shape == (L + 1,)
    np.testing.assert_allclose(a.mean, b.mean)
    claim = a.claim()
    assert set(claim) == {"predicted", "measured", "abs", "se", "n"} and claim["n"] == 3


def test_heldout_sets_are_disjoint_draws(problem, spectrum):
    h = jr.run_heldout_energy(problem, spectrum, rng=np.random.default_rng(2))
    assert h.energy.shape == (problem.sizes.heldout_draws, problem.sizes.rank)
    c = h.claim(problem.sizes.rank)
    assert c["abs"] == pytest.approx(3 * c["se"]) and c["n"] == problem.sizes.heldout_draws
