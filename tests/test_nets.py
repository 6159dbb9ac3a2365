"""Tests of dltheory.nets: doubled initialisation, generator-derived randomness, the GD loop."""

import numpy as np
import pytest
import torch

from dltheory.nets import three_layer_net, torch_generator, train_gd, two_layer_net


@pytest.mark.parametrize("make", [two_layer_net, three_layer_net])
def test_symmetric_init_gives_zero_output(make, rng):
    net = make(7, 16, 3, rng=rng)
    X = torch.as_tensor(rng.standard_normal((11, 7)))
    out = net(X)
    assert out.shape == (11, 3) and out.dtype == torch.float64
    assert float(out.detach().abs().max()) < 1e-12
    # ... but the network is not trivially zero: its gradient is not
    loss = ((out - 1.0) ** 2).sum()
    loss.backward()
    assert all(float(p.grad.abs().max()) > 0 for p in net.parameters())


def test_two_layer_structure(rng):
    net = two_layer_net(5, 8, 2, rng=rng)
    W, V = net.W.detach(), net.V
    torch.testing.assert_close(W[:4], W[4:])
    torch.testing.assert_close(V[:, :4], -V[:, 4:])
    np.testing.assert_allclose(V.abs().numpy(), 1 / np.sqrt(8))
    assert not V.requires_grad


def test_same_rng_same_net_and_dtype():
    a = two_layer_net(5, 8, 2, rng=np.random.default_rng(3), dtype=torch.float32)
    b = two_layer_net(5, 8, 2, rng=np.random.default_rng(3), dtype=torch.float32)
    assert a.W.dtype == torch.float32
    torch.testing.assert_close(a.W, b.W)
    g1, g2 = torch_generator(np.random.default_rng(0)), torch_generator(np.random.default_rng(0))
    assert torch.equal(torch.randn(3, generator=g1), torch.randn(3, generator=g2))


def test_bad_sizes_raise(rng):
    with pytest.raises(ValueError, match="width"):
        two_layer_net(3, 7, 2, rng=rng)
    with pytest.raises(ValueError, match="d"):
        two_layer_net(0, 8, 2, rng=rng)
    with pytest.raises(ValueError, match="rng"):
        torch_generator(0)


def test_train_gd_matches_a_manual_step_and_records(rng):
    net = two_layer_net(4, 6, 3, rng=rng)
    X = rng.standard_normal((9, 4))
    X /= np.linalg.norm(X, axis=1, keepdims=True)
    Y = np.eye(3)[rng.integers(0, 3, 9)]
    W0 = net.W.detach().numpy().copy()
    V = net.V.numpy()
    # manual gradient of 0.5 ||V relu(W x) - y||^2 at W0 (f(W0) = 0, so R = -Y)
    D = (X @ W0.T > 0).astype(float)
    grad = (((-Y) @ V) * D).T @ X
    rec = train_gd(net, X, Y, lr=0.1, steps=1, X_test=X, labels_test=Y.argmax(1))
    np.testing.assert_allclose(net.W.detach().numpy(), W0 - 0.1 * grad, rtol=1e-12, atol=1e-14)
    assert rec.residuals.shape == (2, 27)
    np.testing.assert_allclose(rec.residuals[0], -Y.T.reshape(-1), atol=1e-12)
    np.testing.assert_allclose(rec.loss[0], 0.5 * 9)


def test_train_gd_decreases_loss_and_validates(rng):
    net = two_layer_net(4, 32, 2, rng=rng)
    X = rng.standard_normal((10, 4))
    X /= np.linalg.norm(X, axis=1, keepdims=True)
    Y = np.eye(2)[rng.integers(0, 2, 10)]
    rec = train_gd(net, X, Y, lr=0.05, steps=50, record_steps=[0, 25, 50])
    assert rec.steps.tolist() == [0, 25, 50] and rec.loss[-1] < rec.loss[0]
    assert np.all(np.isnan(rec.test_acc))
    with pytest.raises(ValueError, match="lr"):
        train_gd(net, X, Y, lr=-1.0, steps=1)
    with pytest.raises(ValueError, match="record_steps"):
        train_gd(net, X, Y, lr=0.1, steps=5, record_steps=[3, 1])
    with pytest.raises(ValueError, match="X_test"):
        train_gd(net, X, Y, lr=0.1, steps=1, X_test=X)


def test_train_gd_raises_on_divergence_and_checks_shapes(rng):
    # lr = 100 multiplies the error every step: before, the loss grew to inf/NaN without a word
    X = rng.standard_normal((8, 4))
    X /= np.linalg.norm(X, axis=1, keepdims=True)
    Y = np.eye(3)[rng.integers(0, 3, 8)]
    with pytest.raises(ValueError, match="lr = 100"):
        train_gd(two_layer_net(4, 6, 3, rng=rng), X, Y, lr=100.0, steps=50)
    net = two_layer_net(4, 6, 3, rng=rng)
    with pytest.raises(ValueError, match="Y"):
        train_gd(net, X, Y[:, :2], lr=0.1, steps=1)  # the net has 3 outputs
    with pytest.raises(ValueError, match="X"):
        train_gd(net, X[:, :3], Y, lr=0.1, steps=1)
    with pytest.raises(ValueError, match="record_steps"):
        train_gd(net, X, Y, lr=0.1, steps=5, record_steps=[0.5, 2.0])
    with pytest.raises(ValueError, match="labels_test"):
        train_gd(net, X, Y, lr=0.1, steps=1, X_test=X, labels_test=np.full(8, 3))
    with pytest.raises(ValueError, match="dtype"):
        two_layer_net(4, 6, 3, rng=rng, dtype=torch.int64)
