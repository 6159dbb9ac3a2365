import numpy as np
import pytest
from conftest import EXACT

from dltheory.linear_nets import _random_init, empirical_half_time, simulate_gd
from dltheory.teachers import low_rank_teacher, noisy_data
from dltheory.theory.mode_dynamics import predicted_mode_strength


def make_data(seed=0, batch=2, n_in=24, n_out=12, s=(6.0, 4.0, 2.0)):
    rng = np.random.default_rng(seed)
    teacher = low_rank_teacher(n_in, n_out, np.tile(s, (batch, 1)), rng=rng)
    return noisy_data(teacher, noise_std=1.0, rng=rng)


@pytest.mark.parametrize("hidden_layers", [1, 2, 3])
@pytest.mark.parametrize("hidden", [3, 12, 16])
def test_mode_space_equals_full_matrices(hidden_layers, hidden):
    data = make_data()
    kw = dict(hidden=hidden, hidden_layers=hidden_layers, eps=1e-2, lr=2e-3, epochs=1500)
    full = simulate_gd(data, method="full", **kw)
    modes = simulate_gd(data, method="modes", **kw)
    np.testing.assert_allclose(modes.mode_strength, full.mode_strength, rtol=0, atol=EXACT)
    np.testing.assert_allclose(modes.train_error, full.train_error, rtol=0, atol=EXACT)
    np.testing.assert_allclose(modes.test_error, full.test_error, rtol=0, atol=EXACT)
    np.testing.assert_allclose(modes.final_map, full.final_map, rtol=0, atol=EXACT)


def test_aligned_gd_matches_closed_form_to_order_lr():
    data = make_data()
    devs = []
    for lr in (2e-3, 1e-3, 5e-4):
        run = simulate_gd(data, hidden=12, eps=1e-3, lr=lr, epochs=int(5.0 / lr), record_every=1)
        th = np.stack(
            [predicted_mode_strength(run.epochs, sh, eps=1e-3, tau=1 / lr) for sh in data.s_hat],
            axis=1,
        )
        dev = np.max(np.abs(run.mode_strength - th) / data.s_hat.max())
        assert dev < 2.0 * lr * data.s_hat.max()  # O(lr * s_hat)
        devs.append(dev)
    # first order in lr: halving lr halves the error
    np.testing.assert_allclose(np.array(devs[:-1]) / np.array(devs[1:]), 2.0, rtol=0.15)


def test_random_init_product_has_all_singular_values_eps(rng):
    data = make_data(batch=1)
    for n_weights in (2, 4):
        Ws = _random_init(data, 8, n_weights, 1e-3, rng)
        W = Ws[0]
        for layer in Ws[1:]:
            W = layer @ W
        np.testing.assert_allclose(np.linalg.svd(W[0], compute_uv=False)[:8], 1e-3, rtol=1e-10)


def test_random_init_learns_the_task(rng):
    data = make_data()
    run = simulate_gd(data, hidden=12, init="random", eps=1e-3, lr=2e-3, epochs=6000, rng=rng)
    assert run.train_error[0].min() > 0.99
    # the full-rank network ends close to Sigma31, its signal modes at s_hat despite the random start
    assert run.train_error[-1].max() < 1e-4
    np.testing.assert_allclose(run.mode_strength[-1, :, :3], data.s_hat[:, :3], rtol=1e-6)


def test_same_seed_same_record():
    def run(seed):
        data = make_data(seed)
        return simulate_gd(
            data, hidden=12, init="random", eps=1e-3, lr=2e-3, epochs=300,
            rng=np.random.default_rng(seed),
        )  # fmt: skip

    a, b, c = run(3), run(3), run(4)
    np.testing.assert_array_equal(a.mode_strength, b.mode_strength)
    np.testing.assert_array_equal(a.test_error, b.test_error)
    assert not np.array_equal(a.test_error, c.test_error)


def test_records_at_requested_epochs():
    run = simulate_gd(make_data(), hidden=3, eps=1e-3, lr=1e-3, epochs=95, record_every=10)
    np.testing.assert_array_equal(run.epochs, [0, 10, 20, 30, 40, 50, 60, 70, 80, 90, 95])
    assert run.mode_strength.shape == (11, 2, 12)
    assert run.test_error.shape == run.train_error.shape == (11, 2)


def test_empirical_half_time_interpolates():
    t = np.array([0.0, 10.0, 20.0, 30.0])
    s = np.array([[0.0, 0.0], [0.2, 0.0], [0.6, 0.1], [1.0, 0.2]])
    half = empirical_half_time(t, s, np.array([1.0, 1.0]))
    np.testing.assert_allclose(half[0], 17.5)
    assert np.isnan(half[1])
    with pytest.raises(ValueError, match="time first"):
        empirical_half_time(t, s.T, 1.0)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        (dict(lr=0.0), "lr"),
        (dict(lr=-1e-3), "lr"),
        (dict(eps=0.0), "eps"),
        (dict(hidden=2), "hidden"),
        (dict(hidden_layers=0), "hidden_layers"),
        (dict(epochs=0), "epochs"),
        (dict(record_every=0), "record_every"),
        (dict(init="orthogonal"), "init"),
        (dict(method="fast"), "method"),
        (dict(init="random", method="modes"), "method='modes'"),
        (dict(init="random"), "rng"),
    ],
)
def test_invalid_arguments_raise(kwargs, match):
    base = dict(hidden=12, eps=1e-3, lr=1e-3, epochs=10)
    with pytest.raises(ValueError, match=match):
        simulate_gd(make_data(), **{**base, **kwargs})


def test_wrong_data_type_raises():
    with pytest.raises(ValueError, match="data"):
        simulate_gd(np.zeros((2, 3, 4)), hidden=3, eps=1e-3, lr=1e-3, epochs=1)


def test_general_inputs_with_identity_equal_one_hot(rng):
    from dataclasses import replace

    data = make_data()
    n = data.n_in
    general = replace(
        data, sigma11=np.broadcast_to(np.eye(n), (data.batch, n, n)).copy(),
        targets_sq=np.sum(data.sigma31**2, axis=(1, 2)),
    )  # fmt: skip
    kw = dict(hidden=12, eps=1e-3, lr=2e-3, epochs=300, init="random")
    a = simulate_gd(data, rng=np.random.default_rng(1), **kw)
    b = simulate_gd(general, rng=np.random.default_rng(1), **kw)
    np.testing.assert_allclose(b.test_error, a.test_error, rtol=1e-10)
    np.testing.assert_allclose(b.train_error, a.train_error, rtol=1e-9, atol=1e-12)
    with pytest.raises(ValueError, match="one-hot"):
        simulate_gd(general, hidden=12, eps=1e-3, lr=1e-3, epochs=10, method="modes")


def test_float32_route_tracks_float64():
    data = make_data()
    kw = dict(hidden=12, eps=1e-3, lr=2e-3, epochs=2000, init="random")
    a = simulate_gd(data, rng=np.random.default_rng(2), **kw)
    b = simulate_gd(data, rng=np.random.default_rng(2), dtype="float32", **kw)
    assert b.test_error.dtype == np.float64
    np.testing.assert_allclose(b.test_error, a.test_error, rtol=1e-3, atol=1e-5)
    with pytest.raises(ValueError, match="dtype"):
        simulate_gd(data, rng=np.random.default_rng(2), dtype="float16", **kw)
