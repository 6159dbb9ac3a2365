"""Lazy NTK vs. adaptive kernels, and transfer, for a two-layer linear network with weight decay.

Closed forms for chapter 6 (Lauditi, Bordelon & Pehlevan 2025, arXiv:2507.04448, in the mean-field /
muP parameterisation of the companion paper arXiv:2502.07998). The paper's own equations were not
available to us: every formula here is **[derived] in the paper's framework** (our derivation, see
chapter 6), checked against finite-width
gradient descent in the tests and the chapter.

Model (the paper's two-layer network in the mean-field parameterisation): f(x) = (1/(gamma N)) sum_i z_i phi(w_i . x / sqrt(D)), trained by
theta' = -N gamma^2 dL/dtheta - lam theta on L = (1/2) sum_mu (y_mu - f(x_mu))^2. For phi(h) = h,
f(x) = beta . x / sqrt(D) with beta = W^T z / (gamma N), and every weight-decay fixed point has

    beta = (C_x + kappa I)^{-1} b,   kappa = lam / (gamma |beta|),   C_x = X^T X / D,   b = X^T y / sqrt(D),

with a non-zero solution iff gamma |b| > lam (else beta = 0). Its neural tangent kernel is
K(x, x') = (gamma |beta| / D) x^T (I + beta_hat beta_hat^T) x' (the *adaptive* kernel); at
initialisation (infinite width) it is the lazy K_0(x, x') = 2 x . x' / D.

Symbols: ``P`` samples, ``D`` input dimension, ``gamma`` richness, ``lam`` weight decay, ``kappa``
effective ridge, ``q`` = gamma |beta| = (1/N) sum_i z_i^2, ``alpha`` = cos(beta_s, beta_t) task
alignment, ``rho`` = cos(beta_hat_s, beta_t), ``nu2`` = P_t / D. Layout: ``X`` is ``(P, D)``.
Teachers are normalised to |beta_*|^2 = D, so the null predictor has test MSE 1.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import optimize

from dltheory._checks import as_float_array, broadcast, check_in_range, check_int, check_positive

__all__ = [
    "LinearFixedPoint",
    "weight_decay_threshold",
    "predicted_fixed_point",
    "predicted_adaptive_kernel",
    "predicted_lazy_ntk",
    "kernel_predictor",
    "predicted_lazy_beta",
    "predicted_test_mse",
    "predicted_readout_mse",
    "predicted_scratch_mse",
    "expected_rho_squared",
    "predicted_readout_mse_alpha",
    "predicted_transfer_boundary",
    "predicted_lazy_finetune_beta",
]

# Largest |K - K^T| accepted in a Gram matrix, relative to max |K|: far above the rounding of a kernel
# evaluated in float32 (about 1e-7), far below the asymmetry of a matrix that is not a kernel.
_SYMMETRY_RTOL = 1e-4


def _check_inputs(name: str, X) -> np.ndarray:
    X = as_float_array(name, X, ndim=2)
    if X.shape[1] == 0:
        raise ValueError(f"{name} must have at least one column (input dimension D >= 1)")
    return X


def _check_data(X, y) -> tuple[np.ndarray, np.ndarray]:
    X = _check_inputs("X", X)
    if X.shape[0] == 0:
        raise ValueError("X must hold at least one sample (a row)")
    y = as_float_array("y", y, ndim=1)
    if y.shape[0] != X.shape[0]:
        raise ValueError(f"y must have X.shape[0] = {X.shape[0]} entries, got {y.shape[0]}")
    return X, y


def _check_cosine(name: str, value) -> np.ndarray:
    c = as_float_array(name, value)
    if np.any(np.abs(c) > 1):
        raise ValueError(f"{name} is a cosine and must lie in [-1, 1]")
    return c


@dataclass(frozen=True)
class LinearFixedPoint:
    """The weight-decay fixed point of the two-layer linear network on one data set.

    Attributes:
        beta: the network's linear map beta = W^T z / (gamma N), ``(D,)``; zero below threshold.
        norm: |beta|.
        kappa: effective ridge lam / (gamma |beta|) (``inf`` below threshold).
        q: kernel scale gamma |beta| = (1/N) sum_i z_i^2 (the gradient kernel G).
        threshold: the weight decay lam_c = gamma |X^T y| / sqrt(D) above which beta = 0.
    """

    beta: np.ndarray
    norm: float
    kappa: float
    q: float
    threshold: float

    @property
    def nonzero(self) -> bool:
        """Whether the solution is non-zero (lam below the threshold)."""
        return self.norm > 0


def weight_decay_threshold(X, y, *, gamma: float) -> float:
    """Weight decay above which the only fixed point is beta = 0 [derived].

    A non-zero fixed point exists iff gamma |X^T y| / sqrt(D) > lam (see :func:`weight_decay_fixed_point`).

    Args:
        X: inputs, ``(P, D)``, P >= 1 and D >= 1.
        y: labels, ``(P,)``.
        gamma: richness, > 0.

    Returns:
        lam_c = gamma |X^T y| / sqrt(D).
    """
    X, y = _check_data(X, y)
    return _threshold(X, y, check_positive("gamma", gamma))


def _norm(v: np.ndarray) -> float:
    """|v|, rescaled only where the plain sum of squares underflows or overflows (same float otherwise)."""
    with np.errstate(over="ignore", under="ignore"):
        n = float(np.linalg.norm(v))
    if (n == 0.0 and np.any(v)) or np.isinf(n):
        m = float(np.max(np.abs(v)))
        n = m * float(np.linalg.norm(v / m))
    return n


def _threshold(X: np.ndarray, y: np.ndarray, gamma: float) -> float:
    # The one computation of lam_c: the fixed-point solver decides its branch with this same float, so
    # lam = weight_decay_threshold(...) lands on the same side of it on every machine and BLAS kernel.
    return gamma * _norm(X.T @ y) / np.sqrt(X.shape[1])


def predicted_fixed_point(X, y, *, gamma: float, lam: float) -> LinearFixedPoint:
    """Solve the weight-decay fixed point beta = (C_x + kappa I)^{-1} b, kappa = lam/(gamma|beta|).

    [derived] in the paper's framework. With u = 1/kappa the norm condition reads
    h(u) = sum_k b_k^2 / (1 + c_k u)^2 = (lam/gamma)^2 in the eigenbasis (c_k, v_k) of C_x. h falls
    monotonically from |b|^2 at u = 0 to 0, so there is exactly one root when gamma |b| > lam (found by
    ``brentq`` on a bracket grown by doubling) and none otherwise (then beta = 0). Working in u rather
    than |beta| keeps the solve well-conditioned at the threshold, where u -> 0 continuously. The
    coordinates of b on numerically null eigenvectors of C_x (P < D) are rounding and are dropped, so a
    root exists for every lam > 0 and beta tends to the minimum-norm interpolant as lam -> 0.

    Args:
        X: inputs, ``(P, D)``, P >= 1 and D >= 1.
        y: labels, ``(P,)``.
        gamma: richness, > 0.
        lam: weight decay, > 0.

    Returns:
        The :class:`LinearFixedPoint`.
    """
    X, y = _check_data(X, y)
    gamma, lam = check_positive("gamma", gamma), check_positive("lam", lam)
    P, D = X.shape
    threshold = _threshold(X, y, gamma)
    if not threshold > lam:
        return LinearFixedPoint(np.zeros(D), 0.0, float("inf"), 0.0, threshold)
    c, V = np.linalg.eigh(X.T @ X / D)
    c_max = c.max()
    # Solve in units where |b| = 1 and max c_k = 1 (u' = u c_max), so neither tiny nor huge X, y or
    # lam underflow or overflow the squares below.
    c = np.clip(c / c_max, 0.0, None)
    bk = V.T @ (X.T @ y) / np.sqrt(D)
    # b = X^T y / sqrt(D) lies in the range of C_x, so its coordinates on the numerically null
    # eigenvectors (P < D) are rounding. Left in, they keep h(u) above a floor of ~1e-32 as u -> inf,
    # so a small lam (below ~1e-16) had no root, and they add bk u of junk to beta as u = 1/kappa grows.
    bk = np.where(c > max(P, D) * np.finfo(float).eps, bk, 0.0)
    b_norm = _norm(bk)
    bk = bk / b_norm
    target = (lam / (gamma * b_norm)) ** 2

    def excess(u):
        return float(np.sum((bk / (1.0 + c * u)) ** 2)) - target

    if not excess(0.0) > 0:
        # lam within rounding of lam_c from below: the root u -> 0 continuously, so beta is zero to
        # within rounding, and brentq would have no sign change to bracket.
        return LinearFixedPoint(np.zeros(D), 0.0, float("inf"), 0.0, threshold)
    hi = 1.0
    # h(u) -> 0 as u -> inf now that b has no null-space part, and each term underflows to 0 by
    # u ~ 1e162 / (D eps): the doubling ends long before the cap
    while excess(hi) > 0 and hi < 1e300:
        hi *= 2.0
    u = optimize.brentq(excess, 0.0, hi, xtol=1e-300, rtol=4 * np.finfo(float).eps, maxiter=500)
    beta = V @ (bk * (u / (1.0 + c * u))) * (b_norm / c_max)
    norm = _norm(beta)
    return LinearFixedPoint(beta, norm, lam / (gamma * norm), gamma * norm, threshold)


def predicted_adaptive_kernel(X1, X2, beta, *, gamma: float) -> np.ndarray:
    """The trained network's NTK K(x, x') = (gamma |beta| / D) x^T (I + beta_hat beta_hat^T) x'.

    [derived] in the paper's framework: at the fixed point every hidden unit aligns with
    beta_hat, so the feature kernel Phi = (gamma |beta| / D)(beta_hat . x)(beta_hat . x') has rank one,
    and the gradient kernel is G = gamma |beta|; K = Phi + G x . x' / D.

    Args:
        X1: inputs, ``(P1, D)``.
        X2: inputs, ``(P2, D)``.
        beta: fixed point, ``(D,)`` (zero gives the zero kernel).
        gamma: richness, > 0.

    Returns:
        K(X1, X2), ``(P1, P2)``.
    """
    beta = as_float_array("beta", beta, ndim=1)
    D = beta.size
    if D == 0:
        raise ValueError("beta must have at least one entry (input dimension D >= 1)")
    X1, X2 = as_float_array("X1", X1, ndim=2), as_float_array("X2", X2, ndim=2)
    for name, Xi in (("X1", X1), ("X2", X2)):
        if Xi.shape[1] != D:
            raise ValueError(f"{name} must have D = beta.size = {D} columns, got {Xi.shape[1]}")
    gamma = check_positive("gamma", gamma)
    norm = _norm(beta)
    if norm == 0:
        return np.zeros((X1.shape[0], X2.shape[0]))
    bh = beta / norm
    return gamma * norm / D * (X1 @ X2.T + np.outer(X1 @ bh, X2 @ bh))


def predicted_lazy_ntk(X1, X2) -> np.ndarray:
    """The infinite-width NTK of the linear network at initialisation, K_0(x, x') = 2 x . x' / D.

    At initialisation (w_i ~ N(0, I), z_i ~ N(0, 1), N -> inf) Phi_0 = x . x' / D and G_0 = 1, so
    K_0 = Phi_0 + G_0 C. This is the lazy (gamma -> 0) reference kernel.

    Args:
        X1: inputs, ``(P1, D)``.
        X2: inputs, ``(P2, D)``.

    Returns:
        K_0(X1, X2), ``(P1, P2)``.
    """
    X1, X2 = _check_inputs("X1", X1), as_float_array("X2", X2, ndim=2)
    if X1.shape[1] != X2.shape[1]:
        raise ValueError(
            f"X2 must have as many columns as X1, got shapes X1 {X1.shape} and X2 {X2.shape}"
        )
    return 2.0 * X1 @ X2.T / X1.shape[1]


def kernel_predictor(K_train, K_test_train, y, *, ridge: float) -> np.ndarray:
    """Kernel (ridge) regression f(x) = K(x, X) (K(X, X) + ridge I)^{-1} y.

    The adaptive-kernel predictor of the paper uses ridge = 2 lam with the trained NTK; ridge = 0
    gives the minimum-norm interpolant (pseudo-inverse), the limit of gradient flow without weight
    decay from a zero function.

    Args:
        K_train: K(X, X), ``(P, P)``, symmetric (to a relative 1e-4, the rounding of a float32 kernel).
        K_test_train: K(X_test, X), ``(P_test, P)``.
        y: labels, ``(P,)``.
        ridge: ridge >= 0.

    Returns:
        Predictions on X_test, ``(P_test,)``.
    """
    K = as_float_array("K_train", K_train, ndim=2)
    P = K.shape[0]
    if K.shape != (P, P) or P == 0:
        raise ValueError(f"K_train must be a non-empty square (P, P) matrix, got shape {K.shape}")
    # A kernel's Gram matrix is symmetric; the tolerance admits the rounding of a float32 NTK.
    if np.max(np.abs(K - K.T)) > _SYMMETRY_RTOL * np.max(np.abs(K)):
        raise ValueError("K_train must be symmetric (a kernel's Gram matrix K(X, X))")
    Kx = as_float_array("K_test_train", K_test_train, ndim=2)
    if Kx.shape[1] != P:
        raise ValueError(f"K_test_train must have P = {P} columns, got shape {Kx.shape}")
    y = as_float_array("y", y, ndim=1)
    if y.size != P:
        raise ValueError(f"y must have P = {P} entries (the rows of K_train), got {y.size}")
    ridge = float(as_float_array("ridge", ridge, nonneg=True, ndim=0))
    if ridge == 0:
        return Kx @ np.linalg.lstsq(K, y, rcond=None)[0]
    return Kx @ np.linalg.solve(K + ridge * np.eye(P), y)


def predicted_lazy_beta(X, y, *, lam: float) -> np.ndarray:
    """Linear map of the lazy predictor: kernel regression with K_0 = 2 x . x'/D and ridge 2 lam.

    K_0(x, X)(K_0(X, X) + 2 lam I)^{-1} y = x . beta_lazy / sqrt(D) with
    beta_lazy = (C_x + lam I)^{-1} b: ordinary ridge regression with ridge lam. For P < D it is
    solved in its dual form X^T (X X^T / D + lam I)^{-1} y / sqrt(D) (the same map), whose matrix
    stays well conditioned as lam -> 0, so beta_lazy tends to the minimum-norm interpolant.

    Args:
        X: inputs, ``(P, D)``.
        y: labels, ``(P,)``.
        lam: weight decay, > 0.

    Returns:
        beta_lazy, ``(D,)``.
    """
    X, y = _check_data(X, y)
    lam = check_positive("lam", lam)
    P, D = X.shape
    if P < D:
        # C_x is singular here: the primal matrix has condition ~ 1/lam, the dual one does not
        return X.T @ np.linalg.solve(X @ X.T / D + lam * np.eye(P), y) / np.sqrt(D)
    return np.linalg.solve(X.T @ X / D + lam * np.eye(D), X.T @ y / np.sqrt(D))


def predicted_test_mse(beta, beta_star) -> np.ndarray:
    """Test MSE |beta - beta_*|^2 / D of f(x) = beta . x / sqrt(D) on x ~ N(0, I_D), noiseless teacher.

    Args:
        beta: student maps, ``(..., D)``.
        beta_star: teacher maps, ``(..., D)`` (broadcast against ``beta``).

    Returns:
        Test MSE, ``(...)``.
    """
    beta, beta_star = as_float_array("beta", beta), as_float_array("beta_star", beta_star)
    for name, b in (("beta", beta), ("beta_star", beta_star)):
        if b.ndim == 0 or b.shape[-1] == 0:
            raise ValueError(f"{name} must have a non-empty last axis D, got shape {b.shape}")
    if beta.shape[-1] != beta_star.shape[-1]:
        raise ValueError(
            f"beta and beta_star must have the same last dimension D, got {beta.shape[-1]} and "
            f"{beta_star.shape[-1]}"
        )
    beta, beta_star = broadcast(beta=beta, beta_star=beta_star)
    return np.sum((beta - beta_star) ** 2, axis=-1) / beta.shape[-1]


def predicted_readout_mse(rho, P_t: int) -> np.ndarray:
    """Expected test MSE of a readout on source features: (1 - rho^2)(1 + 1/(P_t - 2)).

    [derived] in the paper's framework (its transfer setting (i), a readout on frozen source
    features): after weight-decay pretraining every hidden
    unit computes beta_hat_s . x, so the readout fits one coefficient by least squares on P_t > 2
    Gaussian samples of a unit-variance target with correlation rho to beta_hat_s . x; the residual
    variance 1 - rho^2 is inflated by E[1/chi^2_{P_t}] (P_t - 2 appears from that inverse moment).

    Args:
        rho: cos(beta_hat_s, beta_t), any shape, in [-1, 1].
        P_t: target samples, >= 3.

    Returns:
        Expected MSE, same shape as ``rho``.
    """
    rho = as_float_array("rho", rho)
    if np.any(np.abs(rho) > 1):
        raise ValueError("rho must lie in [-1, 1]")
    P_t = check_int("P_t", P_t, minimum=3)
    return (1.0 - rho**2) * (1.0 + 1.0 / (P_t - 2))


def predicted_scratch_mse(P_t: int, D: int) -> float:
    """Expected test MSE (1 - P_t/D)_+ of min-norm regression from scratch on a noiseless teacher.

    The min-norm solution projects beta_t on the span of P_t isotropic Gaussian inputs, a uniformly
    random P_t-dimensional subspace, so E MSE = (1 - P_t/D) exactly for P_t < D (0 above).

    Args:
        P_t: target samples, >= 1.
        D: input dimension, >= 1.

    Returns:
        Expected MSE.
    """
    P_t, D = check_int("P_t", P_t), check_int("D", D)
    return max(1.0 - P_t / D, 0.0)


def expected_rho_squared(alpha, cos_source, D: int) -> np.ndarray:
    """E[rho^2] for rho = cos(beta_hat_s, beta_t), given alpha and c = cos(beta_hat_s, beta_s).

    With beta_hat_s = c e_s + sqrt(1 - c^2) e_perp and beta_t = alpha e_s + sqrt(1 - alpha^2) e_t
    (e_perp, e_t independent random unit vectors orthogonal to e_s),
    E[rho^2] = alpha^2 c^2 + (1 - alpha^2)(1 - c^2)/(D - 1). [derived]

    Args:
        alpha: teacher alignment(s) cos(beta_s, beta_t), any shape, in [-1, 1].
        cos_source: c in [-1, 1], broadcast against ``alpha``.
        D: input dimension, >= 2.

    Returns:
        E[rho^2], broadcast shape.
    """
    alpha, c = _check_cosine("alpha", alpha), _check_cosine("cos_source", cos_source)
    alpha, c = broadcast(alpha=alpha, cos_source=c)
    D = check_int("D", D, minimum=2)
    return alpha**2 * c**2 + (1 - alpha**2) * (1 - c**2) / (D - 1)


def predicted_readout_mse_alpha(alpha, cos_source, P_t: int, D: int) -> np.ndarray:
    """Readout MSE against the teacher alignment: (1 - E[rho^2])(1 + 1/(P_t - 2)). [derived]

    Args:
        alpha: teacher alignment(s), any shape, in [-1, 1].
        cos_source: c = cos(beta_hat_s, beta_s) of the source fixed point (1 for infinite P_s), in
            [-1, 1], broadcast against ``alpha``.
        P_t: target samples, >= 3.
        D: input dimension, >= 2.

    Returns:
        Expected MSE, broadcast shape.
    """
    P_t = check_int("P_t", P_t, minimum=3)
    rho2 = expected_rho_squared(alpha, cos_source, D)
    return (1.0 - rho2) * (1.0 + 1.0 / (P_t - 2))


def predicted_transfer_boundary(P_t: int, D: int, cos_source: float = 1.0) -> float:
    """Alignment alpha* above which the readout beats min-norm scratch training (positive transfer).

    Solves (1 - E[rho^2])(1 + 1/(P_t - 2)) = 1 - P_t/D for alpha (``nan`` if no alpha in [0, 1]
    gives positive transfer); for large P_t and c = 1 this is alpha*^2 ~ nu2 = P_t/D. [derived]
    E[rho^2] grows with alpha only when c^2 > 1/D; for c^2 <= 1/D it stays at or below 1/D, under
    the value positive transfer needs, and the answer is ``nan``.

    Args:
        P_t: target samples, >= 3.
        D: input dimension, >= 2.
        cos_source: c = cos(beta_hat_s, beta_s) of the source fixed point, in [-1, 1] (only c^2
            enters).

    Returns:
        alpha* in [0, 1], or nan.
    """
    P_t, D = check_int("P_t", P_t, minimum=3), check_int("D", D, minimum=2)
    c2 = check_in_range("cos_source", cos_source, -1.0, 1.0) ** 2
    need = 1.0 - predicted_scratch_mse(P_t, D) / (1.0 + 1.0 / (P_t - 2))  # required E[rho^2]
    e = (1 - c2) / (D - 1)
    # E[rho^2] = e + alpha^2 (c^2 - e) and need >= P_t/D > 1/(D - 1) >= e: unless c^2 > e (a source
    # direction better aligned than a random one, c^2 > 1/D), E[rho^2] <= e < need for every alpha.
    if not c2 > e:
        return float("nan")
    a2 = (need - e) / (c2 - e)
    if a2 > 1:
        return float("nan")
    return float(np.sqrt(max(a2, 0.0)))


def predicted_lazy_finetune_beta(X, y, beta_s) -> np.ndarray:
    """Lazy fine-tuning of all weights from the source fixed point (gamma_2 -> 0, no weight decay).

    [derived] in the paper's framework (its transfer setting (ii), fine-tuning all weights): f_t = f_s + K_s(x, X) K_s(X, X)^{-1}
    (y - f_s(X)) with K_s proportional to x^T A x', A = I + beta_hat_s beta_hat_s^T, i.e. in weight space
    beta_t = beta_s + sqrt(D) A X^T (X A X^T)^{-1} (y - X beta_s / sqrt(D)), the minimum-|.|_{A^{-1}}
    correction from beta_s (P <= D).

    Args:
        X: target inputs, ``(P, D)`` with P <= D.
        y: target labels, ``(P,)``.
        beta_s: source fixed point, ``(D,)``, non-zero.

    Returns:
        beta_t, ``(D,)``.
    """
    X, y = _check_data(X, y)
    beta_s = as_float_array("beta_s", beta_s, ndim=1)
    P, D = X.shape
    if beta_s.size != D:
        raise ValueError(f"beta_s must have D = {D} entries, got {beta_s.size}")
    if P > D:
        raise ValueError(
            f"X must have at most D = {D} rows (P <= D, so the correction can interpolate), got {P}"
        )
    norm = _norm(beta_s)
    if norm == 0:
        raise ValueError("beta_s must be non-zero (the source fixed point is above threshold)")
    bh = beta_s / norm
    XA = X + np.outer(X @ bh, bh)  # rows x^T A
    r = y - X @ beta_s / np.sqrt(D)
    coef = np.linalg.lstsq(XA @ X.T, r, rcond=None)[0]
    return beta_s + np.sqrt(D) * XA.T @ coef
