"""Offline data sets: scikit-learn's bundled 8x8 digits, a class-balanced split, label corruption.

Nothing is downloaded: ``sklearn.datasets.load_digits`` reads ``digits.csv.gz`` from the scikit-learn
wheel. Layout: ``X`` is ``(P, D)``, one row per image (``P`` images, ``D = 64`` pixels); ``labels`` is
``(P,)`` of ints in ``[0, K)``. Stacked label vectors for the Jacobian are class-major, entry
``c * P + i`` for class ``c`` of sample ``i`` (:func:`stack_classes`), as in the spec of chapter 5
(Oymak et al. 2019, arXiv:1906.05392).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from dltheory._checks import ArgumentTypeError, as_float_array, check_in_range, check_int, check_rng

__all__ = [
    "Digits",
    "load_digits_data",
    "split_by_class",
    "corrupt_labels",
    "one_hot",
    "stack_classes",
]


@dataclass(frozen=True)
class Digits:
    """A train/test split of the 8x8 digits, preprocessed.

    Attributes:
        X_train: ``(P, 64)`` training images, each row of unit Euclidean norm.
        labels_train: ``(P,)`` true training classes.
        X_test: ``(P_test, 64)`` held-out images, unit norm.
        labels_test: ``(P_test,)`` true held-out classes.
        num_classes: ``K = 10``.
        centered: whether the pixels were mean-centred (by the training mean) before normalising.
    """

    X_train: np.ndarray
    labels_train: np.ndarray
    X_test: np.ndarray
    labels_test: np.ndarray
    num_classes: int
    centered: bool


def _int_labels(name: str, labels) -> np.ndarray:
    """``labels`` as a 1-d integer array (floats, even whole ones, are refused: a class is not 1.0)."""
    labels = np.asarray(labels)
    if labels.dtype.kind not in "iu":
        raise ArgumentTypeError(f"{name} must be integer classes, got dtype {labels.dtype}")
    if labels.ndim != 1:
        raise ValueError(f"{name} must be a 1-d array of classes, got shape {labels.shape}")
    return labels


def split_by_class(labels, per_class: int, *, rng: np.random.Generator):
    """Pick ``per_class`` training samples of every class at random; the rest is held out.

    Args:
        labels: ``(P_all,)`` integer classes.
        per_class: training samples per class.
        rng: numpy generator.

    Returns:
        ``(train_idx, test_idx)``, sorted index arrays; ``train_idx`` has ``per_class * K`` entries.

    Raises:
        ValueError: if a class has fewer than ``per_class`` samples or ``per_class`` is not a
            positive integer.
    """
    per_class = check_int("per_class", per_class)
    labels = _int_labels("labels", labels)
    if labels.size == 0:
        raise ValueError("labels must not be empty")
    check_rng(rng)
    train = []
    for c in np.unique(labels):
        idx = np.flatnonzero(labels == c)
        if idx.size < per_class:
            raise ValueError(f"per_class={per_class} exceeds the {idx.size} samples of class {c}")
        train.append(rng.choice(idx, size=per_class, replace=False))
    train_idx = np.sort(np.concatenate(train))
    test_idx = np.setdiff1d(np.arange(labels.size), train_idx)
    return train_idx, test_idx


def _normalise_rows(X: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(X, axis=1, keepdims=True)
    if np.any(norms == 0):
        raise ValueError("an image has zero norm after preprocessing")
    return X / norms


def load_digits_data(
    per_class: int = 40, *, center: bool = False, rng: np.random.Generator
) -> Digits:
    """Load the bundled digits, split ``per_class`` images per class for training, preprocess.

    Preprocessing as in the spec of chapter 5: pixels scaled by 1/16 (to ``[0, 1]``); optionally
    mean-centred by the *training* mean image (no information from the held-out set); then every
    image normalised to unit Euclidean norm, as Oymak et al. (2019) assume.

    Args:
        per_class: training images per class (40 gives ``P = 400``).
        center: subtract the training mean image before normalising.
        rng: numpy generator for the split.

    Returns:
        A :class:`Digits` split.
    """
    per_class = check_int("per_class", per_class)
    if not isinstance(center, bool | np.bool_):
        raise ArgumentTypeError(f"center must be True or False, got {center!r}")
    check_rng(rng)
    from sklearn.datasets import load_digits

    data = load_digits()
    X = np.asarray(data.data, dtype=np.float64) / 16.0
    labels = np.asarray(data.target, dtype=np.int64)
    train_idx, test_idx = split_by_class(labels, per_class, rng=rng)
    X_train, X_test = X[train_idx], X[test_idx]
    if center:
        mean = X_train.mean(axis=0)
        X_train, X_test = X_train - mean, X_test - mean
    return Digits(
        X_train=_normalise_rows(X_train),
        labels_train=labels[train_idx],
        X_test=_normalise_rows(X_test),
        labels_test=labels[test_idx],
        num_classes=int(labels.max()) + 1,
        centered=bool(center),
    )


def corrupt_labels(labels, rho: float, *, num_classes: int, rng: np.random.Generator) -> np.ndarray:
    """Make exactly ``round(rho * P)`` labels wrong, each moved to a uniformly random *other* class.

    The corrupted samples are a uniformly random subset. At ``rho = 1 - 1/K`` every sample's new label
    is uniform over all ``K`` classes, independent of the image.

    Args:
        labels: ``(P,)`` integer classes in ``[0, num_classes)``.
        rho: fraction of labels to corrupt, in ``[0, 1]``.
        num_classes: ``K >= 2``.
        rng: numpy generator.

    Returns:
        ``(P,)`` corrupted labels (a new array).

    Raises:
        ValueError: for ``rho`` outside ``[0, 1]``, ``num_classes < 2`` or labels out of range.
    """
    num_classes = check_int("num_classes", num_classes, minimum=2)
    labels = _int_labels("labels", labels)
    if labels.size and (labels.min() < 0 or labels.max() >= num_classes):
        raise ValueError(
            f"labels must lie in [0, num_classes = {num_classes}), got {labels.min()}..{labels.max()}"
        )
    rho = check_in_range("rho", rho, 0.0, 1.0)
    check_rng(rng)
    out = labels.copy()
    m = int(round(rho * labels.size))
    idx = rng.choice(labels.size, size=m, replace=False)
    shift = rng.integers(1, num_classes, size=m)  # 1..K-1: never the same class
    out[idx] = (labels[idx] + shift) % num_classes
    return out


def one_hot(labels, num_classes: int) -> np.ndarray:
    """One-hot encode integer labels.

    Args:
        labels: ``(P,)`` integer classes in ``[0, num_classes)``.
        num_classes: ``K``.

    Returns:
        ``(P, K)`` float array.
    """
    num_classes = check_int("num_classes", num_classes)
    labels = _int_labels("labels", labels)
    if labels.size and (labels.min() < 0 or labels.max() >= num_classes):
        raise ValueError(
            f"labels must lie in [0, num_classes = {num_classes}), got {labels.min()}..{labels.max()}"
        )
    return np.eye(num_classes)[labels]


def stack_classes(Y) -> np.ndarray:
    """Stack a ``(P, K)`` output or label matrix into the class-major vector ``(K P,)``.

    Entry ``c * P + i`` is ``Y[i, c]``, the row order of the Jacobian in chapter 5.

    Args:
        Y: ``(P, K)`` finite real numbers.

    Returns:
        ``(K P,)`` float array.
    """
    Y = as_float_array("Y", Y, ndim=2)
    return Y.T.reshape(-1)
