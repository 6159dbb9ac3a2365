import numpy as np
import pytest
from conftest import EXACT
from scipy import optimize

from dltheory.theory.generalization import predicted_optimal_stopping
from dltheory.theory.optimal_learner import (
    gavish_donoho_hard_threshold,
    optimal_shrinkage,
    optimal_singular_value,
    predicted_learner_error,
    predicted_optimal_error,
)
from dltheory.theory.random_matrix import (
    mp_edges,
    mp_quantile,
    outlier_singular_value,
    overlap,
    signal_from_outlier,
)

ASPECTS = [0.25, 0.5, 1.0]
CANON = dict(n_in=100, n_out=50)
GD = dict(n_in=100, n_out=50, hidden=50, eps=1e-5, tau=1000.0)


@pytest.mark.parametrize("a", ASPECTS)
@pytest.mark.parametrize("sigma", [1.0, 2.5])
def test_shrinkage_of_the_outlier_is_s_bar_times_overlap(a, sigma):
    # the closed form eta(s_hat) equals s_bar(s_hat) O(s_bar(s_hat)): the inverse map round trips
    s_bar = sigma * np.linspace(1.01 * a**0.25, 12.0, 60)
    s_hat = outlier_singular_value(s_bar, aspect_ratio=a, noise_std=sigma)
    np.testing.assert_allclose(
        signal_from_outlier(s_hat, aspect_ratio=a, noise_std=sigma), s_bar, rtol=1e-9
    )
    np.testing.assert_allclose(
        optimal_shrinkage(s_hat, aspect_ratio=a, noise_std=sigma),
        optimal_singular_value(s_bar, aspect_ratio=a, noise_std=sigma),
        rtol=1e-9,
    )


@pytest.mark.parametrize("a", ASPECTS)
def test_shrinkage_is_zero_in_the_bulk_and_continuous_at_the_edge(a):
    edge = mp_edges(aspect_ratio=a)[1]
    inside = np.linspace(0.0, edge, 50)
    np.testing.assert_array_equal(optimal_shrinkage(inside, aspect_ratio=a), 0.0)
    just_above = optimal_shrinkage(edge * (1 + np.array([1e-12, 1e-8, 1e-4])), aspect_ratio=a)
    assert np.all(just_above > 0) and np.all(np.diff(just_above) > 0)
    assert just_above[0] < 1e-4  # square-root rise from 0
    s_hat = np.linspace(edge, 50.0, 500)
    eta = optimal_shrinkage(s_hat, aspect_ratio=a)
    assert np.all(eta < s_hat) and np.all(np.diff(eta) > 0)
    # below threshold the optimal strength is 0 too
    np.testing.assert_array_equal(optimal_singular_value([0.0, a**0.25], aspect_ratio=a), 0.0)


def test_shrinkage_at_a_1_is_gavish_donoho_sqrt_y2_minus_4():
    y = np.linspace(2.0, 30.0, 100)
    np.testing.assert_allclose(
        optimal_shrinkage(y, aspect_ratio=1.0), np.sqrt(y**2 - 4), atol=1e-12
    )
    # no overflow for huge singular values: eta(y) ~ y - 2/y
    assert optimal_shrinkage(1e200, aspect_ratio=1.0) == pytest.approx(1e200)


@pytest.mark.parametrize("sigma", [0.5, 3.0])
def test_shrinkage_scales_with_the_noise(sigma):
    s = np.linspace(0.0, 6.0, 40)
    np.testing.assert_allclose(
        optimal_shrinkage(sigma * s, aspect_ratio=0.5, noise_std=sigma),
        sigma * optimal_shrinkage(s, aspect_ratio=0.5),
        rtol=1e-12,
        atol=EXACT,
    )


def test_optimal_error_reference_values_of_the_paper():
    # Lampinen & Ganguli 2019 (arXiv:1809.10374), Sec. 2.5 / Fig. 3E: rank 1 at SNR 2 and 4; (3, 2, 1) gives 0.262
    err = predicted_optimal_error([[2.0], [4.0]], aspect_ratio=0.5)
    np.testing.assert_allclose(err, [0.3326, 0.0909], atol=1e-4)
    np.testing.assert_allclose(
        predicted_optimal_error([3.0, 2.0, 1.0], aspect_ratio=0.5), 0.262, atol=5e-4
    )


