"""The Gaussian-mixture case study of chapter 5 at tiny sizes (dltheory.experiments.jacobian_mixture)."""

import dataclasses

import numpy as np
import pytest

from dltheory.config import get_scale
from dltheory.experiments import jacobian_mixture as jm

SETUP = jm.MixtureSetup(per_cluster=12, top=30)


def _sizes(**kw):
    base = {"mixture_seeds": 3, "mixture_width": 128}
    return dataclasses.replace(get_scale("ci").jacobian, **(base | kw))


@pytest.fixture(scope="module")
def result():
    return jm.run_mixture(SETUP, _sizes(), rng=np.random.default_rng(0))


def test_shapes_and_prediction(result):
    S, top, r = 3, SETUP.top, SETUP.rank
    for a in (result.measured, result.measured_wide, result.infinite, result.infinite_half):
        assert a.shape == (S, top)
        assert np.all(np.diff(a, axis=1) <= 1e-12)
    assert result.energy.shape == (S, top)
    assert result.predicted.shape == (r,)
    assert [sl.stop - sl.start for sl in result.levels] == [9, 9]


def test_information_rank_and_labels(result):
    assert result.gap_index.tolist() == [SETUP.rank] * 3
    assert np.all(result.energy[:, SETUP.rank - 1] > 0.95)


def test_claim_passes_and_catches_a_ten_percent_error(result):
    c = result.claim()
    assert abs(c["measured"] - c["predicted"]) <= c["rel"] * c["predicted"]
    assert c["rel"] < 0.25 and c["n"] == 3
    wrong = dataclasses.replace(result, predicted=1.1 * result.predicted)
    w = wrong.claim()
    assert abs(w["measured"] - w["predicted"]) > w["rel"] * w["predicted"]


def test_glue_and_reproducibility(result):
    g = result.glue()
    assert all(k.startswith("m_") for k in g)
    assert g["m_rank"] == SETUP.rank
    again = jm.run_mixture(SETUP, _sizes(), rng=np.random.default_rng(0))
    assert np.array_equal(again.measured, result.measured)


def test_training_fits_and_generalises():
    setup = dataclasses.replace(SETUP, train_widths=(16, 64), train_steps=20, test_per_cluster=5)
    run = jm.run_training(setup, _sizes(mixture_seeds=2), rng=np.random.default_rng(2))
    assert run.residual.shape == run.test_error.shape == (2, 2, 21)
    assert run.residual[:, :, 0] == pytest.approx(1.0)
    assert run.predicted[-1] == pytest.approx(0.9**20)
    assert np.all(run.residual[:, :, -1] < 0.8)
    assert np.all(run.test_error[:, :, -1] < 0.5)  # chance is 2/3
    assert np.all(run.test_error[1, :, -1] < 0.1)
    g = run.glue()
    assert g["m_w_small"] == 16 and g["m_w_large"] == 64 and g["m_train_steps"] == 20


def test_draw_mixture_structure():
    data = jm.draw_mixture(SETUP, rng=np.random.default_rng(1))
    assert data.X.shape == (SETUP.n, SETUP.dim)
    assert np.linalg.norm(data.X, axis=1) == pytest.approx(1.0)
    assert np.bincount(data.labels).tolist() == [SETUP.clusters_per_class * 12] * 3
    assert data.X_test.shape == (SETUP.clusters * SETUP.test_per_cluster, SETUP.dim)
    cos = data.centres @ data.centres.T
    assert cos[0, 1] == pytest.approx(SETUP.rho) and cos[0, 2] == pytest.approx(0.0, abs=1e-12)


def test_bad_arguments():
    with pytest.raises(ValueError, match="mixture_seeds"):
        jm.run_mixture(SETUP, _sizes(mixture_seeds=1), rng=np.random.default_rng(0))
    with pytest.raises(ValueError, match="mixture_width"):
        jm.run_mixture(SETUP, _sizes(mixture_width=7), rng=np.random.default_rng(0))
    with pytest.raises(ValueError, match="top"):
        jm.MixtureSetup(top=18)
    with pytest.raises(ValueError, match="train_widths"):
        jm.MixtureSetup(train_widths=(15,))
    with pytest.raises(TypeError, match="setup"):
        jm.draw_mixture(None, rng=np.random.default_rng(0))
