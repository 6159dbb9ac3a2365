import time

import numpy as np
import pytest
from conftest import EXACT
from scipy import integrate, stats

from dltheory.theory.random_matrix import (
    detection_threshold,
    mp_cdf,
    mp_density,
    mp_edges,
    mp_quadrature,
    mp_quantile,
    outlier_singular_value,
    overlap,
    overlap_factors,
    signal_from_outlier,
)

ASPECTS = [0.25, 0.5, 1.0]


def _quad(f, lo, hi):
    # The density has square-root edges (and, for A = 1, is finite at s = 0): plain quad is accurate.
    return integrate.quad(f, lo, hi, epsabs=1e-14, epsrel=1e-13, limit=200)[0]


# ---------------------------------------------------------------- Marchenko-Pastur bulk


@pytest.mark.parametrize("a", ASPECTS)
def test_edges(a):
    lo, hi = mp_edges(aspect_ratio=a)
    assert lo == pytest.approx(1 - np.sqrt(a), abs=EXACT)
    assert hi == pytest.approx(1 + np.sqrt(a), abs=EXACT)
    lo3, hi3 = mp_edges(aspect_ratio=a, noise_std=3.0)
    assert (lo3, hi3) == pytest.approx((3 * lo, 3 * hi), abs=EXACT)


@pytest.mark.parametrize("a", ASPECTS)
def test_density_normalised(a):
    lo, hi = mp_edges(aspect_ratio=a)
    total = _quad(lambda s: mp_density(s, aspect_ratio=a), lo, hi)
    assert total == pytest.approx(1.0, abs=1e-8)


@pytest.mark.parametrize("a", ASPECTS)
def test_density_moments(a):
    # <s^2> and <s^4> are the first two moments of the MP eigenvalue law with ratio A: 1 and 1 + A.
    lo, hi = mp_edges(aspect_ratio=a)
    m2 = _quad(lambda s: s**2 * mp_density(s, aspect_ratio=a), lo, hi)
    m4 = _quad(lambda s: s**4 * mp_density(s, aspect_ratio=a), lo, hi)
    assert m2 == pytest.approx(1.0, abs=1e-8)
    assert m4 == pytest.approx(1.0 + a, abs=1e-8)


@pytest.mark.parametrize("a", ASPECTS)
def test_density_formula_support_and_no_nan(a):
    lo, hi = mp_edges(aspect_ratio=a)
    s = np.linspace(lo, hi, 201)[1:-1]
    density = np.sqrt(4 * a - (s**2 - (1 + a)) ** 2) / (np.pi * a * s)
    np.testing.assert_allclose(mp_density(s, aspect_ratio=a), density, rtol=1e-10, atol=1e-12)
    outside = np.array([hi, hi + 1e-9, 2 * hi, 1e300])
    if a < 1:
        outside = np.append(outside, [0.0, 0.5 * lo, lo])
    else:  # at A = 1 the lower edge is s = 0, where the density is finite: the limit 2 / pi
        assert mp_density(0.0, aspect_ratio=a) == pytest.approx(2 / np.pi, abs=EXACT)
    np.testing.assert_array_equal(mp_density(outside, aspect_ratio=a), 0.0)


@pytest.mark.parametrize("a", ASPECTS)
def test_cdf_matches_integral_of_density(a):
    lo, hi = mp_edges(aspect_ratio=a)
    s = np.linspace(lo, hi, 23)
    ref = np.array([_quad(lambda x: mp_density(x, aspect_ratio=a), lo, x) for x in s])
    np.testing.assert_allclose(mp_cdf(s, aspect_ratio=a), ref, rtol=0, atol=EXACT)


@pytest.mark.parametrize("a", ASPECTS)
def test_cdf_range_and_monotone(a):
    lo, hi = mp_edges(aspect_ratio=a)
    c = mp_cdf(np.array([0.0, 0.5 * lo, lo, hi, 1.5 * hi, 1e300]), aspect_ratio=a)
    np.testing.assert_array_equal(c, [0.0, 0.0, 0.0, 1.0, 1.0, 1.0])
    grid = mp_cdf(np.linspace(lo, hi, 5001), aspect_ratio=a)
    assert np.all(np.diff(grid) >= 0)
    assert grid.min() >= 0 and grid.max() <= 1