@pytest.mark.parametrize("a", ASPECTS)
def test_optimal_error_rank_1_and_weighted_sum(a):
    s = np.linspace(0.2, 8.0, 30)
    o = overlap(s, aspect_ratio=a)
    np.testing.assert_allclose(predicted_optimal_error(s[:, None], aspect_ratio=a), 1 - o**2)
    sb = np.array([5.0, 2.0, 0.5])
    ob = overlap(sb, aspect_ratio=a)
    expected = np.sum(sb**2 * (1 - ob**2)) / np.sum(sb**2)
    assert predicted_optimal_error(sb, aspect_ratio=a) == pytest.approx(expected, abs=EXACT)


def test_subthreshold_error_is_1_and_large_snr_error_vanishes():
    thr = 0.5**0.25
    assert predicted_optimal_error([thr], aspect_ratio=0.5) == pytest.approx(1.0, abs=1e-12)
    # every mode below threshold: nothing is learned, the error is the signal's whole energy
    assert predicted_optimal_error([0.1, 0.5], aspect_ratio=0.5) == pytest.approx(1.0, abs=1e-12)
    assert predicted_optimal_error([1e4], aspect_ratio=0.5) < 1e-6


def test_optimal_error_depends_only_on_snr():
    e1 = predicted_optimal_error([3.0, 1.5], aspect_ratio=0.5)
    e2 = predicted_optimal_error([6.0, 3.0], aspect_ratio=0.5, noise_std=2.0)
    assert e1 == pytest.approx(e2, abs=EXACT)


RANK_1 = np.array([[0.9], [2.0], [4.0], [8.0]])
RANK_3 = np.array([[3.0, 2.0, 1.0], [6.0, 4.0, 2.0], [9.0, 6.0, 3.0]])


@pytest.fixture(scope="module")
def gd_minimum():
    """Predicted minimal test error of early-stopped GD for the RANK_1 and RANK_3 teachers."""
    return {
        r: predicted_optimal_stopping(s, n_nodes=300, **GD)[1]
        for r, s in ((1, RANK_1), (3, RANK_3))
    }


def test_optimal_learner_is_never_worse_than_early_stopped_gd(gd_minimum):
    for r, s_bar in ((1, RANK_1), (3, RANK_3)):
        assert np.all(predicted_optimal_error(s_bar, aspect_ratio=0.5) <= gd_minimum[r] + 1e-9)


def test_gap_to_gd_is_clear_for_rank_3_and_small_for_rank_1(gd_minimum):
    # Lampinen & Ganguli 2019, Fig. 3E: rank 3 with multiplier 1 gives 0.262 vs 0.282; rank 1 nearly equal
    gap3 = gd_minimum[3] - predicted_optimal_error(RANK_3, aspect_ratio=0.5)
    gap1 = gd_minimum[1] - predicted_optimal_error(RANK_1, aspect_ratio=0.5)
    assert gap3[0] == pytest.approx(0.0195, abs=1e-3)
    assert np.all(gap3 > 0) and np.all(np.diff(gap3) < 0)  # shrinks as every mode gets strong
    # rank 1: at SNR 2 Lampinen & Ganguli 2019, Fig. 3E gives 0.3326 vs 0.3377; at SNR >= 4 the two coincide
    assert gap1[1] == pytest.approx(0.3377 - 0.3326, abs=2e-4)
    assert np.all(gap1[2:] < 1e-4)


@pytest.mark.parametrize("s_bar", [[1.0], [2.0], [5.0], [3.0, 2.0, 1.0]])
def test_optimal_beats_every_other_singular_value_rule(s_bar):
    best = predicted_learner_error(s_bar, "optimal", **CANON)
    for learner in ("truncated_svd", "hard_threshold", "soft_threshold", "least_squares", "ridge"):
        assert best <= predicted_learner_error(s_bar, learner, **CANON) + 1e-12


