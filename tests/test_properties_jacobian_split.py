"""Property tests of the Jacobian information/nuisance split (chapter 5; Oymak et al. 2019,
arXiv:1906.05392): the linearised decay, the split residual, the label-energy profiles, the bound shapes."""

import numpy as np
import pytest
from conftest import EXACT
from hypothesis import given
from hypothesis import strategies as st

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

steps = st.integers(0, 200)
spectra = st.lists(st.floats(0.0, 10.0), min_size=2, max_size=12)


@given(spectra, st.floats(0.0, 1.0), steps, steps)
def test_direction_decay_is_a_semigroup_that_starts_at_one(lam, x, t1, t2):
    # eta = x / lambda_1^2 <= 1 / lambda_1^2: every factor 1 - eta lambda^2 lies in [0, 1]
    lam = np.sort(np.asarray(lam))[::-1]
    lr = (x + 1e-3) / max(lam[0], 1e-3) ** 2 / (1 + 1e-3)
    d = predicted_direction_decay(np.array([0, t1, t2, t1 + t2], dtype=float), lam, lr)
    np.testing.assert_array_equal(d[0], 1.0)  # t = 0: the initial residual
    np.testing.assert_allclose(d[3], d[1] * d[2], rtol=1e-10, atol=1e-300)
    assert np.all((d >= 0) & (d <= 1))
    # slower for smaller singular values, and a direction with lambda = 0 never moves
    assert np.all(np.diff(d[1]) >= -1e-15)
    np.testing.assert_array_equal(predicted_direction_decay([t1], [0.0], lr), 1.0)


@given(st.floats(0.1, 10.0), st.floats(1.01, 1.99), st.integers(1, 50))
def test_direction_decay_alternates_above_one_over_lambda_squared(lam, x, t):
    # eta lambda^2 in (1, 2): the residual overshoots, flips sign each step and still decays
    lr = x / lam**2
    d = predicted_direction_decay(np.arange(t + 1.0), [lam], lr)[:, 0]
    np.testing.assert_allclose(d, (1.0 - x) ** np.arange(t + 1.0), rtol=1e-10)
    assert np.all(d[1:] * d[:-1] < 0)
    assert np.all(np.abs(d[1:]) <= np.abs(d[:-1]))


@given(spectra, st.data())
def test_split_residual_pythagoras_and_decay(lam, data):
    lam = np.sort(np.asarray(lam))[::-1]
    S = lam.size
    rank = data.draw(st.integers(1, S - 1))
    c = np.asarray(data.draw(st.lists(st.floats(-5.0, 5.0), min_size=S, max_size=S)))
    lr = 1.0 / max(lam[0], 1e-3) ** 2
    t = np.arange(0.0, 30.0, 3.0)
    info, nuis = predicted_split_residual(t, lam, c, lr, rank)
    np.testing.assert_allclose(info[0], np.linalg.norm(c[:rank]), rtol=EXACT, atol=EXACT)
    np.testing.assert_allclose(nuis[0], np.linalg.norm(c[rank:]), rtol=EXACT, atol=EXACT)
    total = np.linalg.norm(predicted_direction_decay(t, lam, lr) * c, axis=1)
    np.testing.assert_allclose(info**2 + nuis**2, total**2, rtol=1e-12, atol=1e-300)
    # eta <= 1 / lambda_1^2: no direction grows, so neither part grows
    assert np.all(np.diff(info) <= 1e-12) and np.all(np.diff(nuis) <= 1e-12)


@given(st.integers(1, 1000), st.data())
def test_random_baseline_is_the_fraction_of_dimensions(dim, data):
    r = np.asarray(data.draw(st.lists(st.integers(0, dim), min_size=1, max_size=10)), dtype=float)
    b = random_baseline(r, dim)
    np.testing.assert_allclose(b, r / dim, rtol=EXACT)
    assert np.all((b >= 0) & (b <= 1))
    assert random_baseline(dim, dim) == pytest.approx(1.0, rel=EXACT)
    assert random_baseline(0, dim) == pytest.approx(0.0, abs=EXACT)


