"""Tests of dltheory.experiments.kernel_transfer at tiny sizes: grids, shapes, determinism, and the
agreement of the fixed point, the readout and the predictors with the theory where it is exact."""

from dataclasses import fields, replace

import numpy as np
import pytest

from dltheory.config import get_scale
from dltheory.experiments import kernel_transfer as kt
from dltheory.theory.kernels import predicted_readout_mse, predicted_test_mse

TINY = replace(
    get_scale("ci").kernel_transfer,
    width=8, steps=400, n_seeds=2, n_targets=3, n_alpha=2, n_gamma=2, n_p_grid=2,
    digits_width=8, digits_source=40, digits_steps=40, digits_seeds=2,
    poly_seeds=2, poly_targets=2, poly_steps=40,
)  # fmt: skip


def _arrays(result) -> dict:
    return {f.name: getattr(result, f.name) for f in fields(result)}


def _assert_same(a, b):
    for name, x in _arrays(a).items():
        y = getattr(b, name)
        if isinstance(x, np.ndarray):
            np.testing.assert_array_equal(x, y, err_msg=name)
        elif isinstance(x, dict):
            for k in x:
                np.testing.assert_array_equal(x[k], y[k], err_msg=f"{name}[{k}]")


def test_fixed_point_reaches_the_theory_at_every_width():
    # time 40 (the chapter's steps at ci): the initialisation's residue e^{-lam t} is below 1e-8
    sizes = replace(TINY, steps=get_scale("ci").kernel_transfer.steps)
    r = kt.run_fixed_point(kt.SETUP, sizes, rng=np.random.default_rng(0))
    C, D = len(kt.FIXED_POINT_PN), kt.SETUP.D
    assert r.P.tolist() == [p for p, _ in kt.FIXED_POINT_PN]
    assert r.beta_measured.shape == r.beta_predicted.shape == (C, D)
    assert r.kernel_measured.shape == r.kernel_predicted.shape == (C, 50, 50)
    assert np.all(r.beta_error < 1e-6) and np.all(r.kernel_error < 1e-6)
    np.testing.assert_allclose(r.kappa_measured, r.kappa_predicted, rtol=1e-6)
    assert r.kappa_trend("measured") == r.kappa_trend("predicted") == [-1, -1]
    np.testing.assert_allclose(
        r.threshold_norm_measured[0], r.threshold_norm_predicted[0], rtol=1e-4
    )
    assert r.threshold_norm_predicted[1] == 0 and r.threshold_norm_measured[1] < 1e-6
    with pytest.raises(ValueError, match="which"):
        r.kappa_trend("both")


def test_gamma_sweep_grid_and_agreement():
    sizes = replace(TINY, steps=3000, width=16)
    r = kt.run_gamma_sweep(kt.SETUP, sizes, rng=np.random.default_rng(1))
    assert list(r.grid.axes) == ["gamma"] and r.grid.shape == (sizes.n_gamma, sizes.n_seeds)
    for name in ("kappa_predicted", "kappa_measured", "mse_predicted", "mse_measured"):
        assert getattr(r, name).shape == r.grid.shape
    assert r.curve_kappa.shape == r.curve_mse.shape == r.curve_gamma.shape
    alive = np.isfinite(r.kappa_predicted)  # weight decay has not won
    assert alive.any()
    np.testing.assert_allclose(r.kappa_measured[alive], r.kappa_predicted[alive], rtol=1e-3)
    np.testing.assert_allclose(r.mse_measured, r.mse_predicted, atol=1e-3)


def test_adaptive_vs_lazy_grid_and_determinism():
    a = kt.run_adaptive_vs_lazy(kt.SETUP, TINY, rng=np.random.default_rng(2))
    b = kt.run_adaptive_vs_lazy(kt.SETUP, TINY, rng=np.random.default_rng(2))
    assert list(a.grid.axes) == ["P"] and a.grid.shape == (TINY.n_p_grid, TINY.n_seeds)
    assert a.adaptive_measured.shape == a.lazy_predicted.shape == a.grid.shape
    _assert_same(a, b)
    assert a.gap_measured == b.gap_measured


def test_readout_transfer_grid_predictions_and_determinism():
    runs = []
    for _ in range(2):
        rng = np.random.default_rng(3)
        source = kt.train_source(kt.SETUP, TINY, rng=rng)
        runs.append((source, kt.run_readout_transfer(kt.SETUP, TINY, source, rng=rng)))
    (source, r), (_, r2) = runs
    _assert_same(source, runs[1][0])
    _assert_same(r, r2)
    S, R, D = TINY.n_seeds, TINY.n_targets, kt.SETUP.D
    assert list(r.grid.axes) == ["nu2", "alpha"] and r.grid.n_seeds == S * R
    alphas = r.grid.axes["alpha"]
    assert set(kt.ALPHA_CLAIMS) <= set(alphas.tolist())
    assert r.readout_measured.shape == r.rho.shape == (len(kt.NU2), alphas.size, S * R)
    assert r.P_t.tolist() == [round(nu * D) for nu in kt.NU2]
    for i, P_t in enumerate(r.P_t):
        np.testing.assert_array_equal(r.readout_predicted[i], predicted_readout_mse(r.rho[i], P_t))
    np.testing.assert_allclose(r.scratch_predicted, 1 - r.P_t / D)
    row = r.at("readout_measured", nu2=0.25, alpha=0.5)
    np.testing.assert_array_equal(row, r.readout_measured[1, list(alphas).index(0.5)])
    signs = r.transfer_signs("measured", nu2=0.25, alphas=(0.5, 0.8))
    assert all(s in (-1, 0, 1) for s in signs)
    assert r.predicted_gain(kt.NU2, alphas).shape == r.gain_measured.shape
    # at alignment 1 and a source at its fixed point, the readout's predicted error is its variance
    # factor times 1 - c^2, near 0
    assert r.readout_predicted[:, -1].max() < 0.1
    with pytest.raises(ValueError, match="source"):
        kt.run_readout_transfer(
            kt.SETUP, replace(TINY, n_seeds=3), source, rng=np.random.default_rng(0)
        )


