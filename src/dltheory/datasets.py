"""Data sets: scikit-learn's bundled 8x8 digits (a class-balanced split, label corruption, binary
tasks) and Gaussian inputs labelled by single-index teachers at a chosen alignment.

Nothing is downloaded: ``sklearn.datasets.load_digits`` reads ``digits.csv.gz`` from the scikit-learn
wheel. Layout: ``X`` is ``(P, D)``, one row per image (``P`` images, ``D = 64`` pixels); ``labels`` is
``(P,)`` of ints in ``[0, K)``. Stacked label vectors for the Jacobian are class-major, entry
``c * P + i`` for class ``c`` of sample ``i`` (:func:`stack_classes`), the row order chapter 5 uses for
the Jacobian of Oymak et al. (2019), arXiv:1906.05392.

The teachers of chapter 6 (Lauditi, Bordelon & Pehlevan 2025, arXiv:2507.04448) are directions beta
with |beta|^2 = D: a source and a target at cosine alpha (:func:`aligned_teachers`), labelling Gaussian
inputs linearly (:func:`gaussian_task`) or by a polynomial of one projection (:func:`polynomial_task`).
Their data carry any batch shape ``(..., P, D)``; the digits there are standardised per pixel
(:func:`digits_data`) and split into binary tasks (:func:`binary_labels`).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
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
    "aligned_teachers",
    "gaussian_task",
    "polynomial_task",
    "digits_data",
    "binary_labels",
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

    Preprocessing of chapter 5: pixels scaled by 1/16 (to ``[0, 1]``); optionally
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


def aligned_teachers(
    D: int, alpha, *, rng: np.random.Generator, source=None
) -> tuple[np.ndarray, np.ndarray]:
    """Source and target teachers with |beta|^2 = D and cos(beta_s, beta_t) = alpha exactly.

    Args:
        D: input dimension, >= 2.
        alpha: alignments in [-1, 1], any shape ``S``.
        rng: numpy generator.
        source: given source teachers, ``(..., D)`` broadcast against ``S`` (default: independent
            random directions); they are rescaled to |beta_s|^2 = D.

    Returns:
        ``(beta_s, beta_t)``, each ``(*S', D)`` with ``S'`` the broadcast shape.
    """
    D = check_int("D", D, minimum=2)
    alpha = as_float_array("alpha", alpha)
    if not np.all(np.abs(alpha) <= 1):
        raise ValueError("alpha must lie in [-1, 1]")
    check_rng(rng)
    if source is None:
        g = rng.standard_normal((*alpha.shape, D))
    else:
        g = as_float_array("source", source)
        if g.ndim == 0 or g.shape[-1] != D or not np.all(np.linalg.norm(g, axis=-1) > 0):
            raise ValueError(
                f"source must be non-zero vectors of length D = {D}, got shape {g.shape}"
            )
    try:
        shape = np.broadcast_shapes(alpha.shape, g.shape[:-1])
    except ValueError:
        raise ValueError(
            f"alpha {alpha.shape} and source {g.shape[:-1]} (less its last axis) must broadcast together"
        ) from None
    e_s = np.broadcast_to(g / np.linalg.norm(g, axis=-1, keepdims=True), (*shape, D))
    r = rng.standard_normal((*shape, D))
    perp = r - np.sum(r * e_s, axis=-1, keepdims=True) * e_s
    e_p = perp / np.linalg.norm(perp, axis=-1, keepdims=True)
    a = np.broadcast_to(alpha, shape)[..., None]
    return np.sqrt(D) * e_s.copy(), np.sqrt(D) * (a * e_s + np.sqrt(1 - a**2) * e_p)


def gaussian_task(beta, P: int, *, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Noiseless linear teacher data: x ~ N(0, I_D), y = beta . x / sqrt(D).

    Args:
        beta: teachers, ``(..., D)``.
        P: samples per teacher, >= 1.
        rng: numpy generator.

    Returns:
        ``(X, y)`` of shapes ``(..., P, D)`` and ``(..., P)``.
    """
    beta = as_float_array("beta", beta)
    if beta.ndim == 0 or beta.shape[-1] == 0:
        raise ValueError(
            f"beta must be teachers of shape (..., D) with D >= 1, got shape {beta.shape}"
        )
    P = check_int("P", P)
    check_rng(rng)
    D = beta.shape[-1]
    X = rng.standard_normal((*beta.shape[:-1], P, D))
    return X, np.einsum("...pd,...d->...p", X, beta) / np.sqrt(D)


def polynomial_task(beta, P: int, *, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Noiseless single-index polynomial teacher: x ~ N(0, I_D), u = beta . x / sqrt(D),
    y = (u + He_2(u) / sqrt(2)) / sqrt(2) with He_2(u) = u^2 - 1.

    For |beta|^2 = D (as from :func:`aligned_teachers`) u is a standard Gaussian, the two Hermite
    terms are orthonormal and E y = 0, E y^2 = 1: half the signal is linear, half quadratic.

    Args:
        beta: teacher directions, ``(..., D)``.
        P: samples per teacher, >= 1.
        rng: numpy generator.

    Returns:
        ``(X, y)`` of shapes ``(..., P, D)`` and ``(..., P)``.
    """
    X, u = gaussian_task(beta, P, rng=rng)
    return X, (u + (u**2 - 1) / math.sqrt(2)) / math.sqrt(2)


def digits_data() -> tuple[np.ndarray, np.ndarray]:
    """scikit-learn's bundled 8x8 digits (1797 images; no download), pixels/16, standardised.

    Pixels that are constant over the set stay 0 after centring. Each image is then scaled so that
    the average |x|^2 / D is 1, the normalisation of the Gaussian inputs.

    Returns:
        ``(X, digit)``: inputs ``(1797, 64)`` and digit labels ``(1797,)``.
    """
    from sklearn.datasets import load_digits

    d = load_digits()
    X = d.data / 16.0
    X = X - X.mean(0)
    sd = X.std(0)
    X = X / np.where(sd > 0, sd, 1.0)
    X = X / np.sqrt(np.mean(np.sum(X**2, axis=1)) / X.shape[1])
    return X, d.target.copy()


def binary_labels(digit, positive: Sequence[int]) -> np.ndarray:
    """+-1 labels of a binary task: +1 for digits in ``positive``, -1 otherwise.

    Args:
        digit: integer digit labels in 0-9, any shape (usually ``(P,)``).
        positive: the digits labelled +1 (a non-empty proper subset of 0-9).

    Returns:
        Labels, the shape of ``digit``.
    """
    digit = np.asarray(digit)
    if digit.dtype.kind not in "iu":
        raise ArgumentTypeError(
            f"digit must be an array of integer digit labels, got dtype {digit.dtype}"
        )
    if digit.size and (digit.min() < 0 or digit.max() > 9):
        raise ValueError(f"digit must hold digits 0-9, got {digit.min()}..{digit.max()}")
    if isinstance(positive, str | bytes) or not isinstance(positive, Iterable):
        raise ArgumentTypeError(f"positive must be a collection of digits, got {positive!r}")
    positive = tuple(positive)
    if not all(isinstance(p, int | np.integer) and not isinstance(p, bool) for p in positive):
        raise ArgumentTypeError(f"positive must hold integer digits, got {positive!r}")
    pos = set(int(p) for p in positive)
    if not pos or not pos <= set(range(10)) or len(pos) == 10:
        raise ValueError(f"positive must be a non-empty proper subset of 0-9, got {positive!r}")
    return np.where(np.isin(digit, sorted(pos)), 1.0, -1.0)
