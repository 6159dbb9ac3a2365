"""The transfer experiment of chapter 4 at tiny sizes: the grid, determinism, and theory vs simulation."""

import dataclasses

import numpy as np
import pytest

import dltheory.experiments.transfer_alignment as experiment
from dltheory.config import get_scale
from dltheory.experiments import Grid
from dltheory.experiments.lampinen_ganguli import SETUP
from dltheory.experiments.transfer_alignment import (
    required_alignment,
    run_claims,
    run_finite_size,
    run_grid,
    run_output_rotation,
    run_strong,
    run_transfer,
    theory_setting,
)

# N1 = 20 keeps the canonical ratios N3/N1 = N2/N1 = 1/2; 5000 epochs let an SNR-0.84 mode rise.
SIZES = dataclasses.replace(
    get_scale("ci").transfer,
    n_in=20, n_out=10, hidden=10, n_seeds=3, epochs=5000, record_every=50, n_q_grid=3,
    finite_size_n_in=(20, 80), finite_size_seeds=4, weak_seeds=6,
)  # fmt: skip


@pytest.fixture(scope="module")
def result():
    return run_transfer(SETUP, SIZES, rng=np.random.default_rng(0))


def test_grid_names_and_shapes(result):
    grid = result.grid
    assert list(grid.axes) == ["s_a", "s_b", "q"]
    threshold = SETUP.threshold(SIZES.n_in, SIZES.n_out)
    assert np.allclose(grid.axes["s_a"], [threshold, 3.0, 10.0])
    assert np.allclose(grid.axes["s_b"], [threshold, 1.5, 3.0, 5.0, 10.0, 30.0])
    assert np.allclose(grid.axes["q"], [0.0, 0.5, 0.9, 0.95, 1.0])  # the even grid, 0.9 and 0.95
    assert grid.shape == (3, 6, 5, SIZES.n_seeds)
    T = SIZES.epochs // SIZES.record_every + 1
    assert result.epochs.shape == (T,)
    assert result.err_alone.shape == result.err_joint.shape == (T, *grid.shape)
    assert result.measured.shape == grid.shape
    assert result.predicted.shape == grid.shape[:-1]
    assert result.pair.batch == result.alone.batch == result.joint.batch == grid.n_runs
    assert result.at(3.0, 10.0, 1.0) == (1, 4, 4)
    # the runs of one condition are its seeds in the flat batch, in grid order
    runs = grid.runs_of(s_a=3.0, s_b=10.0, q=0.5)
    assert np.allclose(result.pair.q[runs], 0.5)
    assert np.allclose(result.pair.task_b.s[runs, 0], 10.0)


def test_measured_benefit_is_the_difference_of_the_minima(result):
    expected = result.err_alone.min(axis=0) - result.err_joint.min(axis=0)
    np.testing.assert_array_equal(result.measured, expected)


def test_theory_setting():
    kw = theory_setting(SETUP, SIZES)
    assert kw == dict(n_in=20, n_out=10, hidden=10, eps=SETUP.eps, tau=SETUP.tau, noise_std=1.0)


def test_same_seed_same_arrays():
    tiny = dataclasses.replace(SIZES, n_in=8, n_out=4, hidden=4, epochs=300, n_q_grid=1)
    a = run_transfer(SETUP, tiny, rng=np.random.default_rng(5))
    b = run_transfer(SETUP, tiny, rng=np.random.default_rng(5))
    np.testing.assert_array_equal(a.err_alone, b.err_alone)
    np.testing.assert_array_equal(a.err_joint, b.err_joint)
    np.testing.assert_array_equal(a.measured, b.measured)
    np.testing.assert_array_equal(a.predicted, b.predicted)


def test_theory_and_simulation_agree_on_sign_and_size(result):
    # task A at SNR 3: a misaligned partner hurts, an aligned strong one helps (paper's Sec. 5)
    for s_b, q in [(3.0, 0.0), (10.0, 1.0)]:
        k = result.at(3.0, s_b, q)
        predicted, measured = result.predicted[k], result.measured[k].mean()
        assert (predicted > 0) == (measured > 0) == (q > 0.5)  # helps only when aligned
        assert abs(measured - predicted) < 0.03
    # at its threshold, task A gains much from an aligned strong partner (paper's Sec. 5)
    k = result.at(result.grid.axes["s_a"][0], 10.0, 1.0)
    assert result.predicted[k] > 0.3 and result.measured[k].mean() > 0.3


def test_output_rotation_leaves_transfer_unchanged(result):
    rot = run_output_rotation(SETUP, SIZES, result, rng=np.random.default_rng(1))
    assert list(rot.grid.axes) == ["s_b", "q"]
    assert rot.original.shape == rot.rotated.shape == rot.fresh.shape == (2, 3, SIZES.n_seeds)
    assert rot.predicted.shape == (2, 3)
    i3 = result.grid.index("s_a", 3.0)
    np.testing.assert_array_equal(rot.original[1], result.measured[i3, 4][[0, 1, 4]])  # s_b = 10
    np.testing.assert_allclose(rot.rotated, rot.original, atol=1e-10)  # exact equivariance
    assert rot.change.max() < 1e-10 < rot.se.min()
    assert not np.allclose(rot.fresh, rot.original, atol=1e-6)  # a fresh draw is another sample


