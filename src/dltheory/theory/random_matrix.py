"""Spiked rectangular random matrix: Marchenko-Pastur bulk plus outlier singular values and vectors.

Implements the model of Lampinen & Ganguli 2019 (arXiv:1809.10374, Sec. 2.2) for the training
input-output correlation of a noisy linear teacher,

    Sigma31 = W_bar + Z,      Sigma31, W_bar, Z of shape (N3, N1),  Z_ij ~ N(0, noise_std^2 / N1),

in the limit N1, N3 -> infinity at fixed aspect ratio A = N3 / N1 in (0, 1]. Symbols:

* ``aspect_ratio`` -- A = N3 / N1 (outputs over inputs; the output side is the shorter one),
* ``noise_std``    -- sigma_z; every singular value scales with it,
  ``f(s; sigma) = sigma * f(s / sigma; 1)``, densities pick up a factor 1 / sigma and
  CDFs, quantile levels and overlaps are invariant,
* ``s``            -- a singular value of the pure-noise part (the Marchenko-Pastur bulk),
* ``s_bar``        -- a teacher singular value (the SNR of its mode when sigma = 1),
* ``s_hat``        -- the corresponding singular value of Sigma31 (the outlier).

The bulk is the Marchenko-Pastur law (Marchenko & Pastur 1967) of the singular values s = sqrt(x),
where x is an eigenvalue of Sigma31 Sigma31^T with ratio A; in s it has support
sigma [1 - sqrt(A), 1 + sqrt(A)]. A teacher mode above the detection threshold s_bar > sigma A^(1/4)
(a BBP-type phase transition) leaves the bulk as an outlier whose location and singular-vector
overlaps are given by Benaych-Georges & Nadakuditi 2012 (J. Multivariate Anal. 111, 120-135,
arXiv:1103.2221), Sec. 3.1 (the Gaussian rectangular example).

Which overlap factor belongs to which side was checked by simulation (rank-1 teacher with random unit
vectors, A = 1/2, N1 = 2000, 4 seeds averaged): s_bar = 2 gives |u_hat . u_bar| = 0.929 (theory 0.928)
and |v_hat . v_bar| = 0.883 (theory 0.880); s_bar = 3 gives 0.970 / 0.947 (theory 0.970 / 0.946). The
factor A(1 + s^2) / (s^2 (A + s^2)) therefore belongs to the output (N3, shorter) side.
"""

from __future__ import annotations

import numpy as np

from dltheory._checks import (
    as_float_array,
    check_in_range,
    check_int,
    check_positive,
)

__all__ = [
    "mp_edges",
    "mp_density",
    "mp_cdf",
    "mp_quantile",
    "mp_quadrature",
    "outlier_singular_value",
    "overlap_factors",
    "overlap",
    "signal_from_outlier",
    "detection_threshold",
]

_BISECTION_STEPS = 64  # halves the bulk width 2 sqrt(A) below one ulp of the edges
# Below this aspect ratio the closed-form CDF cancels catastrophically (error about 1e-16 / A), and
# the Gauss-Legendre rule of ``_narrow_cdf`` is used instead (error below 1e-14 there).
_NARROW_ASPECT = 1e-2
_GAUSS_X, _GAUSS_W = np.polynomial.legendre.leggauss(40)


def _check_aspect(aspect_ratio) -> float:
    a = check_positive("aspect_ratio", aspect_ratio)
    if a > 1.0:
        raise ValueError(f"aspect_ratio must lie in (0, 1] (N3 / N1 <= 1), got {aspect_ratio!r}")
    return a


def _check_params(aspect_ratio, noise_std) -> tuple[float, float]:
    return _check_aspect(aspect_ratio), check_positive("noise_std", noise_std)


def _as_levels(name: str, value) -> np.ndarray:
    """A float array of values >= 0 in which +inf is allowed (a CDF's argument)."""
    return as_float_array(name, value, nonneg=True, allow_inf=True)


def _unit_edges(a: float) -> tuple[float, float]:
    r = float(np.sqrt(a))
    return 1.0 - r, 1.0 + r


