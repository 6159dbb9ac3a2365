"""Task pairs for transfer (chapter 4): alignment, block structure, shared noise, rotations."""

import numpy as np
import pytest
from conftest import EXACT

from dltheory.linear_nets import empirical_optimal_stopping, simulate_gd
from dltheory.task_pairs import (
    TaskPair,
    aligned_task_pair,
    empirical_block_error,
    rotate_output_blocks,
    task_pair_data,
)
from dltheory.teachers import low_rank_teacher, noisy_data, select_runs

N1, N3 = 40, 12
Q = np.array([0.0, 0.3, 0.5, 0.9, 1.0])


@pytest.fixture
def pair(rng):
    return aligned_task_pair(N1, N3, 3.0, np.array([1.0, 2.0, 3.0, 10.0, 0.5]), Q, rng=rng)


def _dot(x, y):
    return np.einsum("bi,bi->b", x, y)


def test_pair_has_the_requested_alignment_and_unit_vectors(pair):
    a, b = pair.task_a, pair.task_b
    np.testing.assert_allclose(_dot(a.V[:, :, 0], b.V[:, :, 0]), Q, atol=EXACT)
    np.testing.assert_array_equal(pair.q, Q)
    for x in (a.U, b.U, a.V, b.V):
        np.testing.assert_allclose(np.linalg.norm(x[:, :, 0], axis=1), 1.0, atol=EXACT)
    assert a.U.shape == (5, N3, 1) and a.V.shape == (5, N1, 1)


def test_joint_teacher_is_the_exact_svd_of_the_stacked_blocks(pair):
    j = pair.joint
    stacked = np.concatenate([pair.task_a.W, pair.task_b.W], axis=1)
    np.testing.assert_allclose(j.W, stacked, atol=EXACT)
    # the output vectors of the two tasks live in separate blocks
    np.testing.assert_array_equal(stacked[:, :N3], pair.task_a.W)
    np.testing.assert_array_equal(stacked[:, N3:], pair.task_b.W)
    eye = np.broadcast_to(np.eye(2), (5, 2, 2))
    np.testing.assert_allclose(np.swapaxes(j.U, 1, 2) @ j.U, eye, atol=EXACT)
    np.testing.assert_allclose(np.swapaxes(j.V, 1, 2) @ j.V, eye, atol=EXACT)
    np.testing.assert_allclose(j.s, np.linalg.svd(stacked, compute_uv=False)[:, :2], atol=EXACT)
    assert np.all(j.s[:, 0] >= j.s[:, 1])
    assert j.s[-1, 1] < EXACT  # q = 1: the joint teacher has rank 1


def test_pairs_do_not_depend_on_batch_size():
    one = aligned_task_pair(N1, N3, 3.0, 2.0, 0.5, rng=np.random.default_rng(3))
    two = aligned_task_pair(N1, N3, 3.0, [2.0, 5.0], 0.5, rng=np.random.default_rng(3))
    np.testing.assert_array_equal(one.joint.W[0], two.joint.W[0])


def test_joint_data_share_task_a_noise_exactly(pair, rng):
    alone, joint = task_pair_data(pair, noise_std=1.0, rng=rng)
    np.testing.assert_array_equal(joint.sigma31[:, :N3], alone.sigma31)
    assert alone.teacher is pair.task_a and joint.teacher is pair.joint
    np.testing.assert_allclose(
        np.einsum("bia,ba,bja->bij", joint.U_hat, joint.s_hat, joint.V_hat),
        joint.sigma31,
        atol=EXACT,
    )


def test_noise_variance_is_sigma_squared_over_n_in(rng):
    big = aligned_task_pair(400, 100, np.full(4, 1e-9), 1e-9, 0.5, rng=rng)
    _, joint = task_pair_data(big, noise_std=2.0, rng=rng)
    np.testing.assert_allclose((joint.sigma31 - big.joint.W).var(), 4.0 / 400, rtol=0.02)