def test_output_rotation_needs_the_rotated_conditions(result):
    axes = {**result.grid.axes, "q": np.array([0.0, 0.25, 1.0])}  # no q = 0.5
    base = dataclasses.replace(result, grid=Grid(axes=axes, n_seeds=result.grid.n_seeds))
    with pytest.raises(ValueError, match="base must hold"):
        run_output_rotation(SETUP, SIZES, base, rng=np.random.default_rng(1))
    with pytest.raises(ValueError, match="sizes ask for"):
        run_output_rotation(
            SETUP, dataclasses.replace(SIZES, n_in=40), result, rng=np.random.default_rng(1)
        )


def test_finite_size_approaches_the_theory():
    fs = run_finite_size(SETUP, SIZES, rng=np.random.default_rng(2))
    assert list(fs.grid.axes) == ["n_in", "q"]
    assert fs.measured.shape == fs.measured_alone.shape == (2, 2, SIZES.finite_size_seeds)
    assert fs.predicted.shape == fs.predicted_alone.shape == (2, 2)
    # at threshold the large-N theory learns nothing alone; the finite-N student still learns a bit
    np.testing.assert_allclose(fs.predicted_alone, 1.0, atol=1e-6)
    alone = fs.measured_alone.mean(axis=(1, 2))
    assert alone[0] < alone[1] < 1.0
    # the weak partner's gain T(0.2) - T(0): one value per N1 and seed, a small positive theory
    assert fs.weak_gain.shape == (2, SIZES.weak_seeds)
    assert fs.weak_predicted.shape == (2,)
    assert np.all((fs.weak_predicted > 1e-3) & (fs.weak_predicted < 5e-3))
    assert np.all(np.isfinite(fs.weak_gain))


def test_weak_gain_is_paired(monkeypatch):
    # the same pair and noise serve both alignments: with the weak alignment at 0 the gain vanishes
    # exactly, which it would not for independent draws
    monkeypatch.setattr(experiment, "Q_WEAK", 0.0)
    tiny = dataclasses.replace(SIZES, weak_seeds=3)
    gain = experiment._weak_gain(SETUP, tiny, 20, 0.84, rng=np.random.default_rng(4))
    assert gain.shape == (3,)
    np.testing.assert_array_equal(gain, 0.0)
    # the sign: an aligned strong partner lowers A's joint error, so the gain is large and positive
    monkeypatch.setattr(experiment, "Q_WEAK", 1.0)
    gain = experiment._weak_gain(SETUP, tiny, 20, 0.84, rng=np.random.default_rng(4))
    assert np.all(gain > 0.1)


def test_run_grid_is_run_transfer_on_its_axes(result):
    g = result.grid
    again = run_grid(
        SETUP, SIZES, s_a=g.axes["s_a"], s_b=g.axes["s_b"], q=g.axes["q"], n_seeds=g.n_seeds,
        rng=np.random.default_rng(0),
    )  # fmt: skip
    np.testing.assert_array_equal(again.measured, result.measured)
    np.testing.assert_array_equal(again.predicted, result.predicted)
    for bad in [dict(n_seeds=0), dict(q=[1.5]), dict(s_a=[]), dict(s_b=[-1.0])]:
        kw = dict(s_a=[3.0], s_b=[3.0], q=[0.0], n_seeds=2) | bad
        with pytest.raises(ValueError):
            run_grid(SETUP, SIZES, **kw, rng=np.random.default_rng(0))


def test_claims_and_strong_grids():
    tiny = dataclasses.replace(SIZES, n_in=8, n_out=4, hidden=4, epochs=300, claim_seeds=2)
    claims = run_claims(SETUP, tiny, rng=np.random.default_rng(3))
    assert claims.grid.shape == (3, 2, 3, 2)
    assert np.allclose(claims.grid.axes["s_b"], [3.0, 10.0])
    assert np.allclose(claims.grid.axes["q"], [0.0, 0.5, 1.0])
    strong = run_strong(SETUP, tiny, rng=np.random.default_rng(3))
    assert strong.grid.shape == (1, 2, 4, 2)
    assert np.allclose(strong.grid.axes["s_a"], [100.0])
    # a strong task's benefit is O(1/s_A^2) in theory
    assert np.abs(strong.predicted).max() < 1e-3


def test_required_alignment():
    q = np.array([0.0, 0.5, 1.0])
    T = np.array([[-1.0, -1.0, 1.0], [1.0, 2.0, 3.0], [-1.0, 1.0, -1.0], [1.0, -1.0, 3.0]])
    np.testing.assert_allclose(required_alignment(q, T), [0.75, 0.0, np.nan, 0.625])
    assert required_alignment(q, T[None]).shape == (1, 4)
    with pytest.raises(ValueError):
        required_alignment([0.0, 0.0], [1.0, 1.0])
    with pytest.raises(ValueError):
        required_alignment(q, [1.0, 2.0])
