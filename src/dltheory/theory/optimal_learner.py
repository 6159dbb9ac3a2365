"""The optimal non-gradient learner: shrink each data singular value to s_bar O(s_bar).

Implements the optimal learner of Lampinen & Ganguli 2019 (arXiv:1809.10374) as this book
reconstructs it. A
learner that keeps the singular vectors (u_hat_a, v_hat_a) of the data Sigma^31 = W_bar + Z and gives
mode a the strength s_a has test error

    err = [ sum_a (s_a^2 - 2 s_a u_hat_a^T W_bar v_hat_a) + ||W_bar||_F^2 ] / ||W_bar||_F^2,

and u_hat_a^T W_bar v_hat_a -> s_bar_a O(s_bar_a) for an outlier mode (0 for a bulk mode) as
N1, N3 -> infinity. Each term is minimised at s_a = s_bar_a O(s_bar_a), which gives

    err_opt = sum_a s_bar_a^2 (1 - O(s_bar_a)^2) / sum_a s_bar_a^2        (1 - O^2 for rank 1).

Written as a function of the data singular value y = s_hat / sigma, with A the aspect ratio, the same
rule is (our algebra, see chapter 3; it is the Frobenius-optimal shrinker of Gavish & Donoho 2017,
IEEE Trans. Inf. Theory 63, 2137, arXiv:1405.7511)

    eta(y) = sigma * sqrt((y^2 - 1 - A)^2 - 4A) / y    for y > 1 + sqrt(A),   0 otherwise.

Next to it this module gives the asymptotic test error of the learners the chapter compares it with:
truncated SVD at the true rank, the optimal hard threshold of Gavish & Donoho 2014 (IEEE Trans. Inf.
Theory 60, 5040, arXiv:1305.5870), soft thresholding at the bulk edge (the Frobenius-optimal soft
threshold, Gavish & Donoho 2017), least squares (gradient descent run to convergence) and ridge
regression at its best ridge. Gradient descent stopped at the best time is
:func:`dltheory.theory.generalization.predicted_optimal_stopping`.

Symbols: ``s_bar`` teacher singular values, shape ``(..., r)`` (the last axis runs over the modes of
one teacher); ``s_hat`` data singular values; ``noise_std`` = sigma_z (noise entries of variance
sigma_z^2 / N1); ``aspect_ratio`` A = N3 / N1 in (0, 1]; ``n_in`` = N1 = P, ``n_out`` = N3.
Numpy/scipy only.
"""

from __future__ import annotations

from typing import Literal, get_args

import numpy as np

from dltheory._checks import as_float_array, check_choice, check_int, check_positive
from dltheory.theory.random_matrix import (
    mp_edges,
    outlier_singular_value,
    overlap,
)

__all__ = [
    "Learner",
    "optimal_singular_value",
    "optimal_shrinkage",
    "gavish_donoho_hard_threshold",
    "predicted_optimal_error",
    "predicted_learner_error",
]

Learner = Literal[
    "optimal", "truncated_svd", "hard_threshold", "soft_threshold", "least_squares", "ridge"
]


def _check_aspect(aspect_ratio) -> float:
    a = check_positive("aspect_ratio", aspect_ratio)
    if a > 1.0:
        raise ValueError(f"aspect_ratio must lie in (0, 1] (N3 / N1 <= 1), got {aspect_ratio!r}")
    return a


def _teacher(s_bar) -> np.ndarray:
    """Teacher singular values as ``(..., r)`` with r >= 1 and at least one positive per teacher."""
    sb = as_float_array("s_bar", s_bar, nonneg=True)
    if sb.ndim == 0:
        sb = sb[None]
    if sb.shape[-1] == 0:
        raise ValueError("s_bar must hold at least one singular value on its last axis")
    # max, not the sum of squares: a teacher of strength 1e-170 is positive though its square is 0.
    if np.any(np.max(sb, axis=-1) == 0):
        raise ValueError(
            "s_bar must have a positive singular value in every teacher (||W_bar|| > 0)"
        )
    return sb


def _unit(x: np.ndarray) -> np.ndarray:
    """A power of two near ``max(x)`` over the last axis, ``(..., 1)``, for overflow-free ratios.

    Dividing by a power of two is exact, so ratios of sums of squares computed in these units equal
    the plain ones bit for bit wherever those neither overflow nor underflow.
    """
    return np.exp2(np.floor(np.log2(np.max(x, axis=-1, keepdims=True))))


def optimal_singular_value(s_bar, *, aspect_ratio: float, noise_std: float = 1.0) -> np.ndarray:
    """Test-optimal student strength of a mode whose teacher strength is s_bar: s_bar O(s_bar).

    Implements s_opt = s_bar O(s_bar) of Sec. 2.5 of Lampinen & Ganguli 2019 (arXiv:1809.10374);
    0 at and below the detection threshold sigma A^(1/4).

    Args:
        s_bar: teacher singular values, any shape, finite and >= 0.
        aspect_ratio: A = N3 / N1 in (0, 1].
        noise_std: sigma_z > 0.

    Returns:
        s_opt with the shape of ``s_bar``.
    """
    sb = as_float_array("s_bar", s_bar, nonneg=True)
    return sb * overlap(sb, aspect_ratio=aspect_ratio, noise_std=noise_std)


