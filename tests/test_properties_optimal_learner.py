"""Property tests of the optimal learner (chapter 3) and the singular-value rules it is compared with.

Shrinker of Lampinen & Ganguli 2019 (arXiv:1809.10374, Sec. 2.5), equal to the Frobenius-optimal
shrinker of Gavish & Donoho 2017 (arXiv:1405.7511); hard threshold of Gavish & Donoho 2014
(arXiv:1305.5870).
"""

import numpy as np
import pytest
from conftest import EXACT
from hypothesis import given
from hypothesis import strategies as st

from dltheory.theory.optimal_learner import (
    gavish_donoho_hard_threshold,
    optimal_shrinkage,
    optimal_singular_value,
    predicted_learner_error,
    predicted_optimal_error,
)
from dltheory.theory.random_matrix import outlier_singular_value, overlap

aspects = st.floats(0.01, 1.0)
sigmas = st.floats(0.1, 10.0)
LEARNERS = [
    "optimal",
    "truncated_svd",
    "hard_threshold",
    "soft_threshold",
    "least_squares",
    "ridge",
]
# the round trip s_bar -> s_hat -> eta inverts s_hat(s_bar), whose slope vanishes at the threshold
ROUND_TRIP_RTOL = 1e-8


@given(aspects, sigmas, st.floats(0.0, 1.0))
def test_shrinkage_is_zero_inside_the_bulk(a, sigma, frac):
    edge = sigma * (1.0 + np.sqrt(a))
    assert optimal_shrinkage(frac * edge, aspect_ratio=a, noise_std=sigma) == pytest.approx(
        0.0, abs=EXACT
    )


@given(aspects, sigmas, st.floats(1e-10, 1e-5))
def test_shrinkage_is_continuous_at_the_edge_with_a_square_root_rise(a, sigma, delta):
    # eta(edge (1 + d)) ~ C sqrt(d) -> 0: quadrupling d doubles eta (a jump or a linear rise would not)
    edge = sigma * (1.0 + np.sqrt(a))
    e1, e4 = optimal_shrinkage(
        edge * (1.0 + np.array([delta, 4.0 * delta])), aspect_ratio=a, noise_std=sigma
    )
    assert 0.0 < e1 < 10.0 * sigma * np.sqrt(delta)
    np.testing.assert_allclose(e4 / e1, 2.0, rtol=1e-3)


@given(aspects, sigmas, st.lists(st.floats(0.0, 50.0), min_size=2, max_size=20))
def test_shrinkage_is_monotone_and_shrinks(a, sigma, s_hat):
    s_hat = np.sort(np.asarray(s_hat)) * sigma
    eta = optimal_shrinkage(s_hat, aspect_ratio=a, noise_std=sigma)
    assert np.all(np.isfinite(eta))
    assert np.all(np.diff(eta) >= 0)
    assert np.all((eta >= 0) & (eta <= s_hat))


@given(aspects, sigmas, st.floats(1.01, 30.0))
def test_shrinkage_matches_the_closed_form_and_its_round_trip(a, sigma, ratio):
    # eta(s_hat(s_bar)) = s_bar O(s_bar) (Sec. 2.5), and eta = sigma sqrt((y^2 - 1 - A)^2 - 4A) / y
    s_bar = ratio * sigma * a**0.25
    s_hat = outlier_singular_value(s_bar, aspect_ratio=a, noise_std=sigma)
    eta = optimal_shrinkage(s_hat, aspect_ratio=a, noise_std=sigma)
    y = s_hat / sigma
    np.testing.assert_allclose(eta, sigma * np.sqrt((y**2 - 1 - a) ** 2 - 4 * a) / y, rtol=1e-8)
    np.testing.assert_allclose(
        eta, optimal_singular_value(s_bar, aspect_ratio=a, noise_std=sigma), rtol=ROUND_TRIP_RTOL
    )


@given(aspects, st.floats(1e3, 1e12))
def test_shrinkage_of_a_huge_outlier(a, y):
    # y sqrt((1 - hi^2/y^2)(1 - lo^2/y^2)) = y - (1 + A)/y + O(1/y^3)
    eta = optimal_shrinkage(y, aspect_ratio=a)
    np.testing.assert_allclose(eta, y - (1.0 + a) / y, rtol=1e-9)


@given(aspects, sigmas, st.floats(0.1, 20.0), st.floats(0.1, 10.0))
def test_shrinkage_scales_with_the_noise(a, sigma, s_hat, c):
    np.testing.assert_allclose(
        optimal_shrinkage(c * s_hat, aspect_ratio=a, noise_std=c * sigma),
        c * optimal_shrinkage(s_hat, aspect_ratio=a, noise_std=sigma),
        # y = s_hat / sigma is rounded differently after scaling; the slope of eta is
        # unbounded at the edge, where eta itself is below 1e-6 for a rounding-sized offset
        rtol=1e-9,
        atol=1e-6 * c * sigma,
    )


