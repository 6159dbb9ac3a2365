import numpy as np
import pytest
from conftest import EXACT
from hypothesis import given
from hypothesis import strategies as st

from dltheory.linear_nets import (
    _random_init,
    empirical_half_time,
    empirical_optimal_stopping,
    simulate_gd,
)
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
            [predicted_mode_strength(run.steps, sh, eps=1e-3, tau=1 / lr) for sh in data.s_hat],
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


def test_recorded_svd_of_the_map(rng):
    data = make_data()
    kw = dict(hidden=12, eps=1e-3, lr=2e-3, epochs=3000, record_every=100)
    plain = simulate_gd(data, init="random", rng=np.random.default_rng(1), **kw)
    run = simulate_gd(data, init="random", rng=np.random.default_rng(1), record_svd=3, **kw)
    assert plain.svd_s is plain.svd_u_overlap is plain.svd_v_overlap is None
    # recording adds fields and changes nothing else
    np.testing.assert_array_equal(run.mode_strength, plain.mode_strength)
    assert run.svd_s.shape == (run.steps.size, 2, 3)
    assert run.svd_u_overlap.shape == run.svd_v_overlap.shape == (run.steps.size, 2, 3, 3)
    np.testing.assert_allclose(run.svd_s[0], 1e-3, rtol=1e-10)  # all singular values eps at t=0
    u, sv, _ = np.linalg.svd(run.final_map)  # the last record is the final map's
    np.testing.assert_allclose(run.svd_s[-1], sv[:, :3], rtol=1e-10)
    np.testing.assert_allclose(
        np.abs(run.svd_u_overlap[-1]),
        np.abs(u[:, :, :3].transpose(0, 2, 1) @ data.U_hat[:, :, :3]),
        atol=1e-10,
    )
    # trained to the data, the map's singular vectors are the data's: overlaps +-identity
    np.testing.assert_allclose(
        np.abs(run.svd_u_overlap[-1]), np.eye(3)[None].repeat(2, 0), atol=1e-6
    )
    np.testing.assert_allclose(
        np.abs(run.svd_v_overlap[-1]), np.eye(3)[None].repeat(2, 0), atol=1e-6
    )


def test_same_seed_same_record():
    def run(seed):
        data = make_data(seed)
        return simulate_gd(
            data, hidden=12, init="random", eps=1e-3, lr=2e-3, epochs=300,
            rng=np.random.default_rng(seed),
        )  # fmt: skip

    a, b, c = run(3), run(3), run(4)
    # Same seed, same numbers (to rounding: the BLAS kernel may order sums differently elsewhere).
    np.testing.assert_allclose(a.mode_strength, b.mode_strength, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(a.test_error, b.test_error, rtol=1e-12)
    assert not np.array_equal(a.test_error, c.test_error)


def test_records_at_requested_epochs():
    run = simulate_gd(make_data(), hidden=3, eps=1e-3, lr=1e-3, epochs=95, record_every=10)
    np.testing.assert_array_equal(run.steps, [0, 10, 20, 30, 40, 50, 60, 70, 80, 90, 95])
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
        (dict(record_svd=-1), "record_svd"),
        (dict(record_svd=13), "record_svd"),
        (dict(record_svd=2, method="modes"), "record_svd"),
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


def _tiny_data():
    return make_data(n_in=6, n_out=4, s=(3.0, 1.0))


@pytest.mark.parametrize(
    ("method", "hidden_layers", "dtype"),
    [
        ("full", 1, "float64"),
        ("modes", 1, "float64"),
        ("full", 3, "float64"),
        ("full", 1, "float32"),
    ],
)
def test_divergent_learning_rate_raises_naming_lr(method, hidden_layers, dtype):
    # Before: NaN errors came back with no warning. A diverged run now raises with the bound.
    kw = dict(hidden=4, hidden_layers=hidden_layers, eps=1e-2, epochs=20, record_every=5)
    with pytest.raises(ValueError, match=r"lr=10 diverged.*lr < 2 / \(N_W"):
        simulate_gd(_tiny_data(), lr=10.0, method=method, dtype=dtype, **kw)


@pytest.mark.parametrize("hidden_layers", [1, 2, 3])
def test_stated_stability_bound_is_the_edge(hidden_layers):
    # The bound in the divergence message, 2 / (N_W s_hat_max^(2 - 2/N_W)), is where GD stops
    # settling at the learned map: just below it the train error reaches 0, just above it the run
    # oscillates (period two) around the minimum without converging.
    data = _tiny_data()
    n_w = hidden_layers + 1
    bound = 2.0 / (n_w * data.s_hat.max() ** (2.0 - 2.0 / n_w))
    kw = dict(hidden=4, hidden_layers=hidden_layers, eps=0.05, epochs=3000, method="modes")
    below = simulate_gd(data, lr=0.95 * bound, **kw)
    above = simulate_gd(data, lr=1.05 * bound, **kw)
    # each run's top mode has its own edge; the run with the largest s_hat sits on the stated one
    top = np.argmax(data.s_hat[:, 0])
    assert below.train_error[-1].max() < 1e-20
    assert above.train_error[-1, top] > 1e-3


def test_non_finite_or_unordered_records_are_rejected():
    t = np.array([0.0, 10.0, 20.0])
    err = np.array([[1.0, 1.0], [0.5, np.nan], [0.7, 0.2]])
    # Before: argmin picked the NaN's epoch for the second run.
    with pytest.raises(ValueError, match="test_error"):
        empirical_optimal_stopping(t, err)
    with pytest.raises(ValueError, match="epochs"):
        empirical_optimal_stopping(t[::-1], np.ones((3, 2)))
    with pytest.raises(ValueError, match="strength"):
        empirical_half_time(t, err, 1.0)
    with pytest.raises(ValueError, match="target"):
        empirical_half_time(t, np.ones((3, 2)), np.ones(3))


def test_optimal_stopping_picks_the_recorded_minimum():
    t = np.array([0.0, 10.0, 20.0, 30.0])
    err = np.array([[1.0, 1.0], [0.4, 0.9], [0.6, 0.8], [0.7, 0.3]])
    t_opt, e_min = empirical_optimal_stopping(t, err)
    np.testing.assert_array_equal(t_opt, [10.0, 30.0])
    np.testing.assert_array_equal(e_min, [0.4, 0.3])


@given(
    increments=st.lists(st.floats(0.01, 1.0), min_size=2, max_size=8),
    gaps=st.lists(st.floats(0.5, 5.0), min_size=8, max_size=8),
    frac=st.floats(0.05, 0.95),
)
def test_half_time_is_where_the_interpolated_trajectory_crosses_half(increments, gaps, frac):
    # For an increasing trajectory that reaches half its target, the returned time lies in the
    # recorded range and the piecewise-linear trajectory through the records equals target / 2 there.
    strength = np.r_[0.0, np.cumsum(increments)]
    epochs = np.r_[0.0, np.cumsum(gaps[: strength.size - 1])]
    target = 2.0 * frac * strength[-1]
    half = float(empirical_half_time(epochs, strength, target))
    assert epochs[0] <= half <= epochs[-1]
    assert np.interp(half, epochs, strength) == pytest.approx(target / 2.0, rel=1e-9, abs=1e-12)
    # never reached: a target above twice the largest value gives NaN
    assert np.isnan(empirical_half_time(epochs, strength, 2.0 * strength[-1] * 1.01))
