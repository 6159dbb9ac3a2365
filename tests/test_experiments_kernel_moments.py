"""Tiny-size tests of the plain-gradient-flow transfer experiment of chapter 6."""

from dataclasses import replace

import numpy as np
import pytest

from dltheory._checks import ArgumentTypeError
from dltheory.config import get_scale
from dltheory.experiments.kernel_transfer._common import SETUP
from dltheory.experiments.kernel_transfer._moments import (
    FLOW_GAMMAS,
    FLOW_NU1,
    FlowSetup,
    run_flow_transfer,
)

TINY = replace(get_scale("ci").kernel_transfer, gf_width=16, gf_seeds=2, gf_targets=3)
QUICK = FlowSetup(D=8, P_s=16, P_t=4, time=2.0, dt=0.05)


@pytest.fixture(scope="module")
def result():
    return run_flow_transfer(QUICK, TINY, rng=np.random.default_rng(0))


def test_shapes_and_the_exact_theory_reproduces_the_networks(result):
    assert result.readout_gamma_measured.shape == (len(FLOW_GAMMAS), 2)
    assert result.readout_nu1_measured.shape == (len(FLOW_NU1), 2)
    assert result.matched_measured.shape == (2,)
    # the moments from each network's own initial moments are that network's, to round-off
    for w in ("gamma", "nu1"):
        np.testing.assert_allclose(
            getattr(result, f"readout_{w}_exact"), getattr(result, f"readout_{w}_measured"),
            rtol=1e-9,
        )  # fmt: skip
    np.testing.assert_allclose(result.matched_exact, result.matched_measured, atol=1e-9)
    assert result.scratch_predicted == pytest.approx(1 - 4 / 8)


def test_richer_sources_have_larger_spikes(result):
    spike = result.spike_gamma_predicted.mean(-1)
    assert np.all(np.diff(spike) > 0) and spike[0] > 1


def test_claims(result):
    for which in ("gamma", "nu1", "matched"):
        c = result.claim(which)
        keys = {"predicted", "measured", "se", "n", "bias", "se_bias", "tol", "exact_error"}
        assert set(c) == keys | {"at"}
        assert c["exact_error"] < 1e-9  # the moment equations reproduce each network
        assert c["n"] == 2 and c["tol"] >= 3 * c["se"] and c["tol"] >= c["bias"] >= 0
    with pytest.raises(ValueError, match="which"):
        result.claim("alpha")


def test_same_rng_same_numbers(result):
    again = run_flow_transfer(QUICK, TINY, rng=np.random.default_rng(0))
    np.testing.assert_array_equal(again.readout_gamma_measured, result.readout_gamma_measured)


def test_bad_arguments():
    rng = np.random.default_rng(0)
    with pytest.raises(ArgumentTypeError, match="setup"):
        run_flow_transfer(SETUP, TINY, rng=rng)
    with pytest.raises(ValueError, match="gf_seeds"):
        run_flow_transfer(QUICK, replace(TINY, gf_seeds=1), rng=rng)
    with pytest.raises(ValueError, match="P_t"):
        FlowSetup(D=8, P_t=9)
    with pytest.raises(ValueError, match="alpha"):
        FlowSetup(alpha=1.5)
