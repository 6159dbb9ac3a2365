"""Tests of dltheory.jacobian: products against finite differences and the formed Jacobian,
matrix-free spectra against dense ones, label energy and residual projections."""

import numpy as np
import pytest
import torch

from dltheory.jacobian import (
    JacobianOperator,
    label_energy,
    linearised_residual,
    split_residual,
    top_singular,
    two_layer_gram,
)
from dltheory.nets import three_layer_net, two_layer_net

FD_REL = 1e-6  # central differences with h = 1e-5 in float64
MF_REL = 1e-9  # matrix-free (ARPACK at machine precision) vs dense singular values


def _data(rng, n=6, d=5):
    X = rng.standard_normal((n, d))
    return X / np.linalg.norm(X, axis=1, keepdims=True)


def _outputs(net, X, flat_params):
    """Stacked class-major outputs at parameters given as one flat vector."""
    names = [k for k, p in net.named_parameters()]
    sizes = [p.numel() for p in net.parameters()]
    with torch.no_grad():
        for name, chunk in zip(
            names, torch.split(torch.as_tensor(flat_params), sizes), strict=True
        ):
            getattr(net, name).copy_(chunk.reshape(getattr(net, name).shape))
        return net(torch.as_tensor(X)).T.reshape(-1).numpy()


@pytest.mark.parametrize("make", [two_layer_net, three_layer_net])
def test_jvp_and_vjp_against_finite_differences(make, rng):
    net = make(5, 8, 3, rng=rng)
    X = _data(rng)
    # move off the symmetric point so that the test is generic
    with torch.no_grad():
        for p in net.parameters():
            p.add_(0.3 * torch.as_tensor(rng.standard_normal(tuple(p.shape))))
    jac = JacobianOperator(net, X)
    theta = torch.cat([p.detach().reshape(-1) for p in net.parameters()]).numpy().copy()
    v = rng.standard_normal(jac.shape[1])
    h = 1e-5
    fd = (_outputs(net, X, theta + h * v) - _outputs(net, X, theta - h * v)) / (2 * h)
    _outputs(net, X, theta)
    np.testing.assert_allclose(jac.matvec(v), fd, rtol=FD_REL, atol=FD_REL * np.abs(fd).max())
    u = rng.standard_normal(jac.shape[0])
    # adjoint identity <u, J v> = <J^T u, v>
    np.testing.assert_allclose(u @ jac.matvec(v), jac.rmatvec(u) @ v, rtol=1e-12)


