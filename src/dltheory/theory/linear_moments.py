"""Weight moments of the linear two-layer network under gradient descent: the book's exact closed
dynamics, at any width, for chapter 6.

The network and its training are those of :mod:`dltheory.kernel_nets` and
:mod:`dltheory.kernel_training` (the parameterisation of the companion code of arXiv:2502.07998, used
by Lauditi, Bordelon & Pehlevan 2025, arXiv:2507.04448): f(x) = z . W x / (gamma N sqrt(D)), loss
L = (1/2) sum_mu (y_mu - f(x_mu))^2 summed over the P samples, velocity -N gamma^2 grad L - lam theta
(weight decay on both layers) - delta (theta - theta_s) (elastic coupling to source weights). The paper's
own equations were not available to us: this is **the book's derivation in the paper's framework**.

For phi(h) = h every sum over neurons collapses onto the moments

    M = (1/N) sum_i w_i w_i^T,  m = (1/N) sum_i z_i w_i = gamma beta,  q = (1/N) sum_i z_i^2,

and, with an elastic anchor (W_s, z_s), the cross-moments A = (1/N) sum_i w_i w_{s,i}^T,
b = (1/N) sum_i z_{s,i} w_i, c = (1/N) sum_i z_i w_{s,i}, e = (1/N) sum_i z_i z_{s,i}. With
u = X^T (y - X m / (gamma sqrt(D))) / sqrt(D) and a = lam + delta the flow is [derived]

    M' = gamma (u m^T + m u^T) - 2 a M + delta (A + A^T),
    m' = gamma (q I + M) u - 2 a m + delta (b + c),
    q' = 2 gamma m . u - 2 a q + 2 delta e,
    A' = gamma u c^T - a A + delta M_s,   b' = gamma e u - a b + delta m_s,
    c' = gamma A^T u - a c + delta m_s,   e' = gamma b . u - a e + delta q_s.

It is closed: the moments at time t depend on the weights only through the initial moments. Infinite
width is the start M = I, m = 0, q = 1 (the law of large numbers at initialisation); a width-N network
is the same dynamics from its own empirical moments, which differ from (I, 0, 1) by O(1/sqrt(N)).

The integrators here take the *gradient-descent* step of :func:`dltheory.kernel_training.train`
(Euler on the weights, time step ``dt``) and write it on the moments exactly: the Euler step of the
flow above plus its O(dt^2) terms. A network trained with ``lr = dt`` for ``steps`` steps therefore has,
to round-off, the moments these functions return from its initial moments; as dt -> 0 both follow the
flow. Kernels: feature kernel Phi(x, x') = x^T M x' / D, gradient kernel G = q, NTK
K(x, x') = x^T (M + q I) x' / D.

Layout: ``X`` ``(..., P, D)``, ``y`` ``(..., P)``, ``M`` ``(..., D, D)``, ``m`` ``(..., D)``, ``q``
``(...)``; leading dimensions index independent problems (seeds) and broadcast.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from dltheory._checks import (
    ArgumentTypeError,
    as_float_array,
    check_int,
    check_nonneg,
    check_positive,
)

__all__ = [
    "Moments",
    "infinite_width_start",
    "empirical_moments",
    "empirical_cross_moments",
    "integrate_source",
    "integrate_target",
]

_CROSS = ("A", "b", "c", "e")
_CHECK_EVERY = 200  # steps between finiteness checks of the integration


@dataclass(frozen=True)
class Moments:
    """Weight moments of linear two-layer networks f(x) = z . W x / (gamma N sqrt(D)).

    Attributes:
        M: (1/N) sum_i w_i w_i^T, ``(..., D, D)``: the feature kernel is x^T M x' / D.
        m: (1/N) sum_i z_i w_i = gamma beta, ``(..., D)``.
        q: (1/N) sum_i z_i^2, ``(...)`` (a float for one network): the gradient kernel.
    """

    M: np.ndarray
    m: np.ndarray
    q: float | np.ndarray

    def __post_init__(self):
        M = as_float_array("M", self.M)
        m = as_float_array("m", self.m)
        q = as_float_array("q", self.q, nonneg=True)
        if M.ndim < 2 or M.shape[-1] != M.shape[-2] or M.shape[-1] == 0:
            raise ValueError(f"M must be (..., D, D) with D >= 1, got shape {M.shape}")
        D = M.shape[-1]
        if m.ndim < 1 or m.shape[-1] != D:
            raise ValueError(
                f"m must be (..., D) with D = {D} (the size of M), got shape {m.shape}"
            )
        try:
            np.broadcast_shapes(M.shape[:-2], m.shape[:-1], q.shape)
        except ValueError:
            raise ValueError(
                f"the batch dimensions of M, m and q must broadcast together, got {M.shape[:-2]}, "
                f"{m.shape[:-1]} and {q.shape}"
            ) from None
        object.__setattr__(self, "M", M)
        object.__setattr__(self, "m", m)
        object.__setattr__(self, "q", float(q) if q.ndim == 0 else q)

    @property
    def D(self) -> int:
        return self.M.shape[-1]

    def beta(self, gamma) -> np.ndarray:
        """The network's linear map beta = m / gamma (f(x) = beta . x / sqrt(D)), ``(..., D)``."""
        return self.m / check_positive("gamma", gamma)

    def feature_kernel(self, X1, X2) -> np.ndarray:
        """Phi(x, x') = x^T M x' / D on inputs ``(..., P1, D)`` and ``(..., P2, D)``, ``(..., P1, P2)``."""
        X1, X2 = self._inputs("X1", X1), self._inputs("X2", X2)
        return X1 @ self.M @ np.swapaxes(X2, -1, -2) / self.D

    def ntk(self, X1, X2) -> np.ndarray:
        """K(x, x') = x^T (M + q I) x' / D, the NTK N gamma^2 J J^T, ``(..., P1, P2)``."""
        X1, X2 = self._inputs("X1", X1), self._inputs("X2", X2)
        q = np.asarray(self.q)[..., None, None]
        return (X1 @ self.M @ np.swapaxes(X2, -1, -2) + q * (X1 @ np.swapaxes(X2, -1, -2))) / self.D

    def _inputs(self, name: str, X) -> np.ndarray:
        X = as_float_array(name, X)
        if X.ndim < 2 or X.shape[-1] != self.D:
            raise ValueError(f"{name} must be (..., P, D) with D = {self.D}, got shape {X.shape}")
        return X


