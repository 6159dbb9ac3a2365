"""Tests of dltheory.kernel_training: the flow against autograd, its fixed points, divergence checks."""

import numpy as np
import pytest
import torch
from conftest import EXACT
from hypothesis import given, settings
from hypothesis import strategies as st

from dltheory.datasets import aligned_teachers, binary_labels, gaussian_task
from dltheory.kernel_nets import TwoLayerParams, empirical_ntk, forward, init_params, linear_map
from dltheory.kernel_training import elastic_penalty, train, velocity
from dltheory.theory.kernels import predicted_adaptive_kernel, predicted_fixed_point

D = 12


def _task(rng, P):
    beta, _ = aligned_teachers(D, 0.0, rng=rng)
    X, y = gaussian_task(beta, P, rng=rng)
    return torch.as_tensor(X), torch.as_tensor(y)


@pytest.mark.parametrize("activation", ["linear", "relu"])
def test_velocity_is_the_scaled_gradient_flow(rng, activation):
    # the flow of dltheory.kernel_training: theta' = -N gamma^2 dL/dtheta - lam theta - delta (theta - theta_s)
    X, y = _task(rng, 9)
    p = init_params(D, 7, rng=rng)
    anchor = init_params(D, 7, rng=rng)
    gamma, lam, delta = 0.7, 0.3, 0.2
    w = p.w.clone().requires_grad_(True)
    z = p.z.clone().requires_grad_(True)
    loss = (
        0.5
        * ((y - forward(TwoLayerParams(w, z), X, gamma=gamma, activation=activation)) ** 2).sum()
    )
    gw, gz = torch.autograd.grad(loss, (w, z))
    dw, dz, _ = velocity(
        p, X, y, gamma=gamma, lam=lam, activation=activation, anchor=anchor, elastic=delta
    )
    N = p.width
    np.testing.assert_allclose(
        dw, -N * gamma**2 * gw - lam * p.w - delta * (p.w - anchor.w), atol=1e-12
    )
    np.testing.assert_allclose(
        dz, -N * gamma**2 * gz - lam * p.z - delta * (p.z - anchor.z), atol=1e-12
    )


def test_gd_reaches_the_fixed_point_and_its_kernel(rng):
    X, y = _task(rng, 20)
    run = train(init_params(D, 16, rng=rng), X, y, gamma=1.0, lam=0.5, lr=0.02, steps=2500)
    fp = predicted_fixed_point(X.numpy(), y.numpy(), gamma=1.0, lam=0.5)
    beta = linear_map(run.params, gamma=1.0).numpy()
    assert np.linalg.norm(beta - fp.beta) / fp.norm < 1e-8
    Xf = rng.standard_normal((5, D))
    K = empirical_ntk(run.params, Xf, Xf, gamma=1.0).numpy()
    np.testing.assert_allclose(K, predicted_adaptive_kernel(Xf, Xf, fp.beta, gamma=1.0), rtol=1e-7)


def test_below_threshold_the_net_forgets_everything(rng):
    X, y = _task(rng, 20)
    lam = 2 * np.linalg.norm(X.numpy().T @ y.numpy()) / np.sqrt(D)
    run = train(init_params(D, 16, rng=rng), X, y, gamma=1.0, lam=lam, lr=0.01, steps=1000)
    assert np.linalg.norm(linear_map(run.params, gamma=1.0).numpy()) < 1e-6


def test_small_gamma_is_lazy(rng):
    # from a zero initial function (paired neurons z, -z) and without weight decay, the kernel of
    # the linear network moves less and less as gamma -> 0 (the lazy NTK limit); the pairing cancels
    # the first-order change, so it moves like gamma^2
    X, y = _task(rng, 10)
    half = init_params(D, 100, rng=rng)
    p = TwoLayerParams(torch.cat([half.w, half.w]), torch.cat([half.z, -half.z]))
    K0 = empirical_ntk(p, X, X, gamma=1.0)  # the NTK formula has no gamma
    moves = []
    for gamma in (0.01, 0.02):
        assert float(forward(p, X, gamma=gamma).abs().max()) < 1e-12
        run = train(p, X, y, gamma=gamma, lam=0.0, lr=0.02, steps=200)
        assert run.loss[-1] < 0.1 * run.loss[0]  # it did learn the task
        K = empirical_ntk(run.params, X, X, gamma=gamma)
        moves.append(float(torch.linalg.norm(K - K0) / torch.linalg.norm(K0)))
    assert moves[0] < 1e-3
    assert moves[1] / moves[0] == pytest.approx(4.0, rel=0.1)


def test_batched_training_equals_one_by_one(rng):
    X, y = _task(rng, 8)
    Xb, yb = torch.stack([X, 2 * X]), torch.stack([y, -y])
    p = init_params(D, 6, batch=(2,), rng=rng)
    kw = dict(gamma=1.0, lam=0.3, lr=0.01, steps=50, activation="relu")
    both = train(p, Xb, yb, **kw).params
    for i in range(2):
        one = train(p[i], Xb[i], yb[i], **kw).params
        np.testing.assert_allclose(both.w[i], one.w, atol=EXACT)