@pytest.mark.parametrize("a", ASPECTS)
def test_quantile_inverts_cdf(a):
    lo, hi = mp_edges(aspect_ratio=a)
    q = np.linspace(0.0, 1.0, 1001)
    s = mp_quantile(q, aspect_ratio=a)
    np.testing.assert_allclose(mp_cdf(s, aspect_ratio=a), q, rtol=0, atol=EXACT)
    assert s[0] == lo and s[-1] == hi
    assert np.all(np.diff(s) > 0)
    s_in = np.linspace(lo, hi, 1001)[1:-1]
    back = mp_quantile(mp_cdf(s_in, aspect_ratio=a), aspect_ratio=a)
    np.testing.assert_allclose(back, s_in, rtol=0, atol=1e-10)


def test_quantile_is_fast_and_keeps_shape():
    q = np.linspace(0.0, 1.0, 4000)
    start = time.perf_counter()
    mp_quantile(q, aspect_ratio=0.5)
    assert time.perf_counter() - start < 0.5
    assert mp_quantile(0.5, aspect_ratio=0.5).shape == ()
    assert mp_quantile(np.full((3, 4), 0.2), aspect_ratio=0.5).shape == (3, 4)


@pytest.mark.parametrize("a", ASPECTS)
def test_quadrature_full_bulk(a):
    nodes, w = mp_quadrature(aspect_ratio=a)
    assert nodes.shape == w.shape == (2000,)
    assert w.sum() == pytest.approx(1.0, abs=EXACT)
    assert np.sum(w * nodes**2) == pytest.approx(1.0, abs=1e-5)


def test_quadrature_partial_region():
    a, n = 0.5, 400
    nodes, w = mp_quadrature(aspect_ratio=a, q_lo=0.3, q_hi=0.8, n=n)
    assert w.sum() == pytest.approx(0.5, abs=EXACT)
    np.testing.assert_array_equal(w, np.full(n, 0.5 / n))
    levels = 0.3 + (np.arange(n) + 0.5) * 0.5 / n
    np.testing.assert_allclose(nodes, mp_quantile(levels, aspect_ratio=a), rtol=0, atol=EXACT)
    # Two adjacent regions add up to the union (with matching node density).
    n1, w1 = mp_quadrature(aspect_ratio=a, q_lo=0.0, q_hi=0.5, n=1000)
    n2, w2 = mp_quadrature(aspect_ratio=a, q_lo=0.5, q_hi=1.0, n=1000)
    n3, w3 = mp_quadrature(aspect_ratio=a, n=2000)
    np.testing.assert_allclose(np.concatenate([n1, n2]), n3, rtol=0, atol=EXACT)
    empty_nodes, empty_w = mp_quadrature(aspect_ratio=a, q_lo=0.4, q_hi=0.4)
    assert empty_nodes.shape == empty_w.shape == (0,)


# ---------------------------------------------------------------- outliers and overlaps


@pytest.mark.parametrize("a", ASPECTS)
def test_threshold_continuity_exact(a):
    thr = detection_threshold(aspect_ratio=a)
    assert thr == a**0.25
    edge = 1 + np.sqrt(a)
    below = np.array([0.0, 0.1 * thr, 0.99 * thr, thr])
    np.testing.assert_array_equal(outlier_singular_value(below, aspect_ratio=a), edge)
    np.testing.assert_array_equal(overlap(below, aspect_ratio=a), 0.0)
    o_u, o_v = overlap_factors(below, aspect_ratio=a)
    np.testing.assert_array_equal(o_u, 0.0)
    np.testing.assert_array_equal(o_v, 0.0)
    # Just above the threshold the outlier sits at the edge and the overlap is small.
    just = thr * (1 + 1e-9)
    assert outlier_singular_value(just, aspect_ratio=a) == pytest.approx(edge, abs=1e-12)
    assert overlap(just, aspect_ratio=a) < 1e-4


@pytest.mark.parametrize("a", ASPECTS)
def test_large_signal_limit(a):
    s_hat = outlier_singular_value(1e3, aspect_ratio=a)
    assert abs(s_hat / 1e3 - 1) < 1e-3
    assert overlap(1e3, aspect_ratio=a) == pytest.approx(1.0, abs=1e-5)
    huge = np.array([1e150, 1e300])
    np.testing.assert_allclose(outlier_singular_value(huge, aspect_ratio=a), huge, rtol=EXACT)
    np.testing.assert_allclose(overlap(huge, aspect_ratio=a), 1.0, rtol=EXACT)
    np.testing.assert_allclose(signal_from_outlier(huge, aspect_ratio=a), huge, rtol=EXACT)


@pytest.mark.parametrize("a", ASPECTS)
def test_outlier_increasing_above_threshold(a):
    s = np.linspace(a**0.25, 20, 500)
    s_hat = outlier_singular_value(s, aspect_ratio=a)
    assert np.all(np.diff(s_hat) > 0)
    assert np.all(s_hat >= s)
    assert np.all(np.diff(overlap(s, aspect_ratio=a)) > 0)


