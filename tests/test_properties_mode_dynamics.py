"""Property tests of the single-mode learning dynamics of deep linear networks.

tau ds/dt = N_W s^(2 - 2/N_W) (s_hat - s), s(0) = eps (Saxe, McClelland & Ganguli 2014,
arXiv:1312.6120; Lampinen & Ganguli 2019, arXiv:1809.10374, Sec. 2.1).
"""

import numpy as np
import pytest
from conftest import EXACT, ODE_REL
from hypothesis import given
from hypothesis import strategies as st
from scipy import integrate

from dltheory.theory.mode_dynamics import (
    mode_ode_rhs,
    predicted_half_time,
    predicted_mode_strength,
    predicted_time_to_strength,
)

depths = st.integers(2, 12)
log_eps = st.floats(
    -300.0, -1.0
)  # eps = 10^x s_hat: down to where the deep learning time is ~1e300
s_hats = st.floats(0.01, 100.0)
taus = st.floats(0.1, 1e4)


@given(depths, log_eps, s_hats, taus)
def test_half_time_identity_across_eps(n_w, x, s_hat, tau):
    # s(t_1/2) = s_hat / 2. Near the transition s(t) is steep: its condition number
    # kappa = t s'(t) / s grows as (s_hat/eps)^(1-2/N_W), and t_1/2 itself is only a float, so the
    # identity holds to a few ulps of t magnified by kappa (for N_W = 2, kappa ~ log(s_hat/eps)).
    eps = s_hat * 10.0**x
    th = float(predicted_half_time(s_hat, eps=eps, tau=tau, n_weights=n_w))
    assert np.isfinite(th) and th > 0
    s = float(predicted_mode_strength(th, s_hat, eps=eps, tau=tau, n_weights=n_w))
    kappa = th * float(mode_ode_rhs(s_hat / 2, s_hat, tau=tau, n_weights=n_w)) / (s_hat / 2)
    assert abs(s / s_hat - 0.5) <= 1e-12 + 16.0 * np.finfo(float).eps * kappa
    # and s(t) brackets s_hat / 2 just before and after, whatever kappa is
    before = float(
        predicted_mode_strength(th * (1 - 1e-12), s_hat, eps=eps, tau=tau, n_weights=n_w)
    )
    after = float(predicted_mode_strength(th * (1 + 1e-12), s_hat, eps=eps, tau=tau, n_weights=n_w))
    assert before <= s_hat / 2 <= after


@given(depths, log_eps, s_hats, taus)
def test_start_and_end_of_training(n_w, x, s_hat, tau):
    eps = s_hat * 10.0**x
    s = predicted_mode_strength(np.array([0.0, np.inf]), s_hat, eps=eps, tau=tau, n_weights=n_w)
    assert s[0] == eps
    assert s[1] == s_hat


@given(depths, log_eps, s_hats, st.lists(st.floats(0.0, 1e3), min_size=2, max_size=30))
def test_strength_grows_monotonically_between_eps_and_s_hat(n_w, x, s_hat, t_rel):
    # times in units of the half-time, so the transition is sampled whatever eps is
    eps = s_hat * 10.0**x
    th = float(predicted_half_time(s_hat, eps=eps, tau=1.0, n_weights=n_w))
    t = np.sort(np.asarray(t_rel)) * th / 10.0
    s = predicted_mode_strength(t, s_hat, eps=eps, tau=1.0, n_weights=n_w)
    assert np.all(np.isfinite(s))
    assert np.all(np.diff(s) >= 0)
    assert np.all((s >= eps) & (s <= s_hat))


@given(st.integers(2, 8), st.floats(-6.0, -1.0), s_hats, st.floats(0.05, 0.95))
def test_solution_satisfies_the_ode(n_w, x, s_hat, frac):
    # Central differences of s(t) against the right-hand side, at the time s reaches a point a
    # fraction frac of the way from eps to s_hat (the inverse is defined only strictly between them;
    # eps >= 1e-6 s_hat keeps the condition number of s(t), and so its rounding, small).
    eps = s_hat * 10.0**x
    s = eps + frac * (s_hat - eps)
    tau = 1.0
    t = float(predicted_time_to_strength(s, s_hat, eps=eps, tau=tau, n_weights=n_w))
    rhs = float(mode_ode_rhs(s, s_hat, tau=tau, n_weights=n_w))
    h = 1e-4 * s / rhs  # a step over which s changes by 1e-4 of itself
    s_p, s_m = predicted_mode_strength(
        np.array([t + h, t - h]), s_hat, eps=eps, tau=tau, n_weights=n_w
    )
    assert abs((s_p - s_m) / (2 * h) - rhs) <= ODE_REL * rhs


