"""Leaky-ReLU students beside the linear theory at tiny sizes: shapes, determinism, the gradient step
against torch's autograd, and the linear limit (slope 1)."""

import dataclasses

import numpy as np
import pytest
import torch

from dltheory.config import get_scale
from dltheory.experiments.lampinen_ganguli import SETUP
from dltheory.experiments.leaky_relu import (
    LR_FACTOR,
    _init,
    _simulate,
    run_leaky_generalisation,
    run_leaky_transfer,
)
from dltheory.theory.transfer import predicted_transfer

# N1 = 20 keeps the canonical ratios N3/N1 = N2/N1 = 1/2.
ES = dataclasses.replace(
    get_scale("ci").early_stopping, n_in=20, n_out=10, hidden=10, record_every=50
)
TR = dataclasses.replace(
    get_scale("ci").transfer, n_in=20, n_out=10, hidden=10, epochs=3000, record_every=50
)


@pytest.fixture(scope="module")
def curves():
    return run_leaky_generalisation(
        SETUP, ES, rng=np.random.default_rng(0), snrs=(2.0, 8.0), n_seeds=3, epochs=3000
    )


@pytest.fixture(scope="module")
def transfer():
    return run_leaky_transfer(SETUP, TR, rng=np.random.default_rng(0), q=(0.0, 1.0), n_seeds=2)


def test_curve_shapes_and_optima(curves):
    T = curves.epochs.size
    assert curves.grid.shape == (2, 3)
    assert curves.epochs[0] == 0 and curves.epochs[-1] == 3000
    for x in (curves.train_error, curves.test_error, curves.linear_test_error):
        assert x.shape == (T, 2, 3)
    assert curves.predicted_test.shape == (T, 2)
    assert curves.predicted_min_error.shape == (2,)
    assert np.allclose(curves.min_error, curves.test_error.min(axis=0))
    # small init: both students start with error ~1; the strong teacher is learned well
    assert np.allclose(curves.test_error[0], 1.0, atol=1e-3)
    assert np.all(curves.min_error[1] < 0.1) and np.all(curves.linear_min_error[1] < 0.1)
    assert curves.lr == SETUP.lr * LR_FACTOR


def test_curve_glue(curves):
    g = curves.glue(snr=8.0)
    assert g["leaky_seeds"] == 3 and g["leaky_slope"] == pytest.approx(0.1, abs=1e-15)
    assert np.isclose(g["leaky_err_sim_8"], curves.min_error[1].mean())
    assert np.isclose(g["leaky_err_th_8"], curves.predicted_min_error[1])
    with pytest.raises(ValueError):
        curves.glue(snr=5.0)  # not on the grid


def test_deterministic_in_rng(curves):
    again = run_leaky_generalisation(
        SETUP, ES, rng=np.random.default_rng(0), snrs=(2.0, 8.0), n_seeds=3, epochs=3000
    )
    assert np.array_equal(again.test_error, curves.test_error)


def test_slope_one_is_the_linear_student():
    r = run_leaky_generalisation(
        SETUP, ES, rng=np.random.default_rng(1), snrs=(4.0,), slope=1.0, n_seeds=2, epochs=500
    )
    assert np.array_equal(r.test_error, r.linear_test_error)
    assert np.array_equal(r.train_error, r.linear_train_error)


def test_step_matches_autograd():
    # one step of _simulate against torch's gradient of 1/2 ||S - W2 phi(W1)||^2
    rng = np.random.default_rng(2)
    B, n_in, hidden, n_out, lr, slope = 2, 6, 4, 3, 0.05, 0.2
    S = rng.standard_normal((B, n_out, n_in))
    W1, W2 = _init(n_in, hidden, n_out, B, 0.3, rng)
    train, test = _simulate(S, S[:, :2] * 0.5, np.full(B, slope), (W1, W2), lr=lr, steps=1, every=1)
    w1 = torch.tensor(W1, requires_grad=True)
    w2 = torch.tensor(W2, requires_grad=True)
    loss = 0.5 * ((torch.tensor(S) - w2 @ torch.nn.functional.leaky_relu(w1, slope)) ** 2).sum()
    loss.backward()
    with torch.no_grad():
        v1, v2 = w1 - lr * w1.grad, w2 - lr * w2.grad
        M = (v2 @ torch.nn.functional.leaky_relu(v1, slope)).numpy()
    expect = ((M - S) ** 2).sum(axis=(1, 2)) / (S**2).sum(axis=(1, 2))
    assert np.allclose(train[1], expect, rtol=1e-12)
    target = S[:, :2] * 0.5
    expect_test = ((M[:, :2] - target) ** 2).sum(axis=(1, 2)) / (target**2).sum(axis=(1, 2))
    assert np.allclose(test[1], expect_test, rtol=1e-12)


def test_transfer_shapes_and_theory(transfer):
    T = transfer.epochs.size
    assert transfer.grid.shape == (2, 2)
    assert transfer.err_alone.shape == (T, 2, 2) and transfer.err_joint.shape == (T, 2, 2)
    assert np.allclose(transfer.measured, transfer.min_alone - transfer.min_joint)
    expect = predicted_transfer(
        3.0, 10.0, np.array([0.0, 1.0]), **SETUP.theory(TR.n_in, TR.n_out), hidden=TR.hidden
    )
    assert np.allclose(transfer.predicted, expect.benefit)
    # an aligned strong partner helps task A more than an orthogonal one
    assert transfer.measured[1].mean() > transfer.measured[0].mean()
    # the fine theory grid passes through the simulated alignments
    assert np.isclose(transfer.fine.benefit[0], expect.benefit[0])
    assert np.isclose(transfer.fine.benefit[-1], expect.benefit[-1])


def test_transfer_signs_and_glue(transfer):
    predicted, measured = transfer.signs()
    assert predicted == np.sign(transfer.predicted).astype(int).tolist()
    assert measured == np.sign(transfer.measured.mean(axis=1)).astype(int).tolist()
    g = transfer.glue()
    assert g["leaky_tr_seeds"] == 2
    assert np.isclose(g["leaky_T_sim_1"], transfer.measured[1].mean())
    assert np.isclose(g["leaky_joint_th_0"], transfer.prediction.err_joint[0])


def test_transfer_default_seeds_are_half_the_chapters():
    sizes = dataclasses.replace(TR, epochs=10, record_every=5, n_seeds=6)
    r = run_leaky_transfer(SETUP, sizes, rng=np.random.default_rng(0), q=(1.0,))
    assert r.grid.n_seeds == 3


@pytest.mark.parametrize(
    "kwargs, name",
    [
        ({"slope": 1.5}, "slope"),
        ({"n_seeds": 1}, "n_seeds"),
        ({"snrs": []}, "snrs"),
        ({"epochs": LR_FACTOR - 1}, "epochs"),
    ],
)
def test_bad_arguments_name_themselves(kwargs, name):
    with pytest.raises(ValueError, match=name):
        run_leaky_generalisation(SETUP, ES, rng=np.random.default_rng(0), **kwargs)
