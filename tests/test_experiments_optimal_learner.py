"""Chapter 3's experiments at tiny sizes: the grid of each result, determinism, the random streams,
and agreement of every learner with its asymptotic error (Lampinen & Ganguli 2019, Sec. 2.5)."""

from dataclasses import replace

import numpy as np
import pytest

from dltheory.config import get_scale
from dltheory.experiments import optimal_learner as ol
from dltheory.experiments.lampinen_ganguli import SETUP
from dltheory.shrinkage import empirical_test_error

SIZES = replace(
    get_scale("ci").optimal_learner,
    n_in=40,
    n_out=20,
    hidden=20,
    n_seeds=3,
    epochs=4000,
    record_every=25,
    n_snr_grid=3,
    n_seeds_claims=8,
    finite_size_n_in=(20, 40),
    finite_size_seeds=3,
)
# a smaller run for the determinism checks, which run everything twice
SMALL = replace(
    SIZES, n_in=12, n_out=6, hidden=6, n_seeds=2, epochs=500, n_snr_grid=2, n_seeds_claims=2
)


@pytest.fixture(scope="module")
def chapter():
    # The chapter's order of calls on one generator.
    rng = np.random.default_rng(0)
    example = ol.run_plugin_example(SETUP, SIZES, rng=rng)
    comparison = ol.run_learners(SETUP, SIZES, rng=rng)
    finite = ol.run_finite_size(SETUP, SIZES, rng=rng)
    return example, comparison, finite


def test_grids_and_shapes(chapter):
    _, comparison, finite = chapter
    threshold = SETUP.threshold(SIZES.n_in, SIZES.n_out)
    assert list(comparison.sweep) == [1, 3]
    for r, run in comparison.sweep.items():
        assert list(run.grid.axes) == ["snr"]
        np.testing.assert_allclose(run.grid.axes["snr"][[0, -1]], [threshold, 10.0])
        assert run.grid.shape == (SIZES.n_snr_grid, SIZES.n_seeds)
        assert run.base.shape == (r,)
    np.testing.assert_array_equal(comparison.rank1.grid.axes["snr"], [2.0, 4.0, threshold])
    np.testing.assert_array_equal(comparison.rank3.base, ol.RANK3)
    for run in (*comparison.sweep.values(), comparison.rank1, comparison.rank3):
        n_snr = run.grid.shape[0]
        assert set(run.measured) == set(run.predicted) == {*ol.LEARNERS, "oracle", "best"}
        for name in run.measured:
            assert run.measured[name].shape == run.grid.shape
            assert run.predicted[name].shape == (n_snr,)
        assert run.t_opt.shape == (n_snr,)
        assert run.data.batch == run.grid.n_runs
        assert run.gd.test_error.shape[1] == run.grid.n_runs
    assert comparison.rank3.grid.shape == (1, SIZES.n_seeds_claims)
    assert finite.grid.shape == (2, SIZES.finite_size_seeds)
    np.testing.assert_array_equal(finite.grid.axes["n_in"], SIZES.finite_size_n_in)
    for arr in (*finite.measured.values(), finite.noise_std):
        assert arr.shape == finite.grid.shape


def test_no_learner_beats_the_per_data_set_floor(chapter):
    # "best" is the smallest error of any learner that keeps the data's singular vectors, which
    # every learner here does (gradient descent from aligned weights included).
    _, comparison, _ = chapter
    for run in (*comparison.sweep.values(), comparison.rank1, comparison.rank3):
        for name in (*ol.LEARNERS, "oracle"):
            assert np.all(run.measured[name] >= run.measured["best"] - 1e-12), name


def test_predicted_and_measured_agree(chapter):
    _, comparison, finite = chapter
    r1, r3 = comparison.rank1, comparison.rank3
    # Least squares fits the noise exactly: E error = N3 sigma^2 / sum s_bar^2, spread O(1/N).
    np.testing.assert_allclose(
        r3.measured["least_squares"].mean(-1), r3.predicted["least_squares"], rtol=0.1
    )
    # At N1 = 40 the finite-size bias of the learners is a few per cent of the error.
    for name in ("plugin", "oracle", "gd_stopped", "ridge", "hard_threshold"):
        np.testing.assert_allclose(r3.measured[name].mean(-1), r3.predicted[name], rtol=0.15)
        np.testing.assert_allclose(r1.measured[name][1].mean(), r1.predicted[name][1], rtol=0.15)
    # the theory's ordering: optimally stopped GD is above the optimal learner for rank 3
    assert r3.predicted["gd_stopped"][0] > r3.predicted["plugin"][0]
    assert r1.predicted["plugin"][2] == pytest.approx(
        1.0, abs=1e-12
    )  # nothing to learn at threshold
    assert finite.predicted == pytest.approx(r3.predicted["plugin"][0])
    np.testing.assert_allclose(finite.measured["oracle"].mean(-1), finite.predicted, rtol=0.2)


