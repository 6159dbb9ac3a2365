"""Chapter 5's experiments at tiny sizes: the grids, determinism, and theory against simulation."""

import dataclasses

import numpy as np
import pytest

from dltheory.config import get_scale
from dltheory.experiments import jacobian_information as ji

SIZES = dataclasses.replace(
    get_scale("ci").jacobian,
    per_class=5,  # n = 50, K n = 500
    width=16,
    steps=40,
    record_every=10,
    dense_steps=20,
    rank=10,
    heldout_per_class=4,
    deep_width=16,
    deep_steps=20,
    train_centred=True,
)
SETUP = dataclasses.replace(ji.SETUP, fit_step=10)


@pytest.fixture(scope="module")
def runs():
    problem = ji.draw_problem(SETUP, SIZES, rng=np.random.default_rng(7))
    spectrum = ji.run_spectrum(problem)
    energy = ji.run_label_energy(problem, spectrum)
    dynamics = ji.run_dynamics(problem, spectrum)
    heldout = ji.run_heldout_alignment(problem, dynamics)
    return problem, spectrum, energy, dynamics, heldout


def test_setup_validates_and_restarts_arpack_from_one_vector():
    a, b = SETUP.arpack_rng(), SETUP.arpack_rng()
    np.testing.assert_array_equal(a.standard_normal(3), b.standard_normal(3))
    assert SETUP.rho_random == pytest.approx(0.9)
    with pytest.raises(ValueError, match="rhos"):
        ji.JacobianSetup(rhos=(0.0, 1.5))
    with pytest.raises(ValueError, match="directions"):
        ji.JacobianSetup(directions=[1, 2])


def test_problem_is_a_function_of_the_seed(runs):
    problem = runs[0]
    again = ji.draw_problem(SETUP, SIZES, rng=np.random.default_rng(7))
    for name in ("labels_noisy", "labels_random", "heldout"):
        np.testing.assert_array_equal(getattr(problem, name), getattr(again, name))
    for a, b in zip(problem.net0.parameters(), again.net0.parameters(), strict=True):
        np.testing.assert_array_equal(a.detach().numpy(), b.detach().numpy())
    # raw and centred pixels share one split
    np.testing.assert_array_equal(problem.data.labels_train, problem.data_centred.labels_train)
    np.testing.assert_array_equal(problem.data.labels_test, problem.data_centred.labels_test)
    labels = problem.labels
    np.testing.assert_array_equal(problem.labels_rho[0], labels)  # rho = 0: the clean labels
    for rho, lab in zip(SETUP.rhos, problem.labels_rho, strict=True):
        assert np.mean(lab != labels) == pytest.approx(rho, abs=1 / labels.size)
    assert np.mean(problem.labels_noisy != labels) == pytest.approx(SETUP.rho_train)
    glued = problem.glue()
    assert glued["n_train"] == 50 and glued["heldout_n"] == 40 and glued["rank"] == SIZES.rank


def test_matrix_free_spectrum_matches_the_dense_one(runs):
    _, spectrum, *_ = runs
    assert spectrum.shape == (500, 16 * 64)
    assert spectrum.dense.s.shape == (500,) and spectrum.measured.shape == (SIZES.rank,)
    np.testing.assert_allclose(spectrum.measured, spectrum.predicted, rtol=1e-9)
    assert spectrum.f0_max < 1e-12  # the doubled initialisation: f(W_0) = 0
    glued = spectrum.glue()
    assert 0 < glued["top10"] <= glued["top100"] <= 1
    assert spectrum.centred_clean.shape == spectrum.centred_random.shape == (SIZES.rank,)


def test_label_energy_grid_and_its_expectation(runs):
    problem, spectrum, energy, *_ = runs
    assert list(energy.grid.axes) == ["rho"] and energy.grid.shape == (len(SETUP.rhos), 1)
    assert energy.predicted.shape == energy.measured.shape == (len(SETUP.rhos), 500)
    # a complete basis holds all the energy; clean labels are their own expectation
    np.testing.assert_allclose(energy.measured[:, -1], 1.0, rtol=1e-10)
    np.testing.assert_allclose(energy.predicted[:, -1], 1.0, rtol=1e-10)
    np.testing.assert_allclose(energy.predicted[0], energy.measured[0], atol=1e-10)
    # one draw against the expectation: the noise's energy is spread evenly, so a draw is close
    np.testing.assert_allclose(energy.measured[2, 99], energy.predicted[2, 99], atol=0.08)
    assert energy.class_mean == pytest.approx(1 / ji.K)


def test_dynamics_grid_shapes_and_the_linearisation(runs):
    problem, spectrum, _, dynamics, _ = runs
    assert list(dynamics.grid.axes) == ["rho"]
    np.testing.assert_array_equal(dynamics.grid.axes["rho"], [0.0, SETUP.rho_train])
    T = dynamics.runs[0.0].steps.size
    for key in ("info", "nuisance"):
        assert dynamics.predicted[key].shape == dynamics.measured[key].shape == (2, T)
        np.testing.assert_allclose(dynamics.predicted[key][:, 0], 1.0)
        np.testing.assert_allclose(dynamics.measured[key][:, 0], 1.0)
        # one step from W_0 the network is its linearisation, up to O(eta^2)
        np.testing.assert_allclose(
            dynamics.measured[key][:, 1], dynamics.predicted[key][:, 1], rtol=0.05
        )
    D, T_d = len(SETUP.directions), SIZES.dense_steps + 1
    assert (
        dynamics.predicted["directions"].shape == dynamics.measured["directions"].shape == (T_d, D)
    )
    C, inside = dynamics.cutoff["ranks"].size, dynamics.cutoff["inside"]
    assert dynamics.predicted["bias"].shape == (2, C)
    assert dynamics.measured["test_error"].shape == (2, int(inside.sum()))
    assert dynamics.spectrum_trained_centred is not None
    glued = dynamics.glue(SETUP.fit_step)
    assert glued["gap_clean"] >= 0 and glued["best_step"] in dynamics.runs[0.5].steps


def test_dynamics_is_deterministic(runs):
    problem, spectrum, _, dynamics, _ = runs
    sizes = dataclasses.replace(SIZES, train_centred=False)
    again = ji.run_dynamics(dataclasses.replace(problem, sizes=sizes), spectrum)
    for key, value in dynamics.predicted.items():
        np.testing.assert_array_equal(value, again.predicted[key])
    for key, value in dynamics.measured.items():
        np.testing.assert_array_equal(value, again.measured[key])


def test_heldout_alignment_grid(runs):
    *_, heldout = runs
    assert list(heldout.grid.axes) == ["net", "weights"] and heldout.grid.shape == (2, 2, 1)
    assert heldout.measured.shape == (2, 2, SIZES.rank)
    assert np.all(np.diff(heldout.measured, axis=-1) >= -1e-12)  # E(r) grows with r
    assert np.all((heldout.measured >= 0) & (heldout.measured <= 1))
    e = heldout.profiles("three-layer")
    assert heldout.change("three-layer") == e[1, -1] - e[0, -1]
    assert set(heldout.glue()) == {"Eh_two_0", "Eh_two_T", "Eh_three_0", "Eh_three_T"}


def test_runs_refuse_the_wrong_inputs(runs):
    problem, spectrum, *_ = runs
    with pytest.raises(ValueError, match="sizes"):
        ji.draw_problem(SETUP, get_scale("ci").early_stopping, rng=np.random.default_rng(0))
    with pytest.raises(ValueError, match="spectrum"):
        ji.run_dynamics(problem, problem)
