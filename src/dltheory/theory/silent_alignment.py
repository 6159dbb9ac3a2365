"""Closed forms for the silent alignment effect of Atanasov, Bordelon & Pehlevan (2022), "Neural
networks as kernel learners: the silent alignment effect", arXiv:2111.00034, for linear networks.

The derivations are the book's; they rest on the mode dynamics of :mod:`dltheory.theory.mode_dynamics`
(Saxe et al. 2014). Setting: a scalar linear network f(x) = a^T W_{L-1} ... W_1 x with ``n_weights`` = L
weight matrices, trained by gradient flow on L(w) = |X w - y|^2 / (2P) for its end-to-end vector
w = W_1^T ... W_{L-1}^T a. Its tangent kernel is linear, K(x, x') = x^T M x' with

    M = B^T B + sum_{l=1}^{L-1} |u_l|^2 B_{l-1}^T B_{l-1},   B_l = W_l ... W_1,  u_l^T = a^T W_{L-1} ... W_{l+1}.

Inputs are *whitened* when X X^T = P I (P <= D: the rows are orthogonal with norm sqrt(P)). The
gradient -dL/dw = X^T (y - X w)/P then starts along g = X^T y / P, of length b = |g|, and the
network's product map grows along v = g / b as one mode of strength s(t) that follows
``predicted_mode_strength(t, b, eps, tau, n_weights)``. Once the mode is balanced and rank one, each
layer carries s^(1/L) and

    M(t) = s^(2 - 4/L) M0 + s(t)^(2 - 2/L) (I + (L - 1) v v^T).                       (book's)

For L = 2, M0 is the kernel of the small random initialisation, which the mode leaves in place (the
weights' part orthogonal to the mode barely moves). For L > 2 the book uses a decoupled initialisation:
the mode aligned and balanced at strength eps, and a small random first layer J orthogonal to it
(J v = 0, h^T J = 0 for the mode's hidden direction h); then J never moves, w = s v exactly and
M0 = J^T J is multiplied by the s^(1/L) of every later layer. The kernel changes *direction* while
s^(2/L) passes the scale of M0, long before s is a sizable fraction of b, so the
kernel-target alignment

    A(t) = <K_t, y y^T>_F / (|K_t|_F |y|^2),   K_t = X M(t) X^T,

is nearly final while the loss (b - s)^2 / 2 (whitened, y in the row space) has barely moved: the
silent alignment. Everything here depends on time only through s, so the alignment and the loss at a
given s are independent of the initial strength eps, which only shifts time.

For *anisotropic* inputs the early direction g differs from the final one (the min-norm interpolant)
and the rank-one part keeps turning while the loss falls. In the limit of small initialisation the
network stays balanced and rank one, and w follows the reduced flow (book's; for L = 2 it is the
two-layer flow dw/dt = |w| (I + w w^T / |w|^2) r)

    dw/dt = |w|^(2 - 2/L) (I + (L - 1) w w^T / |w|^2) X^T (y - X w) / P,   w(0) = eps g / b,

which :func:`reduced_flow` integrates; for whitened inputs it reduces to the closed-form mode.
"""

from __future__ import annotations

import numpy as np
from scipy import integrate, optimize

from dltheory._checks import (
    ArgumentTypeError,
    as_float_array,
    check_in_range,
    check_nonneg,
    check_positive,
)
from dltheory.theory.mode_dynamics import (
    _check_depth,
    predicted_mode_strength,
    predicted_time_to_strength,
)

__all__ = [
    "kernel_alignment",
    "linear_ntk",
    "alignment_from_strength",
    "predicted_alignment",
    "predicted_silent_times",
    "two_layer_theory",
    "first_crossing",
    "reduced_flow",
    "reduced_alignment",
    "kernel_regression",
    "kr_gap_from_init",
    "predicted_kr_gap",
]


