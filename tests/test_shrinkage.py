import numpy as np
import pytest
from conftest import EXACT
from hypothesis import given
from hypothesis import strategies as st

from dltheory.shrinkage import (
    empirical_best_strengths,
    empirical_learner_errors,
    empirical_test_error,
    estimate_noise_std,
    hard_threshold_estimate,
    oracle_estimate,
    plugin_estimate,
    ridge_estimate,
    soft_threshold_estimate,
    truncated_svd,
)
from dltheory.teachers import low_rank_teacher, noisy_data
from dltheory.theory.optimal_learner import (
    gavish_donoho_hard_threshold,
    optimal_shrinkage,
    predicted_learner_error,
    predicted_optimal_error,
)
from dltheory.theory.random_matrix import mp_edges, overlap

LARGE_N_ABS = 0.03  # one draw at N1 = 1000 against the asymptotic error (per-draw sd 0.007)
MID_N_ABS = 0.04  # mean of 4 draws at N1 = 400 against the asymptotic error (sd of the mean 0.008)


def _data(n_in, n_out, s_bar, n, *, rng, noise_std=1.0):
    teacher = low_rank_teacher(n_in, n_out, np.tile(s_bar, (n, 1)), rng=rng.spawn(1)[0])
    return noisy_data(teacher, noise_std=noise_std, rng=rng.spawn(1)[0])


def test_oracle_and_plugin_reach_1_minus_o2_at_large_n():
    s_bar = [3.0, 1.5]
    data = _data(1000, 500, s_bar, 1, rng=np.random.default_rng(2024))
    W = data.teacher.W
    predicted = predicted_optimal_error(s_bar, aspect_ratio=0.5)
    oracle = empirical_test_error(oracle_estimate(data.sigma31, s_bar, noise_std=1.0).W, W)
    plugin = plugin_estimate(data.sigma31)
    assert oracle[0] == pytest.approx(predicted, abs=LARGE_N_ABS)
    assert empirical_test_error(plugin.W, W)[0] == pytest.approx(predicted, abs=LARGE_N_ABS)
    # the plug-in finds the noise level, the rank and the teacher strengths from the data alone
    np.testing.assert_allclose(plugin.noise_std, 1.0, rtol=0.02)
    np.testing.assert_array_equal(plugin.rank, 2)
    np.testing.assert_allclose(plugin.s_bar[0, :2], s_bar, rtol=0.05)


def test_other_learners_match_their_predictions():
    # s_bar = 1.2 sits between the bulk edge and the hard threshold, so each rule's choice is clear
    s_bar = [3.0, 1.2]
    rng = np.random.default_rng(7)
    data = _data(400, 200, s_bar, 4, rng=rng)
    val = noisy_data(data.teacher, rng=rng.spawn(1)[0])
    W = data.teacher.W
    estimates = {
        "optimal": plugin_estimate(data.sigma31),
        "truncated_svd": truncated_svd(data.sigma31, 2),
        "hard_threshold": hard_threshold_estimate(data.sigma31),
        "soft_threshold": soft_threshold_estimate(data.sigma31),
        "ridge": ridge_estimate(data.sigma31, val.sigma31)[0],
    }
    for name, est in estimates.items():
        predicted = predicted_learner_error(s_bar, name, n_in=400, n_out=200)
        measured = empirical_test_error(est.W, W).mean()
        assert measured == pytest.approx(predicted, abs=MID_N_ABS), name
    ls = empirical_test_error(data.sigma31, W).mean()
    assert ls == pytest.approx(
        predicted_learner_error(s_bar, "least_squares", n_in=400, n_out=200), rel=0.05
    )


def test_noise_level_is_estimated_from_the_median(rng):
    data = _data(400, 200, [4.0], 3, rng=rng, noise_std=2.5)
    np.testing.assert_allclose(estimate_noise_std(data.sigma31), 2.5, rtol=0.03)
    assert estimate_noise_std(data.sigma31[0]).shape == ()


def test_plugin_applies_the_optimal_shrinker(rng):
    data = _data(100, 50, [3.0, 2.0], 2, rng=rng)
    est = plugin_estimate(data.sigma31)
    sigma = est.noise_std[:, None]
    np.testing.assert_allclose(
        est.s, sigma * optimal_shrinkage(est.s_hat / sigma, aspect_ratio=0.5)
    )
    recon = np.einsum("bim,bm,bjm->bij", data.U_hat, est.s, data.V_hat)
    np.testing.assert_allclose(est.W, recon, atol=EXACT)
    edge = mp_edges(aspect_ratio=0.5)[1] * est.noise_std[:, None]
    np.testing.assert_array_equal(est.s > 0, est.s_hat > edge)
    np.testing.assert_array_equal(est.s_bar == 0, est.s_hat <= edge)
    # with the true noise level given, nothing is estimated
    known = plugin_estimate(data.sigma31, noise_std=1.0)
    np.testing.assert_array_equal(known.noise_std, 1.0)