@given(aspects, sigmas, st.floats(0.0, 1.0), st.floats(1e-9, 1e-3))
def test_optimal_strength_vanishes_at_the_threshold_and_is_continuous(a, sigma, frac, delta):
    thr = sigma * a**0.25
    assert optimal_singular_value(frac * thr, aspect_ratio=a, noise_std=sigma) == pytest.approx(
        0.0, abs=EXACT
    )
    above = float(optimal_singular_value(thr * (1.0 + delta), aspect_ratio=a, noise_std=sigma))
    # s_bar O(s_bar) rises like sqrt(s_bar - thr): small just above the threshold, not a jump
    assert 0.0 < above < 10.0 * sigma * np.sqrt(delta)


@given(
    aspects, sigmas, st.lists(st.floats(0.0, 30.0), min_size=1, max_size=4), st.floats(0.1, 10.0)
)
def test_optimal_error_is_a_weighted_mean_of_one_minus_o_squared(a, sigma, s_bar, c):
    sb = np.asarray(s_bar) * sigma
    sb[0] += 0.1 * sigma  # a teacher with ||W_bar|| > 0
    err = float(predicted_optimal_error(sb, aspect_ratio=a, noise_std=sigma))
    o = overlap(sb, aspect_ratio=a, noise_std=sigma)
    np.testing.assert_allclose(err, np.sum(sb**2 * (1 - o**2)) / np.sum(sb**2), rtol=EXACT)
    assert 0.0 <= err <= 1.0
    # the error depends on the SNR s_bar / sigma only
    np.testing.assert_allclose(
        predicted_optimal_error(c * sb, aspect_ratio=a, noise_std=c * sigma), err, rtol=1e-12
    )


@given(aspects, st.floats(1e-6, 1.0), st.floats(1.0, 1e6))
def test_rank_one_optimal_error_limits_and_monotonicity(a, frac, big):
    thr = a**0.25
    nothing = predicted_optimal_error([frac * thr], aspect_ratio=a)  # nothing detected
    assert nothing == pytest.approx(1.0, abs=EXACT)
    s = thr * (1.0 + np.geomspace(1e-6, big, 30))
    err = predicted_optimal_error(s[:, None], aspect_ratio=a)
    assert np.all(np.diff(err) <= 1e-15) and err[0] <= 1.0
    # 1 - O^2 ~ (1 + A)/s^2 for a strong teacher: at s = 1e4 at most 2e-8
    strong = float(predicted_optimal_error([1e4], aspect_ratio=a))
    assert 0.0 < strong < 3.0e-8


@given(aspects, sigmas)
def test_hard_threshold_lies_above_the_bulk_edge_and_rises_with_a(a, sigma):
    lam = gavish_donoho_hard_threshold(aspect_ratio=a, noise_std=sigma)
    assert lam > sigma * (1.0 + np.sqrt(a))
    assert gavish_donoho_hard_threshold(aspect_ratio=0.99 * a, noise_std=sigma) < lam
    np.testing.assert_allclose(
        gavish_donoho_hard_threshold(aspect_ratio=a, noise_std=1.0) * sigma, lam, rtol=EXACT
    )


@given(
    st.integers(2, 200),
    st.floats(0.05, 1.0),
    sigmas,
    st.lists(st.floats(0.0, 20.0), min_size=1, max_size=3),
)
def test_optimal_learner_beats_every_other_rule(n_in, frac, sigma, s_bar):
    n_out = max(1, int(frac * n_in))
    sb = np.asarray(s_bar)[:n_out] * sigma
    sb[0] += 0.05 * sigma
    errs = {
        L: float(predicted_learner_error(sb, L, n_in=n_in, n_out=n_out, noise_std=sigma))
        for L in LEARNERS
    }
    assert all(np.isfinite(e) and e >= 0 for e in errs.values())
    # the optimal strength minimises every mode's asymptotic error term, so it beats every rule that
    # sets the strength from s_hat alone (least squares and ridge are finite-N3 formulas, not compared)
    assert all(errs["optimal"] <= errs[L] + 1e-12 for L in LEARNERS[:4])
    # ridge at its best ridge is least squares shrunk: better, and below the null predictor's 1
    assert errs["ridge"] < min(errs["least_squares"], 1.0)
    np.testing.assert_allclose(errs["least_squares"], n_out * sigma**2 / np.sum(sb**2), rtol=EXACT)
    # thresholding at or above the bulk edge keeps no noise mode: never worse than predicting 0
    assert errs["hard_threshold"] <= 1.0 + 1e-12 and errs["soft_threshold"] <= 1.0 + 1e-12


def test_extreme_but_valid_teachers():
    # a teacher of 1e-170 is positive though its square underflows; one of 1e200 squares to inf
    assert predicted_optimal_error([1e-170], aspect_ratio=0.5) == pytest.approx(1.0, abs=EXACT)
    assert predicted_optimal_error([1e200], aspect_ratio=0.5) == pytest.approx(0.0, abs=EXACT)
    assert predicted_learner_error([1e200], "ridge", n_in=100, n_out=50) == pytest.approx(
        0.0, abs=EXACT
    )
    assert predicted_learner_error([1e-170], "ridge", n_in=100, n_out=50) == pytest.approx(
        1.0, abs=EXACT
    )
    # s_hat / sigma beyond the float range: the shrinker leaves the outlier as it is
    np.testing.assert_array_equal(
        optimal_shrinkage([0.0, 1e10], aspect_ratio=0.5, noise_std=1e-300), [0.0, 1e10]
    )