def test_plugin_estimates_match_the_recorded_errors(chapter):
    _, comparison, _ = chapter
    r1 = comparison.rank1
    for snr in r1.grid.axes["snr"]:
        estimate, W_bar = r1.plugin(snr=snr)
        k = r1.grid.index("snr", snr)
        np.testing.assert_allclose(
            empirical_test_error(estimate.W, W_bar), r1.measured["plugin"][k], rtol=1e-12
        )
    s_hat, t = comparison.rank3.best_stopping_times(top=3)
    assert s_hat.shape == t.shape == (SIZES.n_seeds_claims, 3)
    assert np.all(np.diff(s_hat, axis=1) <= 0)


def test_glue_names(chapter):
    example, comparison, finite = chapter
    assert set(example.glue) == {"one_rank", "shat_weak", "opt_weak"}
    assert set(finite.glue) == {
        "plugin_large",
        "n_large",
        "finite_seeds",
        "sigma_large",
        "plugin_large_sd",
    }
    g = comparison.glue
    assert {"n1", "n3", "epochs", "t_opt3", "t_star_2", "gap_pred", "gap_fixed"} <= set(g)
    assert g["gap_pred"] > 0 and 0 <= g["zero_pct"] <= 100
    assert isinstance(g["n1"], int) and isinstance(finite.glue["n_large"], int)


def test_random_streams():
    # The chapter's records depend on how many children each call spawns, in this order.
    rng = np.random.default_rng(1)
    spawned = rng.bit_generator.seed_seq
    ol.run_plugin_example(SETUP, SMALL, rng=rng)
    assert spawned.n_children_spawned == 2  # teacher, noise
    ol.run_learners(SETUP, SMALL, rng=rng)
    assert spawned.n_children_spawned == 2 + 4 * 3  # 4 groups x (teacher, noise, held-out noise)
    ol.run_finite_size(SETUP, SMALL, rng=rng)
    assert spawned.n_children_spawned == 14 + 2 * len(SMALL.finite_size_n_in)


def test_deterministic():
    a = ol.run_learners(SETUP, SMALL, rng=np.random.default_rng(3))
    b = ol.run_learners(SETUP, SMALL, rng=np.random.default_rng(3))
    runs_a = (a.rank1, a.rank3, *a.sweep.values())
    runs_b = (b.rank1, b.rank3, *b.sweep.values())
    for ra, rb in zip(runs_a, runs_b, strict=True):
        for name in ra.measured:
            np.testing.assert_array_equal(ra.measured[name], rb.measured[name])
    fa = ol.run_finite_size(SETUP, SMALL, rng=np.random.default_rng(4))
    fb = ol.run_finite_size(SETUP, SMALL, rng=np.random.default_rng(4))
    np.testing.assert_array_equal(fa.measured["plugin"], fb.measured["plugin"])


def test_predicted_errors_on_a_grid():
    s_bar = np.array([[1.0], [2.0], [4.0]])
    theory = ol.predicted_errors(SETUP, SIZES, s_bar)
    assert set(theory) == {*ol.LEARNERS, "oracle", "best"}
    assert all(v.shape == (3,) for v in theory.values())
    for name in ol.LEARNERS:  # nothing beats the optimal learner
        assert np.all(theory[name] >= theory["best"] - 1e-12), name
    np.testing.assert_allclose(
        theory["least_squares"], SIZES.n_out * SETUP.noise_std**2 / s_bar[:, 0] ** 2
    )


def test_bad_sizes():
    with pytest.raises(ValueError, match="sizes"):
        ol.run_learners(SETUP, replace(SMALL, n_out=2), rng=np.random.default_rng(0))
    with pytest.raises(TypeError, match="sizes"):
        ol.run_finite_size(SETUP, get_scale("ci").early_stopping, rng=np.random.default_rng(0))


def test_gap_at_the_predicted_stopping_time(chapter):
    _, comparison, finite = chapter
    r3 = comparison.rank3
    k = int(np.argmin(np.abs(r3.gd.steps - comparison.t_opt3)))
    known = comparison.plugin_known_sigma
    assert known.shape == (SIZES.n_seeds_claims,)
    np.testing.assert_allclose(comparison.gap_fixed, r3.gd.test_error[k] - known)
    expected = r3.predicted["gd_stopped"][0] - r3.predicted["plugin"][0]
    assert comparison.gap_predicted == pytest.approx(expected)
    assert comparison.gap_predicted > 0
    assert set(finite.measured) == {"plugin", "oracle", "plugin_sigma"}


def test_rank3_seeds_override():
    sizes = replace(SMALL, n_seeds_rank3=3)
    comparison = ol.run_learners(SETUP, sizes, rng=np.random.default_rng(1))
    assert comparison.rank3.grid.shape == (1, 3)
    assert comparison.rank1.grid.shape == (3, SMALL.n_seeds_claims)
    assert comparison.gap_fixed.shape == (3,)
