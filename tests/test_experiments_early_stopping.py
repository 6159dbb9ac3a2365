"""Chapter 2's experiments at tiny sizes: the grids, determinism, the random streams of the chapter,
and theory against simulation where the sizes allow it (Lampinen & Ganguli 2019, arXiv:1809.10374)."""

from dataclasses import replace

import numpy as np
import pytest
from conftest import EXACT

from dltheory.config import get_scale
from dltheory.experiments import _fine_lines
from dltheory.experiments import early_stopping as es
from dltheory.experiments import early_stopping_claims as claims
from dltheory.experiments import early_stopping_variants as variants
from dltheory.experiments.lampinen_ganguli import SETUP
from dltheory.teachers import snr_singular_values

CI = get_scale("ci").early_stopping
TINY = replace(
    CI,
    n_in=20,
    n_out=10,
    hidden=10,
    n_seeds=2,
    n_seeds_random=2,
    random_all_snrs=False,
    epochs=200,
    record_every=10,
    rmt_n_in=40,
    rmt_n_out=20,
    rmt_seeds=2,
    rmt_claim_seeds=3,
    n_sbar_grid=3,
    n_snr_grid=1,
    examples_n=10,
    examples_grid=(5, 10, 20),
    examples_snrs=(2.0, 4.0),
    examples_seeds=2,
    examples_epochs=100,
    bias_draws=20,
)


def _rng():
    return np.random.default_rng(7)


def test_noise_bulk_and_outliers_shapes_and_determinism():
    a, b = es.run_noise_bulk(SETUP, TINY, rng=_rng()), es.run_noise_bulk(SETUP, TINY, rng=_rng())
    assert a.noise_sv.shape == a.spiked_sv.shape == (TINY.rmt_n_out,)
    assert a.predicted_outliers.shape == (3,)
    np.testing.assert_array_equal(a.spiked_sv, b.spiked_sv)
    assert a.ks == b.ks
    out = es.run_outliers(SETUP, TINY, rng=_rng())
    assert list(out.grid.axes) == ["s_bar"]
    assert out.top.shape == out.o_u.shape == out.o_v.shape == (TINY.n_sbar_grid, TINY.rmt_seeds)
    assert out.predicted_top.shape == (TINY.n_sbar_grid,)
    assert out.claim_top.shape == out.claim_overlap.shape == (1, TINY.rmt_claim_seeds)
    np.testing.assert_array_equal(out.top, es.run_outliers(SETUP, TINY, rng=_rng()).top)


def test_outlier_matches_theory_at_moderate_size():
    # The claim's setting at N1 = 400: the outlier is within a few percent, the overlap within 0.1.
    sizes = replace(TINY, rmt_n_in=400, rmt_n_out=200, rmt_claim_seeds=4, n_sbar_grid=2)
    out = es.run_outliers(SETUP, sizes, rng=_rng())
    assert out.claim_top.mean() == pytest.approx(out.claim_predicted_top, rel=0.03)
    assert out.claim_overlap.mean() == pytest.approx(out.claim_predicted_overlap, abs=0.1)


def test_error_curves_reproduce_the_chapter_streams():
    # The chapter drew and trained rank 1, then rank 3, each batch from two spawned children.
    res = es.run_error_curves(SETUP, TINY, rng=_rng(), ranks=(1, 3), multipliers=(4.0,))
    assert list(res.grid.axes) == ["rank", "snr"] and res.grid.shape == (2, 2, TINY.n_seeds)
    T = res.epochs.size
    assert res.test_error.shape == res.train_error.shape == (T, 2, 2, TINY.n_seeds)
    assert res.predicted_test.shape == (T, 2, 2)
    assert res.min_error.shape == res.t_opt.shape == (2, 2, TINY.n_seeds)
    assert res.predicted_min_error.shape == (2, 2)
    assert res.fine_min_error.shape == (2, res.fine_snr.size) and res.fine_jumps.shape == (
        2,
        res.fine_snr.size - 1,
    )
    rng = _rng()
    snrs = es.snr_grid(SETUP, TINY, (4.0,))
    for i, r in enumerate((1, 3)):
        s_bar = np.stack([snr_singular_values(r, m) for m in snrs])
        data = SETUP.draw(TINY.n_in, TINY.n_out, s_bar, TINY.n_seeds, rng=rng)
        run = SETUP.train(data, hidden=TINY.hidden, epochs=TINY.epochs, record_every=10)
        np.testing.assert_array_equal(res.test_error[:, i].reshape(T, -1), run.test_error)


