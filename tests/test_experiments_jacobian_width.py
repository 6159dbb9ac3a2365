"""Chapter 5's width sweep at tiny sizes: shapes, determinism, the pairing and the closed forms."""

import dataclasses

import numpy as np
import pytest

from dltheory import datasets as ds
from dltheory.config import get_scale
from dltheory.experiments import jacobian_information as ji
from dltheory.experiments import jacobian_width as jw
from dltheory.theory import jacobian_split as js

SIZES = dataclasses.replace(
    get_scale("ci").jacobian,
    per_class=5,  # n = 50, K n = 500
    width=16,
    rank=10,
    widths=(8, 16, 32),
    width_seeds=2,
    width_steps=30,
)


@pytest.fixture(scope="module")
def problem():
    return ji.draw_problem(ji.SETUP, SIZES, rng=np.random.default_rng(3))


@pytest.fixture(scope="module")
def result(problem):
    return jw.run_width_sweep(problem, rng=np.random.default_rng(5))


def test_shapes_and_start(result):
    n_w, n_s = len(SIZES.widths), SIZES.width_seeds
    assert result.grid.shape == (n_w, n_s)
    assert result.steps[0] == 0 and result.steps[-1] == SIZES.width_steps
    for name in ("loss", "mse", "error", "distance", "info", "nuisance"):
        assert result.curves[name].shape == (2, n_w, n_s, result.steps.size)
        assert result.stop[name].shape == (2, n_w, n_s)
    assert result.spectra["energy"].shape == (n_w, n_s, SIZES.rank // ji.K)
    # f(W_0) = 0 for both models: the same start, zero distance, loss 0.5 ||y||^2 = n / 2
    n = SIZES.per_class * ji.K
    np.testing.assert_allclose(result.curves["loss"][..., 0], n / 2, rtol=1e-6)
    np.testing.assert_allclose(result.curves["distance"][..., 0], 0.0)
    for name in ("info", "nuisance"):  # relative to the residual at f = 0, r_0 = -y
        np.testing.assert_allclose(result.curves[name][..., 0], 1.0, rtol=1e-6)
        assert result.kernel["curves"][name][0] == pytest.approx(1.0)
    # the information space is fitted faster than the nuisance space, by every model
    assert np.all(result.stop["info"] < result.stop["nuisance"])
    np.testing.assert_allclose(result.kernel["curves"]["loss"][0], n / 2)
    lam = result.spectra
    np.testing.assert_array_equal(lam["t_stop"], np.round((lam["lam1"] / lam["lam_r"]) ** 2))
    assert np.all(np.diff(result.curves["loss"], axis=-1) < 0)  # eta = 1/lambda_1^2 is stable


def test_deterministic(problem, result):
    again = jw.run_width_sweep(problem, rng=np.random.default_rng(5))
    for name in result.stop:
        np.testing.assert_allclose(again.stop[name], result.stop[name], rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(again.spectra["energy"], result.spectra["energy"], rtol=1e-9)


def test_kernel_closed_form_matches_iteration(problem, result):
    data = problem.data
    Sigma = js.expected_gram(data.X_train)
    Sigma_t = js.expected_gram(data.X_test, data.X_train)
    Y = ds.one_hot(data.labels_train, ji.K)
    lr = result.kernel["lr"]
    assert lr == pytest.approx(1 / np.linalg.eigvalsh(Sigma)[-1])
    f, alpha = np.zeros_like(Y), np.zeros_like(Y)  # train outputs; f = Sigma alpha
    V = np.linalg.eigh(Sigma)[1][:, ::-1]
    top, rest = V[:, : SIZES.rank // ji.K], V[:, SIZES.rank // ji.K :]
    for t in range(SIZES.width_steps + 1):
        if t in result.steps:
            i = int(np.flatnonzero(result.steps == t)[0])
            out_t = Sigma_t @ alpha
            mse = 0.5 * np.sum((out_t - ds.one_hot(data.labels_test, ji.K)) ** 2) / len(out_t)
            assert result.kernel["curves"]["loss"][i] == pytest.approx(
                0.5 * np.sum((f - Y) ** 2), rel=1e-8
            )
            assert result.kernel["curves"]["mse"][i] == pytest.approx(mse, rel=1e-8)
            R = f - Y  # the residual along the top rank/K eigenvectors of Sigma (all K copies)
            for name, part in (("info", top), ("nuisance", rest)):
                want = np.linalg.norm(part.T @ R) / np.linalg.norm(part.T @ Y)
                assert result.kernel["curves"][name][i] == pytest.approx(want, rel=1e-6, abs=1e-12)
            dist = np.sqrt(max(np.sum(alpha * (Sigma @ alpha)), 0.0))
            assert result.kernel["curves"]["distance"][i] == pytest.approx(dist, rel=1e-6, abs=1e-9)
        alpha -= lr * (f - Y)
        f = Sigma @ alpha
    energy, top = js.expected_label_energy(Sigma, data.labels_train, ji.K)
    np.testing.assert_allclose(result.kernel["energy"], energy[: SIZES.rank // ji.K])
    assert result.kernel["top10"] == pytest.approx(top[0])


def test_claims_and_fits(result):
    for name in ("mse", "distance"):
        c = result.claim(name)
        p = result.paired(name)
        assert c["width"] in SIZES.widths and c["n"] == SIZES.width_seeds
        assert c["tol"] == pytest.approx(3 * c["se"] + c["bias"])
        assert np.max(np.abs(p["diff"] / p["predicted"])) == pytest.approx(
            abs(c["diff"] / c["predicted"])
        )
        assert result.claim(name, min_width=32)["width"] == 32
    with pytest.raises(ValueError, match="min_width"):
        result.claim("mse", min_width=64)
    # the weighted fit recovers an exact a + b/k, with chi2 = 0
    k = SIZES.widths
    exact = 0.5 + 2.0 / np.array(k, float)
    noise = np.array([[-1e-3, 1e-3]] * len(k))
    fake = dataclasses.replace(result, spectra=result.spectra | {"top10": exact[:, None] + noise})
    f = fake.fit("top10")
    assert f["a"] == pytest.approx(0.5) and f["b"] == pytest.approx(2.0)
    assert f["chi2"] == pytest.approx(0.0, abs=1e-12)
    glue = result.glue()
    assert all(key.startswith("w_") for key in glue)


def test_rejects_bad_arguments(problem):
    with pytest.raises(TypeError, match="problem"):
        jw.run_width_sweep(problem.data, rng=np.random.default_rng(0))
    bad = dataclasses.replace(problem, sizes=dataclasses.replace(SIZES, rank=15))
    with pytest.raises(ValueError, match="rank"):
        jw.run_width_sweep(bad, rng=np.random.default_rng(0))


def test_closed_form_frobenius_matches_per_sample_jacobians(problem):
    from dltheory.jacobian import JacobianOperator
    from dltheory.nets import two_layer_net

    X = problem.data.X_train
    net = two_layer_net(X.shape[1], 12, ji.K, rng=np.random.default_rng(1))
    expected = JacobianOperator(net, X).frobenius_sq()
    assert jw._frobenius_sq(net, X) == pytest.approx(expected, rel=1e-10)


def test_departure_fit_recovers_a_planted_line(result):
    """The departure fit returns the intercept of a + b/sqrt(k) planted in the curves, and refuses an
    unrecorded step or an unknown quantity."""
    step = int(result.steps[3])
    j = int(np.flatnonzero(result.steps == step)[0])
    k = result.widths.astype(float)[:, None]
    curves = {q: v.copy() for q, v in result.curves.items()}
    lin = curves["nuisance"][1][..., j]
    scatter = 0.01 * np.array([[1.0, -1.0]])  # zero mean at each width: orthogonal to the line
    curves["nuisance"][0][..., j] = lin * (1.0 + 0.02 + 0.3 / np.sqrt(k) + scatter)
    planted = dataclasses.replace(result, curves=curves)
    d = planted.departure("nuisance", step)
    assert d["a"] == pytest.approx(0.02, abs=1e-9)
    assert d["b"] == pytest.approx(0.3, abs=1e-9)
    assert d["step"] == step and d["n"] == SIZES.width_seeds
    with pytest.raises(ValueError, match="not recorded"):
        result.departure("nuisance", SIZES.width_steps + 1)
    with pytest.raises(ValueError, match="name"):
        result.departure("accuracy", step)


def test_expected_kernel_stopping_matches_the_iteration_on_any_labels(problem):
    # Kernel GD with Sigma on corrupted labels, iterated, against the closed form's clean-test error.
    data = problem.data
    Sigma = js.expected_gram(data.X_train)
    Sigma_t = js.expected_gram(data.X_test, data.X_train)
    lr = 1 / np.linalg.eigvalsh(Sigma)[-1]
    Y = ds.one_hot(problem.labels_noisy, ji.K)
    steps = np.array([0, 1, 3, 10, 30])
    out = jw.expected_kernel_stopping(problem, problem.labels_noisy, steps)
    f, alpha, errors = np.zeros_like(Y), np.zeros_like(Y), []
    for t in range(steps[-1] + 1):
        if t in steps:
            errors.append(np.mean((Sigma_t @ alpha).argmax(1) != data.labels_test))
        alpha -= lr * (f - Y)
        f = Sigma @ alpha
    np.testing.assert_allclose(out["error"], errors)
    best = int(np.argmin(errors))
    assert out["best_step"] == steps[best]
    assert out["gap"] == pytest.approx(100 * (errors[-1] - errors[best]))