def infinite_width_start(D: int) -> Moments:
    """Moments of the initialisation w_i ~ N(0, I_D), z_i ~ N(0, 1) as N -> infinity: M = I, m = 0, q = 1.

    Args:
        D: input dimension, >= 1.

    Returns:
        :class:`Moments`.
    """
    D = check_int("D", D)
    return Moments(np.eye(D), np.zeros(D), 1.0)


def empirical_moments(W, z) -> Moments:
    """Moments of given weights (a torch tensor or array).

    Args:
        W: first-layer weights, ``(..., N, D)``.
        z: readout weights, ``(..., N)``.

    Returns:
        :class:`Moments` with batch ``(...)``.
    """
    W, z = _weights("W", W, ndim=2), _weights("z", z, ndim=1)
    if z.shape != W.shape[:-1]:
        raise ValueError(f"z must have shape W.shape[:-1] = {W.shape[:-1]}, got {z.shape}")
    N = W.shape[-2]
    Wt = np.swapaxes(W, -1, -2)
    return Moments(Wt @ W / N, (Wt @ z[..., None])[..., 0] / N, np.sum(z**2, -1) / N)


def empirical_cross_moments(W, z, W_s, z_s) -> dict[str, np.ndarray]:
    """Cross-moments A, b, c, e of weights (W, z) with anchor weights (W_s, z_s).

    Args:
        W: first-layer weights, ``(..., N, D)``.
        z: readout weights, ``(..., N)``.
        W_s: anchor first-layer weights, same shape as ``W``.
        z_s: anchor readout weights, same shape as ``z``.

    Returns:
        ``{"A": (..., D, D), "b": (..., D), "c": (..., D), "e": (...)}`` with A = W^T W_s / N,
        b = W^T z_s / N, c = W_s^T z / N, e = z . z_s / N.
    """
    W, z = _weights("W", W, ndim=2), _weights("z", z, ndim=1)
    W_s, z_s = _weights("W_s", W_s, ndim=2), _weights("z_s", z_s, ndim=1)
    if z.shape != W.shape[:-1]:
        raise ValueError(f"z must have shape W.shape[:-1] = {W.shape[:-1]}, got {z.shape}")
    if W_s.shape != W.shape or z_s.shape != z.shape:
        raise ValueError(
            f"W_s and z_s must have the shapes of W and z, {W.shape} and {z.shape}, "
            f"got {W_s.shape} and {z_s.shape}"
        )
    N = W.shape[-2]
    Wt, Wst = np.swapaxes(W, -1, -2), np.swapaxes(W_s, -1, -2)
    return {
        "A": Wt @ W_s / N,
        "b": (Wt @ z_s[..., None])[..., 0] / N,
        "c": (Wst @ z[..., None])[..., 0] / N,
        "e": np.sum(z * z_s, -1) / N,
    }