@pytest.mark.parametrize("make", [two_layer_net, three_layer_net])
def test_products_against_the_formed_jacobian(make, rng):
    net = make(5, 8, 3, rng=rng)
    X = _data(rng, n=7)
    jac = JacobianOperator(net, X)
    J = jac.dense()
    assert J.shape == jac.shape == (21, sum(p.numel() for p in net.parameters()))
    v, u = rng.standard_normal(J.shape[1]), rng.standard_normal(J.shape[0])
    np.testing.assert_allclose(jac.matvec(v), J @ v, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(jac.rmatvec(u), J.T @ u, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(jac.gram_matvec(u), J @ (J.T @ u), rtol=1e-12, atol=1e-12)
    B = rng.standard_normal((J.shape[0], 4))
    np.testing.assert_allclose(jac.gram_matmat(B), J @ (J.T @ B), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(jac.frobenius_sq(chunk=3), np.sum(J**2), rtol=1e-12)


def test_two_layer_gram_formula(rng):
    net = two_layer_net(5, 10, 3, rng=rng)
    X = _data(rng, n=8)
    J = JacobianOperator(net, X).dense()
    np.testing.assert_allclose(two_layer_gram(net, X), J @ J.T, rtol=1e-12, atol=1e-12)


def test_matrix_free_top_k_matches_dense(rng):
    net = two_layer_net(8, 32, 4, rng=rng)
    X = _data(rng, n=30, d=8)
    jac = JacobianOperator(net, X)
    k = 12
    mf = top_singular(jac, k, rng=rng)
    dense = top_singular(jac, k, method="dense")
    gram = top_singular(jac, None, method="gram", model=net, X=X)
    np.testing.assert_allclose(mf.s, dense.s, rtol=MF_REL)
    np.testing.assert_allclose(gram.s[:k], dense.s, rtol=MF_REL)
    np.testing.assert_allclose(mf.frobenius_sq, gram.frobenius_sq, rtol=1e-12)
    np.testing.assert_allclose(np.sum(gram.s**2), gram.frobenius_sq, rtol=1e-10)
    # the same subspace: |U_mf^T U_dense| has singular values 1 where the gap allows
    overlap = np.linalg.svd(mf.U[:, :5].T @ dense.U[:, :6], compute_uv=False)
    np.testing.assert_allclose(overlap, 1.0, atol=1e-8)
    np.testing.assert_allclose(mf.U.T @ mf.U, np.eye(k), atol=1e-10)
    assert 0 < gram.energy_fraction(1) < gram.energy_fraction(k) <= 1


def test_top_singular_rejects_bad_arguments(rng):
    net = two_layer_net(3, 4, 2, rng=rng)
    jac = JacobianOperator(net, _data(rng, n=3, d=3))
    with pytest.raises(ValueError, match="method"):
        top_singular(jac, 2, method="svd")
    with pytest.raises(ValueError, match="k"):
        top_singular(jac, 0, rng=rng)
    with pytest.raises(ValueError, match="eigsh"):
        top_singular(jac, None, rng=rng)
    with pytest.raises(ValueError, match="model"):
        top_singular(jac, 2, method="gram")
    with pytest.raises(ValueError, match="model"):
        JacobianOperator("net", np.zeros((2, 3)))
    with pytest.raises(ValueError, match="X"):
        JacobianOperator(net, np.zeros(3))
    with pytest.raises(ValueError, match="v"):
        jac.matvec(np.zeros(5))


def test_label_energy_and_split(rng):
    Q, _ = np.linalg.qr(rng.standard_normal((10, 10)))
    y = rng.standard_normal(10)
    E = label_energy(Q, y)
    assert np.all(np.diff(E) >= -1e-15)
    np.testing.assert_allclose(E[-1], 1.0, rtol=1e-12)  # a complete basis holds everything
    np.testing.assert_allclose(label_energy(Q, Q[:, 0])[0], 1.0, rtol=1e-12)
    info, nuis = split_residual(Q[:, :3], y)
    np.testing.assert_allclose(info**2 + nuis**2, y @ y, rtol=1e-12)
    np.testing.assert_allclose(info**2 / (y @ y), E[2], rtol=1e-12)
    info_t, _ = split_residual(Q[:, :3], np.stack([y, 2 * y]))
    np.testing.assert_allclose(info_t, [info, 2 * info], rtol=1e-12)
    with pytest.raises(ValueError, match="y"):
        label_energy(Q, np.zeros(10))
    with pytest.raises(ValueError, match="residuals"):
        split_residual(Q[:, :3], np.zeros(4))


def test_linearised_residual_is_exact_for_the_linear_model(rng):
    """Gradient descent on the linear model f(W0) + J (W - W0) follows (1 - eta lambda^2)^t."""
    J = rng.standard_normal((6, 9))
    U, s, _ = np.linalg.svd(J, full_matrices=False)
    from dltheory.jacobian import Spectrum

    spectrum = Spectrum(s=s, U=U, frobenius_sq=float(np.sum(s**2)))
    y = rng.standard_normal(6)
    lr = 1 / s[0] ** 2
    w, res = np.zeros(9), []
    for _ in range(20):
        r = J @ w - y
        res.append(r)
        w -= lr * J.T @ r
    pred = linearised_residual(np.arange(20), spectrum, -y, lr)
    np.testing.assert_allclose(np.array(res) @ U, pred, atol=1e-12)


def test_top_singular_start_vector_comes_from_the_callers_rng(rng):
    # no hidden seed: eigsh needs a generator, and one in the same state repeats the Lanczos run
    net = two_layer_net(4, 8, 3, rng=rng)
    jac = JacobianOperator(net, _data(rng, n=6, d=4))
    with pytest.raises(ValueError, match="rng"):
        top_singular(jac, 3, frobenius=False)
    a = top_singular(jac, 3, frobenius=False, rng=np.random.default_rng(5))
    b = top_singular(jac, 3, frobenius=False, rng=np.random.default_rng(5))
    np.testing.assert_array_equal(a.s, b.s)
    np.testing.assert_array_equal(a.U, b.U)
    dense = top_singular(jac, 3, method="dense", frobenius=False)  # the dense routes need none
    np.testing.assert_allclose(a.s, dense.s, rtol=MF_REL)
    with pytest.raises(ValueError, match="rng"):
        top_singular(jac, 3, rng=0)
    with pytest.raises(ValueError, match="tol"):
        top_singular(jac, 3, tol=-1.0, rng=rng)


def test_projections_need_unit_columns_and_matching_sizes(rng):
    Q, _ = np.linalg.qr(rng.standard_normal((6, 3)))
    with pytest.raises(ValueError, match="orthonormal"):
        label_energy(2 * Q, rng.standard_normal(6))
    with pytest.raises(ValueError, match="orthonormal"):
        split_residual(2 * Q, rng.standard_normal(6))
    U, s, _ = np.linalg.svd(rng.standard_normal((6, 9)), full_matrices=False)
    from dltheory.jacobian import Spectrum

    spectrum = Spectrum(s=s, U=U, frobenius_sq=float(np.sum(s**2)))
    with pytest.raises(ValueError, match="r0"):
        linearised_residual(np.arange(3.0), spectrum, np.ones(5), 0.01)
    net = two_layer_net(3, 4, 2, rng=rng)
    with pytest.raises(ValueError, match="X"):
        JacobianOperator(net, np.ones((4, 5)))  # d = 3
    with pytest.raises(ValueError, match="X"):
        two_layer_gram(net, np.ones((4, 5)))
    with pytest.raises(ValueError, match="X"):
        JacobianOperator(net, np.full((4, 3), np.nan))
