"""Transfer theory (chapter 4): the joint modes, limits of the joint error, the transfer benefit."""

import numpy as np
import pytest
from conftest import EXACT

from dltheory.linear_nets import empirical_optimal_stopping, simulate_gd
from dltheory.task_pairs import aligned_task_pair, empirical_block_error, task_pair_data
from dltheory.theory.generalization import predicted_error_curves, predicted_optimal_stopping
from dltheory.theory.mode_dynamics import predicted_mode_strength
from dltheory.theory.random_matrix import outlier_singular_value, overlap_factors
from dltheory.theory.transfer import (
    joint_modes,
    predicted_alone_error,
    predicted_joint_error,
    predicted_transfer,
)

CANON = dict(n_in=100, n_out=50, hidden=50, eps=1e-5, tau=1000.0)
COARSE = dict(CANON, n_nodes=200)  # fewer bulk nodes where only self-consistency is checked
T_GRID = np.linspace(0.0, 8000.0, 81)


def test_joint_modes_match_the_svd_of_the_core():
    s_a, s_b, q = 3.0, np.array([0.5, 3.0, 10.0, 3.0]), np.array([0.2, 0.0, 0.7, 1.0])
    modes = joint_modes(s_a, s_b, q)
    core = np.zeros((4, 2, 2))
    core[:, 0, 0] = s_a
    core[:, 1, 0] = s_b * q
    core[:, 1, 1] = s_b * np.sqrt(1 - q**2)
    L, sigma, _ = np.linalg.svd(core)
    np.testing.assert_allclose(modes.sigma, sigma, atol=EXACT)
    keep = [0, 2, 3]  # q = 0 with s_a = s_b is degenerate: any basis of the pair is an SVD
    np.testing.assert_allclose(modes.w_a[keep], L[keep, 0, :] ** 2, atol=EXACT)
    np.testing.assert_allclose(modes.w_a[1], [0.5, 0.5])
    np.testing.assert_allclose(modes.w_a.sum(-1), 1.0, atol=EXACT)
    # task A's energy is shared between the joint modes: sum_i sigma_i^2 w_i = s_a^2
    np.testing.assert_allclose(np.sum(modes.sigma**2 * modes.w_a, -1), s_a**2, rtol=EXACT)
    np.testing.assert_allclose(modes.sigma[3, 1], 0.0, atol=EXACT)  # q = 1: rank 1


def test_joint_modes_agree_with_the_sampled_teachers(rng):
    s_b, q = np.array([1.0, 3.0, 10.0]), np.array([0.0, 0.5, 0.9])
    pair = aligned_task_pair(60, 20, 3.0, s_b, q, rng=rng)
    np.testing.assert_allclose(joint_modes(3.0, s_b, q).sigma, pair.joint.s, atol=1e-12)


def test_start_of_training_gives_error_one():
    err = predicted_joint_error([0.0], 3.0, [0.5, 10.0], [0.0, 1.0], **CANON)
    np.testing.assert_allclose(err, 1.0, atol=1e-4)


def test_pure_noise_partner_is_the_single_task_theory_on_the_joint_data():
    # s_B = 0: the joint student is the single-task student of a rank-1 teacher with 2 N3 outputs,
    # whose output noise and bulk fall half (on average) on task A's block. Then
    # err_joint = (1/2) [err_single + 1 + (s_1^2 O_u^2 - 2 s_1 s_A O) / s_A^2]
    # with err_single from the single-task theory (generalization.py) at A_J = 2 N3 / N1.
    s_a = np.array([1.5, 3.0, 6.0])
    joint = predicted_joint_error(T_GRID, s_a, 0.0, 0.3, **CANON)
    single = predicted_error_curves(
        T_GRID, s_a[:, None], n_in=100, n_out=100, hidden=50, eps=1e-5, tau=1000.0
    ).test
    s_hat = outlier_singular_value(s_a, aspect_ratio=1.0)
    o_u, o_v = overlap_factors(s_a, aspect_ratio=1.0)
    s1 = predicted_mode_strength(T_GRID, s_hat, eps=1e-5, tau=1000.0)
    expected = 0.5 * (single + 1 + (s1**2 * o_u**2 - 2 * s1 * s_a * o_u * o_v) / s_a**2)
    np.testing.assert_allclose(joint, expected, rtol=1e-10)
    # and the alignment of a partner that carries nothing does not matter
    np.testing.assert_allclose(predicted_joint_error(T_GRID, s_a, 0.0, 0.9, **CANON), joint)


def test_partner_below_threshold_at_q0_does_not_matter_how_weak():
    # q = 0: the partner is a separate joint mode; below the joint threshold A_J^(1/4) = 1 it sits
    # at the bulk edge with no overlap, whatever its strength
    s_b = np.array([1e-6, 0.3, 0.9, 1.0])
    err = predicted_joint_error(T_GRID, 3.0, s_b, 0.0, **CANON)
    np.testing.assert_allclose(err, err[:, :1].repeat(4, axis=1), rtol=1e-12)
    above = predicted_joint_error(T_GRID, 3.0, 1.2, 0.0, **CANON)
    assert np.max(np.abs(above - err[:, 0])) > 1e-3


