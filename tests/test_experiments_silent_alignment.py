"""Chapter 7's experiments at tiny sizes: grids, determinism, and agreement of gradient descent with
the closed forms of dltheory.theory.silent_alignment."""

from dataclasses import replace

import numpy as np
import pytest

from dltheory.config import SilentAlignmentSizes, get_scale
from dltheory.experiments import silent_alignment as sa

SETUP = replace(
    sa.SETUP, D=12, P=6, N=20, t_end=12.0, deep_t_end=16.0, deep_width=10, depths=(2, 3),
    relu_D=6, relu_P=12, relu_N=10, relu_t_end=4.0,
)  # fmt: skip
SIZES = SilentAlignmentSizes(n_seeds=3, n_seeds_deep=2, n_seeds_relu=2, record_every=5)


@pytest.fixture(scope="module")
def runs():
    rng = np.random.default_rng(0)
    two = sa.run_two_layer(SETUP, SIZES, rng=rng)
    aniso = sa.run_anisotropic(SETUP, SIZES, rng=rng)
    depth = sa.run_depth(SETUP, SIZES, rng=rng)
    return two, aniso, depth


def test_two_layer_grid_and_agreement(runs):
    two, _, _ = runs
    main, large, half = two
    assert (main.sigma, large.sigma, half.sigma) == (0.01, 0.03, 0.01)
    assert half.dt == main.dt / 2 and half.t[-1] == pytest.approx(main.t[-1])
    for r in two:
        assert r.align.shape == r.align_theory.shape == (r.t.size, SIZES.n_seeds)
        assert np.all(r.ratio < 1)  # silent: the kernel aligns before the loss moves
        assert np.allclose(r.ratio, r.ratio_theory, rtol=0.02)
        assert np.max(r.deviation) < 5e-3
        assert np.allclose(r.kr_gap, r.kr_gap_theory, rtol=0.05)
    assert np.allclose(half.eps, main.eps)  # the same draws at half the step


def test_anisotropic_and_depth(runs):
    _, aniso, depth = runs
    for r in aniso:
        assert np.allclose(r.align_at_loss, r.align_at_loss_theory, atol=0.03)
        assert np.all(np.isnan(r.kr_gap_theory))
    assert depth.depths == (2, 3) and len(depth.runs) == len(depth.half_step) == 2
    for r in depth.runs:
        assert np.allclose(r.ratio, r.ratio_theory, rtol=0.02)


def test_claim_numbers(runs):
    claims = sa.claim_numbers(*runs)
    assert set(claims) == {
        "alignment-precedes-loss-drop", "kernel-alignment-curve-max-deviation",
        "final-kernel-regression-equivalence", "anisotropic-inputs-weaken-alignment",
        "depth-alignment-timing",
    }  # fmt: skip
    for c in claims.values():
        assert c.tol == pytest.approx(3 * c.se + c.bias) and c.n >= 2
    assert set(sa.claim_numbers(depth=runs[2])) == {"depth-alignment-timing"}


def test_relu_and_determinism():
    a = sa.run_relu(SETUP, SIZES, rng=np.random.default_rng(1))
    b = sa.run_relu(SETUP, SIZES, rng=np.random.default_rng(1))
    assert a.align.shape == a.loss.shape == (a.t.size, SIZES.n_seeds_relu)
    assert np.array_equal(a.align, b.align)
    assert np.all(a.loss[-1] < a.loss[0])


def test_sizes_and_bad_arguments():
    for scale in ("ci", "book", "paper"):
        assert isinstance(get_scale(scale).silent_alignment, SilentAlignmentSizes)
    with pytest.raises(ValueError, match="setup"):
        sa.run_two_layer("x", SIZES, rng=np.random.default_rng(0))
    with pytest.raises(ValueError, match="P <= D"):
        sa.run_two_layer(replace(SETUP, P=20), SIZES, rng=np.random.default_rng(0))