def test_square_case_reduces():
    s = np.linspace(1.001, 30, 200)
    np.testing.assert_allclose(outlier_singular_value(s, aspect_ratio=1.0), s + 1 / s, rtol=EXACT)
    np.testing.assert_allclose(overlap(s, aspect_ratio=1.0), 1 - 1 / s**2, rtol=1e-10)


def test_reference_values_from_spec():
    # Lampinen & Ganguli 2019 Fig. 2b,c (Sec. 3), A = 1/2.
    s_hat = outlier_singular_value([2.0, 3.0], aspect_ratio=0.5)
    np.testing.assert_allclose(s_hat, [2.372, 3.249], atol=5e-4)
    o = overlap([1.0, 2.0, 3.0, 5.0], aspect_ratio=0.5)
    np.testing.assert_allclose(o, [0.289, 0.817, 0.918, 0.970], atol=5e-4)
    o_u, o_v = overlap_factors(1.0, aspect_ratio=0.5)
    assert o_u == pytest.approx(np.sqrt(1 / 3), abs=EXACT)
    assert o_v == pytest.approx(0.5, abs=EXACT)


@pytest.mark.parametrize("a", ASPECTS)
def test_signal_from_outlier_inverts(a):
    x = np.geomspace(1.05 * a**0.25, 100.0, 300)
    s_hat = outlier_singular_value(x, aspect_ratio=a)
    np.testing.assert_allclose(signal_from_outlier(s_hat, aspect_ratio=a), x, rtol=1e-10)


@pytest.mark.parametrize("a", ASPECTS)
def test_signal_from_outlier_zero_in_bulk(a):
    edge = 1 + np.sqrt(a)
    inside = np.array([0.0, 0.5, edge])
    np.testing.assert_array_equal(signal_from_outlier(inside, aspect_ratio=a), 0.0)
    above = signal_from_outlier(edge * (1 + 1e-12), aspect_ratio=a)
    assert np.isfinite(above) and above == pytest.approx(a**0.25, rel=1e-4)


def test_noise_std_scaling():
    a, sigma = 0.5, 2.5
    kw, kw1 = {"aspect_ratio": a, "noise_std": sigma}, {"aspect_ratio": a}
    s = np.linspace(0.0, 5.0, 41)
    q = np.linspace(0.0, 1.0, 11)
    np.testing.assert_allclose(mp_density(s, **kw), mp_density(s / sigma, **kw1) / sigma)
    np.testing.assert_allclose(mp_cdf(s, **kw), mp_cdf(s / sigma, **kw1), atol=EXACT)
    np.testing.assert_allclose(mp_quantile(q, **kw), sigma * mp_quantile(q, **kw1), rtol=EXACT)
    nodes, w = mp_quadrature(**kw, n=50)
    nodes1, w1 = mp_quadrature(**kw1, n=50)
    np.testing.assert_allclose(nodes, sigma * nodes1, rtol=EXACT)
    np.testing.assert_allclose(w, w1, rtol=EXACT)
    sb = np.array([0.0, 1.0, 2.0, 3.0, 10.0])
    np.testing.assert_allclose(
        outlier_singular_value(sb, **kw), sigma * outlier_singular_value(sb / sigma, **kw1)
    )
    np.testing.assert_allclose(overlap(sb, **kw), overlap(sb / sigma, **kw1))
    sh = np.array([0.0, 4.0, 6.0, 30.0])
    np.testing.assert_allclose(
        signal_from_outlier(sh, **kw), sigma * signal_from_outlier(sh / sigma, **kw1)
    )
    assert detection_threshold(**kw) == pytest.approx(sigma * a**0.25, rel=EXACT)
    assert mp_edges(**kw) == pytest.approx(tuple(sigma * e for e in mp_edges(**kw1)))


def test_outputs_are_finite_everywhere():
    s = np.concatenate([[0.0, 1e-300], np.linspace(0, 3, 301), [1e300]])
    for a in [1e-6, 0.3, 1.0]:
        for out in [
            mp_density(s, aspect_ratio=a),
            mp_cdf(s, aspect_ratio=a),
            outlier_singular_value(s, aspect_ratio=a),
            overlap(s, aspect_ratio=a),
            *overlap_factors(s, aspect_ratio=a),
            signal_from_outlier(s, aspect_ratio=a),
        ]:
            assert np.all(np.isfinite(out)) and np.isrealobj(out)


