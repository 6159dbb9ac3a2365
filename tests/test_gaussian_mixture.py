"""Closed forms of the Gaussian-mixture case study (dltheory.theory.gaussian_mixture)."""

import numpy as np
import pytest

from dltheory.experiments import jacobian_mixture as jm
from dltheory.theory import gaussian_mixture as gm
from dltheory.theory.jacobian_split import expected_gram, expected_label_energy


def test_arccos_kernel_values_and_expected_gram():
    assert gm.arccos_kernel(np.array([1.0, 0.0, -1.0])) == pytest.approx([0.5, 0.0, 0.0])
    assert float(gm.arccos_kernel(0.5)) == pytest.approx(1 / 6)
    rng = np.random.default_rng(0)
    X = rng.standard_normal((5, 4))
    X /= np.linalg.norm(X, axis=1, keepdims=True)
    assert gm.arccos_kernel(np.clip(X @ X.T, -1, 1)) == pytest.approx(expected_gram(X))


def test_centre_kernel_is_the_expected_gram_of_the_drawn_centres():
    setup = jm.MixtureSetup(num_classes=3, clusters_per_class=3, dim=15, rho=0.3)
    data = jm.draw_mixture(setup, rng=np.random.default_rng(1))
    M = gm.centre_kernel(3, 3, 0.3)
    assert M == pytest.approx(expected_gram(data.centres), abs=1e-12)
    assert np.linalg.norm(data.centres, axis=1) == pytest.approx(1.0)


@pytest.mark.parametrize(("K", "C", "rho"), [(3, 2, 0.5), (2, 3, 0.2), (4, 1, 0.7)])
def test_levels_match_the_spectrum_of_the_centre_kernel(K, C, rho):
    s = gm.predicted_singular_values(gm.centre_kernel(K, C, rho), 7, K)
    levels, mult = gm.predicted_levels(K, C, rho, 7)
    assert s.size == K * K * C == mult.sum()
    assert s == pytest.approx(np.repeat(levels, mult))
    assert np.all(np.diff(levels) < 0)


def test_noiseless_limit_of_the_expected_gram():
    # sigma -> 0: the infinite-width spectrum is the closed form, the rest vanishes, and the labels
    # lie in the top level (the K class means).
    setup = jm.MixtureSetup(per_cluster=10, sigma=1e-7)
    data = jm.draw_mixture(setup, rng=np.random.default_rng(2))
    Sigma = expected_gram(data.X)
    w = np.sort(np.linalg.eigvalsh(Sigma))[::-1]
    s = np.repeat(np.sqrt(np.clip(w, 0, None)), setup.num_classes)
    assert s[: setup.rank] == pytest.approx(setup.predicted(), rel=1e-5)
    assert s[setup.rank] < 1e-3 * s[0]
    energy, _ = expected_label_energy(Sigma, data.labels, setup.num_classes)
    assert energy[setup.num_classes - 1] == pytest.approx(1.0, abs=1e-9)  # E(K^2) = 1


def test_noise_lowers_the_levels_at_first_order_in_sigma():
    # The kink of the arc-cosine kernel at angle 0: halving sigma halves the shift.
    setup = jm.MixtureSetup(per_cluster=20, sigma=0.08)
    data = jm.draw_mixture(setup, rng=np.random.default_rng(3))
    pred = setup.predicted()[0]

    def top(X):
        return np.sqrt(np.linalg.eigvalsh(expected_gram(X))[-1])

    full, half = pred - top(data.X), pred - top(data.X_half)
    assert full > 0 and half > 0
    assert full / half == pytest.approx(2.0, rel=0.25)


def test_bad_arguments():
    with pytest.raises(ValueError, match="cos"):
        gm.arccos_kernel([1.5])
    with pytest.raises(ValueError, match="rho"):
        gm.centre_kernel(3, 2, 1.0)
    with pytest.raises(ValueError, match="rho"):
        gm.predicted_levels(3, 2, 0.0, 5)
    with pytest.raises(ValueError, match="M"):
        gm.predicted_singular_values(np.array([[0.5, 1.0], [1.0, 0.5]]), 3, 2)