def _data(X, y) -> tuple[np.ndarray, np.ndarray]:
    X = as_float_array("X", X, ndim=2)
    y = as_float_array("y", y, ndim=1)
    if X.shape[0] != y.shape[0] or X.shape[0] < 2:
        raise ValueError(f"X (P, D) and y (P,) must share P >= 2 rows, got {X.shape} and {y.shape}")
    if not np.any(y):
        raise ValueError("y must not be all zero (the target kernel y y^T would vanish)")
    return X, y


def kernel_alignment(K, y) -> np.ndarray:
    """Kernel-target alignment <K, y y^T>_F / (|K|_F |y|^2) of Gram matrices ``K`` (..., P, P)."""
    K = as_float_array("K", K)
    y = as_float_array("y", y, ndim=1)
    if K.ndim < 2 or K.shape[-2:] != (y.size, y.size):
        raise ValueError(f"K must have shape (..., P, P) with P = y.size = {y.size}, got {K.shape}")
    norm = np.linalg.norm(K, axis=(-2, -1))
    if np.any(norm == 0) or not np.any(y):
        raise ValueError("K and y must be non-zero for the alignment to be defined")
    return np.einsum("...ij,i,j->...", K, y, y) / (norm * (y @ y))


def linear_ntk(s, v, *, n_weights: int = 2, m0=0.0) -> np.ndarray:
    """Input-space tangent kernel M = s^(2-4/L) M0 + s^(2-2/L) (I + (L-1) v v^T) of the mode.

    For L = 2 the first term is the constant initial kernel M0; for L > 2 it is the first layer's
    random part J^T J, which every later layer multiplies by the mode's s^(1/L) (module docstring).

    Args:
        s: mode strength(s) >= 0, scalar or ``(T,)``.
        v: the mode's input direction, ``(D,)``, non-zero (normalised here).
        n_weights: number of weight matrices L >= 2.
        m0: M0, a scalar >= 0 (M0 = m0 I) or a symmetric ``(D, D)`` matrix.

    Returns:
        ``(D, D)`` for scalar ``s``, else ``(T, D, D)``.
    """
    n_weights = _check_depth(n_weights)
    s = as_float_array("s", s, nonneg=True)
    v = as_float_array("v", v, ndim=1)
    if not np.any(v):
        raise ValueError("v must be a non-zero direction")
    M0 = _initial_kernel(m0, v.size)
    v = v / np.linalg.norm(v)
    g = s[..., None, None] ** (2.0 - 2.0 / n_weights)
    g0 = s[..., None, None] ** (2.0 - 4.0 / n_weights)
    eye = np.eye(v.size)
    return g0 * M0 + g * (eye + (n_weights - 1) * np.outer(v, v))


def _initial_kernel(m0, D: int) -> np.ndarray:
    """m0 as a (D, D) matrix: a scalar >= 0 is m0 I; a matrix must be symmetric PSD-sized (D, D)."""
    m = as_float_array("m0", m0)
    if m.ndim == 0:
        return check_nonneg("m0", float(m)) * np.eye(D)
    if m.shape != (D, D) or not np.allclose(m, m.T):
        raise ValueError(
            f"m0 must be a scalar >= 0 or a symmetric ({D}, {D}) matrix, got {m.shape}"
        )
    return m


