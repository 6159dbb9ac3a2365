"""Tiny-size tests of the jointly rich target phase and the elastic coupling (chapter 6): shapes,
determinism, the exactness of the moment recursion against the networks, and the claim numbers."""

from dataclasses import fields, replace

import numpy as np
import pytest

from dltheory.config import get_scale
from dltheory.datasets import aligned_teachers, gaussian_task
from dltheory.experiments.kernel_transfer import _joint as kj
from dltheory.kernel_nets import init_params
from dltheory.theory import linear_moments as lm

TINY = replace(get_scale("ci").kernel_transfer, gf_width=16, gf_seeds=2, gf_targets=3)
QUICK = kj.JointSetup(
    D=8, P_s=16, source_time=4.0, P_t=4, target_time=2.0, forget_time=40.0, elastic_P_t=4,
    elastic=(0.0, 0.3, 3.0), lr=0.05,
)  # fmt: skip


@pytest.fixture(scope="module")
def runs():
    rng = np.random.default_rng(0)
    source = kj.train_gf_source(QUICK, TINY, rng=rng)
    joint = kj.run_jointly_rich(QUICK, TINY, source, rng=rng)
    elastic = kj.run_elastic_coupling(QUICK, TINY, source, rng=rng)
    return source, joint, elastic


def test_source_networks_follow_the_recursion_from_their_own_moments(runs):
    source = runs[0]
    # the draws of train_gf_source, in its documented order
    rng = np.random.default_rng(0)
    teachers, _ = aligned_teachers(QUICK.D, np.zeros(TINY.gf_seeds), rng=rng)
    X, y = gaussian_task(teachers, QUICK.P_s, rng=rng)
    p0 = init_params(QUICK.D, TINY.gf_width, batch=(TINY.gf_seeds,), rng=rng)
    np.testing.assert_array_equal(teachers, source.teachers)
    own = lm.integrate_source(
        X, y, gamma=QUICK.gamma, lam=0.0, dt=QUICK.lr, steps=QUICK.steps("source_time"),
        start=lm.empirical_moments(p0.w, p0.z),
    )  # fmt: skip
    for name in ("M", "m", "q"):
        np.testing.assert_allclose(
            getattr(own, name), getattr(source.moments_measured, name), rtol=1e-10, atol=1e-12
        )
    assert np.shape(source.moments_fresh.q) == (TINY.gf_seeds, TINY.gf_targets)
    # the source has learned: the spike along beta_s rises above the bulk 1
    s = teachers / np.linalg.norm(teachers, axis=-1, keepdims=True)
    assert np.all(np.einsum("sd,sde,se->s", s, source.moments_predicted.M, s) > 1.2)


def _own_source(source):
    """The same source with the networks' own moments in place of the fresh initialisations."""
    own = lm.empirical_moments(source.params.w, source.params.z)
    R = TINY.gf_targets
    fresh = lm.Moments(
        np.repeat(own.M[:, None], R, 1), np.repeat(own.m[:, None], R, 1),
        np.repeat(np.asarray(own.q)[:, None], R, 1),
    )  # fmt: skip
    return replace(source, moments_fresh=fresh)


def test_target_phases_are_exact_from_the_networks_own_moments(runs):
    # started from the networks' own moments, the recursion must reproduce them to round-off: this
    # checks the whole target pipeline (projections, elastic anchor, test errors), not only the step
    source = _own_source(runs[0])
    joint = kj.run_jointly_rich(QUICK, TINY, source, rng=np.random.default_rng(5))
    np.testing.assert_allclose(joint.kernel_fresh, joint.kernel_measured[-1], rtol=1e-9)
    elastic = kj.run_elastic_coupling(QUICK, TINY, source, rng=np.random.default_rng(6))
    np.testing.assert_allclose(elastic.mse_fresh, elastic.mse_measured, rtol=1e-9)


def test_shapes_determinism_and_the_ends(runs):
    source, joint, elastic = runs
    n, T = TINY.gf_seeds * TINY.gf_targets, kj.RECORDS + 1
    assert joint.kernel_predicted.shape == joint.kernel_measured.shape == (T, 2, n)
    assert joint.kernel_fresh.shape == (2, n) and joint.times.shape == (T,)
    assert joint.forget_predicted.shape == joint.forget_measured.shape == (T, 2, TINY.gf_seeds)
    assert joint.times[-1] == pytest.approx(QUICK.target_time)
    K = len(QUICK.elastic)
    n_el = TINY.gf_seeds * max(1, TINY.gf_targets // 4)
    assert elastic.mse_predicted.shape == elastic.mse_measured.shape == (K, n_el)
    assert elastic.source_predicted.shape == (n_el,)
    # delta -> infinity pins the source predictor, delta = 0 fits the target: the strongest
    # coupling ends nearer the source predictor's error than no coupling
    gap = np.abs(elastic.mse_predicted - elastic.source_predicted).mean(-1)
    assert gap[-1] < gap[0]
    # weight decay: the fixed point does not depend on the start, networks and theory meet there
    np.testing.assert_allclose(
        joint.forget_measured[-1], joint.forget_predicted[-1], rtol=1e-4, atol=1e-8
    )
    rng = np.random.default_rng(0)
    again = kj.train_gf_source(QUICK, TINY, rng=rng)
    j2 = kj.run_jointly_rich(QUICK, TINY, again, rng=rng)
    for f in fields(j2):
        a, b = getattr(joint, f.name), getattr(j2, f.name)
        np.testing.assert_array_equal(a, b, err_msg=f.name)


def test_claims_pick_the_worst_condition_and_add_the_bias(runs):
    _, joint, elastic = runs
    for result, labels in ((joint, ("source", "target")), (elastic, tuple(QUICK.elastic))):
        c = result.claim()
        assert c["n"] == TINY.gf_seeds and c["at"] in labels
        assert c["tol"] == pytest.approx(3 * np.hypot(c["se"], c["se_bias"]) + c["bias"])
        assert c["se"] > 0 and c["bias"] >= 0 and c["se_bias"] >= 0
    c = elastic.claim()
    i = list(QUICK.elastic).index(c["at"])
    assert c["predicted"] == pytest.approx(elastic.mse_predicted[i].mean())
    assert c["measured"] == pytest.approx(elastic.mse_measured[i].mean())


def test_wider_networks_approach_the_infinite_width_theory():
    dev = []
    for width in (8, 512):
        sizes = replace(TINY, gf_width=width, gf_targets=2)
        rng = np.random.default_rng(3)
        source = kj.train_gf_source(QUICK, sizes, rng=rng)
        r = kj.run_elastic_coupling(QUICK, sizes, source, rng=rng)
        dev.append(np.abs(r.mse_measured - r.mse_predicted).max())
    assert dev[1] < dev[0] / 3


def test_bad_arguments():
    with pytest.raises(ValueError, match="elastic"):
        kj.JointSetup(elastic=(0.1, 1.0))
    with pytest.raises(ValueError, match="source_time"):
        kj.JointSetup(source_time=0.001)
    with pytest.raises(ValueError, match="gf_seeds"):
        kj.train_gf_source(QUICK, replace(TINY, gf_seeds=1), rng=np.random.default_rng(0))
    source = kj.train_gf_source(QUICK, TINY, rng=np.random.default_rng(0))
    with pytest.raises(ValueError, match="source"):
        kj.run_jointly_rich(
            QUICK, replace(TINY, gf_targets=4), source, rng=np.random.default_rng(0)
        )