def test_elastic_penalty_pins_the_anchor(rng):
    X, y = _task(rng, 8)
    p = init_params(D, 6, rng=rng)
    assert not elastic_penalty(p, p).any()  # theta - theta is exactly 0 in IEEE arithmetic
    run = train(p, X, y, gamma=1.0, lam=0.5, lr=0.005, steps=400, elastic=100.0)
    free = train(p, X, y, gamma=1.0, lam=0.5, lr=0.005, steps=400)
    assert elastic_penalty(run.params, p) < 0.01 * elastic_penalty(free.params, p)


def test_fused_linear_steps_equal_plain_euler_steps(rng):
    X, y = _task(rng, 8)
    p = init_params(D, 6, batch=(2,), rng=rng)
    anchor = init_params(D, 6, batch=(2,), rng=rng)
    kw = dict(gamma=0.9, lam=0.3, activation="linear", anchor=anchor, elastic=0.2)
    w, z = p.w.clone(), p.z.clone()
    for _ in range(5):
        dw, dz, _ = velocity(TwoLayerParams(w, z), X, y, **kw)
        w, z = w + 0.01 * dw, z + 0.01 * dz
    run = train(p, X, y, lr=0.01, steps=5, **kw)
    np.testing.assert_allclose(run.params.w, w, atol=EXACT)
    np.testing.assert_allclose(run.params.z, z, atol=EXACT)


@pytest.mark.parametrize("activation", ["linear", "relu"])
def test_unstable_steps_raise_instead_of_returning_nan(rng, activation):
    # lr = 100 is far beyond 2 / (largest NTK eigenvalue): train must say so, not return NaN losses
    X, y = _task(rng, 8)
    p = init_params(D, 5, rng=rng)
    with pytest.raises(ValueError, match="lr = 100"):
        train(p, X, y, gamma=1.0, lam=0.1, lr=100.0, steps=20, activation=activation)


@settings(max_examples=20)
@given(
    seed=st.integers(0, 10**6),
    gamma=st.floats(0.5, 2.0),
    lam=st.floats(0.0, 1.0),
    elastic=st.sampled_from([0.0, 0.5]),
    activation=st.sampled_from(["linear", "relu"]),
)
def test_stable_steps_stay_below_the_flow_bound(seed, gamma, lam, elastic, activation):
    # The flow is theta' = -N gamma^2 grad V with V = L + (lam |theta|^2 + delta |theta - theta_s|^2) /
    # (2 N gamma^2), so L(t) <= V(0); small Euler steps descend V too. The divergence check of train rests
    # on this bound: a stable run must never come near it (no false alarm), and the bound must hold.
    g = np.random.default_rng(seed)
    X, y = _task(g, 8)
    p = init_params(D, 5, rng=g)
    anchor = init_params(D, 5, rng=g)
    run = train(
        p, X, y, gamma=gamma, lam=lam, lr=0.01, steps=60, activation=activation,
        anchor=anchor, elastic=elastic, record_every=1,
    )  # fmt: skip
    reg = lam * (p.w.square().sum() + p.z.square().sum()) + elastic * (
        (p.w - anchor.w).square().sum() + (p.z - anchor.z).square().sum()
    )
    bound = run.loss[0] + float(reg) / (2 * p.width * gamma**2)
    assert np.all(np.isfinite(run.loss))
    assert run.loss.max() <= bound * (1 + 1e-12)


def test_new_argument_checks(rng):
    X, y = _task(rng, 6)
    p = init_params(D, 4, rng=rng)
    with pytest.raises(ValueError, match="z must have shape"):
        TwoLayerParams(p.w, p.z[:-1])
    with pytest.raises(ValueError, match="w must be finite"):
        TwoLayerParams(torch.full_like(p.w, float("nan")), p.z)
    # one network cannot be trained on a batch of data sets: its weights are updated in place
    with pytest.raises(ValueError, match="batch"):
        train(p, torch.stack([X, X]), torch.stack([y, y]), gamma=1.0, lam=0.1, lr=0.01, steps=1)
    with pytest.raises(ValueError, match="anchor"):
        train(p, X, y, gamma=1.0, lam=0.1, lr=0.01, steps=1, anchor=init_params(D, 5, rng=rng))
    with pytest.raises(ValueError, match="anchor"):
        velocity(p, X, y, gamma=1.0, lam=0.1, activation="linear", elastic=0.5)
    with pytest.raises(ValueError, match="alpha"):
        aligned_teachers(D, "0.5", rng=rng)
    with pytest.raises(ValueError, match="positive"):
        binary_labels([1, 2], (1.5,))
    # velocity has no in-place update, so a batch of data sets for one network is fine
    dw, dz, delta = velocity(p, torch.stack([X, X]), y, gamma=1.0, lam=0.1, activation="linear")
    assert dz.shape == (2, 4) and delta.shape == (2, 6)