def test_block_error_matches_the_full_matrix(pair, rng):
    _, joint = task_pair_data(pair, rng=rng)
    kw = dict(hidden=8, eps=1e-3, lr=0.05, epochs=60, record_every=60)
    full = simulate_gd(joint, method="full", **kw)
    modes = simulate_gd(joint, method="modes", **kw)
    W_a = pair.task_a.W
    direct = np.sum((full.final_map[:, :N3] - W_a) ** 2, axis=(1, 2)) / np.sum(W_a**2, (1, 2))
    err = empirical_block_error(joint, modes.mode_strength, block=pair.task_a)
    np.testing.assert_allclose(err[-1], direct, rtol=1e-10)
    # the student holds only its first N2 = 8 modes: the rest may be left out
    np.testing.assert_array_equal(modes.mode_strength[:, :, 8:], 0.0)
    held = empirical_block_error(joint, modes.mode_strength[:, :, :8], block=pair.task_a)
    np.testing.assert_allclose(held, err, rtol=1e-12)
    np.testing.assert_allclose(err[0], 1.0, atol=10 * kw["eps"])  # a tiny student: error ~1
    # task B's block, from row N3 on
    keep = pair.task_b.s[:, 0] > 0.6
    W_b = pair.task_b.W[keep]
    direct_b = np.sum((full.final_map[keep, N3:] - W_b) ** 2, (1, 2)) / np.sum(W_b**2, (1, 2))
    err_b = empirical_block_error(
        select_runs(joint, keep),
        modes.mode_strength[:, keep],
        block=select_runs(pair.task_b, keep),
        first_row=N3,
    )
    np.testing.assert_allclose(err_b[-1], direct_b, rtol=1e-10)


def test_transfer_is_invariant_under_rotations_of_the_output_blocks(pair, rng):
    alone, joint = task_pair_data(pair, rng=rng)
    turned, alone_r, joint_r = rotate_output_blocks(pair, alone, joint, rng=rng)
    np.testing.assert_array_equal(turned.q, pair.q)
    np.testing.assert_array_equal(turned.task_a.V, pair.task_a.V)
    assert not np.allclose(turned.task_a.U, pair.task_a.U)
    np.testing.assert_allclose(joint_r.sigma31[:, :N3], alone_r.sigma31, atol=EXACT)
    np.testing.assert_allclose(joint_r.s_hat, joint.s_hat, atol=EXACT)
    kw = dict(hidden=N3, eps=1e-5, lr=1e-2, epochs=1500, record_every=5, method="modes")

    def benefit(p, a, j):
        run_a, run_j = simulate_gd(a, **kw), simulate_gd(j, **kw)
        err_j = empirical_block_error(j, run_j.mode_strength, block=p.task_a)
        return (
            empirical_optimal_stopping(run_a.steps, run_a.test_error)[1]
            - empirical_optimal_stopping(run_j.steps, err_j)[1]
        )

    T = benefit(pair, alone, joint)
    assert np.ptp(T) > 1e-3  # the check below is not comparing constants
    np.testing.assert_allclose(benefit(turned, alone_r, joint_r), T, atol=1e-10)


def test_select_runs_slices_every_array(pair, rng):
    alone, joint = task_pair_data(pair, rng=rng)
    idx = np.array([3, 1])
    sub = select_runs(pair, idx)
    assert isinstance(sub, TaskPair) and sub.batch == 2
    np.testing.assert_array_equal(sub.joint.W, pair.joint.W[idx])
    np.testing.assert_array_equal(sub.q, pair.q[idx])
    sub_j = select_runs(joint, slice(1, 3))
    np.testing.assert_array_equal(sub_j.U_hat, joint.U_hat[1:3])
    np.testing.assert_array_equal(sub_j.teacher.s, joint.teacher.s[1:3])


