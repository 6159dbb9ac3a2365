"""Closed forms of the Jacobian information/nuisance split (numpy only, never torch).

Oymak, Fabian, Li & Soltanolkotabi 2019, *Generalization guarantees for neural networks via harnessing
the low-rank structure of the Jacobian*, arXiv:1906.05392. Symbols: ``J`` the ``(K n, p)`` Jacobian with
singular values ``lambda_s`` (``lam``) and left singular vectors ``u_s`` (columns of ``U``, class-major rows
``c * n + i``); ``eta`` (``lr``) the step size; ``alpha`` the spectrum cutoff; the information space
``I`` is spanned by the top ``r`` singular vectors, the nuisance space ``N`` by the rest; ``Gamma``
(``gamma``) the early-stopping knob; ``n`` samples, ``K`` classes.

What is exact and what is reconstructed:

* Exact: the linearised dynamics ``u_s^T r_t = (1 - eta lambda_s^2)^t u_s^T r_0``
  (:func:`predicted_direction_decay`, :func:`predicted_split_residual`) for the linear model
  ``f(W) = f(W_0) + J (W - W_0)``; the random-direction baseline ``r / (K n)``; the class-mean energy of
  one-hot labels; the expected label energy under the corruption model (:func:`predicted_label_energy`,
  our derivation, see chapter 5).
* Reconstructed by the book (the paper's constants are not used): the *form* of the distance bound
  (:func:`distance_bound`) and of the bias term ``2 ||Pi_N(y)|| / sqrt(n)`` (:func:`bias_term`) and the
  variance term's ``alpha`` dependence (:func:`variance_shape`); the paper's constants are not known, so
  only shapes are compared, never absolute values.
"""

from __future__ import annotations

import numpy as np

from dltheory._checks import (
    ArgumentTypeError,
    as_float_array,
    check_in_range,
    check_int,
    check_positive,
)

__all__ = [
    "predicted_direction_decay",
    "predicted_split_residual",
    "random_baseline",
    "class_mean_energy",
    "predicted_label_energy",
    "fit_time",
    "distance_bound",
    "bias_term",
    "variance_shape",
    "expected_gram",
    "expected_label_energy",
]


def predicted_direction_decay(t, lam, lr: float) -> np.ndarray:
    """Linearised decay ``(1 - eta lambda_s^2)^t`` of the residual along each singular direction.

    Implements ``u_s^T r_t = (1 - eta lambda_s^2)^t u_s^T r_0`` (Oymak et al. 2019, arXiv:1906.05392; exact for
    the linearised model, where ``r_{t+1} = (I - eta J J^T) r_t``).

    Args:
        t: ``(T,)`` steps (>= 0), or one step; whole steps wherever ``eta lambda_s^2 > 1`` (the factor
            is then negative, so it alternates in sign and has no value between steps).
        lam: ``(S,)`` singular values ``lambda_s >= 0``.
        lr: step size ``eta > 0``.

    Returns:
        ``(T, S)`` decay factors.
    """
    t = as_float_array("t", t, nonneg=True)
    if t.ndim > 1:
        raise ValueError(f"t must be a number or a vector of steps, got shape {t.shape}")
    lam = as_float_array("lam", lam, nonneg=True, ndim=1)
    lr = check_positive("lr", lr)
    base = 1.0 - lr * lam**2
    if np.any(base < 0) and np.any(t != np.round(t)):
        # eta lambda^2 > 1: the factor alternates in sign from step to step, defined at whole steps only
        raise ValueError(
            "t must hold whole steps where lr * lam^2 > 1 (the linearised residual then alternates "
            "in sign each step)"
        )
    return base[None, :] ** np.atleast_1d(t)[:, None]


def predicted_split_residual(t, lam, coeffs0, lr: float, rank: int):
    """Norms of the linearised residual in the information and nuisance spaces.

    With ``c_s = u_s^T r_0`` (``coeffs0``) over a *complete* set of left singular vectors, the
    information part is ``||Pi_I r_t||^2 = sum_{s <= r} c_s^2 (1 - eta lambda_s^2)^{2t}`` and the
    nuisance part the sum over ``s > r``.

    Args:
        t: ``(T,)`` steps.
        lam: ``(S,)`` singular values, descending (checked), complete (``S = K n``; zeros allowed).
        coeffs0: ``(S,)`` coordinates of the initial residual, ``U^T r_0``.
        lr: step size ``eta``.
        rank: ``r``, the dimension of the information space (``1 <= r < S``).

    Returns:
        ``(info, nuisance)``, each ``(T,)``, the norms ``||Pi_I r_t||`` and ``||Pi_N r_t||``.
    """
    lam = as_float_array("lam", lam, nonneg=True, ndim=1)
    if np.any(np.diff(lam) > 0):
        raise ValueError("lam must be in descending order (the information space is the top r)")
    c = as_float_array("coeffs0", coeffs0, ndim=1)
    if c.shape != lam.shape:
        raise ValueError(f"coeffs0 {c.shape} and lam {lam.shape} must match")
    rank = check_int("rank", rank)
    if rank >= lam.size:
        raise ValueError(f"rank must be < {lam.size}, got {rank}")
    sq = (predicted_direction_decay(t, lam, lr) * c) ** 2
    return np.sqrt(sq[:, :rank].sum(1)), np.sqrt(sq[:, rank:].sum(1))


