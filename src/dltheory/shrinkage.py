"""Data-driven singular-value learners: estimate a low-rank teacher from one noisy data matrix.

Chapter 3 compares learners that keep the singular vectors of the data Sigma^31 = W_bar + Z
(Lampinen & Ganguli 2019, arXiv:1809.10374, Sec. 2.5) and differ only in the strength they give each
data mode:

* :func:`plugin_estimate` -- the optimal learner made real: it estimates the noise level from the
  median singular value and the aspect ratio from the shape, and shrinks every singular value
  with :func:`dltheory.theory.optimal_learner.optimal_shrinkage` (s_hat -> s_bar(s_hat) O(s_bar));
* :func:`oracle_estimate` -- the same rule with the true teacher singular values and noise level;
* :func:`truncated_svd` -- the top r data modes, unshrunk, at a given (the true) rank;
* :func:`hard_threshold_estimate` / :func:`soft_threshold_estimate` -- the optimal hard threshold of
  Gavish & Donoho 2014 (arXiv:1305.5870) and soft thresholding at the bulk edge, the Frobenius-optimal
  soft threshold (Gavish & Donoho 2017, arXiv:1405.7511), both with the estimated noise level;
* :func:`ridge_estimate` -- ridge regression on the one-hot inputs, W = Sigma^31 / (1 + lambda), with
  lambda chosen on held-out data.

:func:`empirical_test_error` measures any of them against the teacher,
:func:`empirical_best_strengths` gives the strengths no data-driven rule can beat (they need the
teacher), and :func:`empirical_learner_errors` runs every rule (and least squares, the limit of
gradient descent) on the same data.

Layout: a data matrix is ``(N3, N1)`` (outputs x inputs, one-hot inputs so Sigma^31 = Y^T) or a batch
``(B, N3, N1)``; every result keeps the leading batch axes. M = min(N3, N1) data modes, singular
values in descending order. Noise convention: entries of Z have variance sigma^2 / max(N3, N1), so the
bulk edge is sigma (1 + sqrt(A)) with A = min(N3, N1) / max(N3, N1); for the book's data (N3 <= N1)
sigma is sigma_z. Only the oracle, the best strengths and the errors use the teacher.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from dltheory._checks import as_float_array, check_int, check_positive
from dltheory.theory.optimal_learner import gavish_donoho_hard_threshold, optimal_shrinkage
from dltheory.theory.random_matrix import (
    mp_edges,
    mp_quantile,
    overlap,
    signal_from_outlier,
)

__all__ = [
    "Estimate",
    "estimate_noise_std",
    "plugin_estimate",
    "oracle_estimate",
    "truncated_svd",
    "hard_threshold_estimate",
    "soft_threshold_estimate",
    "ridge_estimate",
    "empirical_test_error",
    "empirical_best_strengths",
    "empirical_learner_errors",
]


@dataclass(frozen=True)
class Estimate:
    """A teacher estimate W = U_hat diag(s) V_hat^T built from the data's singular vectors.

    ``...`` is the batch shape of the data: empty for one ``(N3, N1)`` matrix, ``(B,)`` for a batch.

    Attributes:
        W: the estimate, ``(..., N3, N1)``.
        s: strength given to each data mode, ``(..., M)``, in the order of ``s_hat``.
        s_hat: the data singular values, descending, ``(..., M)``.
        noise_std: noise level the rule used (estimated or given), ``(...)``; NaN if it needs none.
        s_bar: teacher strengths the rule inferred or was given per data mode, ``(..., M)``, 0 for bulk
            modes; NaN where the rule does not use them.
    """

    W: np.ndarray
    s: np.ndarray
    s_hat: np.ndarray
    noise_std: np.ndarray
    s_bar: np.ndarray

    @property
    def rank(self) -> np.ndarray:
        """Number of data modes with a positive strength, ``(...)``."""
        return np.sum(self.s > 0, axis=-1)


def _data(sigma31, name: str = "sigma31") -> np.ndarray:
    x = np.asarray(sigma31)
    if x.ndim not in (2, 3):
        raise ValueError(
            f"{name} must be one data matrix (N3, N1) or a batch (B, N3, N1), got shape {x.shape}"
        )
    if min(x.shape[-2:]) < 2 or (x.ndim == 3 and x.shape[0] == 0):
        raise ValueError(f"{name} needs at least 2 rows and 2 columns per matrix, got {x.shape}")
    return as_float_array(name, x)


def _svd(x: np.ndarray):
    """Thin SVD ``(U, s, Vt)`` of a matrix or batch (on the book's thread policy, :mod:`dltheory.threads`)."""
    return np.linalg.svd(x, full_matrices=False)


def _compose(U, s, Vt) -> np.ndarray:
    return (U * s[..., None, :]) @ Vt


def _aspect(x: np.ndarray) -> float:
    """A = min(N3, N1) / max(N3, N1) from the shape of a validated data matrix or batch."""
    n3, n1 = x.shape[-2:]
    return min(n3, n1) / max(n3, n1)


def _median_noise_std(s_hat: np.ndarray, a: float) -> np.ndarray:
    return np.median(s_hat, axis=-1) / float(mp_quantile(0.5, aspect_ratio=a))


def estimate_noise_std(sigma31) -> np.ndarray:
    """Noise level sigma from the median data singular value (as in Gavish & Donoho 2014).

    sigma_hat = median(s_hat) / mu_A, with mu_A the median of the Marchenko-Pastur singular-value law
    at unit noise (:func:`dltheory.theory.random_matrix.mp_quantile`). A few outliers move the median
    by O(r / M) quantiles only; it is consistent as N3, N1 -> infinity at fixed rank.

    Args:
        sigma31: data matrix ``(N3, N1)`` or batch ``(B, N3, N1)``, finite.

    Returns:
        sigma_hat, ``(...)`` (0-d for one matrix); 0 when more than half the singular values vanish
        (a noiseless low-rank matrix).
    """
    x = _data(sigma31)
    return _median_noise_std(_svd(x)[1], _aspect(x))


def _noise(x: np.ndarray, s_hat: np.ndarray, a: float, noise_std) -> np.ndarray:
    if noise_std is None:
        return _median_noise_std(s_hat, a)
    sigma = as_float_array("noise_std", noise_std, nonneg=True)
    try:
        return np.broadcast_to(sigma, x.shape[:-2]).astype(float)
    except ValueError:
        raise ValueError(
            f"noise_std must be a scalar or match the batch shape {x.shape[:-2]}, got {sigma.shape}"
        ) from None


def _in_noise_units(fn, s_hat: np.ndarray, sigma: np.ndarray) -> np.ndarray:
    """sigma * fn(s_hat / sigma) per matrix (fn works at unit noise); sigma = 0 keeps s_hat as is."""
    positive = (sigma > 0)[..., None]
    scale = np.where(positive, sigma[..., None], 1.0)
    return np.where(positive, scale * fn(s_hat / scale), s_hat)


def plugin_estimate(sigma31, *, noise_std=None) -> Estimate:
    """The optimal learner from data alone (Lampinen & Ganguli 2019, Sec. 2.5; our estimator, chapter 3).

    1. A = min(N3, N1) / max(N3, N1) from the shape; sigma_hat from the median singular value
       (:func:`estimate_noise_std`) unless ``noise_std`` is given.
    2. Outliers are the singular values above the bulk edge sigma_hat (1 + sqrt(A)); each is inverted
       to a teacher strength s_bar(s_hat) (:func:`dltheory.theory.random_matrix.signal_from_outlier`).
    3. Each mode gets s_bar O(s_bar) = :func:`dltheory.theory.optimal_learner.optimal_shrinkage`,
       every bulk mode 0.

    A matrix with nothing above the bulk edge gets the zero estimate (``rank`` 0), by design: below the
    detection threshold no rule that keeps the data's singular vectors beats predicting 0. If
    sigma_hat = 0 (more than half the singular values vanish, i.e. noiseless low-rank data) the data
    are returned unchanged, the limit of the rule as sigma -> 0.

    Args:
        sigma31: data matrix ``(N3, N1)`` or batch ``(B, N3, N1)``, finite.
        noise_std: known sigma (scalar or ``(B,)``), >= 0; ``None`` (default) estimates it.

    Returns:
        :class:`Estimate` with ``s_bar`` the inferred teacher strengths.
    """
    x = _data(sigma31)
    return _plugin(x, _svd(x), noise_std)


def _plugin(x, svd, noise_std) -> Estimate:
    U, s_hat, Vt = svd
    a = _aspect(x)
    sigma = _noise(x, s_hat, a, noise_std)
    s = _in_noise_units(lambda y: optimal_shrinkage(y, aspect_ratio=a), s_hat, sigma)
    s_bar = _in_noise_units(lambda y: signal_from_outlier(y, aspect_ratio=a), s_hat, sigma)
    return Estimate(W=_compose(U, s, Vt), s=s, s_hat=s_hat, noise_std=sigma, s_bar=s_bar)


def oracle_estimate(sigma31, s_bar, *, noise_std) -> Estimate:
    """The optimal learner with the truth: data mode a gets s_bar_a O(s_bar_a), the rest 0.

    Implements Sec. 2.5 of Lampinen & Ganguli 2019 (arXiv:1809.10374) with the true teacher singular
    values (sorted in descending order and paired with the top r data modes) and noise level.

    Args:
        sigma31: data matrix ``(N3, N1)`` or batch ``(B, N3, N1)``.
        s_bar: true teacher singular values, ``(r,)`` for all matrices or ``(B, r)``; r <= M.
        noise_std: true sigma > 0.

    Returns:
        :class:`Estimate`.
    """
    x = _data(sigma31)
    return _oracle(x, None, s_bar, noise_std)


def _oracle(x, svd, s_bar, noise_std) -> Estimate:
    a = _aspect(x)
    sigma = check_positive("noise_std", noise_std)
    sb = as_float_array("s_bar", s_bar, nonneg=True)
    batch = x.shape[:-2]
    m = min(x.shape[-2:])
    if sb.ndim == 0 or sb.shape[-1] == 0 or sb.shape[-1] > m:
        raise ValueError(f"s_bar must hold between 1 and {m} singular values, got shape {sb.shape}")
    try:
        sb = np.broadcast_to(sb, (*batch, sb.shape[-1]))
    except ValueError:
        raise ValueError(
            f"s_bar must have shape (r,) or (*batch, r) with batch {batch}, got {sb.shape}"
        ) from None
    sb = -np.sort(-sb, axis=-1)
    U, s_hat, Vt = _svd(x) if svd is None else svd
    full = np.zeros(s_hat.shape)
    full[..., : sb.shape[-1]] = sb
    s = full * overlap(full, aspect_ratio=a, noise_std=sigma)
    return Estimate(
        W=_compose(U, s, Vt),
        s=s,
        s_hat=s_hat,
        noise_std=np.full(batch, sigma),
        s_bar=full,
    )


def truncated_svd(sigma31, rank: int) -> Estimate:
    """Best rank-r approximation of the data: the top ``rank`` modes, unshrunk (Eckart-Young).

    Args:
        sigma31: data matrix ``(N3, N1)`` or batch ``(B, N3, N1)``.
        rank: number of modes kept, 1 <= rank <= M (the book passes the true teacher rank).

    Returns:
        :class:`Estimate` (``noise_std`` and ``s_bar`` NaN: the rule uses neither).
    """
    x = _data(sigma31)
    return _truncated(x, None, rank)


def _truncated(x, svd, rank) -> Estimate:
    m = min(x.shape[-2:])
    rank = check_int("rank", rank)
    if rank > m:
        raise ValueError(f"rank must be <= min(N3, N1) = {m}, got {rank}")
    U, s_hat, Vt = _svd(x) if svd is None else svd
    s = np.where(np.arange(m) < rank, s_hat, 0.0)
    nan = np.full(s_hat.shape, np.nan)
    return Estimate(_compose(U, s, Vt), s, s_hat, np.full(x.shape[:-2], np.nan), nan)


def hard_threshold_estimate(sigma31, *, noise_std=None) -> Estimate:
    """Keep the data modes above the optimal hard threshold of Gavish & Donoho 2014, unshrunk.

    The threshold is lambda*(A) sigma (:func:`dltheory.theory.optimal_learner.gavish_donoho_hard_threshold`)
    with sigma estimated from the median singular value unless given, which is Gavish & Donoho's
    omega(beta) y_med rule with omega computed exactly instead of by their polynomial fit.

    Args:
        sigma31: data matrix ``(N3, N1)`` or batch ``(B, N3, N1)``.
        noise_std: known sigma (scalar or ``(B,)``), >= 0; ``None`` estimates it.

    Returns:
        :class:`Estimate` (``s_bar`` NaN).
    """
    x = _data(sigma31)
    return _hard(x, _svd(x), noise_std)


def _hard(x, svd, noise_std) -> Estimate:
    U, s_hat, Vt = svd
    a = _aspect(x)
    sigma = _noise(x, s_hat, a, noise_std)
    lam = gavish_donoho_hard_threshold(aspect_ratio=a)
    s = np.where(s_hat > lam * sigma[..., None], s_hat, 0.0)
    return Estimate(_compose(U, s, Vt), s, s_hat, sigma, np.full(s_hat.shape, np.nan))


def soft_threshold_estimate(sigma31, *, noise_std=None) -> Estimate:
    """Soft thresholding at the bulk edge: s = max(s_hat - sigma (1 + sqrt(A)), 0).

    The bulk edge is the Frobenius-optimal soft threshold (Gavish & Donoho 2017, arXiv:1405.7511: a
    lower threshold keeps noise modes, a higher one shrinks every outlier further than optimal).

    Args:
        sigma31: data matrix ``(N3, N1)`` or batch ``(B, N3, N1)``.
        noise_std: known sigma (scalar or ``(B,)``), >= 0; ``None`` estimates it.

    Returns:
        :class:`Estimate` (``s_bar`` NaN).
    """
    x = _data(sigma31)
    return _soft(x, _svd(x), noise_std)


def _soft(x, svd, noise_std) -> Estimate:
    U, s_hat, Vt = svd
    a = _aspect(x)
    sigma = _noise(x, s_hat, a, noise_std)
    edge = mp_edges(aspect_ratio=a)[1]
    s = np.maximum(s_hat - edge * sigma[..., None], 0.0)
    return Estimate(_compose(U, s, Vt), s, s_hat, sigma, np.full(s_hat.shape, np.nan))


def ridge_estimate(sigma31, sigma31_val) -> tuple[Estimate, np.ndarray]:
    """Ridge regression on one-hot inputs with the ridge chosen on held-out data.

    With one-hot inputs (X = I) the ridge solution is W(lambda) = Sigma^31 (I + lambda I)^(-1) =
    c Sigma^31 with c = 1 / (1 + lambda): every singular value is shrunk by the same factor. Held-out
    examples of the same inputs would be unseen one-hot directions, on which any linear learner
    predicts 0, so the held-out set is a second, independent set of noisy targets for the same inputs,
    ``sigma31_val`` = W_bar + Z'. The validation loss ||c Sigma^31 - Sigma^31_val||_F^2 is quadratic
    in c; we take its exact minimiser over lambda in [0, infinity], c = clip(<Sigma^31, Sigma^31_val>
    / ||Sigma^31||^2, 0, 1).

    Args:
        sigma31: training data ``(N3, N1)`` or ``(B, N3, N1)``.
        sigma31_val: held-out data of the same shape.

    Returns:
        ``(estimate, ridge)``: the :class:`Estimate` (``noise_std`` and ``s_bar`` NaN) and the chosen
        lambda = 1/c - 1, ``(...)`` (inf where c = 0).
    """
    x = _data(sigma31)
    c = _ridge_factor(x, sigma31_val)
    U, s_hat, Vt = _svd(x)
    s = c[..., None] * s_hat
    ridge = np.where(c > 0, 1.0 / np.where(c > 0, c, 1.0) - 1.0, np.inf)
    nan = np.full(s_hat.shape, np.nan)
    return Estimate(_compose(U, s, Vt), s, s_hat, np.full(x.shape[:-2], np.nan), nan), ridge


def _ridge_factor(x, sigma31_val) -> np.ndarray:
    """c = clip(<x, x_val> / ||x||^2, 0, 1), the minimiser of ||c x - x_val||^2 over [0, 1], ``(...)``."""
    v = _data(sigma31_val, "sigma31_val")
    if v.shape != x.shape:
        raise ValueError(f"sigma31_val must have the shape of sigma31 {x.shape}, got {v.shape}")
    norm = np.sum(x * x, axis=(-2, -1))
    inner = np.sum(x * v, axis=(-2, -1))
    return np.clip(np.divide(inner, norm, out=np.zeros(norm.shape), where=norm > 0), 0.0, 1.0)


def empirical_test_error(W_est, W_bar) -> np.ndarray:
    """Test error ||W_est - W_bar||_F^2 / ||W_bar||_F^2 (white test inputs, clean targets).

    Args:
        W_est: estimates, ``(N3, N1)`` or ``(B, N3, N1)``.
        W_bar: teachers of the same shape, each nonzero.

    Returns:
        Errors, ``(...)``.
    """
    e = _data(W_est, "W_est")
    w = _data(W_bar, "W_bar")
    if e.shape != w.shape:
        raise ValueError(f"W_est {e.shape} and W_bar {w.shape} must have the same shape")
    norm = np.sum(w * w, axis=(-2, -1))
    if np.any(norm == 0):
        raise ValueError("W_bar must be nonzero (the error is normalised by ||W_bar||_F^2)")
    return np.sum((e - w) ** 2, axis=(-2, -1)) / norm


def empirical_best_strengths(sigma31, W_bar) -> tuple[np.ndarray, np.ndarray]:
    """Per data mode, the strength that minimises the test error: u_hat_a^T W_bar v_hat_a.

    The test error of any W = sum_a s_a u_hat_a v_hat_a^T is a parabola in each s_a, minimised here
    (our derivation, chapter 3); as N1 -> infinity these values tend to s_bar O(s_bar) for
    outliers and 0 in the bulk (Lampinen & Ganguli 2019, Sec. 2.5). They need the teacher: they are a
    finite-size oracle, the floor for every learner that keeps the data's singular vectors.

    Args:
        sigma31: data ``(N3, N1)`` or ``(B, N3, N1)``.
        W_bar: the teachers, same shape.

    Returns:
        ``(s_hat, best)``, each ``(..., M)``; the best error is
        ``1 - sum(best**2, -1) / ||W_bar||_F^2``.
    """
    x = _data(sigma31)
    w = _data(W_bar, "W_bar")
    if w.shape != x.shape:
        raise ValueError(f"W_bar must have the shape of sigma31 {x.shape}, got {w.shape}")
    U, s_hat, Vt = _svd(x)
    best = np.sum((np.swapaxes(U, -1, -2) @ w) * Vt, axis=-1)
    return s_hat, best


def empirical_learner_errors(
    sigma31, W_bar, *, s_bar, noise_std: float, sigma31_val
) -> dict[str, np.ndarray]:
    """Test error of every learner of this module on the same data sets.

    Args:
        sigma31: training data ``(N3, N1)`` or ``(B, N3, N1)``.
        W_bar: the teachers, same shape.
        s_bar: true teacher singular values, ``(r,)`` or ``(B, r)`` (for the oracle; r is the rank
            given to the truncated SVD).
        noise_std: true sigma > 0 (for the oracle only; every other rule estimates it).
        sigma31_val: held-out data for the ridge, same shape as ``sigma31``.

    Returns:
        Errors ``(...)`` under the keys ``"oracle"``, ``"plugin"``, ``"truncated_svd"``,
        ``"hard_threshold"``, ``"soft_threshold"``, ``"ridge"``, ``"least_squares"`` (the data
        themselves, W = Sigma^31, which gradient descent from small weights reaches as t -> infinity
        when its hidden width is at least N3) and ``"best"``, the floor of
        :func:`empirical_best_strengths`.
    """
    x = _data(sigma31)
    w = _data(W_bar, "W_bar")
    if w.shape != x.shape:
        raise ValueError(f"W_bar must have the shape of sigma31 {x.shape}, got {w.shape}")
    if np.any(np.sum(w * w, axis=(-2, -1)) == 0):
        raise ValueError("W_bar must be nonzero (the errors are normalised by ||W_bar||_F^2)")
    check_positive("noise_std", noise_std)
    ridge_c = _ridge_factor(x, sigma31_val)  # checks sigma31_val before the SVD
    rank = np.shape(s_bar)[-1] if np.ndim(s_bar) else 1
    svd = _svd(x)  # one SVD per data set, shared by every rule
    estimates = {
        "oracle": _oracle(x, svd, s_bar, noise_std).W,
        "plugin": _plugin(x, svd, None).W,
        "truncated_svd": _truncated(x, svd, rank).W,
        "hard_threshold": _hard(x, svd, None).W,
        "soft_threshold": _soft(x, svd, None).W,
        "ridge": ridge_c[..., None, None] * x,
        "least_squares": x,
    }
    errors = {name: empirical_test_error(W, w) for name, W in estimates.items()}
    best = np.sum((np.swapaxes(svd[0], -1, -2) @ w) * svd[2], axis=-1)
    errors["best"] = 1.0 - np.sum(best**2, axis=-1) / np.sum(w * w, axis=(-2, -1))
    return errors
