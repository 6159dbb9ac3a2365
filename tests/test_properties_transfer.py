"""Property tests of the transfer theory (chapter 4): the joint modes, the joint error's limits, the
transfer benefit's limits (Lampinen & Ganguli 2019, arXiv:1809.10374, Sec. 5; our derivation)."""

import numpy as np
import pytest
from conftest import EXACT
from hypothesis import given
from hypothesis import strategies as st

from dltheory.theory.random_matrix import outlier_singular_value, overlap_factors
from dltheory.theory.transfer import (
    joint_modes,
    predicted_alone_error,
    predicted_joint_error,
    predicted_transfer,
)

strengths = st.floats(1e-3, 1e3)
alignments = st.floats(0.0, 1.0)
# A_J = 2 N3 / N1 = 0.5: the joint bulk stays away from 0, so every noise mode is learned by t = 1e4 tau
SMALL = dict(n_in=40, n_out=10, hidden=20, eps=1e-6, tau=1.0, n_nodes=400)
A_J = 2 * SMALL["n_out"] / SMALL["n_in"]
CANON = dict(n_in=100, n_out=50, hidden=50, eps=1e-5, tau=1000.0, n_nodes=200)


@given(strengths, strengths, alignments)
def test_joint_modes_are_the_svd_of_the_core(s_a, s_b, q):
    modes = joint_modes(s_a, s_b, q)
    core = np.array([[s_a, 0.0], [q * s_b, np.sqrt(1.0 - q**2) * s_b]])
    L, sigma, _ = np.linalg.svd(core)
    scale = max(s_a, s_b)
    np.testing.assert_allclose(modes.sigma, sigma, atol=1e-12 * scale)
    np.testing.assert_allclose(modes.w_a.sum(), 1.0, atol=EXACT)
    assert np.all((modes.w_a >= 0) & (modes.w_a <= 1))
    # trace, determinant and task A's share of the energy of C C^T
    np.testing.assert_allclose(np.sum(modes.sigma**2), s_a**2 + s_b**2, rtol=1e-12)
    np.testing.assert_allclose(
        np.prod(modes.sigma), s_a * s_b * np.sqrt(1.0 - q**2), rtol=1e-10, atol=1e-12 * scale**2
    )
    np.testing.assert_allclose(np.sum(modes.sigma**2 * modes.w_a), s_a**2, rtol=1e-10)
    # the shares keep their relative precision even when one is tiny (a task much weaker than the other)
    smaller = np.argmin(modes.w_a)
    d = np.hypot(s_a**2 - s_b**2, 2 * q * s_a * s_b)
    exact = 0.5 if d == 0 else 2 * (q * s_a * s_b) ** 2 / (d * (d + abs(s_a**2 - s_b**2)))
    np.testing.assert_allclose(modes.w_a[smaller], exact, rtol=1e-10)
    if abs(sigma[0] - sigma[1]) > 1e-6 * scale:  # w_a is defined by the SVD only off degeneracy
        np.testing.assert_allclose(modes.w_a, L[0] ** 2, atol=1e-8)


@given(strengths, strengths, alignments, st.floats(1e-3, 1e3))
def test_joint_modes_scale_with_the_tasks(s_a, s_b, q, c):
    m, mc = joint_modes(s_a, s_b, q), joint_modes(c * s_a, c * s_b, q)
    np.testing.assert_allclose(mc.sigma, c * m.sigma, rtol=1e-10, atol=1e-12 * c * max(s_a, s_b))
    np.testing.assert_allclose(mc.w_a, m.w_a, atol=1e-8)


@given(strengths, strengths, alignments)
def test_joint_modes_limits(s_a, s_b, q):
    # q = 1: one joint mode of strength sqrt(s_A^2 + s_B^2), task A's share s_A^2 / (s_A^2 + s_B^2)
    one = joint_modes(s_a, s_b, 1.0)
    assert one.sigma[1] == pytest.approx(0.0, abs=EXACT)
    np.testing.assert_allclose(one.sigma[0], np.hypot(s_a, s_b), rtol=1e-12)
    np.testing.assert_allclose(one.w_a[0], s_a**2 / (s_a**2 + s_b**2), rtol=1e-10)
    # s_B = 0: task A alone, whatever q
    alone = joint_modes(s_a, 0.0, q)
    np.testing.assert_allclose(alone.sigma, [s_a, 0.0], rtol=EXACT)
    np.testing.assert_allclose(alone.w_a, [1.0, 0.0], atol=EXACT)
    # q = 0: the tasks stay separate modes, in order of strength
    sep = joint_modes(s_a, s_b, 0.0)
    np.testing.assert_allclose(sep.sigma, [max(s_a, s_b), min(s_a, s_b)], rtol=1e-12)
    if s_a != s_b:
        np.testing.assert_allclose(sep.w_a, [1.0, 0.0] if s_a > s_b else [0.0, 1.0], atol=1e-12)


@given(st.floats(0.3, 20.0), st.floats(0.0, 20.0), alignments)
def test_joint_error_starts_at_one(s_a, s_b, q):
    # a student of strength eps predicts nearly 0: the error is that of the null predictor, 1
    err = predicted_joint_error([0.0], s_a, s_b, q, **SMALL)
    np.testing.assert_allclose(err, 1.0, atol=1e-4)