def random_baseline(r, dim: int) -> np.ndarray:
    """Label energy ``r / dim`` that a uniformly random ``r``-dimensional subspace of ``R^dim`` holds.

    ``r`` (any shape) must lie in ``[0, dim]``; ``dim`` >= 1.
    """
    dim = check_int("dim", dim)
    r = as_float_array("r", r, nonneg=True)
    if np.any(r > dim):
        raise ValueError(f"r must be <= dim = {dim}")
    return r / dim


def class_mean_energy(labels, num_classes: int) -> float:
    """Fraction of ``||y||^2`` on the ``K`` class-constant directions ``e_c (x) 1_n / sqrt(n)``.

    For one-hot labels this is ``sum_c (n_c / n)^2``, exactly ``1/K`` for balanced classes and any
    corruption that keeps the classes balanced on average. The top ``K`` singular directions of the
    Jacobian of unit-norm images are close to these directions (checked in chapter 5).

    Args:
        labels: ``(n,)`` integer classes in ``[0, K)``, n >= 1.
        num_classes: ``K``.
    """
    num_classes = check_int("num_classes", num_classes)
    labels = _check_labels(labels, num_classes)
    counts = np.bincount(labels, minlength=num_classes) / labels.size
    return float(np.sum(counts**2))


def _check_labels(labels, num_classes: int) -> np.ndarray:
    """A non-empty vector of integer classes in ``[0, num_classes)``."""
    try:
        arr = np.asarray(labels)
    except (TypeError, ValueError):
        raise ArgumentTypeError(
            f"labels must be an array of integer classes, got {labels!r}"
        ) from None
    if arr.dtype.kind not in "iu":
        raise ArgumentTypeError(f"labels must be integer classes, got dtype {arr.dtype}")
    if arr.ndim != 1 or arr.size == 0:
        raise ValueError(f"labels must be a non-empty vector (n,), got shape {arr.shape}")
    if arr.min() < 0 or arr.max() >= num_classes:
        raise ValueError(
            f"labels must lie in [0, num_classes) = [0, {num_classes}), got {arr.min()}..{arr.max()}"
        )
    return arr


