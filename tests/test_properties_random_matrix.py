"""Property tests of the spiked random-matrix theory: Marchenko-Pastur bulk and outliers.

Marchenko & Pastur 1967; outliers and overlaps of Benaych-Georges & Nadakuditi 2012
(arXiv:1103.2221), as used by Lampinen & Ganguli 2019 (arXiv:1809.10374, Sec. 2.2).
"""

import numpy as np
import pytest
from conftest import EXACT
from hypothesis import given
from hypothesis import strategies as st
from scipy import integrate

from dltheory.theory.random_matrix import (
    detection_threshold,
    mp_cdf,
    mp_density,
    mp_edges,
    mp_quantile,
    outlier_singular_value,
    overlap,
    overlap_factors,
    signal_from_outlier,
)

# A = 10^x: tiny aspect ratios (a wide N1) are valid and were where the closed-form CDF failed.
log_aspects = st.floats(-40.0, 0.0)
moderate_log_aspects = st.floats(-12.0, 0.0)
sigmas = st.floats(0.1, 10.0)
# The closed-form CDF and its absolute accuracy: about 1e-14 for every A (module docstring).
CDF_ABS = 1e-13


@given(log_aspects, sigmas, st.lists(st.floats(0.0, 1.0), min_size=2, max_size=30))
def test_cdf_is_a_distribution_function_for_every_aspect_ratio(x, sigma, fracs):
    # Points across the (possibly sub-ulp-wide) support and outside it; the CDF must rise from 0 to 1.
    a = 10.0**x
    lo, hi = mp_edges(aspect_ratio=a, noise_std=sigma)
    width = max(hi - lo, 4e-16 * sigma)
    s = np.sort(np.concatenate([lo - width + 3.0 * width * np.asarray(fracs), [0.0, 3.0 * sigma]]))
    s = np.maximum(s, 0.0)
    f = mp_cdf(s, aspect_ratio=a, noise_std=sigma)
    assert np.all((f >= 0.0) & (f <= 1.0))
    assert np.all(np.diff(f) >= -CDF_ABS)
    assert f[0] == pytest.approx(0.0, abs=EXACT) and f[-1] == pytest.approx(1.0, abs=EXACT)


@given(moderate_log_aspects, st.floats(0.001, 0.999))
def test_cdf_is_the_integral_of_the_density(x, frac):
    # An independent route: adaptive quadrature of the density (its square-root edge is an algebraic
    # endpoint singularity, which the extrapolation of QUADPACK's QAGS handles).
    a = 10.0**x
    lo, hi = mp_edges(aspect_ratio=a)
    s = lo + frac * (hi - lo)
    ref = integrate.quad(
        lambda u: mp_density(u, aspect_ratio=a), lo, s, epsabs=1e-12, epsrel=1e-11, limit=200
    )[0]
    assert abs(float(mp_cdf(s, aspect_ratio=a)) - ref) < 1e-8


@given(st.lists(st.floats(0.85, 1.15), min_size=1, max_size=30))
def test_cdf_is_continuous_where_its_numerics_switch(s):
    # Below A = 1e-2 a quadrature replaces the closed form; the CDF is continuous in A.
    below = mp_cdf(s, aspect_ratio=np.nextafter(1e-2, 0.0))
    above = mp_cdf(s, aspect_ratio=1e-2)
    np.testing.assert_allclose(below, above, rtol=0, atol=CDF_ABS)


@given(moderate_log_aspects, sigmas, st.lists(st.floats(0.0, 1.0), min_size=1, max_size=20))
def test_quantile_inverts_cdf(x, sigma, q):
    a = 10.0**x
    q = np.asarray(q)
    s = mp_quantile(q, aspect_ratio=a, noise_std=sigma)
    lo, hi = mp_edges(aspect_ratio=a, noise_std=sigma)
    assert np.all((s >= lo) & (s <= hi))
    # F(s) can only be as exact as s: its slope is the density, so allow a few ulps of s through it.
    slope = mp_density(s, aspect_ratio=a, noise_std=sigma)
    tol = CDF_ABS + 4.0 * np.spacing(s) * slope
    assert np.all(np.abs(mp_cdf(s, aspect_ratio=a, noise_std=sigma) - q) <= tol)