def _weights(name: str, x, *, ndim: int) -> np.ndarray:
    if hasattr(x, "detach"):  # a torch tensor
        x = x.detach().cpu().numpy()
    arr = as_float_array(name, x)
    if arr.ndim < ndim or 0 in arr.shape[-ndim:]:
        raise ValueError(
            f"{name} must have at least {ndim} non-empty dimension(s), got {arr.shape}"
        )
    return arr


def _task(X, y, D: int) -> tuple[np.ndarray, np.ndarray]:
    """C = X^T X / D and b = X^T y / sqrt(D), so that u = b - C m / gamma."""
    X = as_float_array("X", X)
    if X.ndim < 2 or X.shape[-1] != D or X.shape[-2] == 0:
        raise ValueError(f"X must be (..., P, D) with P >= 1 and D = {D}, got shape {X.shape}")
    y = as_float_array("y", y)
    if y.ndim < 1 or y.shape[-1] != X.shape[-2]:
        raise ValueError(
            f"y must be (..., P) with P = {X.shape[-2]} (the rows of X), got {y.shape}"
        )
    Xt = np.swapaxes(X, -1, -2)
    return Xt @ X / D, (Xt @ y[..., None])[..., 0] / np.sqrt(D)


def _check_start(name: str, start) -> Moments:
    if not isinstance(start, Moments):
        raise ArgumentTypeError(f"{name} must be Moments, got {type(start).__name__}")
    return start


def _step_args(gamma, lam, dt, steps):
    return (
        check_positive("gamma", gamma),
        check_nonneg("lam", lam),
        check_positive("dt", dt),
        check_int("steps", steps, minimum=0),
    )


def _check_finite(dt: float, step: int, *arrays) -> None:
    if not all(np.all(np.isfinite(a)) for a in arrays):
        raise ValueError(
            f"the moments diverged after {step} steps: dt = {dt:g} is too large a step for these "
            "data and this gamma, use a smaller dt"
        )


def _outer(a, b):
    return a[..., :, None] * b[..., None, :]


def _dot(a, b):
    return np.sum(a * b, -1)