@given(st.integers(3, 8), st.floats(-12.0, -1.0), s_hats, st.floats(0.01, 0.99))
def test_deep_time_matches_the_defining_integral(n_w, x, s_hat, frac):
    # t(s) = tau int_eps^s du / (N_W u^(2-2/N_W) (s_hat - u)), by adaptive quadrature in log u
    # (an independent route to the closed form the library inverts).
    eps = s_hat * 10.0**x
    s = eps + frac * (s_hat - eps)
    q = 2.0 - 2.0 / n_w

    def integrand(y):
        u = np.exp(y)
        return u / (n_w * u**q * (s_hat - u))

    ref = integrate.quad(integrand, np.log(eps), np.log(s), epsabs=0.0, epsrel=1e-12, limit=400)[0]
    got = float(predicted_time_to_strength(s, s_hat, eps=eps, tau=1.0, n_weights=n_w))
    assert abs(got / ref - 1.0) < 1e-9


@given(st.integers(3, 12), st.floats(-200.0, -20.0), s_hats, st.floats(1e-3, 0.5))
def test_deep_early_phase_is_a_power_law(n_w, x, s_hat, frac):
    # While s << s_hat, tau ds/dt = N_W s_hat s^(2-2/N_W) gives s^-p = eps^-p - p N_W s_hat t / tau
    # (p = 1 - 2/N_W); the neglected term changes t(s) by a relative O(s / s_hat).
    eps = s_hat * 10.0**x
    p = 1.0 - 2.0 / n_w
    s = eps * (1.0 + frac)  # barely grown, so s / s_hat < 1e-19
    t = (eps**-p - s**-p) / (p * n_w * s_hat)
    got = float(predicted_mode_strength(t, s_hat, eps=eps, tau=1.0, n_weights=n_w))
    assert abs(got / s - 1.0) < 1e-9


@given(st.floats(-300.0, -1.0), s_hats, st.floats(0.0, 50.0))
def test_shallow_mode_is_the_logistic_curve(x, s_hat, t_half_units):
    # N_W = 2: (s_hat/s - 1) decays as exp(-2 s_hat t / tau) from s_hat/eps - 1, in log form.
    eps = s_hat * 10.0**x
    th = float(predicted_half_time(s_hat, eps=eps, tau=1.0))
    t = t_half_units * th
    s = float(predicted_mode_strength(t, s_hat, eps=eps, tau=1.0))
    if s < s_hat * (1.0 - 1e-6):  # closer to s_hat, s_hat / s - 1 is mostly rounding
        lhs = np.log(s_hat / s - 1.0)
        rhs = np.log(s_hat / eps - 1.0) - 2.0 * s_hat * t
        assert abs(lhs - rhs) <= 1e-9 * max(1.0, abs(rhs))


@given(st.floats(0.0, 10.0), st.floats(0.01, 10.0), st.floats(0.01, 10.0))
def test_decaying_and_zero_modes(t, s_hat_rel, eps):
    # s_hat < eps: s falls monotonically from eps to s_hat; s_hat = 0: s = eps / (1 + 2 eps t / tau).
    s_hat = eps * s_hat_rel / (1.0 + s_hat_rel)  # in (0, eps)
    s = predicted_mode_strength(np.array([t, t + 1.0, np.inf]), s_hat, eps=eps, tau=1.0)
    assert s_hat <= s[1] <= s[0] <= eps and s[2] == s_hat
    zero = float(predicted_mode_strength(t, 0.0, eps=eps, tau=1.0))
    assert abs(zero - eps / (1.0 + 2.0 * eps * t)) <= EXACT * eps


@given(st.integers(5, 50), st.floats(299.0, 300.0))
def test_a_learning_time_beyond_floats_is_rejected(n_w, x):
    # (s_hat/eps)^(1-2/N_W) > e^700 (here s_hat/eps >= 1e599, so N_W >= 5 suffices) would make every
    # deep time inf: a clear error instead; the shallow closed form only needs log(s_hat/eps).
    s_hat, eps = 10.0**x, 1e-300
    with pytest.raises(ValueError, match="eps"):
        predicted_mode_strength(1.0, s_hat, eps=eps, tau=1.0, n_weights=n_w)
    with pytest.raises(ValueError, match="eps"):
        predicted_half_time(s_hat, eps=eps, tau=1.0, n_weights=n_w)
    th = float(predicted_half_time(s_hat, eps=eps, tau=1.0))
    assert np.isfinite(th)
