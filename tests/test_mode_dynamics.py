import numpy as np
import pytest
from conftest import INVERSE_REL, ODE_REL

from dltheory.theory.mode_dynamics import (
    mode_ode_rhs,
    predicted_half_time,
    predicted_mode_strength,
    predicted_time_to_strength,
)

S_HAT = np.array([0.3, 1.0, 2.37, 6.0, 12.0])


@pytest.mark.parametrize("n_weights", [2, 3, 4])
def test_t0_gives_initial_strength(n_weights):
    s = predicted_mode_strength(0.0, S_HAT, eps=1e-3, tau=1000.0, n_weights=n_weights)
    np.testing.assert_allclose(s, 1e-3, rtol=1e-12)


@pytest.mark.parametrize("n_weights", [2, 3, 4])
def test_long_times_give_s_hat(n_weights):
    eps = 1e-3
    s = predicted_mode_strength(
        np.array([1e7, 1e9]), S_HAT, eps=eps, tau=1000.0, n_weights=n_weights
    )
    np.testing.assert_allclose(s, np.broadcast_to(S_HAT, s.shape), rtol=1e-9)


def test_no_overflow_for_tiny_eps_and_huge_times():
    # RuntimeWarnings are errors in this test suite (pyproject.toml), so overflow would fail here.
    t = np.array([0.0, 1.0, 1e3, 1e6, 1e12, 1e300])
    s = predicted_mode_strength(t, np.array([1e-3, 1.0, 50.0]), eps=1e-300, tau=1.0)
    assert np.all(np.isfinite(s))
    np.testing.assert_allclose(s[0], 1e-300, rtol=1e-12)
    np.testing.assert_allclose(s[-1], [1e-3, 1.0, 50.0], rtol=1e-12)


def test_decaying_and_zero_modes():
    # s_hat < eps: the mode shrinks to s_hat; s_hat = 0: s = eps / (1 + 2 eps t / tau).
    t = np.array([0.0, 10.0, 1e6])
    s = predicted_mode_strength(t, np.array([0.0, 0.5]), eps=1.0, tau=1.0)
    np.testing.assert_allclose(s[:, 0], 1.0 / (1.0 + 2.0 * t))
    np.testing.assert_allclose(s[-1, 1], 0.5, rtol=1e-12)
    assert np.all(np.diff(s[:, 1]) < 0)


@pytest.mark.parametrize("n_weights", [2, 3, 4])
def test_solution_satisfies_its_ode(n_weights):
    tau, eps, h = 1000.0, 1e-3, 1e-2
    t = np.linspace(50.0, 6000.0, 40)
    s = predicted_mode_strength(t, S_HAT, eps=eps, tau=tau, n_weights=n_weights)
    ds = (
        predicted_mode_strength(t + h, S_HAT, eps=eps, tau=tau, n_weights=n_weights)
        - predicted_mode_strength(t - h, S_HAT, eps=eps, tau=tau, n_weights=n_weights)
    ) / (2 * h)
    rhs = mode_ode_rhs(s, S_HAT, tau=tau, n_weights=n_weights)
    scale = np.max(np.abs(rhs), axis=0)
    assert np.max(np.abs(ds - rhs) / scale) < ODE_REL


def test_deep_matches_closed_form_inverse_for_four_matrices():
    # Lampinen & Ganguli 2019, Sec. 2.1: t(s) = tau [F(s) - F(eps)], F(s) = artanh(sqrt(s/s_hat))/(2 s_hat^1.5) - 1/(2 s_hat sqrt(s)).
    tau, eps, s_hat = 1000.0, 1e-2, 4.2

    def F(s):
        return np.arctanh(np.sqrt(s / s_hat)) / (2 * s_hat**1.5) - 1 / (2 * s_hat * np.sqrt(s))

    targets = np.array([0.05, 0.5, 2.1, 4.0, 4.19])
    times = tau * (F(targets) - F(eps))
    s = predicted_mode_strength(times, s_hat, eps=eps, tau=tau, n_weights=4)
    np.testing.assert_allclose(s, targets, rtol=INVERSE_REL)
    np.testing.assert_allclose(
        predicted_time_to_strength(targets, s_hat, eps=eps, tau=tau, n_weights=4), times, rtol=1e-9
    )


@pytest.mark.parametrize("n_weights", [2, 3, 4])
def test_half_time_is_where_strength_is_half(n_weights):
    s_hat = np.array([1.0, 2.37, 6.0])
    th = predicted_half_time(s_hat, eps=1e-3, tau=1000.0, n_weights=n_weights)
    s = np.array(
        [
            predicted_mode_strength(t, sh, eps=1e-3, tau=1000.0, n_weights=n_weights)
            for t, sh in zip(th, s_hat, strict=True)
        ]
    )
    np.testing.assert_allclose(s, s_hat / 2, rtol=INVERSE_REL)


def test_half_time_closed_form():
    # Lampinen & Ganguli 2019, Fig. 1a caption: 3.45, 1.04, 0.63, 0.46 for s_hat = 1, 4, 7, 10.
    th = predicted_half_time(np.array([1.0, 4.0, 7.0, 10.0]), eps=1e-3, tau=1.0)
    np.testing.assert_allclose(th, [3.45, 1.04, 0.63, 0.46], atol=0.006)


@pytest.mark.parametrize(
    ("kwargs", "name"),
    [
        (dict(eps=0.0, tau=1.0), "eps"),
        (dict(eps=-1e-3, tau=1.0), "eps"),
        (dict(eps=1e-3, tau=0.0), "tau"),
        (dict(eps=1e-3, tau=1.0, n_weights=1), "n_weights"),
    ],
)
def test_invalid_arguments_raise(kwargs, name):
    with pytest.raises(ValueError, match=name):
        predicted_mode_strength(1.0, 2.0, **kwargs)


def test_invalid_times_and_strengths_raise():
    with pytest.raises(ValueError, match="t must be >= 0"):
        predicted_mode_strength(-1.0, 2.0, eps=1e-3, tau=1.0)
    with pytest.raises(ValueError, match="s_hat"):
        predicted_mode_strength(1.0, np.nan, eps=1e-3, tau=1.0)
    with pytest.raises(ValueError, match="between eps and s_hat"):
        predicted_time_to_strength(3.0, 2.0, eps=1e-3, tau=1.0)