def predicted_label_energy(
    U, labels, rho: float, num_classes: int, *, exact_count: bool = False
) -> np.ndarray:
    """Expected label energy ``E_rho(r) = E ||U_r^T y_rho||^2 / n`` under random corruption.

    Corruption model of chapter 5: each label stays with probability ``1 - rho`` and otherwise moves to
    a uniformly random other class. Sample ``i`` of true class ``c_i`` then has mean one-hot label
    ``mu_i = a e_{c_i} + b 1`` with ``a = 1 - rho K/(K-1)``, ``b = rho/(K-1)`` and covariance
    ``diag(mu_i) - mu_i mu_i^T``, so (our derivation, see chapter 5)

    ``E ||U_r^T y_rho||^2 = ||U_r^T mu||^2 + sum_i [sum_c mu_ic ||U_{c i}||^2 - ||sum_c mu_ic U_{c i}||^2]``

    where ``U_{c i}`` is row ``c n + i`` of ``U_r``. By default samples are corrupted independently.
    With ``exact_count``, exactly ``m = rho n`` of them are (a uniformly random subset, as
    :func:`dltheory.datasets.corrupt_labels` does): the flags ``z_i`` then have
    ``Cov(z_i, z_j) = -rho (1 - rho) / (n - 1)`` for ``i != j``, and with ``y_i = e_{c_i} + z_i (u_i - e_{c_i})``
    the labels of two samples covary as ``Cov(z_i, z_j) d_i d_j^T``, ``d_i = E u_i - e_{c_i}``, which adds
    (our derivation) ``-rho (1 - rho)/(n - 1) [ (sum_i a_i)^2 - sum_i a_i^2 ]`` per direction, with
    ``a_i = sum_c d_ic U_{c i}``. ``rho n`` must then be a whole number.

    Args:
        U: ``(K n, R)`` orthonormal left singular vectors, class-major rows, in descending order.
        labels: ``(n,)`` true classes, integers in ``[0, K)``.
        rho: corruption fraction in ``[0, 1]``.
        num_classes: ``K``.
        exact_count: corrupt exactly ``rho n`` samples instead of each independently.

    Returns:
        ``(R,)`` with entry ``r - 1`` the expected ``E_rho(r)``; ``||y_rho||^2 = n`` always.
    """
    K = check_int("num_classes", num_classes, minimum=2)
    labels = _check_labels(labels, K)
    U = as_float_array("U", U, ndim=2)
    n = labels.size
    if U.shape[0] != K * n:
        raise ValueError(f"U must have K n = {K * n} rows, got {U.shape[0]}")
    rho = check_in_range("rho", rho, 0.0, 1.0)
    a, b = 1.0 - rho * K / (K - 1), rho / (K - 1)
    mu = a * np.eye(K)[labels] + b  # (n, K)
    Uc = U.reshape(K, n, -1)  # (K, n, R)
    mean_part = np.einsum("ic,cir->r", mu, Uc) ** 2
    diag_part = np.einsum("ic,cir->r", mu, Uc**2)
    cross = np.einsum("ic,cir->ir", mu, Uc)
    var_part = diag_part - np.sum(cross**2, axis=0)
    if not isinstance(exact_count, bool):
        raise ArgumentTypeError(f"exact_count must be a bool, got {exact_count!r}")
    if exact_count:
        if abs(rho * n - round(rho * n)) > 1e-9 * n:
            raise ValueError(f"exact_count needs rho n to be a whole number, got rho n = {rho * n}")
        d = (1.0 - np.eye(K)[labels]) / (K - 1) - np.eye(K)[labels]  # (n, K): E u_i - e_{c_i}
        a = np.einsum("ic,cir->ir", d, Uc)
        var_part = var_part - rho * (1 - rho) / (n - 1) * (a.sum(0) ** 2 - np.sum(a**2, axis=0))
    return np.cumsum(mean_part + var_part) / n


def fit_time(beta: float, alpha: float, eps: float) -> float:
    """Steps ``(beta^2/alpha^2) log(1/eps)`` for the information residual to fall by a factor ``eps``.

    With ``eta = 1/beta^2``, ``(1 - eta alpha^2)^t <= exp(-t alpha^2/beta^2)``.
    ``beta`` is the top singular value and ``alpha`` the cutoff, so ``0 < alpha <= beta``; ``eps`` lies
    in ``(0, 1)``.
    """
    beta, alpha, eps = (
        check_positive(n, v) for n, v in (("beta", beta), ("alpha", alpha), ("eps", eps))
    )
    if alpha > beta:
        raise ValueError(
            f"alpha (the cutoff lambda_r) must be <= beta (the top singular value), got "
            f"alpha={alpha}, beta={beta}"
        )
    if eps >= 1:
        raise ValueError(f"eps must be < 1, got {eps}")
    return float((beta / alpha) ** 2 * np.log(1.0 / eps))


def distance_bound(info_norm, nuisance_norm, alpha, gamma: float = 1.0) -> np.ndarray:
    """Reconstructed distance bound ``||Pi_I r_0||/alpha + Gamma ||Pi_N r_0||/alpha`` (no constants).

    The book's reconstruction of the form of the paper's bound, without its constants.
    The norms are >= 0, ``alpha`` > 0 and ``gamma`` > 0; the three arrays must broadcast together.
    """
    info = as_float_array("info_norm", info_norm, nonneg=True)
    nuis = as_float_array("nuisance_norm", nuisance_norm, nonneg=True)
    alpha = as_float_array("alpha", alpha)
    if np.any(alpha <= 0):
        raise ValueError("alpha must be > 0")
    gamma = check_positive("gamma", gamma)
    try:
        np.broadcast_shapes(info.shape, nuis.shape, alpha.shape)
    except ValueError:
        raise ValueError(
            f"info_norm, nuisance_norm and alpha must broadcast together, got shapes {info.shape}, "
            f"{nuis.shape} and {alpha.shape}"
        ) from None
    return (info + gamma * nuis) / alpha


def bias_term(nuisance_label_norm, n: int) -> np.ndarray:
    """Bias term ``2 ||Pi_N(y)||_2 / sqrt(n)`` of the reconstructed generalisation bound.

    Args:
        nuisance_label_norm: ``||Pi_N(y)||`` (array over cutoffs allowed).
        n: number of training samples.
    """
    x = as_float_array("nuisance_label_norm", nuisance_label_norm, nonneg=True)
    return 2.0 * x / np.sqrt(check_int("n", n))


