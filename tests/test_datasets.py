"""Tests of dltheory.datasets: preprocessing, the class-balanced split, exact label corruption, aligned
teachers and their Gaussian and polynomial tasks, binary digit tasks."""

import numpy as np
import pytest
from conftest import EXACT

from dltheory.datasets import (
    aligned_teachers,
    binary_labels,
    corrupt_labels,
    digits_data,
    load_digits_data,
    one_hot,
    polynomial_task,
    split_by_class,
    stack_classes,
)


def test_digits_preprocessing_and_split(rng):
    d = load_digits_data(5, rng=rng)
    assert d.X_train.shape == (50, 64) and d.X_test.shape == (1797 - 50, 64)
    np.testing.assert_allclose(np.linalg.norm(d.X_train, axis=1), 1.0, rtol=1e-12)
    np.testing.assert_allclose(np.linalg.norm(d.X_test, axis=1), 1.0, rtol=1e-12)
    assert np.all(np.bincount(d.labels_train, minlength=10) == 5)
    assert d.X_train.min() >= 0  # raw pixels are non-negative


def test_centred_uses_the_same_split(rng):
    a = load_digits_data(5, rng=np.random.default_rng(1))
    b = load_digits_data(5, center=True, rng=np.random.default_rng(1))
    np.testing.assert_array_equal(a.labels_train, b.labels_train)
    assert b.X_train.min() < 0 and b.centered


def test_split_by_class_disjoint(rng):
    labels = np.repeat(np.arange(3), 7)
    tr, te = split_by_class(labels, 4, rng=rng)
    assert np.intersect1d(tr, te).size == 0 and tr.size + te.size == labels.size
    with pytest.raises(ValueError, match="per_class"):
        split_by_class(labels, 8, rng=rng)


@pytest.mark.parametrize("rho", [0.0, 0.25, 0.5, 0.75, 0.9, 1.0])
def test_corruption_rate_is_exact(rho, rng):
    labels = np.repeat(np.arange(10), 40)
    out = corrupt_labels(labels, rho, num_classes=10, rng=rng)
    assert np.sum(out != labels) == round(rho * labels.size)
    assert out.min() >= 0 and out.max() < 10


def test_corruption_moves_uniformly_to_other_classes():
    labels = np.zeros(20000, dtype=int)
    out = corrupt_labels(labels, 1.0, num_classes=5, rng=np.random.default_rng(0))
    counts = np.bincount(out, minlength=5)
    assert counts[0] == 0
    np.testing.assert_allclose(counts[1:] / out.size, 0.25, atol=0.015)


def test_corruption_rejects_bad_arguments(rng):
    labels = np.arange(4)
    for bad in (-0.1, 1.5, "x"):
        with pytest.raises(ValueError, match="rho"):
            corrupt_labels(labels, bad, num_classes=4, rng=rng)
    with pytest.raises(ValueError, match="labels"):
        corrupt_labels(labels, 0.5, num_classes=3, rng=rng)
    with pytest.raises(ValueError, match="num_classes"):
        corrupt_labels(labels, 0.5, num_classes=1, rng=rng)


def test_stacking_is_class_major():
    Y = one_hot([2, 0, 1], 3)
    y = stack_classes(Y)
    assert y.shape == (9,)
    # entry c * n + i is Y[i, c]
    assert y[2 * 3 + 0] == 1 and y[0 * 3 + 1] == 1 and y[1 * 3 + 2] == 1
    with pytest.raises(ValueError, match="Y"):
        stack_classes(np.zeros(3))


def test_label_helpers_refuse_non_integer_classes(rng):
    labels = np.arange(4)
    for bad in (True, "0.5"):  # a bool or a string is not a fraction, even where float() accepts it
        with pytest.raises(ValueError, match="rho"):
            corrupt_labels(labels, bad, num_classes=4, rng=rng)
    with pytest.raises(ValueError, match="labels"):
        one_hot(np.array([0.0, 1.0]), 3)
    with pytest.raises(ValueError, match="labels"):
        split_by_class(np.array([0.0, 1.0, 1.0]), 1, rng=rng)
    with pytest.raises(ValueError, match="rng"):
        split_by_class(labels, 1, rng=0)
    with pytest.raises(ValueError, match="Y"):
        stack_classes(np.full((2, 3), np.nan))


# ------------------------------------------------- teachers and binary digit tasks (chapter 6)

D_TEACHER = 12


def test_teachers_and_labels(rng):
    bs, bt = aligned_teachers(D_TEACHER, np.array([0.0, 0.5, 1.0]), rng=rng)
    np.testing.assert_allclose(np.sum(bs * bt, -1) / D_TEACHER, [0.0, 0.5, 1.0], atol=1e-12)
    np.testing.assert_allclose(np.sum(bt**2, -1), D_TEACHER)
    _, bt2 = aligned_teachers(D_TEACHER, 0.3, rng=rng, source=bs[0])
    assert np.dot(bs[0], bt2) / D_TEACHER == pytest.approx(0.3)
    np.testing.assert_array_equal(binary_labels([0, 5, 9], (0, 9)), [1.0, -1.0, 1.0])


def test_polynomial_task_moments_and_index():
    rng = np.random.default_rng(3)
    beta, _ = aligned_teachers(D_TEACHER, 0.0, rng=rng)
    X, y = polynomial_task(beta, 20000, rng=rng)
    assert X.shape == (20000, D_TEACHER) and y.shape == (20000,)
    u = X @ beta / np.sqrt(D_TEACHER)
    np.testing.assert_allclose(
        y, (u + (u**2 - 1) / np.sqrt(2)) / np.sqrt(2), rtol=EXACT, atol=EXACT
    )
    assert abs(y.mean()) < 0.05 and abs(y.var() - 1) < 0.06
    Xb, yb = polynomial_task(np.stack([beta, -beta]), 5, rng=rng)
    assert Xb.shape == (2, 5, D_TEACHER) and yb.shape == (2, 5)


def test_digits_data_standardised_and_binary_labels():
    X, digit = digits_data()
    assert X.shape == (1797, 64) and digit.shape == (1797,)
    np.testing.assert_allclose(X.mean(0), 0.0, atol=1e-12)
    assert np.mean(np.sum(X**2, axis=1)) / X.shape[1] == pytest.approx(1.0)
    y = binary_labels(digit, (0, 1, 2, 3, 4))
    np.testing.assert_array_equal(y, np.where(digit < 5, 1.0, -1.0))
    with pytest.raises(ValueError, match="positive"):
        binary_labels(digit, tuple(range(10)))