@given(st.floats(0.3, 20.0), st.floats(0.0, 20.0), alignments)
def test_joint_error_at_long_times_is_the_converged_student(s_a, s_b, q):
    # t -> inf: every joint mode reaches its data value s_hat_i and the student holds the whole bulk
    # (hidden = 2 N3), whose mean squared singular value is sigma_z^2 = 1, half of it in task A's block
    err = predicted_joint_error(np.array([1e4, np.inf]), s_a, s_b, q, **SMALL)
    np.testing.assert_allclose(err[0], err[1], rtol=1e-9)  # t = inf is the limit of long times
    modes = joint_modes(s_a, s_b, q)
    sig = modes.sigma[modes.sigma > 0]
    w = modes.w_a[: sig.size]
    s_hat = outlier_singular_value(sig, aspect_ratio=A_J)
    o_u, o_v = overlap_factors(sig, aspect_ratio=A_J)
    n_bulk = 2 * SMALL["n_out"] - sig.size
    num = (
        s_a**2
        - 2 * np.sum(s_hat * sig * o_u * o_v * w)
        + np.sum(s_hat**2 * (o_u**2 * w + 0.5 * (1 - o_u**2)))
        + 0.5 * n_bulk
    )
    np.testing.assert_allclose(err[0], num / s_a**2, rtol=2e-3)


@given(st.floats(0.3, 20.0), alignments, alignments)
def test_a_partner_with_no_signal_does_not_depend_on_alignment(s_a, q1, q2):
    t = np.array([0.0, 1.0, 5.0, 50.0])
    np.testing.assert_allclose(
        predicted_joint_error(t, s_a, 0.0, q1, **SMALL),
        predicted_joint_error(t, s_a, 0.0, q2, **SMALL),
        rtol=EXACT,
    )


@given(st.floats(1.0, 20.0), st.floats(1e-6, 1.0), st.floats(1e-6, 1.0))
def test_an_orthogonal_partner_below_threshold_does_not_matter(s_a, f1, f2):
    # q = 0 and s_B <= A_J^(1/4): the partner's mode is lost in the joint bulk, whatever its strength
    thr = A_J**0.25
    t = np.array([0.0, 1.0, 5.0, 50.0])
    np.testing.assert_allclose(
        predicted_joint_error(t, s_a, f1 * thr, 0.0, **SMALL),
        predicted_joint_error(t, s_a, f2 * thr, 0.0, **SMALL),
        rtol=EXACT,
    )


@given(st.floats(0.5, 10.0), st.floats(0.0, 10.0), alignments)
def test_transfer_minima_are_minima(s_a, s_b, q):
    kw = dict(SMALL, n_nodes=50)
    th = predicted_transfer(s_a, s_b, q, **kw, t_max=20.0)
    grid = np.linspace(0.0, 20.0, 401)
    assert np.all(np.isfinite([th.err_alone, th.err_joint, th.benefit]))
    assert 0.0 <= th.t_joint <= 20.0 and 0.0 <= th.t_alone <= 20.0
    assert th.err_joint <= predicted_joint_error(grid, s_a, s_b, q, **kw).min() + 1e-12
    assert th.err_alone <= predicted_alone_error(grid, s_a, **kw).min() + 1e-12
    np.testing.assert_allclose(th.benefit, th.err_alone - th.err_joint, rtol=EXACT, atol=EXACT)


@given(st.floats(100.0, 300.0), st.floats(1.0, 3.0), st.floats(0.0, 0.9))
def test_strong_unaligned_tasks_lose_n3_over_n1_over_snr_squared(s_a, ratio, q):
    # s_A -> inf (chapter 4): the partner's mode carries the noise Z_A v_B, of squared norm N3/N1,
    # into A's outputs, so s_A^2 T -> -N3/N1 when the inputs are not aligned. This needs a partner
    # learned no later than A (s_B >= s_A): a weaker one is learned after A's optimal stopping time.
    s_b = ratio * s_a
    th = predicted_transfer(s_a, s_b, q, **CANON)
    np.testing.assert_allclose(th.benefit * s_a**2, -CANON["n_out"] / CANON["n_in"], atol=3e-3)


@given(st.floats(100.0, 300.0), st.floats(100.0, 300.0))
def test_strong_aligned_tasks_gain_the_partners_share(s_a, s_b):
    # q = 1: the input noise is averaged over both tasks, s_A^2 T -> s_B^2 / (s_A^2 + s_B^2)
    th = predicted_transfer(s_a, s_b, 1.0, **CANON)
    np.testing.assert_allclose(th.benefit * s_a**2, s_b**2 / (s_a**2 + s_b**2), atol=1e-3)


def test_joint_modes_of_extreme_tasks_are_finite():
    # squares of 1e200 overflow and of 1e-200 underflow; the modes are computed in scaled units
    m = joint_modes(np.array([1e-200, 1e200]), np.array([1e-200, 1e200]), 0.5)
    np.testing.assert_allclose(m.sigma / [[1e-200], [1e200]], [[np.sqrt(1.5), np.sqrt(0.5)]] * 2)
    np.testing.assert_allclose(m.w_a, 0.5)


@given(st.integers(3, 300), st.floats(0.8, 5.0))
def test_the_default_window_holds_the_minimum_for_any_initial_strength(k, s):
    # learning takes tau log(s_hat / eps) / s_hat: with eps = 1e-200 a fixed 20 tau saw no learning
    kw = dict(SMALL, eps=10.0**-k, n_nodes=50)
    th = predicted_transfer(s, s, 0.5, **kw)
    assert 0.0 < th.t_joint and 0.0 < th.t_alone and th.err_joint < 1.0 and th.err_alone < 1.0
    grid = np.linspace(0.0, 3.0 * max(th.t_joint, th.t_alone), 2001)
    assert th.err_joint <= predicted_joint_error(grid, s, s, 0.5, **kw).min() + 1e-12
    assert th.err_alone <= predicted_alone_error(grid, s, **kw).min() + 1e-12
