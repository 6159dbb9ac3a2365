"""Chapter 1's experiments at tiny sizes: the grid of each result, determinism, the random streams,
and agreement of the simulations with the closed forms of Saxe et al. (2014)."""

from dataclasses import replace

import numpy as np
import pytest

from dltheory.config import get_scale
from dltheory.experiments.svd_dynamics import (
    RANK,
    SETUP,
    _effective_eps,
    run_deep,
    run_half_times,
    run_learning_rates,
    run_modes,
)

SIZES = replace(get_scale("ci").svd_dynamics, n_in=12, n_out=8, hidden=8, n_seeds=2, n_sweep=4)


@pytest.fixture(scope="module")
def chapter():
    # The chapter's order of calls on one generator.
    rng = np.random.default_rng(0)
    modes = run_modes(SETUP, SIZES, rng=rng)
    sweeps = run_half_times(SETUP, SIZES, modes.data, rng=rng)
    deep = run_deep(SETUP, SIZES, modes.data, rng=rng)
    return modes, sweeps, deep


def test_modes_grid_and_agreement(chapter):
    modes, _, _ = chapter
    n_t = SIZES.epochs // SIZES.record_every + 1
    assert modes.s_bar.tolist() == [6.0, 4.0, 2.0]
    assert modes.s_hat.shape == modes.half_aligned.shape == (SIZES.n_seeds, RANK)
    for arr in (modes.theory, modes.aligned, modes.random):
        assert arr.shape == (n_t, SIZES.n_seeds, RANK)
    assert modes.epochs[0] == 0 and modes.epochs[-1] == SIZES.epochs
    assert modes.deviation < 0.02  # exact up to the time step, O(lr * s_hat)
    np.testing.assert_allclose(modes.half_aligned, modes.half_theory, rtol=0.05)
    assert modes.order == [[1, 2, 3]] * SIZES.n_seeds
    assert np.all(modes.lag > 1)  # random init must first align its singular vectors
    assert modes.bulk_top < modes.s_hat[:, -1].min()


def test_random_student_aligns_before_it_learns(chapter):
    modes, _, _ = chapter
    n_t = SIZES.epochs // SIZES.record_every + 1
    for arr in (modes.u_overlap, modes.v_overlap, modes.random_theory):
        assert arr.shape == (n_t, SIZES.n_seeds, RANK)
    assert modes.eps_random.shape == modes.half_random_theory.shape == (SIZES.n_seeds, RANK)
    assert np.all((modes.u_overlap >= 0) & (modes.u_overlap <= 1 + 1e-12))
    np.testing.assert_allclose(modes.u_overlap[-1], 1, atol=1e-6)  # learned: vectors are the data's
    np.testing.assert_allclose(modes.v_overlap[-1], 1, atol=1e-6)
    assert np.all(modes.align_time < modes.half_random / 2)  # alignment well before learning
    # the effective strength: eps (N2/N1 + N2/N3) / 4 on average, at most that before projection
    assert np.all((modes.eps_random > 0) & (modes.eps_random < SETUP.eps))
    # the random half times follow the aligned closed form at eps_random, to the time step
    np.testing.assert_allclose(modes.half_random, modes.half_random_theory, rtol=0.01)
    np.testing.assert_allclose(
        modes.random_theory[0], modes.eps_random, rtol=1e-12
    )  # s(0) = eps_random


def test_effective_strength_is_the_growing_part_of_the_init():
    # The linearised early dynamics: from W1 = a v^T, W2 = u b^T (one mode), s(t) ~ |(a + b) / 2|^2
    # e^(2 s_hat t); Gram-Schmidt removes the part along the stronger modes' hidden directions.
    data = SETUP.draw(6, 4, [6.0, 4.0, 2.0], 1, rng=np.random.default_rng(3))
    rng = np.random.default_rng(4)
    W1, W2 = rng.normal(size=(1, 5, 6)), rng.normal(size=(1, 4, 5))
    eps = _effective_eps(data, [W1, W2])
    c = (W1[0] @ data.V_hat[0, :, :RANK] + W2[0].T @ data.U_hat[0, :, :RANK]) / 2
    assert eps[0, 0] == pytest.approx(c[:, 0] @ c[:, 0])
    perp = c[:, 2] - c[:, :2] @ np.linalg.lstsq(c[:, :2], c[:, 2], rcond=None)[0]
    assert eps[0, 2] == pytest.approx(perp @ perp)