@pytest.mark.parametrize(
    ("args", "match"),
    [
        ((40, 21, 3.0, 3.0, 0.5), "joint aspect ratio"),
        ((40, 0, 3.0, 3.0, 0.5), "n_out"),
        ((40, 10, 0.0, 3.0, 0.5), "s_a"),
        ((40, 10, 3.0, -1.0, 0.5), "s_b"),
        ((40, 10, 3.0, 3.0, 1.5), "q"),
        ((40, 10, 3.0, 3.0, -0.1), "q"),
        ((40, 10, [3.0, 2.0], 3.0, [0.1, 0.2, 0.3]), "broadcast"),
        ((40, 10, np.ones((2, 2)), 3.0, 0.5), "1-d"),
    ],
)
def test_invalid_pairs_raise(rng, args, match):
    with pytest.raises(ValueError, match=match):
        aligned_task_pair(*args, rng=rng)


def test_invalid_data_arguments_raise(pair, rng):
    with pytest.raises(ValueError, match="pair"):
        task_pair_data(pair.task_a, rng=rng)
    with pytest.raises(ValueError, match="noise_std"):
        task_pair_data(pair, noise_std=-1.0, rng=rng)
    alone, joint = task_pair_data(pair, rng=rng)
    with pytest.raises(ValueError, match="joint"):
        rotate_output_blocks(pair, alone, alone, rng=rng)
    with pytest.raises(ValueError, match="alone"):
        rotate_output_blocks(pair, pair.task_a, joint, rng=rng)
    with pytest.raises(ValueError, match="pair"):
        rotate_output_blocks(joint, alone, joint, rng=rng)
    strength = np.zeros((3, pair.batch, joint.s_hat.shape[1]))
    with pytest.raises(ValueError, match="mode_strength"):
        empirical_block_error(joint, strength[:, :2], block=pair.task_a)
    with pytest.raises(ValueError, match="mode_strength"):
        empirical_block_error(joint, np.zeros((3, pair.batch, 2 * N3 + 1)), block=pair.task_a)
    with pytest.raises(ValueError, match="block"):
        empirical_block_error(joint, strength, block=pair.joint, first_row=1)  # 2 N3 rows
    with pytest.raises(ValueError, match="block"):
        empirical_block_error(joint, strength, block=pair.task_a, first_row=N3 + 1)
    with pytest.raises(ValueError, match="first_row"):
        empirical_block_error(joint, strength, block=pair.task_a, first_row=-1)
    with pytest.raises(ValueError, match="data"):
        empirical_block_error(pair, strength, block=pair.task_a)
    with pytest.raises(ValueError, match="batch"):
        select_runs(np.zeros(3), [0])
    # an ordinary single-task data set is accepted by the block error (its whole output is a block)
    single = noisy_data(low_rank_teacher(N1, N3, [[2.0]], rng=rng), rng=rng)
    err = empirical_block_error(single, np.zeros((1, 1, N3)), block=single.teacher)
    np.testing.assert_allclose(err, 1.0)


def test_select_runs_rejects_runs_outside_the_batch(pair):
    # Before: an out-of-range index raised a bare IndexError, a lone integer dropped the run axis
    # and a short mask raised numpy's IndexError; each now names runs.
    for bad in (np.array([pair.batch]), 0, np.array([True, False]), np.array([0.5]), "x"):
        with pytest.raises(ValueError, match="runs"):
            select_runs(pair, bad)
    np.testing.assert_array_equal(select_runs(pair, np.array([-1])).q, pair.q[-1:])
    assert select_runs(pair, []).batch == 0


def test_block_error_needs_a_nonzero_block(rng):
    # A task B of strength 0 is a valid task pair, but its block error would divide by 0.
    zero_b = aligned_task_pair(N1, N3, 3.0, 0.0, 0.5, rng=rng)
    _, joint = task_pair_data(zero_b, rng=rng)
    strength = np.zeros((2, 1, 2))
    with pytest.raises(ValueError, match="nonzero"):
        empirical_block_error(joint, strength, block=zero_b.task_b, first_row=N3)