def test_error_curves_agree_with_theory_at_the_canonical_size():
    # N1 = 100, N3 = N2 = 50 as in the chapter; SNR 8 is far above threshold, so a few seeds do.
    sizes = replace(CI, n_seeds=4, n_snr_grid=1)
    res = es.run_error_curves(SETUP, sizes, rng=_rng(), ranks=(1,), multipliers=(8.0,))
    k = res.grid.index("snr", 8.0)
    assert res.min_error[0, k].mean() == pytest.approx(res.predicted_min_error[0, k], rel=0.25)
    assert res.t_opt[0, k].mean() == pytest.approx(res.predicted_t_opt[0, k], rel=0.15)


def test_optimal_stopping_grid_and_determinism():
    a = es.run_optimal_stopping(SETUP, TINY, [3.0, 2.0, 1.0], rng=_rng())
    b = es.run_optimal_stopping(SETUP, TINY, [3.0, 2.0, 1.0], rng=_rng())
    assert a.min_error.shape == (1, TINY.n_seeds) and a.predicted_min_error.shape == (1,)
    np.testing.assert_array_equal(a.min_error, b.min_error)
    # the best error of a run can only be at most its error at the start (1 for a zero student)
    assert np.all(a.min_error <= 1.0 + 1e-12)
    # a mean of minima is at most the minimum of the mean
    assert a.selection_bias.shape == (1,) and a.selection_bias[0] <= 1e-15


def test_selection_bias_explains_the_rank_3_gap():
    # The canonical size: the minimum of the seed-mean curve matches the theory closely, and the
    # per-seed minima lie below it by the selection bias.
    res = es.run_optimal_stopping(SETUP, replace(CI, n_seeds=40), [3.0, 2.0, 1.0], rng=_rng())
    gap = res.min_error.mean() - res.predicted_min_error[0]
    assert res.selection_bias[0] < 0
    assert abs(gap - res.selection_bias[0]) < 0.01 * res.predicted_min_error[0] + 3 * np.std(
        res.min_error, ddof=1
    ) / np.sqrt(40)


def test_random_init_and_hidden_width():
    init = variants.run_random_init(SETUP, TINY, rng=_rng())
    assert list(init.grid.axes["snr"]) == [4.0]
    assert init.random_min_error.shape == init.aligned_t_opt.shape == (1, TINY.n_seeds_random)
    again = variants.run_random_init(SETUP, TINY, rng=_rng())
    np.testing.assert_array_equal(init.random_min_error, again.random_min_error)
    # the curves behind the optimal stopping: their minima are the recorded minimal errors
    T = init.epochs.size
    assert init.random_test.shape == init.aligned_train.shape == (T, 1, TINY.n_seeds_random)
    assert init.predicted_test.shape == init.predicted_train.shape == (T, 1)
    np.testing.assert_array_equal(init.random_test.min(axis=0), init.random_min_error)
    np.testing.assert_array_equal(init.aligned_test.min(axis=0), init.aligned_min_error)
    assert init.shown == [(0, 4.0)]  # SNR 4 only
    th, al, rd = init.curves("train", 0)
    assert th.shape == (T,) and al.shape == rd.shape == (TINY.n_seeds_random, T)
    lag = 100 * (init.random_t_opt.mean() / init.aligned_t_opt.mean() - 1)
    assert init.lag_pct[0] == pytest.approx(lag)
    width = variants.run_hidden_width(SETUP, TINY, rng=_rng(), widths=(1, 2, 5), s_bar=3.0)
    assert width.test_error.shape == (width.epochs.size, 3, TINY.n_seeds)
    assert width.min_error.shape == (3, TINY.n_seeds) and width.predicted_min_error.shape == (3,)
    assert width.spread >= 0 and width.predicted_spread >= 0
    assert width.late_error.shape == (3, TINY.n_seeds) and width.predicted_late_error.shape == (3,)
    # a wider student fits more noise modes by the end of training
    assert np.all(np.diff(width.predicted_late_error) > 0)