@given(st.floats(-6.0, 0.0), sigmas)
def test_density_is_normalised_with_unit_second_moment(x, sigma):
    # <s^2> over the bulk is sigma^2 (the first moment of the MP eigenvalue law).
    a = 10.0**x
    lo, hi = mp_edges(aspect_ratio=a, noise_std=sigma)
    total = integrate.quad(
        lambda s: mp_density(s, aspect_ratio=a, noise_std=sigma), lo, hi, epsabs=1e-12, limit=200
    )[0]
    m2 = integrate.quad(
        lambda s: s**2 * mp_density(s, aspect_ratio=a, noise_std=sigma),
        lo,
        hi,
        epsabs=1e-12,
        limit=200,
    )[0]
    assert abs(total - 1.0) < 1e-7
    assert abs(m2 / sigma**2 - 1.0) < 1e-7


@given(log_aspects, sigmas, st.lists(st.floats(0.0, 5.0), min_size=1, max_size=20))
def test_outputs_are_finite_on_the_domain(x, sigma, s):
    a = 10.0**x
    s = np.asarray(s) * sigma
    kw = dict(aspect_ratio=a, noise_std=sigma)
    for out in (
        mp_density(s, **kw),
        mp_cdf(s, **kw),
        outlier_singular_value(s, **kw),
        overlap(s, **kw),
        *overlap_factors(s, **kw),
        signal_from_outlier(s, **kw),
    ):
        assert np.all(np.isfinite(out))


@given(st.floats(0.01, 1.0), sigmas, st.floats(1e-12, 1e-6))
def test_outlier_and_overlap_are_continuous_at_the_threshold(a, sigma, d):
    # Just below the threshold the outlier sits at the bulk edge and the overlap is 0; just above
    # it the outlier leaves the edge by O(d^2) (the threshold is the minimum of s_hat(s_bar)) and the
    # overlap rises as sqrt(d): no jump either way.
    kw = dict(aspect_ratio=a, noise_std=sigma)
    thr = detection_threshold(**kw)
    below, above = thr * (1.0 - d), thr * (1.0 + d)
    edge = mp_edges(**kw)[1]
    assert float(outlier_singular_value(below, **kw)) == pytest.approx(edge, rel=EXACT)
    assert abs(float(outlier_singular_value(above, **kw)) - edge) <= edge * (4.0 * d * d + EXACT)
    assert float(overlap(below, **kw)) == pytest.approx(0.0, abs=EXACT)
    assert 0.0 < float(overlap(above, **kw)) < 10.0 * np.sqrt(d)


@given(st.floats(0.01, 1.0), sigmas, st.floats(1e-4, 10.0))
def test_signal_from_outlier_inverts_the_inflation(a, sigma, excess):
    kw = dict(aspect_ratio=a, noise_std=sigma)
    s_bar = detection_threshold(**kw) * (1.0 + excess)
    s_hat = outlier_singular_value(s_bar, **kw)
    # the slope of s_hat(s_bar) vanishes at the threshold, so the inverse loses digits near it
    np.testing.assert_allclose(signal_from_outlier(s_hat, **kw), s_bar, rtol=1e-12 / excess)


@given(st.floats(0.01, 1.0), sigmas, st.lists(st.floats(0.0, 50.0), min_size=2, max_size=20))
def test_outlier_and_overlap_increase_with_the_signal(a, sigma, s_bar):
    kw = dict(aspect_ratio=a, noise_std=sigma)
    s_bar = np.sort(np.asarray(s_bar)) * sigma
    s_hat = outlier_singular_value(s_bar, **kw)
    o_u, o_v = overlap_factors(s_bar, **kw)
    assert np.all(np.diff(s_hat) >= 0) and np.all(s_hat >= s_bar)
    for o in (o_u, o_v, o_u * o_v):
        assert np.all(np.diff(o) >= 0) and np.all((o >= 0) & (o < 1))


@given(st.floats(0.01, 1.0), sigmas, st.floats(1e3, 1e6))
def test_strong_signal_limit(a, sigma, ratio):
    # s_hat = s_bar + sigma^2 (1 + A) / (2 s_bar) + O(1/s_bar^3), and 1 - O = sigma^2 (1 + A) /
    # (2 s_bar^2) + O(1/s_bar^4) (expanding the closed forms in 1/s_bar^2): the outlier joins its
    # teacher mode. The allowances add a few ulps of s_hat and of O, magnified by the differences.
    kw = dict(aspect_ratio=a, noise_std=sigma)
    s_bar = ratio * sigma
    s_hat = float(outlier_singular_value(s_bar, **kw))
    assert abs((s_hat - s_bar) / sigma - (1.0 + a) / (2.0 * ratio)) < 2.0 / ratio**3 + 1e-15 * ratio
    loss = 1.0 - float(overlap(s_bar, **kw))
    assert abs(loss * ratio**2 - 0.5 * (1.0 + a)) < 2.0 / ratio**2 + 1e-15 * ratio**2
