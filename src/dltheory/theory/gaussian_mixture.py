"""Closed forms of the Gaussian-mixture case study of chapter 5 (numpy only, never torch).

Oymak, Fabian, Li & Soltanolkotabi 2019, arXiv:1906.05392, name in their abstract a case study: data
from a mixture of well-separated clusters, for which the Jacobian has a few large singular values, one
group per cluster, and the labels lie in their span. The statement itself could not be retrieved; the
forms here are the book's derivation, which rests on the expected Gram of chapter 5's two-layer network,
``E[J J^T] = I_K (x) Sigma`` with ``Sigma_ij = k(x_i, x_j)`` and, for unit vectors at cosine ``c``,

``k(c) = c (pi - arccos c) / (2 pi)``        (:func:`arccos_kernel`, ``k(1) = 1/2``, ``k(0) = 0``)

(:func:`dltheory.theory.jacobian_split.expected_gram`).

The book's mixture: ``K`` classes with ``C`` clusters each (``m = K C`` clusters, class-major: cluster ``a``
belongs to class ``a // C``), unit-norm centres whose cosines are ``rho`` within a class and 0 across
classes, ``n_a`` samples per cluster. As the within-cluster noise goes to 0 every sample sits on its
centre, ``Sigma = P M P^T`` with ``P`` the ``(n, m)`` cluster indicator and ``M_ab = k(mu_a . mu_b)``
(:func:`centre_kernel`), so ``Sigma`` has rank ``m`` and the non-zero eigenvalues of ``n_a M``. For the
class-structured centres ``M`` is block diagonal with ``C x C`` blocks ``(1/2 - k(rho)) I + k(rho) 1 1^T``:

* ``n_a (1/2 + (C - 1) k(rho))`` on the ``K`` class-mean directions (constant on each class), and
* ``n_a (1/2 - k(rho))`` on the ``K (C - 1)`` within-class contrasts,

each repeated ``K`` times by ``I_K (x)``: ``J`` has ``K m`` large singular values in two levels
(:func:`predicted_levels`) and ``K n - K m`` that vanish with the noise. One-hot class labels are
constant on each class, so they lie in the top level: ``E(K^2) = 1``.
"""

from __future__ import annotations

import numpy as np

from dltheory._checks import as_float_array, check_in_range, check_int

__all__ = ["arccos_kernel", "centre_kernel", "predicted_singular_values", "predicted_levels"]


def arccos_kernel(cos) -> np.ndarray:
    """Expected per-output Gram entry ``k(c) = c (pi - arccos c) / (2 pi)`` of two unit inputs.

    The linear kernel times the arc-cosine kernel of order 0 (the probability that a Gaussian unit is
    active on both inputs), :func:`dltheory.theory.jacobian_split.expected_gram` for unit vectors.

    Args:
        cos: cosines in ``[-1, 1]`` (any shape).

    Returns:
        ``k(cos)``, the same shape.
    """
    c = as_float_array("cos", cos)
    if np.any(np.abs(c) > 1.0):
        raise ValueError(f"cos must lie in [-1, 1], got values in [{c.min():g}, {c.max():g}]")
    return c * (np.pi - np.arccos(c)) / (2 * np.pi)


def centre_kernel(num_classes: int, clusters_per_class: int, rho: float) -> np.ndarray:
    """The ``(m, m)`` matrix ``M_ab = k(mu_a . mu_b)`` of the book's class-structured centres.

    Args:
        num_classes: ``K`` >= 2.
        clusters_per_class: ``C`` >= 1 (``m = K C`` clusters, class-major).
        rho: cosine between two centres of one class, in ``[0, 1)``; centres of different classes
            are orthogonal.

    Returns:
        ``M``, with ``1/2`` on the diagonal, ``k(rho)`` within a class and 0 across classes.
    """
    K = check_int("num_classes", num_classes, minimum=2)
    C = check_int("clusters_per_class", clusters_per_class)
    rho = check_in_range("rho", rho, 0.0, 1.0)
    if rho == 1.0:
        raise ValueError("rho must be < 1 (centres of one class would coincide)")
    cls = np.repeat(np.arange(K), C)
    cos = np.where(cls[:, None] == cls[None, :], rho, 0.0)
    np.fill_diagonal(cos, 1.0)
    return arccos_kernel(cos)


def predicted_singular_values(M, per_cluster: int, num_outputs: int) -> np.ndarray:
    """The ``K m`` non-zero singular values ``sqrt(n_a eig(M))`` of ``J``, noise -> 0, descending.

    ``E[J J^T] = I_K (x) P M P^T`` with ``P^T P = n_a I``: each eigenvalue of ``n_a M`` appears once per
    output. A single wide network's ``J J^T`` is this expectation up to ``O(1/sqrt(width))``.

    Args:
        M: ``(m, m)`` symmetric positive semi-definite centre kernel (:func:`centre_kernel`).
        per_cluster: ``n_a``, samples per cluster.
        num_outputs: ``K``, outputs of the network.

    Returns:
        ``(K m,)`` singular values, each eigenvalue of ``M`` repeated ``K`` times.
    """
    M = as_float_array("M", M, ndim=2)
    if M.shape[0] != M.shape[1] or M.shape[0] == 0:
        raise ValueError(f"M must be a non-empty square matrix, got shape {M.shape}")
    if not np.allclose(M, M.T, atol=1e-12):
        raise ValueError("M must be symmetric")
    n_a = check_int("per_cluster", per_cluster)
    K = check_int("num_outputs", num_outputs)
    w = np.linalg.eigvalsh(M)
    if w[0] < -1e-12 * max(1.0, abs(w[-1])):
        raise ValueError(f"M must be positive semi-definite, got eigenvalue {w[0]:g}")
    return np.repeat(np.sqrt(n_a * np.clip(w[::-1], 0.0, None)), K)


def predicted_levels(
    num_classes: int, clusters_per_class: int, rho: float, per_cluster: int
) -> tuple[np.ndarray, np.ndarray]:
    """The distinct large singular values of ``J`` for the class-structured mixture, noise -> 0.

    ``sqrt(n_a (1/2 + (C-1) k(rho)))`` with multiplicity ``K^2`` (the class means, where the labels
    lie) and, for ``C >= 2``, ``sqrt(n_a (1/2 - k(rho)))`` with multiplicity ``K^2 (C - 1)``.

    Args:
        num_classes: ``K`` (classes and network outputs), >= 2.
        clusters_per_class: ``C`` >= 1.
        rho: within-class cosine of the centres, in ``(0, 1)`` (``rho = 0`` merges the levels).
        per_cluster: ``n_a``.

    Returns:
        ``(levels, multiplicities)``, descending levels.
    """
    K = check_int("num_classes", num_classes, minimum=2)
    C = check_int("clusters_per_class", clusters_per_class)
    rho = check_in_range("rho", rho, 0.0, 1.0)
    if not 0.0 < rho < 1.0:
        raise ValueError(f"rho must lie in (0, 1) for two distinct levels, got {rho!r}")
    n_a = check_int("per_cluster", per_cluster)
    kr = float(arccos_kernel(rho))
    levels = np.sqrt(n_a * np.array([0.5 + (C - 1) * kr, 0.5 - kr]))
    mult = np.array([K * K, K * K * (C - 1)])
    keep = mult > 0
    return levels[keep], mult[keep]
