"""Closed-form learning dynamics of one input-output mode of a deep linear network.

Implements the per-mode solution of Saxe, McClelland & Ganguli 2014 (arXiv:1312.6120), as used in
Lampinen & Ganguli 2019 (arXiv:1809.10374, Sec. 2.1). Symbols:

* ``s_hat``  -- singular value of the training input-output correlation Sigma^31 for this mode (the
  mode's target strength),
* ``eps``    -- initial strength of the network's product map along the mode (epsilon),
* ``tau``    -- time constant, 1 / learning rate, in epochs; ``t`` is in epochs,
* ``n_weights`` -- number of weight matrices N_W (2 for one hidden layer, 4 for three).

With training-aligned initialisation and balanced layers the product strength s(t) obeys

    tau ds/dt = N_W s^(2 - 2/N_W) (s_hat - s),      s(0) = eps.

For N_W = 2 this has the sigmoidal solution (Eq. 2.1 of the spec)

    s(t) = s_hat / (1 + (s_hat/eps - 1) exp(-2 s_hat t / tau)),

which we evaluate as ``s_hat * expit(2 s_hat t/tau - log(s_hat/eps - 1))`` so that it neither overflows
nor loses precision for tiny ``eps`` or very long times. For N_W > 2 there is no closed form for s(t);
we integrate the ODE in log-strength to machine-level tolerance (the inverse t(s) is a quadrature).
"""

from __future__ import annotations

import numpy as np
from scipy import integrate, special

from dltheory._checks import as_float_array, check_positive

__all__ = [
    "predicted_mode_strength",
    "predicted_time_to_strength",
    "predicted_half_time",
    "mode_ode_rhs",
]


def _check_depth(n_weights: int) -> int:
    if not isinstance(n_weights, int | np.integer) or n_weights < 2:
        raise ValueError(
            f"n_weights must be an integer >= 2 (number of weight matrices), got {n_weights!r}"
        )
    return int(n_weights)


def mode_ode_rhs(s, s_hat, *, tau: float, n_weights: int = 2):
    """Right-hand side ds/dt of the mode ODE, ``N_W s^(2-2/N_W) (s_hat - s) / tau``.

    Args:
        s: strength(s), any shape, >= 0.
        s_hat: target strength(s), broadcastable with ``s``.
        tau: time constant in epochs (1 / learning rate).
        n_weights: number of weight matrices N_W >= 2.

    Returns:
        ds/dt with the broadcast shape of ``s`` and ``s_hat``.
    """
    n_weights = _check_depth(n_weights)
    check_positive("tau", tau)
    s = np.asarray(s, dtype=float)
    return n_weights * s ** (2.0 - 2.0 / n_weights) * (np.asarray(s_hat, dtype=float) - s) / tau


def _shallow_strength(t: np.ndarray, s_hat: np.ndarray, eps: float, tau: float) -> np.ndarray:
    """Eq. 2.1 (N_W = 2), stable for every t >= 0, s_hat >= 0, eps > 0."""
    x = 2.0 * s_hat * t / tau
    out = np.empty(np.broadcast(t, s_hat).shape)
    t, s_hat, x = np.broadcast_arrays(t, s_hat, x)
    grow = s_hat > eps
    shrink = (s_hat < eps) & (s_hat > 0)
    zero = s_hat == 0
    same = s_hat == eps
    if grow.any():
        c = np.log(s_hat[grow] / eps - 1.0)
        out[grow] = s_hat[grow] * special.expit(x[grow] - c)
    if shrink.any():
        # s = s_hat / (1 - (1 - s_hat/eps) e^-x); the denominator lies in [s_hat/eps, 1).
        out[shrink] = s_hat[shrink] / (1.0 - (1.0 - s_hat[shrink] / eps) * np.exp(-x[shrink]))
    if zero.any():
        out[zero] = eps / (1.0 + 2.0 * eps * t[zero] / tau)
    out[same] = eps
    return out


_SATURATION = 1e-12  # the deep solver stops where s is within this relative distance of s_hat


def _deep_strength_one(t: np.ndarray, s_hat: float, eps: float, tau: float, n_weights: int):
    """Integrate the mode ODE for one s_hat (> eps) in y = log s, returning s at the times ``t``.

    Past the time t_sat at which s reaches s_hat (1 - 1e-12) (a quadrature), s is s_hat to that
    accuracy; clipping there keeps the explicit solver off the stiff approach to the fixed point.
    """
    p = 1.0 - 2.0 / n_weights
    t_sat = float(
        predicted_time_to_strength(
            s_hat * (1.0 - _SATURATION), s_hat, eps=eps, tau=tau, n_weights=n_weights
        )
    )
    tc = np.minimum(t, t_sat)
    grid, inverse = np.unique(tc, return_inverse=True)

    def rhs(_t, y):
        s = np.exp(y)
        return n_weights * s**p * (s_hat - s) / tau

    if grid[-1] <= 0:
        return np.full_like(t, eps)
    sol = integrate.solve_ivp(
        rhs, (0.0, float(grid[-1])), [np.log(eps)], method="DOP853", t_eval=grid,
        rtol=1e-11, atol=1e-12,
    )  # fmt: skip
    if not sol.success:  # pragma: no cover - DOP853 does not fail on this smooth scalar ODE
        raise RuntimeError(f"mode ODE integration failed: {sol.message}")
    return np.exp(sol.y[0])[inverse].reshape(t.shape)