def _unit_cdf(s: np.ndarray, a: float) -> np.ndarray:
    """Marchenko-Pastur singular-value CDF at sigma = 1 for ``s >= 0`` (any shape, +inf allowed).

    With x = s^2, m = 1 + A, r = 2 sqrt(A) and x = m + r sin(theta), theta in [-pi/2, pi/2], the integral
    of the eigenvalue density sqrt((b - x)(x - a)) / (2 pi A x) from the lower edge a is

        F = [m (theta + pi/2) + r cos(theta) - 2 (1 - A) (arctan g(theta) + pi/4 - arctan sqrt(A))]
            / (2 pi A),      g(theta) = (m tan(theta/2) + r) / (1 - A),

    using int d theta / (m + r sin theta) = 2 arctan(g) / (1 - A) and m^2 - r^2 = (1 - A)^2. The
    factor (1 - A) in front of the arctan makes the A = 1 limit regular; ``arctan2`` handles it.
    The terms are O(1) and F is their O(A) remainder, so for A < 1e-2 ``_narrow_cdf`` is used.
    """
    if a < _NARROW_ASPECT:
        return _narrow_cdf(s, a)
    lo, hi = _unit_edges(a)
    m, r = 1.0 + a, 2.0 * np.sqrt(a)
    sc = np.clip(s, lo, hi)
    # r cos(theta) = sqrt((b - x)(x - a)), factored so that it is accurate at both edges.
    rc = np.sqrt(np.maximum((hi - sc) * (hi + sc), 0.0) * np.maximum((sc - lo) * (sc + lo), 0.0))
    rs = sc * sc - m  # r sin(theta)
    theta = np.arctan2(rs, rc)
    half_tan = rs / (r + rc)  # tan(theta / 2) = sin / (1 + cos); r + rc > 0
    arc = np.arctan2(m * half_tan + r, 1.0 - a)
    f = (
        m * (theta + 0.5 * np.pi)
        + rc
        - 2.0 * (1.0 - a) * (arc + 0.25 * np.pi - np.arctan(np.sqrt(a)))
    )
    f = np.clip(f / (2.0 * np.pi * a), 0.0, 1.0)
    return np.where(s <= lo, 0.0, np.where(s >= hi, 1.0, f))


def _narrow_cdf(s: np.ndarray, a: float) -> np.ndarray:
    """``_unit_cdf`` for small A, by Gauss-Legendre quadrature of the same integral in theta.

    F = (2/pi) int_{-pi/2}^{theta} cos^2(phi) / (1 + A + 2 sqrt(A) sin(phi)) d phi: the integrand's
    poles sit where sin(phi) = -(1 + A)/(2 sqrt(A)) <= -5, so 40 nodes reach about 1e-15. With
    u = s - 1 (exact for s near 1), the edge factors sqrt(A) -+ u and s^2 - 1 - A = u (2 + u) - A
    keep theta accurate even when the bulk is narrower than the float spacing near s = 1.
    """
    r = float(np.sqrt(a))
    u_raw = s - 1.0  # the support is |u| <= r; tested in u, it stays right when r < ulp(1)
    u = np.clip(u_raw, -r, r)
    rc = np.sqrt(
        np.maximum((r - u) * (2.0 + u + r), 0.0) * np.maximum((u + r) * (2.0 + u - r), 0.0)
    )
    theta = np.arctan2(u * (2.0 + u) - a, rc)
    half = 0.5 * (theta + 0.5 * np.pi)
    phi = -0.5 * np.pi + half[..., None] * (_GAUSS_X + 1.0)
    f = np.cos(phi) ** 2 / (1.0 + a + 2.0 * r * np.sin(phi))
    cdf = np.clip((2.0 / np.pi) * half * (f @ _GAUSS_W), 0.0, 1.0)
    return np.where(u_raw <= -r, 0.0, np.where(u_raw >= r, 1.0, cdf))


def mp_edges(*, aspect_ratio: float, noise_std: float = 1.0) -> tuple[float, float]:
    """Edges of the Marchenko-Pastur singular-value bulk, ``sigma (1 -+ sqrt(A))``.

    Implements the support in Sec. 2.2 of Lampinen & Ganguli 2019, arXiv:1809.10374.

    Args:
        aspect_ratio: A = N3 / N1 in (0, 1].
        noise_std: noise scale sigma > 0.

    Returns:
        ``(lower, upper)`` as Python floats.
    """
    a, sigma = _check_params(aspect_ratio, noise_std)
    lo, hi = _unit_edges(a)
    return sigma * lo, sigma * hi