@given(st.integers(2, 8), st.lists(st.integers(0, 7), min_size=1, max_size=60))
def test_class_mean_energy_lies_between_balanced_and_one_class(K, labels):
    labels = np.asarray(labels) % K
    e = class_mean_energy(labels, K)
    # sum_c p_c^2 >= 1/K (Cauchy-Schwarz), equality for balanced classes; 1 for a single class
    assert 1.0 / K - EXACT <= e <= 1.0 + EXACT
    np.testing.assert_allclose(
        class_mean_energy(np.repeat(np.arange(K), 3), K), 1.0 / K, rtol=EXACT
    )
    np.testing.assert_allclose(class_mean_energy(np.full(5, K - 1), K), 1.0, rtol=EXACT)


@given(st.integers(2, 4), st.integers(2, 5), st.floats(0.0, 1.0), st.integers(0, 2**32 - 1))
def test_label_energy_profile(K, n, rho, seed):
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, K, n)
    Q = np.linalg.qr(rng.standard_normal((K * n, K * n)))[0]
    E = predicted_label_energy(Q, labels, rho, K)
    # a cumulative sum of expected energies: nondecreasing, in [0, 1], all of ||y||^2 = n at the end
    assert np.all(np.diff(E) >= -1e-12) and E[0] >= -1e-12
    np.testing.assert_allclose(E[-1], 1.0, rtol=1e-12)
    # rho = 0 is the clean profile; a subset of the columns gives the prefix of the profile
    y = np.zeros((K, n))
    y[labels, np.arange(n)] = 1.0
    clean = np.cumsum((Q.T @ y.reshape(-1)) ** 2) / n
    np.testing.assert_allclose(
        predicted_label_energy(Q, labels, 0.0, K), clean, rtol=1e-10, atol=1e-14
    )
    np.testing.assert_allclose(
        predicted_label_energy(Q[:, :3], labels, rho, K), E[:3], rtol=1e-12, atol=1e-14
    )


@given(st.integers(2, 4), st.integers(2, 5), st.floats(0.0, 1.0), st.integers(0, 2**32 - 1))
def test_the_constant_direction_holds_one_over_k_whatever_the_corruption(K, n, rho, seed):
    # every sample's one-hot label sums to 1 whatever its class, so its projection on the unit
    # all-ones vector is n / sqrt(K n) with no variance: energy (n / K) / n = 1/K for every rho
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, K, n)
    ones = np.full((K * n, 1), 1.0 / np.sqrt(K * n))
    np.testing.assert_allclose(predicted_label_energy(ones, labels, rho, K), [1.0 / K], rtol=1e-12)


@given(st.floats(0.01, 100.0), st.floats(0.01, 1.0), st.floats(1e-12, 0.99))
def test_fit_time_reaches_the_tolerance(beta, frac, eps):
    alpha = frac * beta
    t = fit_time(beta, alpha, eps)
    # exp(-t alpha^2 / beta^2) = eps exactly, and the linearised factor is below it
    np.testing.assert_allclose(np.exp(-t * (alpha / beta) ** 2), eps, rtol=1e-9)
    assert (1.0 - (alpha / beta) ** 2) ** t <= eps * (1 + 1e-9)
    assert fit_time(beta, alpha, eps**2) > t  # a smaller tolerance takes longer


@given(
    st.floats(0.0, 10.0),
    st.floats(0.0, 10.0),
    st.floats(0.01, 10.0),
    st.floats(0.01, 10.0),
    st.integers(1, 10**6),
)
def test_bound_shapes(info, nuis, alpha, gamma, n):
    d = float(distance_bound(info, nuis, alpha, gamma))
    np.testing.assert_allclose(d * alpha, info + gamma * nuis, rtol=1e-12, atol=1e-300)
    assert (
        float(distance_bound(info, nuis, 2 * alpha, gamma)) <= d
    )  # a larger cutoff, a smaller radius
    np.testing.assert_allclose(bias_term(info, 4 * n) * 2, bias_term(info, n), rtol=EXACT)
    np.testing.assert_allclose(bias_term(np.sqrt(n), n), 2.0, rtol=EXACT)  # ||Pi_N(y)|| = ||y||
    v = float(variance_shape(alpha, n, gamma))
    np.testing.assert_allclose(v * alpha * np.sqrt(n), gamma, rtol=1e-12)


def test_fractional_steps_are_rejected_where_the_factor_is_negative():
    import pytest

    # eta lambda^2 = 4: the factor is -3, and (-3)^0.5 has no real value (it returned nan)
    with pytest.raises(ValueError, match="t must hold whole steps"):
        predicted_direction_decay([0.5], [2.0], 1.0)
    np.testing.assert_allclose(predicted_direction_decay([0.5], [1.0], 0.75), [[0.5]])