def alignment_from_strength(s, X, y, *, n_weights: int = 2, m0=0.0) -> np.ndarray:
    """Alignment A of K = X M X^T at mode strength(s) ``s``, M from :func:`linear_ntk`.

    v = X^T y / |X^T y|; ``m0`` is the initial kernel M0, a scalar (M0 = m0 I) or a ``(D, D)`` matrix
    (the measured kernel of one initialisation). A depends on s only through the ratio s^(2/L) of the
    mode's part to M0's, so it is defined at s = 0 too. Costs O(T) after O(P^2 D) set-up.
    """
    n_weights = _check_depth(n_weights)
    X, y = _data(X, y)
    M0 = _initial_kernel(m0, X.shape[1])
    s = as_float_array("s", s, nonneg=True)
    g = X.T @ y
    if not np.any(g):
        raise ValueError("X^T y must be non-zero (the data must pick a direction)")
    xv = X @ (g / np.linalg.norm(g))
    K0 = X @ M0 @ X.T
    Q = X @ X.T + (n_weights - 1) * np.outer(xv, xv)  # K per unit of s^(2-2/L)
    rho = s ** (2.0 / n_weights)  # mode over initial part
    num = y @ K0 @ y + rho * (y @ Q @ y)
    norm2 = np.sum(K0 * K0) + 2 * rho * np.sum(K0 * Q) + rho**2 * np.sum(Q * Q)
    if np.any(norm2 <= 0):
        raise ValueError("the kernel vanishes: give a non-zero m0 or s > 0")
    return num / (np.sqrt(norm2) * (y @ y))


def _whitened_strength(X, y) -> float:
    X, y = _data(X, y)
    P = X.shape[0]
    G = X @ X.T
    if not np.allclose(G, P * np.eye(P), rtol=0, atol=1e-8 * P):
        raise ValueError("X must be whitened, X X^T = P I (orthogonal rows of norm sqrt(P))")
    return float(np.linalg.norm(X.T @ y) / P)


def predicted_alignment(t, X, y, *, eps: float, tau: float, n_weights: int = 2, m0=0.0):
    """Alignment A(t) and loss L(t) = (b - s)^2 / 2 of the mode on whitened data, ``(T,)`` each.

    ``s(t) = predicted_mode_strength(t, b, eps, tau, n_weights)`` with b = |X^T y| / P; ``y`` must lie in
    the row space of X (a noiseless teacher) for the loss to be (b - s)^2 / 2.
    """
    b = _whitened_strength(X, y)
    s = predicted_mode_strength(t, b, eps=eps, tau=tau, n_weights=n_weights)
    return alignment_from_strength(s, X, y, n_weights=n_weights, m0=m0), 0.5 * (b - s) ** 2


def _strength_at_alignment(X, y, n_weights, m0, fraction, b) -> float:
    final = alignment_from_strength(b, X, y, n_weights=n_weights, m0=m0)
    start = alignment_from_strength(0.0, X, y, n_weights=n_weights, m0=m0)
    target = fraction * final
    if start >= target:
        return 0.0
    f = lambda s: alignment_from_strength(s, X, y, n_weights=n_weights, m0=m0) - target  # noqa: E731
    return optimize.brentq(f, 0.0, b, xtol=1e-14 * b, rtol=1e-12)


def predicted_silent_times(
    X, y, *, eps: float, tau: float, n_weights: int = 2, m0, fraction: float = 0.9,
    loss_drop: float = 0.1,
) -> dict:  # fmt: skip
    """Alignment time, loss-drop time and what the loss and alignment are then, on whitened data.

    The alignment time is when A(t) first reaches ``fraction`` of its final value A(inf); the loss-drop
    time is when the loss has fallen by ``loss_drop`` of its initial value, s = b (1 - sqrt(1 - drop)).

    Returns:
        dict with ``t_align``, ``t_loss``, ``ratio`` = t_align / t_loss, ``s_align``, ``s_loss``,
        ``loss_at_align`` (fraction of the initial loss left at t_align), ``align_at_loss`` (A at
        t_loss over A(inf)), ``a_final`` and ``a_start``.
    """
    n_weights = _check_depth(n_weights)
    eps = check_positive("eps", eps)
    fraction = check_in_range("fraction", fraction, 0.0, 1.0)
    loss_drop = check_in_range("loss_drop", loss_drop, 0.0, 1.0)
    if fraction in (0.0, 1.0) or loss_drop in (0.0, 1.0):
        raise ValueError("fraction and loss_drop must lie strictly between 0 and 1")
    b = _whitened_strength(X, y)
    s_loss = b * (1.0 - np.sqrt(1.0 - loss_drop))
    s_align = _strength_at_alignment(X, y, n_weights, m0, fraction, b)
    if not eps < min(s_align, s_loss):
        raise ValueError(
            f"eps={eps!r} must be below the strengths at alignment ({s_align:.3g}) and at the loss "
            f"drop ({s_loss:.3g}): the initialisation is too large for a silent phase"
        )
    t_align, t_loss = (
        float(predicted_time_to_strength(s, b, eps=eps, tau=tau, n_weights=n_weights))
        for s in (s_align, s_loss)
    )
    a = alignment_from_strength(np.array([0.0, s_loss, b]), X, y, n_weights=n_weights, m0=m0)
    return {
        "t_align": t_align,
        "t_loss": t_loss,
        "ratio": t_align / t_loss,
        "s_align": s_align,
        "s_loss": s_loss,
        "loss_at_align": (1.0 - s_align / b) ** 2,
        "align_at_loss": float(a[1] / a[2]),
        "a_final": float(a[2]),
        "a_start": float(a[0]),
    }