def mp_density(s, *, aspect_ratio: float, noise_std: float = 1.0) -> np.ndarray:
    """Marchenko-Pastur density of the noise singular values.

    Implements P(s) = sqrt(4A - (s^2 - (1 + A))^2) / (pi A s) of Lampinen & Ganguli 2019
    (arXiv:1809.10374, Sec. 2.2) at sigma = 1, and P(s; sigma) = P(s / sigma; 1) / sigma. It is
    normalised to 1, zero outside the support, and never NaN: at A = 1 the value at s = 0 is the
    limit 2 / (pi sigma).

    Args:
        s: singular values, any shape, finite and >= 0.
        aspect_ratio: A = N3 / N1 in (0, 1].
        noise_std: noise scale sigma > 0.

    Returns:
        Density with the shape of ``s``.
    """
    a, sigma = _check_params(aspect_ratio, noise_std)
    s = as_float_array("s", s, nonneg=True) / sigma
    lo, hi = _unit_edges(a)
    # 4A - (s^2 - 1 - A)^2 = (hi^2 - s^2)(s^2 - lo^2), factored for accuracy at the edges.
    sc = np.clip(s, lo, hi)  # no overflow for huge s; the outside is zeroed below
    upper = np.sqrt(np.maximum((hi - sc) * (hi + sc), 0.0))
    lower = np.sqrt(np.maximum((sc - lo) * (sc + lo), 0.0))
    ratio = np.divide(lower, sc, out=np.full(sc.shape, 1.0 if lo == 0.0 else 0.0), where=sc > 0)
    return np.where((s >= lo) & (s <= hi), upper * ratio / (np.pi * a * sigma), 0.0)


def mp_cdf(s, *, aspect_ratio: float, noise_std: float = 1.0) -> np.ndarray:
    """Cumulative distribution of the Marchenko-Pastur singular values, in closed form.

    Integrates the density of Sec. 2.2 of Lampinen & Ganguli 2019 (arXiv:1809.10374) analytically
    (substituting x = s^2 = 1 + A + 2 sqrt(A) sin(theta); see ``_unit_cdf``), and for A < 1e-2 by a
    40-node Gauss-Legendre rule of the same integral, where the closed form would cancel. Accurate
    to about 1e-14 in absolute terms for every A in (0, 1] (checked against 40-digit quadrature);
    0 below and 1 above the support, and non-decreasing in ``s`` to that accuracy.

    Args:
        s: singular values, any shape, >= 0; +inf is allowed (the CDF is 1 there).
        aspect_ratio: A = N3 / N1 in (0, 1].
        noise_std: noise scale sigma > 0.

    Returns:
        CDF values in [0, 1] with the shape of ``s``.
    """
    a, sigma = _check_params(aspect_ratio, noise_std)
    s = _as_levels("s", s)
    return _unit_cdf(s / sigma, a)


def mp_quantile(q, *, aspect_ratio: float, noise_std: float = 1.0) -> np.ndarray:
    """Inverse of :func:`mp_cdf`: the singular value below which a fraction ``q`` of the bulk lies.

    Vectorised bisection of the closed-form CDF on the support (64 halvings, i.e. down to float
    resolution); q = 0 and q = 1 give the edges exactly. 4000 points take a few milliseconds.

    Args:
        q: quantile levels, any shape, in [0, 1].
        aspect_ratio: A = N3 / N1 in (0, 1].
        noise_std: noise scale sigma > 0.

    Returns:
        Singular values with the shape of ``q``.
    """
    a, sigma = _check_params(aspect_ratio, noise_std)
    q = as_float_array("q", q)
    if np.any((q < 0) | (q > 1)):
        raise ValueError("q must lie in [0, 1]")
    lo_edge, hi_edge = _unit_edges(a)
    lo = np.full(q.shape, lo_edge)
    hi = np.full(q.shape, hi_edge)
    for _ in range(_BISECTION_STEPS):
        mid = 0.5 * (lo + hi)
        below = _unit_cdf(mid, a) < q
        lo = np.where(below, mid, lo)
        hi = np.where(below, hi, mid)
    out = 0.5 * (lo + hi)
    out = np.where(q == 0.0, lo_edge, np.where(q == 1.0, hi_edge, out))
    return sigma * out