def integrate_source(X, y, *, gamma, lam, dt, steps, start: Moments) -> Moments:
    """The moments after ``steps`` gradient-descent steps of size ``dt`` on (X, y), from ``start``.

    The exact moments of :func:`dltheory.kernel_training.train` (``lr = dt``, no elastic term) from
    weights whose moments are ``start``; the moment ODE of the module docstring as dt -> 0.

    Args:
        X: inputs, ``(..., P, D)``.
        y: labels, ``(..., P)``.
        gamma: richness, > 0.
        lam: weight decay on both layers, >= 0.
        dt: time step, > 0 (time = steps * dt).
        steps: number of steps, >= 0.
        start: initial moments (:func:`infinite_width_start` or :func:`empirical_moments`).

    Returns:
        :class:`Moments` at the end, batch the broadcast of the inputs'.

    Raises:
        ValueError: for a bad argument, or if the moments stop being finite (``dt`` too large).
    """
    gamma, lam, dt, steps = _step_args(gamma, lam, dt, steps)
    start = _check_start("start", start)
    C, b0 = _task(X, y, start.D)
    M, m, q = start.M, start.m, np.asarray(start.q, dtype=float)
    shape = np.broadcast_shapes(M.shape[:-2], m.shape[:-1], q.shape, C.shape[:-2], b0.shape[:-1])
    D = start.D
    M = np.broadcast_to(M, (*shape, D, D)).copy()
    m = np.broadcast_to(m, (*shape, D)).copy()
    q = np.broadcast_to(q, shape).copy()
    k, g = 1.0 - dt * lam, dt * gamma  # decay of the weights per step, gradient step
    with np.errstate(over="ignore", invalid="ignore"):  # divergence is caught by _check_finite
        M, m, q = _source_steps(M, m, q, C, b0, gamma=gamma, k=k, g=g, dt=dt, steps=steps)
    return Moments(M, m, q)


def _source_steps(M, m, q, C, b0, *, gamma, k, g, dt, steps):
    for step in range(steps):
        u = b0 - (C @ m[..., None])[..., 0] / gamma
        mu, Mu = _dot(m, u), (M @ u[..., None])[..., 0]
        um = _outer(u, m)
        M, m, q = (
            k * k * M + k * g * (um + np.swapaxes(um, -1, -2)) + g * g * q[..., None, None] * _outer(u, u),
            k * k * m + k * g * (Mu + q[..., None] * u) + g * g * mu[..., None] * u,
            k * k * q + 2 * k * g * mu + g * g * _dot(u, Mu),
        )  # fmt: skip
        if (step + 1) % _CHECK_EVERY == 0 or step + 1 == steps:
            _check_finite(dt, step + 1, M, m, q)
    return M, m, q


