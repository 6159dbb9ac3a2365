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

For N_W = 2 this has the sigmoidal solution (Eq. 2.1 of Lampinen & Ganguli 2019)

    s(t) = s_hat / (1 + (s_hat/eps - 1) exp(-2 s_hat t / tau)),

which we evaluate as ``s_hat * expit(2 s_hat t/tau - log(s_hat/eps - 1))`` so that it neither overflows
nor loses precision for tiny ``eps`` or very long times.

For N_W > 2 there is no closed form for s(t), but its inverse has one. With v = s / s_hat,
e = eps / s_hat, p = 1 - 2/N_W and the scaled time T = N_W s_hat^(1+p) t / tau, the ODE reads
dv/dT = v^(1+p) (1 - v), and splitting 1/(1 - w) = 1 + w/(1 - w) under the integral gives

    T(v) = (e^-p - v^-p) / p + log((1 - e)/(1 - v)) + L(v) - L(e),
    L(x) = int_0^x (w^-p - 1) / (1 - w) dw,

where L is bounded (L(1) = psi(1) - psi(2/N_W)) and summed from two geometric series (``_bounded_part``).
s(t) is then found by Newton's method on the logit of v, which converges from either side because T
is concave in logit(v). The large early term is exact, so s(t) is as accurate as t itself allows:
near the transition s changes by O(s_hat) over a relative time of about (eps/s_hat)^p, so a tiny eps
makes s(t) steep in t, and the result is the exact s at a time within a few ulps of t.
"""

from __future__ import annotations

import numpy as np
from scipy import special

from dltheory._checks import ArgumentTypeError, as_float_array, broadcast, check_positive

__all__ = [
    "predicted_mode_strength",
    "predicted_time_to_strength",
    "predicted_half_time",
    "mode_ode_rhs",
]

# Below the smallest normal float, eps keeps fewer than 15 significant digits (5e-324 has one).
_EPS_FLOOR = float(np.finfo(float).tiny)
# The deep learning time grows as (s_hat/eps)^p; past e^700 it is no longer a finite float.
_MAX_LOG_SCALE = 700.0
_TERMS = 64  # both series of L converge at least as 2^-k; 64 terms leave < 1e-19
_Z_SAT = 40.0  # logit(v) = 40: 1 - v = 4e-18 is below half an ulp of 1, so s rounds to s_hat
_NEWTON_ITERATIONS = 100


def _check_depth(n_weights) -> int:
    if isinstance(n_weights, bool | np.bool_) or not isinstance(n_weights, int | np.integer):
        raise ArgumentTypeError(
            f"n_weights must be an integer >= 2 (number of weight matrices), got {n_weights!r}"
        )
    if n_weights < 2:
        raise ValueError(
            f"n_weights must be an integer >= 2 (number of weight matrices), got {n_weights!r}"
        )
    return int(n_weights)


def _check_eps(eps) -> float:
    e = check_positive("eps", eps)
    if e < _EPS_FLOOR:
        raise ValueError(
            f"eps must be at least {_EPS_FLOOR:.3g} (the smallest normal float; a subnormal eps keeps "
            f"too few significant digits), got {eps!r}"
        )
    return e


def _as_times(t) -> np.ndarray:
    """Times in epochs as a float array: >= 0, with +inf allowed (the end of training)."""
    return as_float_array("t", t, nonneg=True, allow_inf=True, what="times in epochs")


def mode_ode_rhs(s, s_hat, *, tau: float, n_weights: int = 2):
    """Right-hand side ds/dt of the mode ODE, ``N_W s^(2-2/N_W) (s_hat - s) / tau``.

    Args:
        s: strength(s), any shape, finite and >= 0.
        s_hat: target strength(s), finite and >= 0, broadcastable with ``s``.
        tau: time constant in epochs (1 / learning rate), > 0.
        n_weights: number of weight matrices N_W >= 2.

    Returns:
        ds/dt with the broadcast shape of ``s`` and ``s_hat``.
    """
    n_weights = _check_depth(n_weights)
    tau = check_positive("tau", tau)
    s = as_float_array("s", s, nonneg=True)
    s_hat = as_float_array("s_hat", s_hat, nonneg=True)
    broadcast(s=s, s_hat=s_hat)
    return n_weights * s ** (2.0 - 2.0 / n_weights) * (s_hat - s) / tau


def _log_excess(s_hat: np.ndarray, eps: float) -> np.ndarray:
    """log(s_hat/eps - 1) for s_hat > eps, also where s_hat/eps overflows."""
    with np.errstate(over="ignore"):
        ratio = s_hat / eps
    split = np.log(s_hat) - np.log(eps) + np.log1p(-eps / s_hat)
    return np.where(
        np.isfinite(ratio), np.log(np.where(np.isfinite(ratio), ratio, 2.0) - 1.0), split
    )


def _shallow_strength(t: np.ndarray, s_hat: np.ndarray, eps: float, tau: float) -> np.ndarray:
    """Eq. 2.1 (N_W = 2), stable for every t in [0, inf], s_hat >= 0, eps > 0."""
    # x is inf for t = inf (the limit), and 0 * inf = nan only where s_hat = 0, a branch that
    # does not use x.
    with np.errstate(over="ignore", invalid="ignore"):
        x = 2.0 * s_hat * t / tau
    out = np.empty(np.broadcast(t, s_hat).shape)
    t, s_hat, x = np.broadcast_arrays(t, s_hat, x)
    grow = s_hat > eps
    shrink = (s_hat < eps) & (s_hat > 0)
    zero = s_hat == 0
    same = s_hat == eps
    if grow.any():
        c = _log_excess(s_hat[grow], eps)
        out[grow] = s_hat[grow] * special.expit(x[grow] - c)
    if shrink.any():
        # s = s_hat / (1 - (1 - r) e^-x), r = s_hat/eps; the denominator r - (1 - r) expm1(-x) lies
        # in [r, 1] and is exact at x = 0; the clip keeps s in [s_hat, eps] despite rounding.
        r = s_hat[shrink] / eps
        out[shrink] = np.clip(
            s_hat[shrink] / (r - (1.0 - r) * np.expm1(-x[shrink])), s_hat[shrink], eps
        )
    if zero.any():
        with np.errstate(over="ignore"):
            out[zero] = eps / (1.0 + 2.0 * eps * t[zero] / tau)
    out[same] = eps
    out[t == 0] = eps  # exactly, where the closed forms would round
    return out


def _bounded_part(log_x: np.ndarray, x_c: np.ndarray, p: float) -> np.ndarray:
    """L(x) = int_0^x (w^-p - 1)/(1 - w) dw for 0 < x < 1, given log x and 1 - x.

    For x <= 1/2, L = sum_j x^(j+1-p)/(j+1-p) - x^(j+1)/(j+1) (expanding 1/(1 - w)); for x > 1/2,
    L = L(1) - sum_k (p)_k (1-x)^k / (k! k) (expanding w^-p about w = 1), with
    L(1) = psi(1) - psi(1 - p). Both series have ratio at most 1/2.
    """
    log_x, x_c = np.broadcast_arrays(log_x, x_c)
    small = log_x <= np.log(0.5)
    out = np.empty(log_x.shape)
    j = np.arange(_TERMS)
    ls = log_x[small][:, None]
    out[small] = np.sum(np.exp((j + 1 - p) * ls) / (j + 1 - p) - np.exp((j + 1) * ls) / (j + 1), -1)
    k = j + 1
    pochhammer = np.cumprod((p + k - 1) / k)  # (p)_k / k!
    d = x_c[~small][:, None]
    l_one = special.digamma(1.0) - special.digamma(1.0 - p)
    out[~small] = l_one - np.sum(pochhammer * d**k / k, -1)
    return out


class _Deep:
    """Scaled time T(v) of the N_W > 2 mode, for one array of (s_hat, eps) pairs."""

    def __init__(self, s_hat: np.ndarray, eps: float, n_weights: int):
        self.p = 1.0 - 2.0 / n_weights
        self.log_e = np.log(eps) - np.log(s_hat)
        if np.any(-self.p * self.log_e > _MAX_LOG_SCALE):
            worst = float(np.max(s_hat))
            raise ValueError(
                f"eps={eps!r} is too small for n_weights={n_weights} and s_hat={worst:g}: the learning "
                f"time grows as (s_hat/eps)^(1 - 2/n_weights), which exceeds e^{_MAX_LOG_SCALE:g} "
                f"here; use eps >= s_hat * exp(-{_MAX_LOG_SCALE:g} / (1 - 2/n_weights))"
            )
        self.e_c = (s_hat - eps) / s_hat  # 1 - e, exact for e near 1
        self.scale = np.exp(-self.p * self.log_e) / self.p  # e^-p / p
        self.l_e = _bounded_part(self.log_e, self.e_c, self.p)

    def elapsed(self, log_v: np.ndarray, v_c: np.ndarray) -> np.ndarray:
        """T(v) from log v and 1 - v (broadcast against the (s_hat, eps) pairs)."""
        p = self.p
        early = -self.scale * np.expm1(-p * (log_v - self.log_e))  # (e^-p - v^-p) / p
        return early + np.log(self.e_c) - np.log(v_c) + _bounded_part(log_v, v_c, p) - self.l_e

    def solve(self, target: np.ndarray) -> np.ndarray:
        """logit(v) with T(v) = target, for 0 < target < T(v at logit _Z_SAT)."""
        p = self.p
        lo = self.log_e - np.log(self.e_c)  # T = 0
        hi = np.full_like(target, _Z_SAT)
        # Initial guess: Phi(v) = v^-p/p + log(1 - v) - L(v) decreases from Phi(e) to -inf and
        # Phi(v) = Phi(e) - T; keep only the term that dominates on each side.
        rest = self.scale + np.log(self.e_c) - self.l_e - target  # Phi(e) - T
        l_one = special.digamma(1.0) - special.digamma(1.0 - p)
        with np.errstate(divide="ignore", invalid="ignore"):
            early = -np.log(p * rest) / p  # log v from v^-p / p = rest
            early = early - np.log(-np.expm1(np.minimum(early, -1e-300)))  # logit
        # log(1 - v) from 1/p + log(1 - v) - L(1) = rest, near v = 1
        late_log_vc = np.minimum(rest - 1.0 / p + l_one, -1e-300)
        late = np.log(-np.expm1(late_log_vc)) - late_log_vc
        z = np.where(p * rest > 2.0, early, late)
        z = np.where((z > lo) & (z < hi), z, 0.5 * (lo + hi))
        # Safeguarded Newton (rtsafe): bisect where the Newton step leaves the bracket or does not
        # at least halve the step before last, so rounding noise in f cannot stall it. A converged
        # entry is frozen: the bracket's far end may still be wide, and bisecting would undo it.
        step = step_old = hi - lo
        active = np.ones(z.shape, dtype=bool)
        for _ in range(_NEWTON_ITERATIONS):
            log_v = special.log_expit(z)
            f = self.elapsed(log_v, special.expit(-z)) - target
            lo = np.where(f <= 0, z, lo)
            hi = np.where(f >= 0, z, hi)
            newton = f * np.exp(p * log_v)  # f / (dT / dlogit(v)), dT / dlogit(v) = v^-p
            tol = 4.0 * np.spacing(np.maximum(np.abs(z), 1.0))
            active &= (np.abs(newton) > tol) & (hi - lo > tol)
            if not active.any():
                break
            ok = (z - newton > lo) & (z - newton < hi) & (2.0 * np.abs(newton) <= np.abs(step_old))
            step_old = step
            step = np.where(active, np.where(ok, newton, z - 0.5 * (lo + hi)), 0.0)
            z = z - step
        else:  # pragma: no cover - rtsafe converges at least as fast as bisection
            raise RuntimeError("the deep mode's time equation did not converge")
        return z


def _deep_strength(t: np.ndarray, s_hat: np.ndarray, eps: float, tau: float, n_weights: int):
    """s(t) for N_W > 2 and s_hat > eps, t in [0, inf]; t and s_hat broadcast."""
    v_sat_c = special.expit(-_Z_SAT)
    t_sat = _Deep(s_hat, eps, n_weights).elapsed(np.log1p(-v_sat_c), np.asarray(v_sat_c))
    with np.errstate(over="ignore"):
        target = n_weights * s_hat ** (2.0 - 2.0 / n_weights) * t / tau  # T; inf for t = inf
    t, s_hat, target, t_sat = np.broadcast_arrays(t, s_hat, target, t_sat)
    out = np.where(t == 0, eps, s_hat).astype(float)
    todo = (t > 0) & (target < t_sat)
    if np.any(todo):
        sub = _Deep(s_hat[todo], eps, n_weights)
        z = sub.solve(target[todo])
        out[todo] = s_hat[todo] * special.expit(z)
    return out


def predicted_mode_strength(t, s_hat, *, eps: float, tau: float, n_weights: int = 2) -> np.ndarray:
    """Strength s(t) of one mode under gradient flow from training-aligned initialisation.

    Implements Eq. (2.1) of Lampinen & Ganguli 2019 (Saxe et al. 2014) for ``n_weights == 2`` in
    closed form, and the deep ODE tau ds/dt = N_W s^(2-2/N_W)(s_hat - s) otherwise by inverting the
    closed-form time T(v) of the module docstring. s(0) = eps and s(inf) = s_hat exactly.

    For N_W > 2 the transition becomes steep in t as eps shrinks (it takes a relative time of about
    (eps/s_hat)^(1-2/N_W)); the result is then the exact s at a time within a few ulps of t, so its
    relative accuracy near the transition is about 1e-16 (s_hat/eps)^(1-2/N_W).

    Args:
        t: times in epochs, shape ``(T,)`` or scalar, >= 0 (+inf is the end of training).
        s_hat: target singular values, shape ``(M,)`` or scalar, finite and >= 0; for
            ``n_weights > 2`` each must exceed ``eps`` (growing modes only).
        eps: initial strength epsilon, at least the smallest normal float (2.2e-308); for
            ``n_weights > 2`` also (s_hat/eps)^(1-2/N_W) <= e^700, so that the learning time is finite.
        tau: time constant 1/learning-rate in epochs, > 0.
        n_weights: number of weight matrices N_W >= 2.

    Returns:
        Array of shape ``(T, M)`` (time first; scalar axes dropped as in numpy broadcasting of
        ``t[:, None]`` against ``s_hat[None, :]``).
    """
    n_weights = _check_depth(n_weights)
    eps = _check_eps(eps)
    tau = check_positive("tau", tau)
    t_arr = _as_times(t)
    s_arr = as_float_array("s_hat", s_hat, nonneg=True)
    tt = t_arr.reshape(-1)[:, None]
    ss = s_arr.reshape(-1)[None, :]
    if n_weights == 2:
        out = _shallow_strength(tt, ss, eps, tau)
    else:
        if np.any(s_arr <= eps):
            raise ValueError(
                f"s_hat must be > eps for n_weights > 2 (growing modes only), got s_hat={s_arr!r}"
            )
        out = _deep_strength(tt, ss, eps, tau, n_weights)
    return out.reshape(t_arr.shape + s_arr.shape)


def predicted_time_to_strength(s, s_hat, *, eps: float, tau: float, n_weights: int = 2):
    """Time (epochs) at which a mode starting at ``eps`` reaches strength ``s`` (inverse of s(t)).

    For N_W = 2, t(s) = tau/(2 s_hat) ln[(s_hat/eps - 1)/(s_hat/s - 1)] (Lampinen & Ganguli 2019,
    Sec. 2.1). For N_W > 2 it is t(s) = tau * int_eps^s du / (N_W u^(2-2/N_W)(s_hat-u)), evaluated
    in closed form (module docstring).

    Args:
        s: strengths with eps < s < s_hat, shape ``(M,)`` or scalar.
        s_hat: target strengths, broadcastable with ``s``.
        eps: initial strength, as in :func:`predicted_mode_strength`.
        tau: time constant in epochs, > 0.
        n_weights: number of weight matrices N_W >= 2.

    Returns:
        Times in epochs with the broadcast shape of ``s`` and ``s_hat``.
    """
    n_weights = _check_depth(n_weights)
    eps = _check_eps(eps)
    tau = check_positive("tau", tau)
    s_arr, sh = broadcast(s=as_float_array("s", s), s_hat=as_float_array("s_hat", s_hat))
    if np.any(s_arr <= eps) or np.any(s_arr >= sh):
        raise ValueError(
            "s must lie strictly between eps and s_hat (the mode grows from eps to s_hat)"
        )
    if n_weights == 2:
        return tau / (2.0 * sh) * (_log_excess(sh, eps) - np.log(sh / s_arr - 1.0))
    deep = _Deep(sh, eps, n_weights)
    elapsed = deep.elapsed(np.log(s_arr) - np.log(sh), (sh - s_arr) / sh)
    return tau * elapsed / (n_weights * sh ** (2.0 - 2.0 / n_weights))


def predicted_half_time(s_hat, *, eps: float, tau: float, n_weights: int = 2):
    """Time (epochs) for a mode to reach half its target strength, s(t) = s_hat / 2.

    For N_W = 2: t_1/2 = tau/(2 s_hat) ln(s_hat/eps - 1) (Lampinen & Ganguli 2019, Fig. 1a caption).

    Args:
        s_hat: target strengths, shape ``(M,)`` or scalar, each > 2 eps.
        eps: initial strength, as in :func:`predicted_mode_strength`.
        tau: time constant in epochs, > 0.
        n_weights: number of weight matrices N_W >= 2.

    Returns:
        Half-learning times in epochs, same shape as ``s_hat``.
    """
    n_weights = _check_depth(n_weights)
    eps = _check_eps(eps)
    sh = as_float_array("s_hat", s_hat)
    if np.any(sh <= 2.0 * eps):
        raise ValueError(f"s_hat must be > 2 eps = {2.0 * eps:g} (the mode grows through s_hat/2)")
    return predicted_time_to_strength(sh / 2.0, sh, eps=eps, tau=tau, n_weights=n_weights)