def mp_quadrature(
    *,
    aspect_ratio: float,
    noise_std: float = 1.0,
    q_lo: float = 0.0,
    q_hi: float = 1.0,
    n: int = 2000,
) -> tuple[np.ndarray, np.ndarray]:
    """Quadrature rule for averages over the part of the bulk between two quantile levels.

    Midpoint rule in quantile space: ``sum(w * f(s))`` approximates the integral of f(s) P(s) ds over
    mp_quantile(q_lo) <= s <= mp_quantile(q_hi), as needed for the region averages of Sec. 2.3 of
    Lampinen & Ganguli 2019 (arXiv:1809.10374). Divide by ``q_hi - q_lo`` for a restricted mean.

    Args:
        aspect_ratio: A = N3 / N1 in (0, 1].
        noise_std: noise scale sigma > 0.
        q_lo: lower quantile level, 0 <= q_lo <= q_hi.
        q_hi: upper quantile level, q_lo <= q_hi <= 1.
        n: number of nodes, an integer >= 1.

    Returns:
        ``(nodes, weights)``, both of shape ``(n,)``: nodes
        ``mp_quantile(q_lo + (k + 0.5) (q_hi - q_lo) / n)`` for k = 0..n-1 and equal weights
        ``(q_hi - q_lo) / n`` (so they sum to ``q_hi - q_lo``). Both have shape ``(0,)`` when
        ``q_lo == q_hi``.
    """
    a, sigma = _check_params(aspect_ratio, noise_std)
    n = check_int("n", n, minimum=1)
    q_lo = check_in_range("q_lo", q_lo, 0.0, 1.0)
    q_hi = check_in_range("q_hi", q_hi, 0.0, 1.0)
    if q_lo > q_hi:
        raise ValueError(f"q_lo must be <= q_hi, got q_lo={q_lo!r}, q_hi={q_hi!r}")
    if q_lo == q_hi:
        return np.empty(0), np.empty(0)
    width = q_hi - q_lo
    levels = q_lo + (np.arange(n) + 0.5) * (width / n)
    nodes = mp_quantile(levels, aspect_ratio=a, noise_std=sigma)
    return nodes, np.full(n, width / n)


def detection_threshold(*, aspect_ratio: float, noise_std: float = 1.0) -> float:
    """Teacher singular value at which an outlier leaves the bulk, ``sigma A^(1/4)``.

    Implements the phase-transition point of Sec. 2.2 of Lampinen & Ganguli 2019 (arXiv:1809.10374).

    Args:
        aspect_ratio: A = N3 / N1 in (0, 1].
        noise_std: noise scale sigma > 0.

    Returns:
        The threshold as a Python float.
    """
    a, sigma = _check_params(aspect_ratio, noise_std)
    return sigma * a**0.25


def outlier_singular_value(s_bar, *, aspect_ratio: float, noise_std: float = 1.0) -> np.ndarray:
    """Data singular value s_hat produced by a teacher singular value s_bar (singular-value inflation).

    Implements Sec. 2.2 of Lampinen & Ganguli 2019 (arXiv:1809.10374; Benaych-Georges & Nadakuditi
    2012): at sigma = 1, s_hat = sqrt((1 + s_bar^2)(A + s_bar^2)) / s_bar for s_bar > A^(1/4) and the
    bulk edge 1 + sqrt(A) otherwise. Evaluated as ``s_bar sqrt((1 + 1/s_bar^2)(1 + A/s_bar^2))``
    (no overflow) and floored at the bulk edge, which is the formula's minimum, so the result is
    exactly continuous at the threshold.

    Args:
        s_bar: teacher singular values, any shape, finite and >= 0.
        aspect_ratio: A = N3 / N1 in (0, 1].
        noise_std: noise scale sigma > 0.

    Returns:
        s_hat with the shape of ``s_bar``.
    """
    a, sigma = _check_params(aspect_ratio, noise_std)
    s = as_float_array("s_bar", s_bar, nonneg=True) / sigma
    edge = _unit_edges(a)[1]
    above = s > a**0.25
    inv = np.divide(1.0, s, out=np.zeros(s.shape), where=above) ** 2
    inflated = s * np.sqrt((1.0 + inv) * (1.0 + a * inv))
    return sigma * np.where(above, np.maximum(inflated, edge), edge)


