import numpy as np
import pytest

from dltheory.teachers import (
    data_from_targets,
    haar_stiefel,
    low_rank_teacher,
    noisy_data,
    snr_singular_values,
)


def test_haar_stiefel_is_orthonormal(rng):
    q = haar_stiefel(30, 7, rng=rng)
    np.testing.assert_allclose(q.T @ q, np.eye(7), atol=1e-12)


def test_snr_singular_values():
    np.testing.assert_array_equal(snr_singular_values(3, 2.0), [6.0, 4.0, 2.0])
    with pytest.raises(ValueError, match="rank"):
        snr_singular_values(0, 1.0)
    with pytest.raises(ValueError, match="multiplier"):
        snr_singular_values(2, -1.0)


def test_teacher_has_requested_singular_values(rng):
    s = np.array([[3.0, 2.0, 1.0], [9.0, 6.0, 3.0]])
    teacher = low_rank_teacher(40, 20, s, rng=rng)
    assert teacher.W.shape == (2, 20, 40)
    sv = np.linalg.svd(teacher.W, compute_uv=False)[:, :3]
    np.testing.assert_allclose(sv, s, rtol=1e-12)


def test_runs_do_not_depend_on_batch_size():
    one = low_rank_teacher(30, 10, [[2.0]], rng=np.random.default_rng(7))
    two = low_rank_teacher(30, 10, [[2.0], [5.0]], rng=np.random.default_rng(7))
    np.testing.assert_array_equal(one.U[0], two.U[0])


def test_noise_variance_is_sigma_squared_over_n_in(rng):
    teacher = low_rank_teacher(400, 200, np.full((4, 1), 1e-9), rng=rng)
    data = noisy_data(teacher, noise_std=2.0, rng=rng)
    z = data.sigma31 - teacher.W
    np.testing.assert_allclose(z.var(), 4.0 / 400, rtol=0.02)
    # SVD is consistent and descending
    np.testing.assert_allclose(
        np.einsum("bia,ba,bja->bij", data.U_hat, data.s_hat, data.V_hat), data.sigma31, atol=1e-12
    )
    assert np.all(np.diff(data.s_hat, axis=1) <= 0)


@pytest.mark.parametrize(
    ("args", "match"),
    [
        ((20, 40, [1.0]), "aspect ratio"),
        ((20, 0, [1.0]), "n_out"),
        ((20, 3, [3.0, 2.0, 1.0, 0.5]), "rank"),
        ((20, 10, [1.0, -1.0]), "singular_values"),
        ((20, 10, np.ones((2, 2, 2))), "singular_values"),
    ],
)
def test_invalid_teachers_raise(rng, args, match):
    with pytest.raises(ValueError, match=match):
        low_rank_teacher(*args, rng=rng)


def test_invalid_noise_raises(rng):
    teacher = low_rank_teacher(20, 10, [1.0], rng=rng)
    with pytest.raises(ValueError, match="noise_std"):
        noisy_data(teacher, noise_std=-1.0, rng=rng)


def test_data_from_targets(rng):
    teacher = low_rank_teacher(20, 10, np.ones((2, 1)), rng=rng)
    targets = rng.standard_normal((2, 10, 20))
    data = data_from_targets(teacher, targets, noise_std=1.0)
    np.testing.assert_allclose(
        np.einsum("bia,ba,bja->bij", data.U_hat, data.s_hat, data.V_hat), targets, atol=1e-12
    )
    with pytest.raises(ValueError, match="sigma31"):
        data_from_targets(teacher, targets[:, :5], noise_std=1.0)


def test_rng_must_be_a_generator():
    # Before: an integer seed failed deep inside with an AttributeError that did not name rng.
    for call in (
        lambda r: haar_stiefel(5, 3, rng=r),
        lambda r: low_rank_teacher(6, 4, [1.0], rng=r),
    ):
        with pytest.raises(TypeError, match="rng must be a numpy Generator"):
            call(0)


def test_noise_std_must_be_a_real_number(rng):
    # Before: float(True) and float("1.0") were accepted as noise levels.
    teacher = low_rank_teacher(6, 4, [1.0], rng=rng)
    for bad in (True, "1.0"):
        with pytest.raises(ValueError, match="noise_std"):
            noisy_data(teacher, noise_std=bad, rng=rng)
        with pytest.raises(ValueError, match="noise_std"):
            data_from_targets(teacher, teacher.W, noise_std=bad)
    with pytest.raises(ValueError, match="teacher"):
        noisy_data(teacher.W, rng=rng)