def _matched_state(t, W0, a0, X, y, tau):
    """(W(t), a(t)) of the two-layer network, (T, N, D) and (T, N): the book's matched solution."""
    P = X.shape[0]
    g = X.T @ y / P
    b = float(np.linalg.norm(g))
    v = g / b
    c0 = W0 @ v
    p, d = (c0 + a0) / 2, (c0 - a0) / 2
    eps = float(p @ p)
    if not 0 < eps < b:
        raise ValueError(
            f"the initial mode strength |(W0 v + a0)/2|^2 = {eps:.3g} must lie in (0, b)"
        )
    e = p / np.sqrt(eps)
    s = predicted_mode_strength(t, b, eps=eps, tau=tau)
    x = b * t / tau
    decay = np.exp(-x)
    # fraction of W0's row-space part along e that survives: exp(-int |a|^2 dt / tau)
    with np.errstate(over="ignore"):
        keep = np.exp(-0.5 * np.log1p(eps / b * np.expm1(2 * x)))
    c = np.sqrt(s)[:, None] * e + decay[:, None] * d
    a = np.sqrt(s)[:, None] * e - decay[:, None] * d
    W_perp = W0 - np.outer(c0, v)
    row = np.linalg.pinv(X) @ X  # projection on the row space of X
    along = np.outer(e, e @ W_perp @ row)
    W = W_perp[None] - (1.0 - keep)[:, None, None] * along[None] + c[:, :, None] * v
    return W, a, s, b


def two_layer_theory(t, W0, a0, X, y, *, tau: float = 1.0) -> dict:
    """Kernel alignment and loss over time of a two-layer linear network from its initial weights.

    Book's matched solution on whitened data: while the loss is near its start the flow is linear,
    r = X^T y / P = b v, and solves exactly, c = W v and a growing as cosh/sinh of b t / tau from
    (W0 v, a0), the part of W orthogonal to v fixed; after, c = a = sqrt(s(t)) e along the grown
    direction e = (W0 v + a0)/|W0 v + a0|, s(t) from ``predicted_mode_strength`` at
    eps = |(W0 v + a0)/2|^2 (chapter 1's effective strength), and the row-space part of W along e
    decays as exp(-int |a|^2 dt / tau). The null-space part of W never moves.

    Args:
        t: times ``(T,)`` in units of tau (steps times the learning rate when tau = 1).
        W0: first-layer weights ``(N, D)``; a0: read-out ``(N,)``.
        X: whitened inputs ``(P, D)``, X X^T = P I; y: targets ``(P,)`` in its row space.
        tau: time constant.

    Returns:
        dict of ``align`` and ``loss`` ``(T,)``, ``kernel`` ``(T, D, D)`` (M of K(x, x') = x^T M x'),
        ``w`` ``(T, D)`` and ``eps``.
    """
    tau = check_positive("tau", tau)
    t = as_float_array("t", t, ndim=1, nonneg=True)
    b_check = _whitened_strength(X, y)
    W0 = as_float_array("W0", W0, ndim=2)
    a0 = as_float_array("a0", a0, ndim=1)
    if W0.shape != (a0.size, X.shape[1]):
        raise ValueError(f"W0 must be (N, D) = ({a0.size}, {X.shape[1]}), got {W0.shape}")
    W, a, _, b = _matched_state(t, W0, a0, X, y, tau)
    assert np.isclose(b, b_check)
    M = np.swapaxes(W, 1, 2) @ W + np.sum(a**2, 1)[:, None, None] * np.eye(X.shape[1])
    w = np.einsum("tnd,tn->td", W, a)
    align = kernel_alignment(X @ M @ X.T, y)
    loss = 0.5 * np.mean((w @ X.T - y) ** 2, axis=1)
    c0 = W0 @ (X.T @ y) / np.linalg.norm(X.T @ y)
    return {
        "align": align,
        "loss": loss,
        "kernel": M,
        "w": w,
        "eps": float(np.sum((c0 + a0) ** 2) / 4),
    }