def overlap_factors(
    s_bar, *, aspect_ratio: float, noise_std: float = 1.0
) -> tuple[np.ndarray, np.ndarray]:
    """Output-side and input-side singular-vector overlaps of an outlier with its teacher mode.

    Implements the two factors of the overlap in Sec. 2.2 of Lampinen & Ganguli 2019
    (arXiv:1809.10374; Benaych-Georges & Nadakuditi 2012), with s = s_bar / sigma:

        O_u = |u_hat . u_bar| = sqrt(1 - A (1 + s^2) / (s^2 (A + s^2)))     (output, N3 side),
        O_v = |v_hat . v_bar| = sqrt(1 - (A + s^2) / (s^2 (1 + s^2)))       (input, N1 side),

    both exactly 0 at and below the threshold s <= A^(1/4). The side assignment was verified by
    simulation (module docstring). Evaluated in 1/s^2, so large s_bar is safe.

    Args:
        s_bar: teacher singular values, any shape, finite and >= 0.
        aspect_ratio: A = N3 / N1 in (0, 1].
        noise_std: noise scale sigma > 0.

    Returns:
        ``(O_u, O_v)``, each with the shape of ``s_bar``, in [0, 1).
    """
    a, sigma = _check_params(aspect_ratio, noise_std)
    s = as_float_array("s_bar", s_bar, nonneg=True) / sigma
    above = s > a**0.25
    inv = np.divide(1.0, s, out=np.zeros(s.shape), where=above) ** 2  # 1 / s^2
    loss_u = a * inv * (1.0 + inv) / (1.0 + a * inv)
    loss_v = inv * (1.0 + a * inv) / (1.0 + inv)
    o_u = np.where(above, np.sqrt(np.clip(1.0 - loss_u, 0.0, 1.0)), 0.0)
    o_v = np.where(above, np.sqrt(np.clip(1.0 - loss_v, 0.0, 1.0)), 0.0)
    return o_u, o_v


def overlap(s_bar, *, aspect_ratio: float, noise_std: float = 1.0) -> np.ndarray:
    """Product overlap O = |u_hat . u_bar| |v_hat . v_bar| of an outlier mode with its teacher mode.

    Implements O(s_bar) of Sec. 2.2 of Lampinen & Ganguli 2019 (arXiv:1809.10374); for A = 1 it is
    1 - sigma^2 / s_bar^2 above the threshold. Zero at and below sigma A^(1/4).

    Args:
        s_bar: teacher singular values, any shape, finite and >= 0.
        aspect_ratio: A = N3 / N1 in (0, 1].
        noise_std: noise scale sigma > 0.

    Returns:
        O with the shape of ``s_bar``, in [0, 1).
    """
    o_u, o_v = overlap_factors(s_bar, aspect_ratio=aspect_ratio, noise_std=noise_std)
    return o_u * o_v


def signal_from_outlier(s_hat, *, aspect_ratio: float, noise_std: float = 1.0) -> np.ndarray:
    """Teacher singular value s_bar inferred from a data singular value s_hat (inverse inflation).

    Implements the inverse map of Sec. 2.2 of Lampinen & Ganguli 2019 (arXiv:1809.10374), at sigma = 1

        s_bar^2 = ((s_hat^2 - 1 - A) + sqrt((s_hat^2 - 1 - A)^2 - 4A)) / 2     for s_hat > 1 + sqrt(A),

    evaluated with the discriminant factored as (s_hat^2 - (1 + sqrt A)^2)(s_hat^2 - (1 - sqrt A)^2)
    and everything divided by s_hat^2 (accurate near the edge, no overflow). Returns 0.0 for
    s_hat <= sigma (1 + sqrt(A)): a singular value inside the bulk carries no detectable signal.
    Just above the edge the result tends to the threshold sigma A^(1/4), so the map jumps there.

    Args:
        s_hat: data singular values, any shape, finite and >= 0.
        aspect_ratio: A = N3 / N1 in (0, 1].
        noise_std: noise scale sigma > 0.

    Returns:
        s_bar with the shape of ``s_hat``.
    """
    a, sigma = _check_params(aspect_ratio, noise_std)
    y = as_float_array("s_hat", s_hat, nonneg=True) / sigma
    lo, hi = _unit_edges(a)
    above = y > hi
    ys = np.where(above, y, 2.0 * hi)  # any safe value outside the outlier branch
    t = 1.0 / ys
    c = 1.0 - (1.0 + a) * t * t  # (s_hat^2 - 1 - A) / s_hat^2
    disc = ((ys - hi) * t) * ((ys + hi) * t) * ((ys - lo) * t) * ((ys + lo) * t)
    s_bar = ys * np.sqrt(0.5 * (c + np.sqrt(np.maximum(disc, 0.0))))
    return sigma * np.where(above, s_bar, 0.0)