def test_half_time_sweeps(chapter):
    modes, sweeps, _ = chapter
    n = SIZES.n_sweep
    assert sweeps.s_bar.shape == sweeps.s_hat.shape == sweeps.half.shape == (n,)
    assert sweeps.eps_half.shape == sweeps.eps_half_theory.shape == (n, SIZES.n_seeds, RANK)
    assert sweeps.eps[0] == pytest.approx(1e-8) and sweeps.eps[-1] == pytest.approx(10**-1.5)
    np.testing.assert_allclose(sweeps.half, sweeps.half_theory, rtol=0.05)
    np.testing.assert_allclose(sweeps.eps_half, sweeps.eps_half_theory, rtol=0.05)
    np.testing.assert_allclose(sweeps.slope, sweeps.slope_theory, rtol=0.05)
    np.testing.assert_allclose(sweeps.slope_theory, (SETUP.tau / (2 * modes.s_hat)).mean(axis=0))


def test_deep_students(chapter):
    modes, _, deep = chapter
    assert deep.hidden_layers == 3 and deep.eps == 1e-2
    assert deep.theory.shape == deep.aligned.shape == deep.random.shape
    assert deep.aligned.shape == (SIZES.deep_epochs // SIZES.record_every + 1, SIZES.n_seeds, RANK)
    assert np.array_equal(deep.s_hat, modes.s_hat)
    assert deep.half_error < 0.05
    np.testing.assert_allclose(deep.half_aligned, deep.half_theory, rtol=0.05)


def test_learning_rates_break_the_flow(chapter):
    modes, _, _ = chapter
    res = run_learning_rates(SETUP, SIZES, modes.data, lrs=[1e-3, 1e-2, 3e-2])
    assert res.lr.tolist() == [1e-3, 1e-2, 3e-2] and res.deviation.shape == (3,)
    assert res.deviation[0] == pytest.approx(
        modes.deviation, rel=0.05
    )  # the same flow, sampled finer
    assert np.all(np.diff(res.deviation) > 0)


def test_streams_are_the_chapters(chapter):
    # run_modes draws the teacher then the noise first, exactly as LGSetup.draw does.
    modes, _, _ = chapter
    rng = np.random.default_rng(0)
    data = SETUP.draw(SIZES.n_in, SIZES.n_out, [6.0, 4.0, 2.0], SIZES.n_seeds, rng=rng)
    assert np.array_equal(data.sigma31, modes.data.sigma31)


def test_deterministic(chapter):
    modes, sweeps, deep = chapter
    rng = np.random.default_rng(0)
    again = run_modes(SETUP, SIZES, rng=rng)
    for name in ("s_hat", "theory", "aligned", "random", "half_random", "u_overlap", "eps_random"):
        assert np.array_equal(getattr(again, name), getattr(modes, name)), name
    sweeps2 = run_half_times(SETUP, SIZES, again.data, rng=rng)
    assert np.array_equal(sweeps2.half, sweeps.half)
    assert np.array_equal(sweeps2.eps_half, sweeps.eps_half)
    deep2 = run_deep(SETUP, SIZES, again.data, rng=rng)
    assert np.array_equal(deep2.random, deep.random)


def test_bad_arguments():
    rng = np.random.default_rng(0)
    with pytest.raises(TypeError, match="sizes"):
        run_modes(SETUP, get_scale("ci"), rng=rng)
    with pytest.raises(TypeError, match="setup"):
        run_modes(get_scale("ci").svd_dynamics, SIZES, rng=rng)
    with pytest.raises(TypeError, match="data"):
        run_deep(SETUP, SIZES, None, rng=rng)