def test_batch_single_and_transpose_agree(rng):
    data = _data(60, 30, [3.0], 3, rng=rng)
    batch = plugin_estimate(data.sigma31)
    one = plugin_estimate(data.sigma31[1])
    np.testing.assert_allclose(one.W, batch.W[1], atol=EXACT)
    assert one.s.shape == (30,) and one.noise_std.shape == () and one.rank.shape == ()
    # a matrix with more outputs than inputs: the same rule on the transpose
    tr = plugin_estimate(np.swapaxes(data.sigma31, 1, 2))
    np.testing.assert_allclose(tr.W, np.swapaxes(batch.W, 1, 2), atol=EXACT)


def test_plugin_is_scale_equivariant(rng):
    x = _data(80, 40, [2.5], 1, rng=rng).sigma31[0]
    np.testing.assert_allclose(plugin_estimate(7.0 * x).W, 7.0 * plugin_estimate(x).W, atol=1e-12)


def test_nothing_above_the_bulk_gives_the_zero_estimate(rng):
    # all singular values equal: each sits at the median, below the estimated bulk edge
    flat = np.linalg.qr(rng.standard_normal((60, 30)))[0].T  # (30, 60), orthonormal rows
    for est in (
        plugin_estimate(flat),
        hard_threshold_estimate(flat),
        soft_threshold_estimate(flat),
    ):
        assert est.rank == 0
        np.testing.assert_array_equal(est.W, 0.0)
    zero = plugin_estimate(np.zeros((2, 10, 20)))
    np.testing.assert_array_equal(zero.W, 0.0)
    assert np.all(np.isfinite(zero.s_bar))


def test_noiseless_low_rank_data_are_returned_unchanged(rng):
    teacher = low_rank_teacher(40, 20, [5.0, 2.0], rng=rng)
    x = teacher.W[0]
    est = plugin_estimate(x)
    assert est.noise_std < 1e-12  # the median singular value is 0 up to rounding
    np.testing.assert_allclose(est.s[:2], [5.0, 2.0], rtol=1e-12)
    np.testing.assert_allclose(est.W, x, atol=1e-12)
    exact_zero = plugin_estimate(x, noise_std=0.0)
    np.testing.assert_array_equal(exact_zero.s, exact_zero.s_hat)


def test_oracle_uses_the_true_strengths(rng):
    data = _data(100, 50, [2.0, 3.0], 2, rng=rng)
    est = oracle_estimate(data.sigma31, [2.0, 3.0], noise_std=1.0)
    sb = np.array([3.0, 2.0])  # sorted, paired with the top data modes
    np.testing.assert_allclose(est.s[:, :2], np.tile(sb * overlap(sb, aspect_ratio=0.5), (2, 1)))
    np.testing.assert_array_equal(est.s[:, 2:], 0.0)
    per_run = oracle_estimate(data.sigma31, [[3.0, 2.0], [3.0, 2.0]], noise_std=1.0)
    np.testing.assert_allclose(per_run.W, est.W)


def test_truncated_svd_hard_and_soft_thresholds(rng):
    data = _data(100, 50, [4.0, 1.0], 2, rng=rng)
    tsvd = truncated_svd(data.sigma31, 2)
    np.testing.assert_allclose(tsvd.s[:, :2], data.s_hat[:, :2])
    np.testing.assert_array_equal(tsvd.s[:, 2:], 0.0)
    hard = hard_threshold_estimate(data.sigma31, noise_std=1.0)
    lam = gavish_donoho_hard_threshold(aspect_ratio=0.5)
    np.testing.assert_array_equal(hard.s, np.where(data.s_hat > lam, data.s_hat, 0.0))
    soft = soft_threshold_estimate(data.sigma31, noise_std=1.0)
    edge = mp_edges(aspect_ratio=0.5)[1]
    np.testing.assert_allclose(soft.s, np.maximum(data.s_hat - edge, 0.0))


def test_ridge_minimises_the_held_out_loss(rng):
    data = _data(100, 50, [3.0], 2, rng=rng)
    val = noisy_data(data.teacher, rng=rng.spawn(1)[0])
    est, ridge = ridge_estimate(data.sigma31, val.sigma31)
    assert ridge.shape == (2,) and np.all(ridge > 0)
    c = 1.0 / (1.0 + ridge)
    np.testing.assert_allclose(est.W, c[:, None, None] * data.sigma31, atol=EXACT)
    grid = np.linspace(0.0, 1.0, 2001)
    for b in range(2):
        losses = [np.sum((g * data.sigma31[b] - val.sigma31[b]) ** 2) for g in grid]
        assert abs(grid[int(np.argmin(losses))] - c[b]) <= 1e-3
    # held-out data equal to the training data: no ridge; unrelated held-out data: ridge infinite
    assert ridge_estimate(data.sigma31[0], data.sigma31[0])[1] == pytest.approx(0.0, abs=EXACT)
    est0, inf = ridge_estimate(data.sigma31[0], -data.sigma31[0])
    assert inf == np.inf
    np.testing.assert_array_equal(est0.W, 0.0)


def test_test_error_limits(rng):
    W = low_rank_teacher(30, 10, [[2.0], [1.0]], rng=rng).W
    np.testing.assert_allclose(empirical_test_error(np.zeros_like(W), W), 1.0)
    np.testing.assert_allclose(empirical_test_error(W, W), 0.0)