def first_crossing(t, x, level, *, falling: bool = False) -> float:
    """First time the curve ``x`` sampled at ``t`` reaches ``level`` (linear interpolation); nan if never."""
    t = as_float_array("t", t, ndim=1)
    x = as_float_array("x", x, ndim=1)
    level = float(as_float_array("level", level))
    if t.size != x.size or t.size < 2 or np.any(np.diff(t) <= 0):
        raise ValueError("t must be increasing and x the same length as t (at least 2 points)")
    hit = (x <= level) if falling else (x >= level)
    if not hit.any():
        return float("nan")
    k = int(np.argmax(hit))
    if k == 0:
        return float(t[0])
    x0, x1 = x[k - 1], x[k]
    return float(t[k - 1] + (t[k] - t[k - 1]) * (level - x0) / (x1 - x0))


def reduced_flow(t, X, y, *, eps: float, tau: float, n_weights: int = 2) -> np.ndarray:
    """End-to-end vector w(t) of the small-initialisation limit (module docstring), ``(T, D)``.

    Starts at ``eps`` along g = X^T y / P and integrates the balanced rank-one flow with
    :func:`scipy.integrate.solve_ivp` (LSODA, rtol 1e-10) in time t / tau.
    """
    n_weights = _check_depth(n_weights)
    eps = check_positive("eps", eps)
    tau = check_positive("tau", tau)
    X, y = _data(X, y)
    t = as_float_array("t", t, ndim=1, nonneg=True)
    if t.size == 0 or np.any(np.diff(t) <= 0):
        raise ValueError("t must be a non-empty increasing array of times")
    P = X.shape[0]
    g = X.T @ y / P
    if not np.any(g):
        raise ValueError("X^T y must be non-zero (the data must pick a direction)")
    C, p = X.T @ X / P, 2.0 - 2.0 / n_weights

    def rhs(_, w):
        r = g - C @ w
        n = np.linalg.norm(w)
        return n**p * r + (n_weights - 1) * n ** (p - 2.0) * w * (w @ r)

    sol = integrate.solve_ivp(
        rhs, (0.0, t[-1] / tau), eps * g / np.linalg.norm(g), method="LSODA", t_eval=t / tau,
        rtol=1e-10, atol=1e-12 * eps,
    )  # fmt: skip
    if not sol.success:  # pragma: no cover - LSODA on a smooth flow
        raise RuntimeError(f"the reduced flow did not integrate: {sol.message}")
    return sol.y.T