def test_examples_grid_and_properties():
    ex = variants.run_examples(SETUP, TINY, rng=_rng())
    assert list(ex.grid.axes) == ["snr", "n_examples"]
    assert ex.test_error.shape == (ex.epochs.size, 2, 3, TINY.examples_seeds)
    assert ex.predicted_test.shape == ex.predicted_train.shape == (ex.epochs.size, 2, 3)
    assert ex.train_error.shape == ex.test_error.shape
    # a zero-output student has training error 1 at every P, in theory and simulation
    np.testing.assert_allclose(ex.predicted_train[0], 1.0, atol=1e-3)
    np.testing.assert_allclose(ex.train_error[0], 1.0, atol=1e-3)
    th, sim = es.curve_pair(ex, "train", (1, 2))
    np.testing.assert_array_equal(th, ex.predicted_train[:, 1, 2])
    np.testing.assert_array_equal(sim, ex.train_error[:, 1, 2].T)
    assert ex.min_error.shape == ex.predicted_min_error.shape == ex.late_error.shape == (2, 3)
    assert len(ex.best_falls_late_peaks) == 2
    # the theory lines pass through the simulated P exactly: they are the same closed form
    at = np.searchsorted(ex.fine["P"], ex.grid.axes["n_examples"])
    np.testing.assert_array_equal(ex.fine["P"][at], ex.grid.axes["n_examples"])
    np.testing.assert_allclose(ex.fine["min_error"][:, at], ex.predicted_min_error, rtol=EXACT)
    np.testing.assert_allclose(ex.fine["late_error"][:, at], ex.predicted_late_error, rtol=EXACT)
    again = variants.run_examples(SETUP, TINY, rng=_rng())
    np.testing.assert_array_equal(ex.test_error, again.test_error)


def test_randomised_targets_have_a_lower_top_singular_value():
    res = variants.run_randomised(SETUP, TINY, rng=_rng(), multiplier=10.0)
    assert list(res.grid.axes["targets"]) == ["structured", "randomised"]
    assert res.s_hat.shape == (2, TINY.n_seeds_random, TINY.n_out)
    assert res.train_error.shape == (res.epochs.size, 2, TINY.n_seeds_random)
    # shuffling keeps ||Sigma31||_F but spreads it over all modes, so the top one falls
    np.testing.assert_allclose(np.sum(res.s_hat[0] ** 2, 1), np.sum(res.s_hat[1] ** 2, 1))
    assert np.all(res.top_ratio < 1)
    # the predicted spectra: three outliers, then the bulk; shuffled, the stretched bulk alone
    assert res.predicted_s_hat.shape == (2, TINY.n_out)
    assert np.all(np.diff(res.predicted_s_hat, axis=1) <= 0)
    edge, top = claims.predicted_shuffled_edge(SETUP, TINY, [30.0, 20.0, 10.0])
    assert res.predicted_s_hat[0, 0] == pytest.approx(top)
    assert res.predicted_s_hat[0, 3] < 1 + np.sqrt(TINY.n_out / TINY.n_in)
    assert res.predicted_s_hat[1, 0] < edge and res.predicted_s_hat[1, 0] > 0.8 * edge


