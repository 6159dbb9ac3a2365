"""Predicted train and test error of a deep linear network trained on a noisy low-rank teacher.

Implements the train and test error curves of Lampinen & Ganguli 2019 (arXiv:1809.10374), as this
book reconstructs them:
a training-aligned student with one hidden layer learns every data mode on its own sigmoid
(:mod:`dltheory.theory.mode_dynamics`). The r teacher modes appear in the data as outliers
s_hat(s_bar) with overlap O(s_bar) (:mod:`dltheory.theory.random_matrix`); the N3 - r noise modes
follow the Marchenko-Pastur law. Then, with s_a(t) = s(t, s_hat(s_bar_a)),

    err_test(t)  = [ n_bulk <s(t, s)^2>_in + sum_a (s_a - s_bar_a)^2 + 2 s_a s_bar_a (1 - O_a) ]
                   / sum_a s_bar_a^2,
    err_train(t) = [ n_bulk <s^2>_out + n_bulk <(s(t, s) - s)^2>_in + sum_a (s_a - s_hat_a)^2 ]
                   / [ sum_a s_hat_a^2 + n_bulk sigma^2 ],

where n_bulk = N3 - r is the number of noise modes and <.>_in, <.>_out integrate over the parts of
the bulk the student can and cannot fit (written here as integrals against the density, so
n_bulk <f>_in = n_bulk * int_{R_in} f P). The student can fit min(N2, N3, P) - r noise modes; which
ones is the book's reading of the paper, which does not say: the *top* part of the bulk,
since stronger modes are learned first and gradient descent on a hidden layer of width N2 keeps the
N2 strongest. The authors' code integrates over the whole bulk when N2 >= N3, which agrees.

Symbols: ``s_bar`` teacher singular values (the SNRs when ``noise_std`` = 1), ``n_in`` = N1 = P
(one-hot inputs), ``n_out`` = N3, ``hidden`` = N2, ``eps`` initial strength, ``tau`` = 1/learning rate
in epochs; times ``t`` in epochs. Aspect ratio A = N3/N1.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from dltheory._checks import as_float_array, check_int, check_positive
from dltheory.theory._optimize import refine_grid_minimum
from dltheory.theory.mode_dynamics import (
    _as_times,
    _check_eps,
    predicted_mode_strength,
    predicted_time_to_strength,
)
from dltheory.theory.random_matrix import (
    mp_quadrature,
    outlier_singular_value,
    overlap,
)

__all__ = [
    "ErrorCurves",
    "predicted_error_curves",
    "predicted_error_curves_examples",
    "predicted_optimal_stopping",
]

_T_CHUNK = 512  # time points per block when integrating over the bulk (bounds memory)
_GRID = 2001  # times in the optimal-stopping search grid


@dataclass(frozen=True)
class ErrorCurves:
    """Predicted normalised errors over time.

    Attributes:
        t: times in epochs, ``(T,)``.
        train: training error, ``(T, *batch)``.
        test: test error (clean targets, fresh white inputs), ``(T, *batch)``.
    """

    t: np.ndarray
    train: np.ndarray
    test: np.ndarray


@dataclass(frozen=True)
class _Setup:
    s_bar: np.ndarray  # (K, r)
    s_hat: np.ndarray  # (K, r)
    overlap: np.ndarray  # (K, r)
    n_bulk: int
    nodes_in: np.ndarray
    weights_in: np.ndarray
    bulk_out_sq: float  # int_{R_out} s^2 P ds
    noise_std: float
    batch_shape: tuple


def _setup(s_bar, n_in, n_out, hidden, noise_std, n_nodes) -> _Setup:
    n_in = check_int("n_in", n_in)
    n_out = check_int("n_out", n_out)
    hidden = check_int("hidden", hidden)
    noise_std = check_positive("noise_std", noise_std)
    n_nodes = check_int("n_nodes", n_nodes)
    if n_out > n_in:
        raise ValueError(f"aspect ratio n_out/n_in must lie in (0, 1], got {n_out}/{n_in}")
    sb = as_float_array("s_bar", s_bar, nonneg=True)
    if sb.ndim == 0:
        sb = sb[None]
    batch_shape = sb.shape[:-1]
    sb = sb.reshape(-1, sb.shape[-1])
    rank = sb.shape[1]
    if rank == 0 or rank > n_out:
        raise ValueError(f"s_bar must hold between 1 and n_out={n_out} singular values, got {rank}")
    if hidden < rank:
        raise ValueError(f"hidden (N2={hidden}) must be >= the teacher rank ({rank})")
    # The test error is normalised by ||W_bar||^2 = sum s_bar^2: for a zero teacher it is infinite at
    # every time (the limit s_bar -> 0), so such a condition has no meaningful curve.
    norm_sq = np.sum(sb**2, axis=-1)
    if np.any(norm_sq < np.finfo(float).tiny):
        raise ValueError(
            "s_bar must hold a nonzero teacher singular value in every condition: the test error is "
            "normalised by sum s_bar^2, which is 0 (or underflows) here"
        )
    A = n_out / n_in
    n_bulk = n_out - rank
    n_learn = max(min(hidden, n_out, n_in) - rank, 0)
    q_lo = 1.0 - n_learn / n_bulk if n_bulk > 0 else 1.0
    nodes_in, w_in = mp_quadrature(
        aspect_ratio=A, noise_std=noise_std, q_lo=q_lo, q_hi=1.0, n=n_nodes
    )
    nodes_out, w_out = mp_quadrature(
        aspect_ratio=A, noise_std=noise_std, q_lo=0.0, q_hi=q_lo, n=n_nodes
    )
    return _Setup(
        s_bar=sb,
        s_hat=outlier_singular_value(sb, aspect_ratio=A, noise_std=noise_std),
        overlap=overlap(sb, aspect_ratio=A, noise_std=noise_std),
        n_bulk=n_bulk,
        nodes_in=nodes_in,
        weights_in=w_in,
        bulk_out_sq=float(np.sum(w_out * nodes_out**2)),
        noise_std=noise_std,
        batch_shape=batch_shape,
    )


def _curves(t: np.ndarray, st: _Setup, eps: float, tau: float) -> tuple[np.ndarray, np.ndarray]:
    """Train and test error at times t, shape (T, K)."""
    K, r = st.s_bar.shape
    # signal modes: (T, K, r)
    s = predicted_mode_strength(t, st.s_hat.ravel(), eps=eps, tau=tau).reshape(t.size, K, r)
    sig_test = np.sum((s - st.s_bar) ** 2 + 2 * s * st.s_bar * (1 - st.overlap), axis=-1)
    sig_train = np.sum((s - st.s_hat) ** 2, axis=-1)
    # learnable part of the bulk, the same for every condition: (T,)
    bulk_test = np.zeros(t.size)
    bulk_train = np.zeros(t.size)
    if st.nodes_in.size:
        for i in range(0, t.size, _T_CHUNK):
            sb = predicted_mode_strength(t[i : i + _T_CHUNK], st.nodes_in, eps=eps, tau=tau)
            bulk_test[i : i + _T_CHUNK] = (sb**2) @ st.weights_in
            bulk_train[i : i + _T_CHUNK] = ((sb - st.nodes_in) ** 2) @ st.weights_in
    test = (st.n_bulk * bulk_test[:, None] + sig_test) / np.sum(st.s_bar**2, axis=-1)
    train_num = st.n_bulk * (st.bulk_out_sq + bulk_train[:, None]) + sig_train
    return train_num / _target_energy(st), test


def _target_energy(st: _Setup) -> np.ndarray:
    """||Sigma^31||_F^2 in the theory's own terms: the outliers s_hat^2 plus the quadrature's bulk.

    The train error is normalised by this, the residual of a student with zero output computed from
    the same quantities as the numerator, so it is 1 at zero output exactly. The exact finite-size
    E||Sigma^31||^2 = sum s_bar^2 + N3 sigma^2 differs by O(1/N3): the asymptotic outliers s_hat^2
    carry more energy than the finite-size ones, and the quadrature's bulk is not exactly N3 sigma^2.
    Mixing the two made the curve start away from 1.
    """
    bulk_in_sq = float(st.nodes_in**2 @ st.weights_in)
    return np.sum(st.s_hat**2, axis=-1) + st.n_bulk * (st.bulk_out_sq + bulk_in_sq)


def _check_t(t) -> np.ndarray:
    t = _as_times(t)
    if t.ndim != 1:
        raise ValueError(f"t must have 1 dimension(s), got shape {t.shape}")
    return t


def _default_t_max(st: _Setup, eps: float, tau: float) -> float:
    """End of the default search window: 20 tau, or twice the time when the test error must rise.

    Mode a's test-error term s_a^2 - 2 s_a s_bar_a O_a + s_bar_a^2 falls while its strength grows to
    s_bar_a O_a (< s_hat_a) and rises after, and every bulk term rises while its mode grows from an
    eps below it. Past the time at which every signal mode has passed s_bar_a O_a the error can then
    only grow, so the minimum lies before it. That time scales as tau log(s_hat/eps) / s_hat: a
    fixed 20 tau misses the learning for a tiny eps or a weak noise_std.
    """
    target = st.s_bar * st.overlap
    grows = (target > eps) & (st.s_hat > target)
    if not grows.any():
        return 20.0 * tau
    t_pass = predicted_time_to_strength(target[grows], st.s_hat[grows], eps=eps, tau=tau)
    return max(20.0 * tau, 2.0 * float(np.max(t_pass)))


def predicted_error_curves(
    t,
    s_bar,
    *,
    n_in: int,
    n_out: int,
    hidden: int,
    eps: float,
    tau: float,
    noise_std: float = 1.0,
    n_nodes: int = 1000,
) -> ErrorCurves:
    """Predicted train and test error against time (Lampinen & Ganguli 2019, Sec. 2.3).

    Args:
        t: times in epochs, ``(T,)``, >= 0; +inf gives the end of training.
        s_bar: teacher singular values >= 0, ``(r,)`` or a batch of conditions ``(..., r)``; each
            condition needs a nonzero value, since the test error is normalised by sum s_bar^2.
        n_in: N1 = P, number of (one-hot) inputs and examples.
        n_out: N3 <= N1 outputs.
        hidden: N2 >= r, hidden width of the student.
        eps: initial strength of every mode, at least 2.2e-308 (the smallest normal float).
        tau: 1 / learning rate, in epochs.
        noise_std: sigma_z (noise variance sigma_z^2 / N1 per entry).
        n_nodes: quadrature nodes over the noise bulk, >= 1.

    Returns:
        :class:`ErrorCurves` with ``train`` and ``test`` of shape ``(T, ...)``.
    """
    eps = _check_eps(eps)
    tau = check_positive("tau", tau)
    t = _check_t(t)
    st = _setup(s_bar, n_in, n_out, hidden, noise_std, n_nodes)
    train, test = _curves(t, st, eps, tau)
    shape = (t.size, *st.batch_shape)
    return ErrorCurves(t=t, train=train.reshape(shape), test=test.reshape(shape))


def predicted_optimal_stopping(
    s_bar,
    *,
    n_in: int,
    n_out: int,
    hidden: int,
    eps: float,
    tau: float,
    noise_std: float = 1.0,
    t_max: float | None = None,
    n_nodes: int = 1000,
) -> tuple[np.ndarray, np.ndarray]:
    """Optimal stopping time and minimal test error (Lampinen & Ganguli 2019, Sec. 2.4).

    No closed form is known: we minimise the predicted test error on a grid of 2001 times in
    [0, t_max] and refine each minimum with a bounded scalar search between its grid neighbours.

    Args:
        s_bar: teacher singular values, ``(r,)`` or ``(..., r)``.
        n_in, n_out, hidden, eps, tau, noise_std, n_nodes: as in :func:`predicted_error_curves`.
        t_max: end of the search, in epochs, > 0. The default is the larger of 20 tau and twice the
            time by which every signal mode (of every condition) has grown past s_bar O(s_bar), the
            strength that minimises its own error term. When eps lies below the learnable part of
            the bulk (a small initialisation), the test error can only rise after that time, so
            the window holds the minimum. The learning time scales as tau log(s_hat/eps) / s_hat,
            so a tiny eps or a small noise_std widens it.

    Returns:
        ``(t_opt, min_test)``, each of shape ``s_bar.shape[:-1]`` (scalars for one condition).
        Where nothing can be learned (all s_bar at or below threshold), t_opt = 0 and the error is 1.
    """
    eps = _check_eps(eps)
    tau = check_positive("tau", tau)
    if t_max is not None:
        t_max = check_positive("t_max", t_max)
    st = _setup(s_bar, n_in, n_out, hidden, noise_std, n_nodes)
    if t_max is None:
        t_max = _default_t_max(st, eps, tau)
    grid = np.linspace(0.0, t_max, _GRID)
    _, test = _curves(grid, st, eps, tau)
    t_opt = np.empty(test.shape[1])
    err = np.empty(test.shape[1])
    for k in range(test.shape[1]):
        one = _Setup(
            **{
                **st.__dict__,
                "s_bar": st.s_bar[k : k + 1],
                "s_hat": st.s_hat[k : k + 1],
                "overlap": st.overlap[k : k + 1],
            }
        )
        t_opt[k], err[k] = refine_grid_minimum(
            lambda x, one=one: _curves(np.array([x]), one, eps, tau)[1][0, 0],
            grid,
            test[:, k],
            xatol=1e-6 * tau,
        )
    return t_opt.reshape(st.batch_shape), err.reshape(st.batch_shape)


def predicted_error_curves_examples(
    t,
    s_bar,
    *,
    n_in: int,
    n_out: int,
    n_examples: int,
    hidden: int,
    eps: float,
    tau: float,
    noise_std: float = 1.0,
    n_nodes: int = 1000,
) -> ErrorCurves:
    """Predicted errors with P = ``n_examples`` orthogonal inputs, P != N1.

    Our derivation (see chapter 2), for the orthogonal inputs of
    :func:`dltheory.teachers.noisy_data_examples`, reducing to the one-hot theory:

    * P <= N1: X = Q has orthonormal columns. Gradient descent never moves W outside span(Q), so
      M = W Q learns Y = W_bar Q + Z like a one-hot problem with P inputs, teacher singular values
      s_bar sqrt(P/N1) and noise scale sigma sqrt(P/N1) (transposed when P < N3). The teacher's part
      outside span(Q) is never learned (the *frozen subspace*): err_test = (P/N1) err_test,reduced
      + (1 - P/N1). The training error is the reduced one.
    * P > N1: X X^T = c I with c = P/N1, so gradient descent is the one-hot problem with target
      W_bar + Z X^T / c (noise scale sigma / sqrt(c)) at learning rate c * lr (tau / c). The test
      error is the reduced one; the training error adds the unfittable noise outside the row space of
      X, N3 (P - N1) sigma^2 / N1 in expectation. Its normaliser ||Y||^2 is written in the same
      asymptotic energies as its numerator (c times the reduced target energy, plus that noise), so
      the training error of a zero-output student is exactly 1 at every P; the exact finite-size
      E||Y||^2 differs from it by O(1/N3).

    The authors' code (github.com/lampinen/transfer-theory) uses s_bar sqrt(P/N1), aspect ratio
    min(A, P/N1) and, for
    P > N1, tau / sqrt(P/N1) with unit noise: the same dynamics written in rescaled variables.

    Args:
        t, s_bar, n_in, n_out, hidden, eps, tau, noise_std, n_nodes: as in
            :func:`predicted_error_curves`.
        n_examples: P >= 1.

    Returns:
        :class:`ErrorCurves` with shapes ``(T, ...)``.
    """
    # Validate everything here: the reductions below compute with the arguments before the
    # reduced call would check them.
    P = check_int("n_examples", n_examples)
    n_in = check_int("n_in", n_in)
    n_out = check_int("n_out", n_out)
    check_int("hidden", hidden)
    check_int("n_nodes", n_nodes)
    eps = _check_eps(eps)
    tau = check_positive("tau", tau)
    t = _check_t(t)
    noise_std = check_positive("noise_std", noise_std)
    sb = as_float_array("s_bar", s_bar, nonneg=True)
    common = dict(hidden=hidden, eps=eps, n_nodes=n_nodes)
    if P <= n_in:
        frac = P / n_in
        s_red = sb * np.sqrt(frac)
        if P >= n_out:
            red = predicted_error_curves(
                t,
                s_red,
                n_in=P,
                n_out=n_out,
                tau=tau,
                noise_std=noise_std * np.sqrt(frac),
                **common,
            )
        else:  # transposed: P outputs, N3 inputs, noise variance sigma^2/N1 = sigma_t^2/N3
            red = predicted_error_curves(
                t, s_red, n_in=n_out, n_out=P, tau=tau,
                noise_std=noise_std * np.sqrt(n_out / n_in), **common,
            )  # fmt: skip
        return ErrorCurves(t=red.t, train=red.train, test=frac * red.test + (1.0 - frac))
    c = P / n_in
    sigma_red = noise_std / np.sqrt(c)
    st = _setup(sb, n_in, n_out, hidden, sigma_red, n_nodes)
    red_train, red_test = _curves(t, st, eps, tau / c)
    # back to ||W X - Y||^2 / ||Y||^2 = (c ||W - Sigma_red||^2 + ||Z P_perp||^2) / ||Y||^2, every term
    # in the theory's own (asymptotic) energies, so that a zero-output student has error 1 exactly:
    # ||Y||^2 = c ||Sigma_red||^2 + ||Z P_perp||^2, and ||Z P_perp||^2 = N3 (P - N1) sigma^2 / N1.
    energy_red = _target_energy(st)
    outside = n_out * (P - n_in) * noise_std**2 / n_in
    train = (c * red_train * energy_red + outside) / (c * energy_red + outside)
    shape = (t.size, *st.batch_shape)
    return ErrorCurves(t=t, train=train.reshape(shape), test=red_test.reshape(shape))