@pytest.mark.parametrize("a", ASPECTS)
def test_gavish_donoho_hard_threshold(a):
    lam = gavish_donoho_hard_threshold(aspect_ratio=a)
    b = a
    formula = np.sqrt(2 * (b + 1) + 8 * b / (b + 1 + np.sqrt(b**2 + 14 * b + 1)))
    assert lam == pytest.approx(formula, abs=EXACT)
    assert lam > mp_edges(aspect_ratio=a)[1]  # above the bulk edge
    # it is where keeping an unshrunk outlier stops paying: s_hat^2 - 2 s_hat s_bar O = 0
    s_bar = optimize.brentq(
        lambda x: outlier_singular_value(x, aspect_ratio=a) - lam, a**0.25 * (1 + 1e-9), 10.0
    )
    assert lam == pytest.approx(2 * s_bar * overlap(s_bar, aspect_ratio=a), rel=1e-9)


def test_gavish_donoho_square_case_is_4_over_sqrt_3():
    # Gavish & Donoho's units: entries of standard deviation sigma_gd, threshold 4/sqrt(3) sqrt(n) sigma_gd
    n, sigma_gd = 400, 0.3
    lam = gavish_donoho_hard_threshold(aspect_ratio=1.0, noise_std=sigma_gd * np.sqrt(n))
    assert lam == pytest.approx(4 / np.sqrt(3) * np.sqrt(n) * sigma_gd, rel=1e-12)
    # unknown noise: 2.858 times the median singular value
    omega = gavish_donoho_hard_threshold(aspect_ratio=1.0) / mp_quantile(0.5, aspect_ratio=1.0)
    assert omega == pytest.approx(2.858, abs=1e-3)


def test_learner_errors_closed_forms():
    sb = np.array([3.0, 2.0, 1.0])
    S = np.sum(sb**2)
    assert predicted_learner_error(sb, "least_squares", **CANON) == pytest.approx(50 / S)
    assert predicted_learner_error(sb, "ridge", **CANON) == pytest.approx(50 / (S + 50))
    # truncated SVD and the hard threshold agree when every outlier is above the threshold
    big = [[6.0, 4.0, 3.0]]
    np.testing.assert_allclose(
        predicted_learner_error(big, "truncated_svd", **CANON),
        predicted_learner_error(big, "hard_threshold", **CANON),
    )
    # below threshold: thresholds give 1, truncated SVD keeps a bulk-edge mode
    thr = [0.5**0.25]
    assert predicted_learner_error(thr, "soft_threshold", **CANON) == pytest.approx(1.0)
    assert predicted_learner_error(thr, "hard_threshold", **CANON) == pytest.approx(1.0)
    edge = mp_edges(aspect_ratio=0.5)[1]
    assert predicted_learner_error(thr, "truncated_svd", **CANON) == pytest.approx(
        1 + edge**2 / thr[0] ** 2
    )
    assert predicted_learner_error([[2.0], [4.0]], "optimal", **CANON).shape == (2,)


def test_invalid_inputs_raise():
    with pytest.raises(ValueError, match="aspect_ratio"):
        optimal_shrinkage(2.0, aspect_ratio=1.5)
    with pytest.raises(ValueError, match="noise_std"):
        optimal_shrinkage(2.0, aspect_ratio=0.5, noise_std=0.0)
    with pytest.raises(ValueError, match="s_hat"):
        optimal_shrinkage([-1.0], aspect_ratio=0.5)
    with pytest.raises(ValueError, match="s_hat"):
        optimal_shrinkage([np.nan], aspect_ratio=0.5)
    with pytest.raises(ValueError, match="s_bar"):
        predicted_optimal_error([-2.0], aspect_ratio=0.5)
    with pytest.raises(ValueError, match="s_bar"):
        predicted_optimal_error(np.zeros((2, 0)), aspect_ratio=0.5)
    with pytest.raises(ValueError, match="s_bar"):
        predicted_optimal_error([0.0, 0.0], aspect_ratio=0.5)
    with pytest.raises(ValueError, match="learner"):
        predicted_learner_error([2.0], "lasso", **CANON)
    with pytest.raises(ValueError, match="aspect ratio"):
        predicted_learner_error([2.0], "optimal", n_in=10, n_out=20)
    with pytest.raises(ValueError, match="s_bar"):
        predicted_learner_error(np.ones(6), "ridge", n_in=10, n_out=5)
    with pytest.raises(ValueError, match="aspect_ratio"):
        gavish_donoho_hard_threshold(aspect_ratio=0.0)