def reduced_alignment(t, X, y, *, eps: float, tau: float, n_weights: int = 2, m0=0.0):
    """Alignment A(t) and loss L(t) = |X w - y|^2 / (2P) along :func:`reduced_flow`, ``(T,)`` each.

    The kernel is M = |w|^(2-4/L) M0 + |w|^(2-2/L) (I + (L-1) w w^T / |w|^2); for whitened inputs this
    is :func:`predicted_alignment`.
    """
    X, y = _data(X, y)
    M0 = _initial_kernel(m0, X.shape[1])
    n_weights = _check_depth(n_weights)
    w = reduced_flow(t, X, y, eps=eps, tau=tau, n_weights=n_weights)
    n = np.linalg.norm(w, axis=1)
    XM0X, G, xw = X @ M0 @ X.T, X @ X.T, w @ X.T / n[:, None]  # xw: X w_hat, (T, P)
    c0, c = n ** (2.0 - 4.0 / n_weights), n ** (2.0 - 2.0 / n_weights)
    K = c0[:, None, None] * XM0X + c[:, None, None] * G
    K += ((n_weights - 1) * c)[:, None, None] * xw[:, :, None] * xw[:, None, :]
    return kernel_alignment(K, y), 0.5 * np.mean((w @ X.T - y) ** 2, axis=1)


def kernel_regression(K_test, K_train, y) -> np.ndarray:
    """Kernel regression K_test K_train^+ y (pseudo-inverse: the interpolant of least kernel norm)."""
    K_train = as_float_array("K_train", K_train, ndim=2)
    K_test = as_float_array("K_test", K_test, ndim=2)
    y = as_float_array("y", y, ndim=1)
    P = y.size
    if K_train.shape != (P, P) or K_test.shape[1] != P:
        raise ValueError(
            f"K_train must be (P, P) and K_test (Q, P) with P = y.size = {P}, got "
            f"{K_train.shape} and {K_test.shape}"
        )
    return K_test @ np.linalg.lstsq(K_train, y, rcond=None)[0]


def kr_gap_from_init(W0, a0, X, y) -> float:
    """Predicted |f_net - f_KR|^2 / |f_net|^2 on isotropic inputs, given one initialisation.

    Book's: at the end of training w = b v + sqrt(b) n with n = P_null W0^T e (e the grown hidden
    direction of :func:`two_layer_theory`), and kernel regression with the final kernel carries n / 2
    of it, so the gap is |sqrt(b) n / 2|^2 / |w|^2.
    """
    X, y = _data(X, y)
    W0 = as_float_array("W0", W0, ndim=2)
    a0 = as_float_array("a0", a0, ndim=1)
    if W0.shape != (a0.size, X.shape[1]):
        raise ValueError(f"W0 must be (N, D) = ({a0.size}, {X.shape[1]}), got {W0.shape}")
    g = X.T @ y / X.shape[0]
    b = float(np.linalg.norm(g))
    p = (W0 @ (g / b) + a0) / 2
    null = np.eye(X.shape[1]) - np.linalg.pinv(X) @ X
    n = null @ W0.T @ (p / np.linalg.norm(p))
    return float(b * (n @ n) / 4 / (b**2 + b * (n @ n)))


def predicted_kr_gap(sigma: float, *, D: int, P: int, N: int, b: float) -> float:
    """Predicted mean squared relative gap |f_net - f_KR|^2 / |f_net|^2 of a two-layer linear network.

    Book's: the weights' null-space part W0 P_null never moves, so the trained network carries
    P_null W0^T a, a -> sqrt(b) u; kernel regression with the final kernel carries half of it. The gap
    is (1/2) P_null W0^T a, of mean square b sigma^2 (D - P) / (4 N) for first-layer weights of variance
    sigma^2 / N, relative to |w|^2 = b^2 on isotropic test inputs: sigma^2 (D - P) / (4 N b).
    """
    sigma = check_positive("sigma", sigma)
    b = check_positive("b", b)
    for name, v in (("D", D), ("P", P), ("N", N)):
        if isinstance(v, bool) or not isinstance(v, int | np.integer) or v < 1:
            raise ArgumentTypeError(f"{name} must be a positive integer, got {v!r}")
    if P > D:
        raise ValueError(f"P must be <= D (the null space has D - P dimensions), got P={P}, D={D}")
    return sigma**2 * (D - P) / (4.0 * N * b)