def test_source_quality_matches_the_networks():
    rng = np.random.default_rng(5)
    source = kt.train_source(kt.SETUP, replace(TINY, steps=4000), rng=rng)
    np.testing.assert_allclose(source.beta_measured, source.beta_predicted, atol=1e-6)
    cos = np.sum(source.direction * source.teachers, -1) / np.sqrt(kt.SETUP.D)
    np.testing.assert_allclose(cos, source.cos)
    assert 0.9 < source.c_mean <= 1
    mse = predicted_test_mse(source.beta_measured, source.teachers)
    assert np.all(mse < 0.1)


def test_digits_protocol_grid():
    r = kt.run_digits(kt.DigitsSetup(), TINY, rng=np.random.default_rng(6))
    setup = kt.DigitsSetup()
    tasks = [name for name, _ in setup.targets]
    assert r.tasks == tasks and r.most in tasks and r.least in tasks
    assert list(r.grid.axes) == ["task", "P_t"]
    for name in kt.PROTOCOLS:
        assert r.mse[name].shape == (len(tasks), len(setup.P_t), TINY.digits_seeds)
    ran = np.isin(tasks, [r.most, r.least])
    assert np.all(np.isfinite(r.mse["scratch NTK"]))
    assert np.all(np.isfinite(r.mse["fine-tuned"][ran])) and np.all(
        np.isnan(r.mse["fine-tuned"][~ran])
    )
    np.testing.assert_allclose(
        r.gain,
        r.mse["scratch NTK"][:, 0].mean(-1) - r.mse["readout on source features"][:, 0].mean(-1),
    )
    assert r.alignment.max() == r.alignment[tasks.index(r.most)]


def test_polynomial_protocols_and_determinism():
    a = kt.run_polynomial(kt.PolynomialSetup(), TINY, rng=np.random.default_rng(7))
    b = kt.run_polynomial(kt.PolynomialSetup(), TINY, rng=np.random.default_rng(7))
    _assert_same(a, b)
    n = (3, TINY.poly_seeds * TINY.poly_targets)
    assert a.grid.shape == n and all(a.mse[k].shape == n for k in kt.PROTOCOLS)
    assert a.network_output.shape == a.kernel_output.shape == (TINY.poly_seeds, 300)
    assert a.gain == pytest.approx(
        a.mse["scratch NTK"][-1].mean() - a.mse["readout on source features"][-1].mean()
    )
    assert a.t_source == TINY.poly_steps * kt.PolynomialSetup().lr_source


def test_setups_check_their_fields():
    with pytest.raises(ValueError, match="P_t"):
        kt.KernelTransferSetup(P_t=50)
    with pytest.raises(ValueError, match="targets"):
        kt.DigitsSetup(targets=(("a", (1,)), ("a", (2,))))
    with pytest.raises(ValueError, match="alphas"):
        kt.PolynomialSetup(alphas=(2.0,))
    with pytest.raises(ValueError, match="setup"):
        kt.run_digits(kt.SETUP, TINY, rng=np.random.default_rng(0))


def test_flow_claim_tolerance_and_choice_of_condition():
    """flow_claim averages each source's targets, takes se over sources, and picks the condition of
    largest (tol + |m - p|) / |p|."""
    from dltheory.experiments.kernel_transfer._common import flow_claim

    p = np.ones((2, 4))  # 2 conditions, 2 sources x 2 targets
    m = p + np.array([[0.01, 0.01, 0.03, 0.03], [0.0, 0.0, 0.0, 0.0]])
    f = p + np.array([[0.02, 0.02, 0.02, 0.02], [0.0, 0.0, 0.0, 0.0]])
    c = flow_claim(p, m, f, ["a", "b"], n_sources=2)
    assert c["at"] == "a" and c["n"] == 2
    assert c["measured"] == pytest.approx(1.02) and c["predicted"] == pytest.approx(1.0)
    assert c["se"] == pytest.approx(0.01) and c["bias"] == pytest.approx(0.02)
    assert c["se_bias"] == pytest.approx(0.0, abs=1e-12)
    assert c["tol"] == pytest.approx(3 * 0.01 + 0.02)