def predicted_mode_strength(t, s_hat, *, eps: float, tau: float, n_weights: int = 2) -> np.ndarray:
    """Strength s(t) of one mode under gradient flow from training-aligned initialisation.

    Implements Eq. (2.1) of Lampinen & Ganguli 2019 (Saxe et al. 2014) for ``n_weights == 2`` in
    closed form, and the deep ODE tau ds/dt = N_W s^(2-2/N_W)(s_hat - s) numerically otherwise.

    Args:
        t: times in epochs, shape ``(T,)`` or scalar, >= 0.
        s_hat: target singular values, shape ``(M,)`` or scalar, >= 0.
        eps: initial strength epsilon > 0.
        tau: time constant 1/learning-rate in epochs, > 0.
        n_weights: number of weight matrices N_W >= 2.

    Returns:
        Array of shape ``(T, M)`` (time first; scalar axes dropped as in numpy broadcasting of
        ``t[:, None]`` against ``s_hat[None, :]``).
    """
    n_weights = _check_depth(n_weights)
    check_positive("eps", eps)
    check_positive("tau", tau)
    t_arr = as_float_array("t", t, nonneg=True)
    s_arr = as_float_array("s_hat", s_hat, nonneg=True)
    tt = t_arr.reshape(-1)[:, None]
    ss = s_arr.reshape(-1)[None, :]
    if n_weights == 2:
        out = _shallow_strength(tt, ss, float(eps), float(tau))
    else:
        if np.any(s_arr <= eps):
            raise ValueError(
                f"s_hat must be > eps for n_weights > 2 (growing modes only), got s_hat={s_arr!r}"
            )
        out = np.stack(
            [
                _deep_strength_one(tt[:, 0], float(s), float(eps), float(tau), n_weights)
                for s in ss[0]
            ],
            axis=1,
        )
    return out.reshape(t_arr.shape + s_arr.shape)


def predicted_time_to_strength(s, s_hat, *, eps: float, tau: float, n_weights: int = 2):
    """Time (epochs) at which a mode starting at ``eps`` reaches strength ``s`` (inverse of s(t)).

    For N_W = 2, t(s) = tau/(2 s_hat) ln[(s_hat/eps - 1)/(s_hat/s - 1)] (Lampinen & Ganguli 2019,
    Sec. 2.1). For N_W > 2 it is the quadrature t(s) = tau * int_eps^s du / (N_W u^(2-2/N_W)(s_hat-u)),
    computed in log u.

    Args:
        s: strengths with eps < s < s_hat, shape ``(M,)`` or scalar.
        s_hat: target strengths, broadcastable with ``s``.
        eps: initial strength, 0 < eps.
        tau: time constant in epochs.
        n_weights: number of weight matrices N_W >= 2.

    Returns:
        Times in epochs with the broadcast shape of ``s`` and ``s_hat``.
    """
    n_weights = _check_depth(n_weights)
    check_positive("eps", eps)
    check_positive("tau", tau)
    s_arr, sh = np.broadcast_arrays(as_float_array("s", s), as_float_array("s_hat", s_hat))
    if np.any(s_arr <= eps) or np.any(s_arr >= sh):
        raise ValueError(
            "s must lie strictly between eps and s_hat (the mode grows from eps to s_hat)"
        )
    if n_weights == 2:
        return tau / (2.0 * sh) * (np.log(sh / eps - 1.0) - np.log(sh / s_arr - 1.0))

    q = 2.0 - 2.0 / n_weights

    def one(target: float, s_hat_: float) -> float:
        # Below s_hat/2 integrate in y = log u; above it in w = -log(1 - u/s_hat), where
        # du / (s_hat - u) = dw removes the logarithmic singularity at u -> s_hat.
        def low(y):
            u = np.exp(y)
            return u ** (1.0 - q) / (n_weights * (s_hat_ - u))

        def high(w):
            return 1.0 / (n_weights * (-s_hat_ * np.expm1(-w)) ** q)

        mid = s_hat_ / 2.0
        opts = dict(epsabs=0.0, epsrel=1e-12, limit=200)
        val = 0.0
        if eps < mid:
            val += integrate.quad(low, np.log(eps), np.log(min(target, mid)), **opts)[0]
        if target > mid:
            w0 = -np.log1p(-max(eps, mid) / s_hat_)
            val += integrate.quad(high, w0, -np.log1p(-target / s_hat_), **opts)[0]
        return tau * val

    return np.vectorize(one, otypes=[float])(s_arr, sh)


def predicted_half_time(s_hat, *, eps: float, tau: float, n_weights: int = 2):
    """Time (epochs) for a mode to reach half its target strength, s(t) = s_hat / 2.

    For N_W = 2: t_1/2 = tau/(2 s_hat) ln(s_hat/eps - 1) (Lampinen & Ganguli 2019, Fig. 1a caption).

    Args:
        s_hat: target strengths, shape ``(M,)`` or scalar, each > 2 eps.
        eps: initial strength.
        tau: time constant in epochs.
        n_weights: number of weight matrices N_W >= 2.

    Returns:
        Half-learning times in epochs, same shape as ``s_hat``.
    """
    sh = as_float_array("s_hat", s_hat)
    return predicted_time_to_strength(sh / 2.0, sh, eps=eps, tau=tau, n_weights=n_weights)