def optimal_shrinkage(s_hat, *, aspect_ratio: float, noise_std: float = 1.0) -> np.ndarray:
    """The optimal learner as a map of the data: s_hat -> s_bar(s_hat) O(s_bar(s_hat)).

    Composes the inverse of the singular-value inflation with :func:`optimal_singular_value`
    (Lampinen & Ganguli 2019, Sec. 2.5), in the closed form (our algebra, see chapter 3)

        eta(s_hat) = sigma sqrt((y^2 - 1 - A)^2 - 4A) / y,   y = s_hat / sigma > 1 + sqrt(A),

    and 0 inside the bulk, y <= 1 + sqrt(A). This is the Frobenius-optimal shrinker of Gavish & Donoho
    2017 (arXiv:1405.7511). It is continuous: it rises from 0 at the bulk edge like a square root.
    The discriminant is factored as (y^2 - (1 + sqrt A)^2)(y^2 - (1 - sqrt A)^2), accurate at the edge.

    Args:
        s_hat: data singular values, any shape, finite and >= 0.
        aspect_ratio: A = N3 / N1 in (0, 1].
        noise_std: sigma_z > 0.

    Returns:
        Student singular values with the shape of ``s_hat``, 0 <= eta < s_hat.
    """
    a = _check_aspect(aspect_ratio)
    sigma = check_positive("noise_std", noise_std)
    sh = as_float_array("s_hat", s_hat, nonneg=True)
    with np.errstate(over="ignore"):
        y = sh / sigma
    lo, hi = 1.0 - np.sqrt(a), 1.0 + np.sqrt(a)
    above = y > hi
    far = np.isinf(y)  # s_hat / sigma beyond the float range: eta = s_hat (1 - O(sigma^2/s_hat^2))
    ys = np.where(above & ~far, y, 2.0 * hi)  # any safe value outside the outlier branch
    t = 1.0 / ys
    # sqrt((y^2-1-A)^2 - 4A) / y = y sqrt((1 - hi^2/y^2)(1 - lo^2/y^2)), no overflow for huge y
    root = ys * np.sqrt(((ys - hi) * t) * ((ys + hi) * t) * ((ys - lo) * t) * ((ys + lo) * t))
    return np.where(far, sh, sigma * np.where(above, root, 0.0))


def gavish_donoho_hard_threshold(*, aspect_ratio: float, noise_std: float = 1.0) -> float:
    """Optimal hard threshold for singular values with known noise level (Gavish & Donoho 2014).

    Implements the known-noise optimal hard threshold of Gavish & Donoho 2014 (arXiv:1305.5870),

        lambda*(beta) = sqrt(2 (beta + 1) + 8 beta / (beta + 1 + sqrt(beta^2 + 14 beta + 1))),

    with beta = A. Their noise has entries of standard deviation sigma_GD and the threshold is
    lambda* sqrt(n) sigma_GD (n the longer side); our entries have standard deviation sigma / sqrt(N1),
    so the threshold is lambda* sigma. At A = 1 it is 4 / sqrt(3) sigma, above the bulk edge 2 sigma.

    Args:
        aspect_ratio: A = N3 / N1 in (0, 1].
        noise_std: sigma_z > 0.

    Returns:
        The threshold on s_hat, a Python float.
    """
    b = _check_aspect(aspect_ratio)
    sigma = check_positive("noise_std", noise_std)
    lam = np.sqrt(2.0 * (b + 1.0) + 8.0 * b / (b + 1.0 + np.sqrt(b * b + 14.0 * b + 1.0)))
    return float(sigma * lam)


def _mode_error(s_bar: np.ndarray, s: np.ndarray, a: float, sigma: float) -> np.ndarray:
    """Asymptotic error of giving the outlier of each teacher mode the strength s, ``(...)``."""
    o = overlap(s_bar, aspect_ratio=a, noise_std=sigma)
    m = _unit(s_bar)
    s, s_bar = s / m, s_bar / m
    return np.sum(s**2 - 2.0 * s * s_bar * o + s_bar**2, axis=-1) / np.sum(s_bar**2, axis=-1)