def test_strong_tasks_gain_or_lose_order_one_over_snr_squared():
    # Our asymptotics (chapter 4): for s_A -> infinity, s_A^2 T -> -N3/N1 when the partner is not
    # aligned (its mode carries the noise Z_A v_B, of squared norm N3/N1, into A's outputs) and
    # s_A^2 T -> s_B^2 / (s_A^2 + s_B^2) at q = 1 (the input noise is averaged over both tasks).
    s_a = 100.0
    s_b = np.array([100.0, 300.0])
    th = predicted_transfer(s_a, s_b, np.array([[0.0], [0.5], [1.0]]), **CANON)
    scaled = th.benefit * s_a**2
    np.testing.assert_allclose(scaled[:2], -0.5, atol=1e-3)
    np.testing.assert_allclose(scaled[2], s_b**2 / (s_a**2 + s_b**2), atol=1e-3)
    assert np.max(np.abs(th.benefit)) < 1e-4


def test_alone_part_is_the_single_task_theory():
    th = predicted_transfer(np.array([2.0, 3.0]), 5.0, 0.5, **CANON)
    t_opt, err = predicted_optimal_stopping(np.array([[2.0], [3.0]]), **CANON)
    np.testing.assert_allclose(th.err_alone, err, rtol=1e-12)
    np.testing.assert_allclose(th.t_alone, t_opt, rtol=1e-12)
    curves = predicted_alone_error(T_GRID, np.array([2.0, 3.0]), **CANON)
    assert curves.shape == (T_GRID.size, 2)
    assert np.all(curves.min(0) >= err - 1e-12)


def test_joint_minimum_beats_a_fine_grid():
    s_a, s_b, q = np.array([0.84, 3.0, 3.0, 10.0]), np.array([10.0, 3.0, 30.0, 10.0]), 1.0
    th = predicted_transfer(s_a, s_b, q, **COARSE)
    fine = np.linspace(0.0, 10000.0, 20001)  # every half epoch; every minimum lies before 10 tau
    brute = predicted_joint_error(fine, s_a, s_b, q, **COARSE).min(0)
    assert np.all(th.err_joint <= brute + 1e-12)
    np.testing.assert_allclose(th.err_joint, brute, atol=1e-6)
    np.testing.assert_allclose(th.benefit, th.err_alone - th.err_joint, rtol=EXACT)


def test_vectorised_grid_matches_single_conditions():
    s_a = np.array([0.84, 3.0])[:, None, None]
    s_b = np.array([1.0, 10.0])[None, :, None]
    q = np.array([0.0, 0.5, 1.0])
    th = predicted_transfer(s_a, s_b, q, **COARSE)
    for field in ("t_alone", "err_alone", "t_joint", "err_joint", "benefit"):
        assert getattr(th, field).shape == (2, 2, 3)
    one = predicted_transfer(3.0, 10.0, 0.5, **COARSE)
    np.testing.assert_allclose(th.benefit[1, 1, 1], one.benefit, rtol=1e-10)
    assert predicted_joint_error(T_GRID, s_a, s_b, q, **CANON).shape == (T_GRID.size, 2, 2, 3)


def test_theory_matches_a_small_simulation():
    # canonical sizes, 12 seeds: sim and theory agree within the chapter's tolerance
    conds = np.array([[3.0, 3.0, 0.0], [3.0, 10.0, 1.0]])
    reps = np.repeat(conds, 12, axis=0)
    rng = np.random.default_rng(0)
    pair = aligned_task_pair(100, 50, reps[:, 0], reps[:, 1], reps[:, 2], rng=rng)
    alone, joint = task_pair_data(pair, rng=rng)
    kw = dict(hidden=50, eps=1e-5, lr=1e-3, epochs=4000, record_every=10, method="modes")
    run_a, run_j = simulate_gd(alone, **kw), simulate_gd(joint, **kw)
    err_j = empirical_block_error(joint, run_j.mode_strength, block=pair.task_a)
    T = (
        empirical_optimal_stopping(run_a.steps, run_a.test_error)[1]
        - empirical_optimal_stopping(run_j.steps, err_j)[1]
    ).reshape(2, 12)
    th = predicted_transfer(conds[:, 0], conds[:, 1], conds[:, 2], **CANON)
    np.testing.assert_allclose(T.mean(1), th.benefit, atol=0.015)
    assert th.benefit[0] < -0.03 and th.benefit[1] > 0.05


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        (dict(s_a=0.0), "s_a"),
        (dict(s_b=-1.0), "s_b"),
        (dict(q=1.1), "q"),
        (dict(s_a=np.ones(2), q=np.ones(3)), "broadcast"),
        (dict(n_out=51), "joint aspect ratio"),
        (dict(hidden=0), "hidden"),
        (dict(eps=0.0), "eps"),
        (dict(tau=-1.0), "tau"),
        (dict(noise_std=0.0), "noise_std"),
        (dict(n_nodes=0), "n_nodes"),
        (dict(t_max=0.0), "t_max"),
    ],
)
def test_invalid_arguments_raise(kwargs, match):
    args = dict(s_a=3.0, s_b=3.0, q=0.5, **CANON)
    args.update(kwargs)
    with pytest.raises(ValueError, match=match):
        predicted_transfer(**args)


def test_invalid_curve_arguments_raise():
    with pytest.raises(ValueError, match="t"):
        predicted_joint_error([-1.0], 3.0, 3.0, 0.5, **CANON)
    with pytest.raises(ValueError, match="t"):
        predicted_joint_error(np.ones((2, 2)), 3.0, 3.0, 0.5, **CANON)
    with pytest.raises(ValueError, match="s_a"):
        predicted_alone_error(T_GRID, -3.0, **CANON)
    with pytest.raises(ValueError, match="q"):
        joint_modes(3.0, 3.0, -0.5)