@pytest.mark.parametrize(
    "bad",
    [np.ones(5), np.ones((2, 2, 3, 4)), np.ones((1, 8)), np.ones((0, 4, 8))],
)
def test_wrong_shapes_raise(bad):
    for fn in (
        plugin_estimate,
        estimate_noise_std,
        hard_threshold_estimate,
        soft_threshold_estimate,
    ):
        with pytest.raises(ValueError, match="sigma31"):
            fn(bad)


def test_invalid_inputs_raise(rng):
    x = rng.standard_normal((10, 20))
    for bad_value in (np.nan, np.inf):
        y = x.copy()
        y[3, 4] = bad_value
        with pytest.raises(ValueError, match="finite"):
            plugin_estimate(y)
    with pytest.raises(ValueError, match="noise_std"):
        plugin_estimate(x, noise_std=-1.0)
    with pytest.raises(ValueError, match="noise_std"):
        plugin_estimate(np.stack([x, x]), noise_std=[1.0, 1.0, 1.0])
    with pytest.raises(ValueError, match="noise_std"):
        oracle_estimate(x, [2.0], noise_std=0.0)
    with pytest.raises(ValueError, match="s_bar"):
        oracle_estimate(x, np.ones(11), noise_std=1.0)
    with pytest.raises(ValueError, match="s_bar"):
        oracle_estimate(np.stack([x, x]), np.ones((3, 1)), noise_std=1.0)
    with pytest.raises(ValueError, match="rank"):
        truncated_svd(x, 0)
    with pytest.raises(ValueError, match="rank"):
        truncated_svd(x, 11)
    with pytest.raises(ValueError, match="sigma31_val"):
        ridge_estimate(x, x[:, :5])
    with pytest.raises(ValueError, match="W_bar"):
        empirical_test_error(x, np.zeros_like(x))
    with pytest.raises(ValueError, match="shape"):
        empirical_test_error(x, x.T)


def test_learner_errors_match_the_single_estimators(rng):
    data = _data(60, 30, [3.0, 1.0], 3, rng=rng)
    val = noisy_data(data.teacher, rng=rng.spawn(1)[0])
    x, W = data.sigma31, data.teacher.W
    errors = empirical_learner_errors(
        x, W, s_bar=data.teacher.s, noise_std=1.0, sigma31_val=val.sigma31
    )
    single = {
        "oracle": oracle_estimate(x, data.teacher.s, noise_std=1.0),
        "plugin": plugin_estimate(x),
        "truncated_svd": truncated_svd(x, 2),
        "hard_threshold": hard_threshold_estimate(x),
        "soft_threshold": soft_threshold_estimate(x),
        "ridge": ridge_estimate(x, val.sigma31)[0],
    }
    for name, est in single.items():
        np.testing.assert_allclose(errors[name], empirical_test_error(est.W, W), rtol=1e-10)
    np.testing.assert_allclose(errors["least_squares"], empirical_test_error(x, W))
    assert all(e.shape == (3,) for e in errors.values())
    # the floor: the best strengths give the smallest error of every rule on every data set
    s_hat, best = empirical_best_strengths(x, W)
    recon = np.einsum("bim,bm,bjm->bij", data.U_hat, best, data.V_hat)
    np.testing.assert_allclose(errors["best"], empirical_test_error(recon, W), atol=1e-12)
    for name, e in errors.items():
        assert np.all(errors["best"] <= e + 1e-12), name
    np.testing.assert_allclose(s_hat, data.s_hat)


@given(
    n_out=st.integers(2, 6),
    extra=st.integers(0, 6),
    seed=st.integers(0, 2**32 - 1),
    spike=st.floats(0.0, 6.0),
    scale=st.floats(1e-3, 1e3),
)
def test_no_rule_increases_a_singular_value(n_out, extra, seed, spike, scale):
    # Every data-driven rule keeps the data's singular vectors and shrinks: 0 <= s <= s_hat mode by
    # mode (the optimal shrinker maps s_hat to s_bar O(s_bar) with s_bar < s_hat and O <= 1).
    rng = np.random.default_rng(seed)
    n_in = n_out + extra
    x = rng.standard_normal((n_out, n_in)) / np.sqrt(n_in)
    x += (
        spike
        * np.outer(rng.standard_normal(n_out), rng.standard_normal(n_in))
        / np.sqrt(n_in * n_out)
    )
    x *= scale
    val = x + scale * rng.standard_normal(x.shape) / np.sqrt(n_in)
    tol = 1e-12 * scale
    for est in (
        plugin_estimate(x),
        plugin_estimate(x, noise_std=scale),
        hard_threshold_estimate(x),
        soft_threshold_estimate(x),
        truncated_svd(x, 1),
        ridge_estimate(x, val)[0],
    ):
        assert np.all(np.isfinite(est.s))
        assert np.all(est.s >= 0.0)
        assert np.all(est.s <= est.s_hat + tol)
        # and the estimate is the data's singular vectors with those strengths
        assert np.linalg.norm(est.W) == pytest.approx(np.linalg.norm(est.s), rel=1e-9, abs=tol)