def predicted_optimal_error(s_bar, *, aspect_ratio: float, noise_std: float = 1.0) -> np.ndarray:
    """Test error of the optimal non-gradient learner.

    Implements err_opt = sum_a s_bar_a^2 (1 - O(s_bar_a)^2) / sum_a s_bar_a^2 of Sec. 2.5 of
    Lampinen & Ganguli 2019 (arXiv:1809.10374); 1 - O^2 for rank 1, and 1 when every mode is at or
    below the detection threshold. Asymptotic in N1, N3 at fixed A: it does not depend on N1.

    Args:
        s_bar: teacher singular values, ``(r,)`` for one teacher or ``(..., r)`` for a batch.
        aspect_ratio: A = N3 / N1 in (0, 1].
        noise_std: sigma_z > 0.

    Returns:
        Errors of shape ``s_bar.shape[:-1]`` (a 0-d array for one teacher).
    """
    a = _check_aspect(aspect_ratio)
    sigma = check_positive("noise_std", noise_std)
    sb = _teacher(s_bar)
    o = overlap(sb, aspect_ratio=a, noise_std=sigma)
    sb = sb / _unit(sb)
    return np.sum(sb**2 * (1.0 - o**2), axis=-1) / np.sum(sb**2, axis=-1)


def predicted_learner_error(
    s_bar,
    learner: Learner,
    *,
    n_in: int,
    n_out: int,
    noise_std: float = 1.0,
) -> np.ndarray:
    """Test error of a singular-value learner on a noisy low-rank teacher (our derivation, chapter 3).

    Each learner keeps the data's singular vectors and sets the strength of a data mode from its
    singular value alone. Asymptotically, the outlier of teacher mode a sits at s_hat_a =
    s_hat(s_bar_a) with overlap O_a (Lampinen & Ganguli 2019, Sec. 2.2) and a learner that gives it the
    strength s_a contributes s_a^2 - 2 s_a s_bar_a O_a + s_bar_a^2 to the error (times
    1 / sum s_bar^2). For each ``learner``:

    * ``"optimal"``: s_a = s_bar_a O_a, :func:`predicted_optimal_error`;
    * ``"truncated_svd"``: s_a = s_hat_a for the top r data modes (the true rank), none of the bulk;
    * ``"hard_threshold"``: s_a = s_hat_a if s_hat_a > :func:`gavish_donoho_hard_threshold`, else 0;
    * ``"soft_threshold"``: s_a = max(s_hat_a - sigma (1 + sqrt A), 0) (threshold at the bulk edge);
    * ``"least_squares"``: the data themselves, W = Sigma^31, which gradient descent from small weights
      reaches as t -> infinity when N2 >= N3; error ||Z||_F^2 / ||W_bar||_F^2 = N3 sigma^2 / sum s_bar^2
      (exact in expectation, E ||Z||_F^2 = N3 N1 sigma^2 / N1);
    * ``"ridge"``: W = Sigma^31 / (1 + lambda) (one-hot inputs) at the best lambda. With
      S = ||W_bar||^2, <Sigma^31, W_bar> = S and ||Sigma^31||^2 = S + N3 sigma^2 in expectation, the
      best factor is c = S / (S + N3 sigma^2) and the error N3 sigma^2 / (S + N3 sigma^2).

    The threshold rules keep no bulk mode, since their thresholds lie at or above the bulk edge; the
    last two keep the whole bulk, so their errors grow with N3 at fixed s_bar.

    Args:
        s_bar: teacher singular values, ``(r,)`` or ``(..., r)``.
        learner: one of :data:`Learner`.
        n_in: N1 = P (one-hot inputs).
        n_out: N3 <= N1.
        noise_std: sigma_z > 0.

    Returns:
        Errors of shape ``s_bar.shape[:-1]``.
    """
    check_choice("learner", learner, get_args(Learner))
    n_in = check_int("n_in", n_in)
    n_out = check_int("n_out", n_out)
    if n_out > n_in:
        raise ValueError(f"aspect ratio n_out/n_in must lie in (0, 1], got {n_out}/{n_in}")
    sigma = check_positive("noise_std", noise_std)
    a = n_out / n_in
    sb = _teacher(s_bar)
    if sb.shape[-1] > n_out:
        raise ValueError(f"s_bar holds {sb.shape[-1]} modes, more than n_out={n_out}")
    if learner == "optimal":
        return predicted_optimal_error(sb, aspect_ratio=a, noise_std=sigma)
    if learner in ("least_squares", "ridge"):
        # ||W_bar||^2 and N3 sigma^2 in a common unit, so neither overflows nor underflows alone
        m = _unit(np.concatenate([sb, np.full(sb.shape[:-1] + (1,), np.sqrt(n_out) * sigma)], -1))
        total = np.sum((sb / m) ** 2, axis=-1)
        noise = n_out * (sigma / m[..., 0]) ** 2
        return noise / total if learner == "least_squares" else noise / (total + noise)
    s_hat = outlier_singular_value(sb, aspect_ratio=a, noise_std=sigma)
    if learner == "truncated_svd":
        s = s_hat
    elif learner == "hard_threshold":
        s = np.where(
            s_hat > gavish_donoho_hard_threshold(aspect_ratio=a, noise_std=sigma), s_hat, 0.0
        )
    else:  # soft_threshold
        s = np.maximum(s_hat - mp_edges(aspect_ratio=a, noise_std=sigma)[1], 0.0)
    return _mode_error(sb, s, a, sigma)