def integrate_target(
    X,
    y,
    source: Moments,
    *,
    gamma,
    lam,
    delta,
    dt,
    steps,
    cross0: dict | None = None,
    start: Moments | None = None,
) -> tuple[Moments, dict[str, np.ndarray]]:
    """The target phase: all weights trained on (X, y) with the elastic term -delta (theta - theta_s).

    The anchor theta_s is the source network, whose moments are ``source``; training starts there
    unless ``start`` and ``cross0`` say otherwise. Exact moments of :func:`dltheory.kernel_training.train`
    with ``elastic = delta``, ``anchor`` = the source weights, ``lr = dt``.

    Args:
        X: target inputs, ``(..., P, D)``.
        y: target labels, ``(..., P)``.
        source: moments M_s, m_s, q_s of the anchor (source) weights.
        gamma: richness, > 0.
        lam: weight decay, >= 0.
        delta: elastic coupling, >= 0.
        dt: time step, > 0.
        steps: number of steps, >= 0.
        cross0: initial cross-moments ``{"A", "b", "c", "e"}`` with the anchor
            (:func:`empirical_cross_moments`); default: those of starting at the anchor,
            A = M_s, b = c = m_s, e = q_s.
        start: initial moments (default ``source``); give ``cross0`` with it.

    Returns:
        ``(moments, cross)``: the final :class:`Moments` and cross-moments ``{"A", "b", "c", "e"}``.

    Raises:
        ValueError: for a bad argument, or if the moments stop being finite (``dt`` too large).
    """
    gamma, lam, dt, steps = _step_args(gamma, lam, dt, steps)
    delta = check_nonneg("delta", delta)
    source = _check_start("source", source)
    start = source if start is None else _check_start("start", start)
    if start.D != source.D:
        raise ValueError(f"start must have the source's D = {source.D}, got {start.D}")
    if start is not source and cross0 is None:
        raise ValueError(
            "cross0 is required when start is given (the cross-moments with the anchor)"
        )
    D = source.D
    Ms, ms, qs = source.M, source.m, np.asarray(source.q, dtype=float)
    if cross0 is None:
        cross0 = {"A": Ms, "b": ms, "c": ms, "e": qs}
    elif not isinstance(cross0, dict) or set(cross0) != set(_CROSS):
        raise ArgumentTypeError(f"cross0 must be a dict with keys {_CROSS}, got {cross0!r}")
    A, b, c, e = (as_float_array(f"cross0[{k!r}]", cross0[k]) for k in _CROSS)
    for name, arr, tail in (("A", A, (D, D)), ("b", b, (D,)), ("c", c, (D,))):
        if arr.shape[arr.ndim - len(tail) :] != tail or arr.ndim < len(tail):
            raise ValueError(
                f"cross0[{name!r}] must be (..., {', '.join(map(str, tail))}), got {arr.shape}"
            )
    C, b0 = _task(X, y, D)
    M, m, q = start.M, start.m, np.asarray(start.q, dtype=float)
    try:
        shape = np.broadcast_shapes(
            M.shape[:-2], m.shape[:-1], q.shape, Ms.shape[:-2], ms.shape[:-1], qs.shape,
            A.shape[:-2], b.shape[:-1], c.shape[:-1], e.shape, C.shape[:-2], b0.shape[:-1],
        )  # fmt: skip
    except ValueError:
        raise ValueError(
            "the batch dimensions of X, y, source, start and cross0 must broadcast together"
        ) from None

    def full(a, tail):
        return np.broadcast_to(a, (*shape, *tail)).copy()

    M, A, Ms = full(M, (D, D)), full(A, (D, D)), full(Ms, (D, D))
    m, b, c, ms = full(m, (D,)), full(b, (D,)), full(c, (D,)), full(ms, (D,))
    q, e, qs = full(q, ()), full(e, ()), full(qs, ())
    k, g, h = 1.0 - dt * (lam + delta), dt * gamma, dt * delta
    with np.errstate(over="ignore", invalid="ignore"):  # divergence is caught by _check_finite
        state = _target_steps(
            (M, m, q, A, b, c, e),
            (Ms, ms, qs),
            C,
            b0,
            gamma=gamma,
            k=k,
            g=g,
            h=h,
            dt=dt,
            steps=steps,
        )
    M, m, q, A, b, c, e = state
    return Moments(M, m, q), {"A": A, "b": b, "c": c, "e": e}


def _target_steps(state, anchor, C, b0, *, gamma, k, g, h, dt, steps):
    M, m, q, A, b, c, e = state
    Ms, ms, qs = anchor
    for step in range(steps):
        u = b0 - (C @ m[..., None])[..., 0] / gamma
        mu, ub = _dot(m, u), _dot(u, b)
        Mu, Atu = (M @ u[..., None])[..., 0], (np.swapaxes(A, -1, -2) @ u[..., None])[..., 0]
        um, uc = _outer(u, m), _outer(u, c)
        M_new = (
            k * k * M + k * g * (um + np.swapaxes(um, -1, -2)) + k * h * (A + np.swapaxes(A, -1, -2))
            + g * g * q[..., None, None] * _outer(u, u) + g * h * (uc + np.swapaxes(uc, -1, -2))
            + h * h * Ms
        )  # fmt: skip
        m_new = (
            k * k * m + k * g * (Mu + q[..., None] * u) + k * h * (b + c)
            + g * g * mu[..., None] * u + g * h * (e[..., None] * u + Atu) + h * h * ms
        )  # fmt: skip
        q_new = (
            k * k * q + 2 * k * g * mu + 2 * k * h * e
            + g * g * _dot(u, Mu) + 2 * g * h * ub + h * h * qs
        )  # fmt: skip
        A, b, c, e = (
            k * A + g * uc + h * Ms,
            k * b + g * e[..., None] * u + h * ms,
            k * c + g * Atu + h * ms,
            k * e + g * ub + h * qs,
        )
        M, m, q = M_new, m_new, q_new
        if (step + 1) % _CHECK_EVERY == 0 or step + 1 == steps:
            _check_finite(dt, step + 1, M, m, q, A, b, c, e)
    return M, m, q, A, b, c, e