def variance_shape(alpha, n: int, gamma: float = 1.0) -> np.ndarray:
    """Shape ``Gamma / (alpha sqrt(n))`` of the variance term (unknown constant, ``poly(K)`` dropped).

    The book's reconstruction, with ``||y|| = sqrt(n)`` for one-hot labels.
    """
    alpha = as_float_array("alpha", alpha)
    if np.any(alpha <= 0):
        raise ValueError("alpha must be > 0")
    return check_positive("gamma", gamma) / (alpha * np.sqrt(check_int("n", n)))


def expected_gram(X1, X2=None) -> np.ndarray:
    """Single-output block of the expected Gram ``E_{W_0}[J J^T]`` of chapter 5's two-layer network.

    For ``f(x) = V relu(W x)`` with ``W_ij ~ N(0, 1)`` and readout entries ``+-1/sqrt(k)`` independent
    of ``W``, row ``(c, i)`` of ``J`` in the block of unit ``l`` is ``V_cl 1[w_l.x_i > 0] x_i``, so

    ``E[J J^T]_{(c,i),(c',j)} = delta_cc' (x_i . x_j) P(w.x_i > 0, w.x_j > 0)
    = delta_cc' (x_i . x_j) (pi - theta_ij) / (2 pi)``

    with ``theta_ij`` the angle between ``x_i`` and ``x_j`` (the arc-cosine kernel of order 0 times the
    linear kernel): the multiclass NTK is ``I_K (x) Sigma``, whatever the width (the doubled
    initialisation repeats units, which leaves the expectation unchanged). This is the expected kernel
    over initialisations of Oymak et al. 2019 (arXiv:1906.05392), here in closed form.

    Args:
        X1: ``(n1, d)`` inputs, no zero rows.
        X2: ``(n2, d)`` inputs (default ``X1``).

    Returns:
        ``Sigma``, ``(n1, n2)``.
    """
    X1 = as_float_array("X1", X1, ndim=2)
    X2 = X1 if X2 is None else as_float_array("X2", X2, ndim=2)
    if X1.shape[1] != X2.shape[1]:
        raise ValueError(f"X1 {X1.shape} and X2 {X2.shape} must have the same number of columns")
    n1, n2 = np.linalg.norm(X1, axis=1), np.linalg.norm(X2, axis=1)
    for name, norms in (("X1", n1), ("X2", n2)):
        if np.any(norms == 0):
            raise ValueError(
                f"{name} must have non-zero rows (the angle to a zero input is undefined)"
            )
    G = X1 @ X2.T
    cos = np.clip(G / np.outer(n1, n2), -1.0, 1.0)
    return G * (np.pi - np.arccos(cos)) / (2 * np.pi)


def expected_label_energy(Sigma, labels, num_classes: int):
    """Label-energy profile ``E(r)`` and Jacobian energy under the expected Gram ``I_K (x) Sigma``.

    The eigenvalues of ``I_K (x) Sigma`` are those of ``Sigma`` each repeated ``K`` times, with
    eigenvectors ``e_c (x) v_s``; a one-hot label vector has energy ``sum_c (v_s . y_c)^2`` on the ``K``
    copies of ``v_s``. So ``E(K m)``, the fraction of ``||y||^2`` on the top ``m`` eigenvalues of
    ``Sigma`` (all their copies), is exact; between multiples of ``K`` the degenerate copies have no
    order, and only multiples of ``K`` are returned.

    Args:
        Sigma: ``(n, n)`` symmetric positive semi-definite (:func:`expected_gram`).
        labels: ``(n,)`` classes in ``[0, K)``.
        num_classes: ``K``.

    Returns:
        ``(energy, jacobian)``, each ``(n,)``: entry ``m - 1`` is ``E(K m)``, and the fraction of
        ``E||J||_F^2 = K tr(Sigma)`` in the top ``K m`` singular values (squared).
    """
    K = check_int("num_classes", num_classes, minimum=2)
    labels = _check_labels(labels, K)
    S = as_float_array("Sigma", Sigma, ndim=2)
    if S.shape != (labels.size, labels.size):
        raise ValueError(f"Sigma must be (n, n) = {(labels.size,) * 2}, got {S.shape}")
    w, V = np.linalg.eigh((S + S.T) / 2)
    w, V = np.clip(w[::-1], 0.0, None), V[:, ::-1]
    energy = np.sum((V.T @ np.eye(K)[labels]) ** 2, axis=1)
    return np.cumsum(energy) / labels.size, np.cumsum(w) / np.sum(w)