def test_predicted_spectra_match_the_mean_sorted_spectrum():
    # canonical size: the sorted singular values, averaged over draws, sit near the quantiles
    sizes = replace(CI, bias_draws=40)
    s_bar = np.array([30.0, 20.0, 10.0])
    predicted = claims.predicted_spectra(SETUP, sizes, s_bar)
    data = SETUP.draw(sizes.n_in, sizes.n_out, s_bar, 40, rng=_rng())
    np.testing.assert_allclose(data.s_hat.mean(axis=0)[3:45], predicted[0, 3:45], rtol=0.05)
    np.testing.assert_allclose(data.s_hat.mean(axis=0)[:3], predicted[0, :3], rtol=0.01)


def test_three_se_claim_and_curve_pair():
    c = claims.three_se_claim(1.0, [0.9, 1.1, 1.0], bias=-0.05)
    assert c["measured"] == pytest.approx(1.0) and c["n"] == 3
    assert c["se"] == pytest.approx(0.1 / np.sqrt(3))
    assert c["abs"] == pytest.approx(3 * c["se"] + 0.05)
    curves = es.run_error_curves(SETUP, TINY, rng=_rng(), ranks=(1, 3), multipliers=(4.0,))
    th, sim = es.curve_pair(curves, "test", (1, 0))
    np.testing.assert_array_equal(th, curves.predicted_test[:, 1, 0])
    assert sim.shape == (TINY.n_seeds, curves.epochs.size)
    with pytest.raises(ValueError, match="index"):
        es.curve_pair(curves, "test", (1,))


def test_curve_deviation_shuffled_edge_and_deep_student():
    curves = es.run_error_curves(SETUP, TINY, rng=_rng(), ranks=(1,), multipliers=(4.0,))
    dev = claims.curve_deviation(curves, TINY, which="test", rank=1, snr=4.0)
    assert dev.n == TINY.n_seeds and dev.deviation >= 0 and dev.se >= 0
    assert dev.bias == pytest.approx((TINY.n_out - 1) / TINY.n_in / 16.0)
    # the stretched edge: sqrt((sum s_bar^2 + N3) / N3) (1 + sqrt(A))
    edge, top = claims.predicted_shuffled_edge(SETUP, TINY, [30.0, 20.0, 10.0])
    assert edge == pytest.approx(np.sqrt((1400 + 10) / 10) * (1 + np.sqrt(0.5)))
    assert top > 30.0
    sizes = replace(TINY, n_in=100, n_out=50, bias_draws=60)
    res = claims.run_shuffled_edge(SETUP, sizes, rng=_rng())
    assert res.ratio.shape == (60,)
    assert res.ratio.mean() == pytest.approx(res.predicted_ratio, rel=0.05)
    assert -0.06 < res.gaussian_bias < 0
    deep = claims.run_deep_stopping(SETUP, replace(TINY, epochs=100), rng=_rng())
    assert deep.test_error.shape == (deep.epochs.size, TINY.n_seeds)
    assert deep.predicted_test.shape == deep.epochs.shape
    np.testing.assert_allclose(deep.predicted_test[0], 1.0, atol=1e-4)  # 1 - O(eps)


def test_bulk_energy_deficit_of_rank_one_data():
    # The noise bulk of rank-1 data is an (N3 - 1) x (N1 - 1) noise matrix: mean s^2 = (N1 - 1) / N1.
    data = SETUP.draw(100, 50, [[4.0]], 200, rng=_rng())
    assert np.mean(data.s_hat[:, 1:] ** 2) == pytest.approx(0.99, abs=0.003)


def test_jumps_are_told_from_steep_rises():
    # A step at m = 1 followed by a square-root rise: only the step is a jump; a steep line is none.
    m = np.linspace(0.5, 2.0, 61)

    def step_then_root(x):
        x = np.asarray(x)
        return np.where(x < 1.0, 0.0, 1.0 + 3.0 * np.sqrt(np.clip(x - 1.0, 0.0, None)))

    jumps = _fine_lines.jumps(m, step_then_root(m), step_then_root)
    assert np.flatnonzero(jumps).tolist() == [int(np.searchsorted(m, 1.0)) - 1]
    assert not _fine_lines.jumps(m, 50.0 * m, lambda x: 50.0 * np.asarray(x)).any()