# ---------------------------------------------------------------- argument validation

_PER_VALUE = {
    "s": [mp_density, mp_cdf],
    "s_bar": [outlier_singular_value, overlap_factors, overlap],
    "s_hat": [signal_from_outlier],
}


@pytest.mark.parametrize(
    ("param", "bad"),
    [("aspect_ratio", b) for b in [0.0, -0.1, 1.5, np.nan, np.inf, "x"]]
    + [("noise_std", b) for b in [0.0, -0.1, np.nan, np.inf, "x"]],
)
def test_bad_shape_parameters(param, bad):
    kw = {"aspect_ratio": 0.5, param: bad}
    funcs = [
        lambda: mp_edges(**kw),
        lambda: mp_density(1.0, **kw),
        lambda: mp_cdf(1.0, **kw),
        lambda: mp_quantile(0.5, **kw),
        lambda: mp_quadrature(**kw, n=4),
        lambda: outlier_singular_value(1.0, **kw),
        lambda: overlap_factors(1.0, **kw),
        lambda: overlap(1.0, **kw),
        lambda: signal_from_outlier(2.0, **kw),
        lambda: detection_threshold(**kw),
    ]
    for f in funcs:
        with pytest.raises(ValueError, match=param):
            f()


@pytest.mark.parametrize("name", sorted(_PER_VALUE))
@pytest.mark.parametrize("bad", [-1.0, np.nan, np.inf, [1.0, -0.5]])
def test_bad_values(name, bad):
    for f in _PER_VALUE[name]:
        if f is mp_cdf and np.isscalar(bad) and bad == np.inf:
            continue  # a CDF is 1 at +inf, a valid limit (test_cdf_at_infinity)
        with pytest.raises(ValueError, match=name):
            f(bad, aspect_ratio=0.5)


def test_cdf_at_infinity():
    np.testing.assert_array_equal(mp_cdf([np.inf, 0.0], aspect_ratio=0.5), [1.0, 0.0])


@pytest.mark.parametrize("bad", [-0.1, 1.1, np.nan, [0.5, 2.0]])
def test_bad_quantile_levels(bad):
    with pytest.raises(ValueError, match="q"):
        mp_quantile(bad, aspect_ratio=0.5)


@pytest.mark.parametrize(
    ("kw", "name"),
    [
        ({"q_lo": -0.1}, "q_lo"),
        ({"q_hi": 1.5}, "q_hi"),
        ({"q_lo": 0.6, "q_hi": 0.4}, "q_lo"),
        ({"q_lo": np.nan}, "q_lo"),
        ({"n": 0}, "n"),
        ({"n": 2.5}, "n"),
    ],
)
def test_bad_quadrature_arguments(kw, name):
    with pytest.raises(ValueError, match=name):
        mp_quadrature(aspect_ratio=0.5, **kw)


# ---------------------------------------------------------------- simulation (Lampinen & Ganguli 2019, Sec. 4)


def test_rank_one_simulation_matches_theory():
    rng = np.random.default_rng(2019)
    n1, n3, s_bar = 1000, 500, 2.0
    a = n3 / n1
    u = rng.standard_normal(n3)
    u /= np.linalg.norm(u)
    v = rng.standard_normal(n1)
    v /= np.linalg.norm(v)
    sigma31 = s_bar * np.outer(u, v) + rng.standard_normal((n3, n1)) / np.sqrt(n1)
    u_hat, s_hat, vt_hat = np.linalg.svd(sigma31, full_matrices=False)
    predicted = outlier_singular_value(s_bar, aspect_ratio=a)
    assert abs(s_hat[0] / predicted - 1) < 0.02
    o_u, o_v = overlap_factors(s_bar, aspect_ratio=a)
    # Output side (N3, shorter) is the first factor, input side (N1) the second.
    assert abs(abs(u_hat[:, 0] @ u) - o_u) < 0.03
    assert abs(abs(vt_hat[0] @ v) - o_v) < 0.03


def test_pure_noise_bulk_matches_marchenko_pastur():
    rng = np.random.default_rng(7)
    n1, n3 = 1000, 500
    a = n3 / n1
    s = np.linalg.svd(rng.standard_normal((n3, n1)) / np.sqrt(n1), compute_uv=False)
    ks = stats.kstest(s, lambda x: mp_cdf(np.maximum(x, 0.0), aspect_ratio=a))
    assert ks.statistic < 0.02
    assert abs(s.max() - mp_edges(aspect_ratio=a)[1]) < 0.03
    assert abs(np.mean(s**2) - 1) < 0.01
