"""Predicted transfer between two aligned rank-1 tasks learned through a shared hidden layer.

Implements the transfer benefit of Lampinen & Ganguli 2019 (arXiv:1809.10374, Sec. 5), with a
closed form for the joint student that is **our derivation, see chapter 4** (the
paper's own formula was not available to us).

Setup. Task A is s_A u_A v_A^T and task B is s_B u_B v_B^T on the same N1 one-hot inputs, each with
its own block of N3 outputs, input alignment q = v_A . v_B. A student of hidden width N2 is trained
either on task A alone (data (N3, N1), aspect ratio A = N3/N1) or on both at once (joint data
(2 N3, N1), aspect ratio A_J = 2 N3/N1 <= 1), from small training-aligned weights. Noise entries
have variance sigma_z^2 / N1 in both. The transfer benefit is

    T(s_A, s_B, q) = min_t err_A,alone(t) - min_t err_A,joint(t),

both errors normalised by ||W_A||^2 = s_A^2, the joint student stopped when it is best for A.

Task A alone is the single-task theory of :mod:`dltheory.theory.generalization`.

The joint student (our derivation). In the bases (u_A + 0, 0 + u_B) and (v_A, v_perp) the joint
teacher is the 2x2 core C = [[s_A, 0], [q s_B, sqrt(1 - q^2) s_B]] = L diag(sigma) R^T, with

    sigma_1,2^2 = (s_A^2 + s_B^2 +- D) / 2,   D = sqrt((s_A^2 - s_B^2)^2 + 4 q^2 s_A^2 s_B^2),

and w_i = L_Ai^2, the share of joint mode i's output that lies in task A's block,
w_1,2 = 1/2 +- (s_A^2 - s_B^2) / (2 D) (1/2 each when D = 0). Since C C^T L_i = sigma_i^2 L_i, the
input-side component is R_Ai = sigma_i L_Ai / s_A, so s_A L_Ai R_Ai = sigma_i w_i. Each joint mode
appears in the data as an outlier s_hat(sigma_i; A_J) with output and input overlaps O_u, O_v
(:mod:`dltheory.theory.random_matrix`); the part of u_hat_i off the signal is rotation invariant in the
output space, so on average half of its squared norm falls in task A's block, and the same holds for
the noise (bulk) modes. With s_i(t) = s(t, s_hat_i) (:mod:`dltheory.theory.mode_dynamics`),

    s_A^2 err_A,joint(t) = s_A^2 - 2 sum_i s_i(t) sigma_i O_i w_i
                           + sum_i s_i(t)^2 [O_u,i^2 w_i + (1 - O_u,i^2) / 2]
                           + (1/2) n_bulk int_{R_in} s(t, s)^2 P_MP(s; A_J) ds,

where O_i = O_u,i O_v,i, n_bulk = 2 N3 - r_J noise modes (r_J = 2, or 1 when sigma_2 = 0, i.e. q = 1
or s_B = 0) and R_in is the top part of the A_J Marchenko-Pastur bulk holding the
min(N2, 2 N3) - r_J noise modes the shared hidden layer can fit: the joint data has 2 N3 modes but the
student only N2 hidden units. A joint mode at or below the threshold sigma_z A_J^(1/4) is learned like
a bulk-edge mode with O = 0, as in the single-task theory.

Symbols: ``s_a``, ``s_b`` teacher singular values (SNRs when ``noise_std`` = 1), ``q`` input
alignment, ``n_in`` = N1 = P, ``n_out`` = N3 per task, ``hidden`` = N2 (both students), ``eps``
initial strength, ``tau`` = 1 / learning rate in epochs; times ``t`` in epochs.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from dltheory._checks import (
    as_float_array,
    check_int,
    check_positive,
    check_task_grid,
)
from dltheory.theory._optimize import refine_grid_minimum
from dltheory.theory.generalization import predicted_error_curves, predicted_optimal_stopping
from dltheory.theory.mode_dynamics import predicted_mode_strength, predicted_time_to_strength
from dltheory.theory.random_matrix import mp_quadrature, outlier_singular_value, overlap_factors

__all__ = [
    "JointModes",
    "TransferPrediction",
    "joint_modes",
    "predicted_alone_error",
    "predicted_joint_error",
    "predicted_transfer",
]

_T_CHUNK = 256  # time points per block when integrating over the bulk (bounds memory)
_K_CHUNK = 64  # conditions per block in the search for the optimal stopping time
_GRID = 2001  # uniform search points in [0, t_max] for the optimal stopping time
_WINDOW = np.linspace(
    -8.0, 8.0, 65
)  # extra search points around a fast mode's transition, in widths
_RESOLVED = 8.0  # a transition at least this many uniform grid steps wide needs no extra points


@dataclass(frozen=True)
class JointModes:
    """The two modes of the joint teacher [s_A u_A v_A^T; s_B u_B v_B^T].

    Attributes:
        sigma: joint singular values, descending, ``(..., 2)``; sigma_2 = 0 at q = 1 or s_B = 0.
        w_a: share L_Ai^2 of each joint mode's output in task A's block, ``(..., 2)``; sums to 1.
    """

    sigma: np.ndarray
    w_a: np.ndarray


def joint_modes(s_a, s_b, q) -> JointModes:
    """Singular values of the joint teacher and the share of each mode's output in task A's block.

    Our derivation, see chapter 4 (the 2x2 core of the paper's Sec. 5 joint teacher):
    sigma_1,2^2 = (s_A^2 + s_B^2 +- D) / 2 with D = sqrt((s_A^2 - s_B^2)^2 + 4 q^2 s_A^2 s_B^2),
    sigma_2 = s_A s_B sqrt(1 - q^2) / sigma_1 (exactly 0 at q = 1), and
    w_1,2 = 1/2 +- (s_A^2 - s_B^2) / (2 D), the smaller of the two computed as
    2 q^2 s_A^2 s_B^2 / (D (D + |s_A^2 - s_B^2|)) so that it keeps its relative precision.

    Args:
        s_a: task A's singular value, > 0, any shape.
        s_b: task B's singular value, >= 0, broadcastable with ``s_a``.
        q: input alignment v_A . v_B in [0, 1], broadcastable.

    Returns:
        :class:`JointModes` with arrays of shape ``(*broadcast shape, 2)``.
    """
    s_a, s_b, q = check_task_grid(s_a, s_b, q)
    # Work in units of a power of two near max(s_A, s_B): exact scaling, so the squares below neither
    # overflow (s > 1e154) nor underflow (s < 1e-154, where sigma_2 would be 0/0).
    scale = np.exp2(np.floor(np.log2(np.maximum(s_a, s_b))))
    s_a, s_b = s_a / scale, s_b / scale
    a, b = s_a**2, s_b**2
    d = np.hypot(a - b, 2.0 * q * s_a * s_b)
    sigma1 = np.sqrt(0.5 * (a + b + d))
    sigma2 = s_a * s_b * np.sqrt(1.0 - q**2) / sigma1  # det C / sigma_1, accurate for small sigma_2
    # The smaller share, 1/2 - |a - b| / (2 D) = 2 q^2 a b / (D (D + |a - b|)), without the cancellation
    # that made it lose all its digits when one task is much weaker (s_A << s_B: w_1 ~ s_A^2 / s_B^2).
    r = np.divide(q * s_a * s_b, d, out=np.full(d.shape, 0.5), where=d > 0)  # <= 1/2, no underflow
    ratio = np.divide(np.abs(a - b), d, out=np.zeros(d.shape), where=d > 0)
    small = 2.0 * r**2 / (1.0 + ratio)
    w_a = np.where(
        (a >= b)[..., None], np.stack([1.0 - small, small], -1), np.stack([small, 1.0 - small], -1)
    )
    sigma = np.stack([sigma1, sigma2], -1) * scale[..., None]
    return JointModes(sigma=sigma, w_a=w_a)


@dataclass(frozen=True)
class _Bulk:
    n_bulk: int
    nodes: np.ndarray
    weights: np.ndarray


@dataclass(frozen=True)
class _JointSetup:
    s_a: np.ndarray  # (K,)
    sigma: np.ndarray  # (K, 2)
    w_a: np.ndarray  # (K, 2)
    s_hat: np.ndarray  # (K, 2)
    cross: np.ndarray  # (K, 2): sigma_i O_i w_i, 0 for modes the student cannot hold
    self_a: np.ndarray  # (K, 2): O_u,i^2 w_i + (1 - O_u,i^2) / 2, 0 for modes it cannot hold
    rank: np.ndarray  # (K,) joint rank r_J in {1, 2}
    bulks: dict  # r_J -> _Bulk
    shape: tuple


def _sizes(n_in, n_out, hidden, noise_std, n_nodes):
    n_in = check_int("n_in", n_in)
    n_out = check_int("n_out", n_out)
    hidden = check_int("hidden", hidden)
    noise_std = check_positive("noise_std", noise_std)
    n_nodes = check_int("n_nodes", n_nodes)
    if 2 * n_out > n_in:
        raise ValueError(
            f"the joint aspect ratio 2 n_out / n_in must lie in (0, 1], got n_out={n_out}, "
            f"n_in={n_in}"
        )
    return n_in, n_out, hidden, noise_std, n_nodes


def _joint_setup(s_a, s_b, q, n_in, n_out, hidden, noise_std, n_nodes) -> _JointSetup:
    n_in, n_out, hidden, noise_std, n_nodes = _sizes(n_in, n_out, hidden, noise_std, n_nodes)
    s_a, s_b, q = check_task_grid(s_a, s_b, q)
    shape = s_a.shape
    modes = joint_modes(s_a.ravel(), s_b.ravel(), q.ravel())
    a_j = 2 * n_out / n_in
    s_hat = outlier_singular_value(modes.sigma, aspect_ratio=a_j, noise_std=noise_std)
    o_u, o_v = overlap_factors(modes.sigma, aspect_ratio=a_j, noise_std=noise_std)
    rank = np.where(modes.sigma[:, 1] > 0, 2, 1)
    held = np.arange(2)[None, :] < np.minimum(rank, hidden)[:, None]  # modes the student fits
    cross = np.where(held, modes.sigma * o_u * o_v * modes.w_a, 0.0)
    self_a = np.where(held, o_u**2 * modes.w_a + 0.5 * (1.0 - o_u**2), 0.0)
    n_modes = 2 * n_out  # min(2 N3, N1) singular values of the joint data
    bulks = {}
    for r in np.unique(rank):
        n_bulk = n_modes - int(r)
        n_learn = max(min(hidden, n_modes) - int(r), 0)
        q_lo = 1.0 - n_learn / n_bulk
        nodes, weights = mp_quadrature(
            aspect_ratio=a_j, noise_std=noise_std, q_lo=q_lo, q_hi=1.0, n=n_nodes
        )
        bulks[int(r)] = _Bulk(n_bulk=n_bulk, nodes=nodes, weights=weights)
    return _JointSetup(
        s_a=s_a.ravel(),
        sigma=modes.sigma,
        w_a=modes.w_a,
        s_hat=s_hat,
        cross=cross,
        self_a=self_a,
        rank=rank,
        bulks=bulks,
        shape=shape,
    )


def _bulk_term(t: np.ndarray, bulk: _Bulk, eps: float, tau: float) -> np.ndarray:
    """(1/2) n_bulk int_{R_in} s(t, s)^2 P(s) ds at times t, shape (T,)."""
    out = np.zeros(t.size)
    if bulk.nodes.size:
        for i in range(0, t.size, _T_CHUNK):
            sb = predicted_mode_strength(t[i : i + _T_CHUNK], bulk.nodes, eps=eps, tau=tau)
            out[i : i + _T_CHUNK] = (sb**2) @ bulk.weights
    return 0.5 * bulk.n_bulk * out


def _joint_curves(t: np.ndarray, st: _JointSetup, eps: float, tau: float) -> np.ndarray:
    """Joint student's error on task A at times t, shape (T, K)."""
    K = st.s_a.size
    s = predicted_mode_strength(t, st.s_hat.ravel(), eps=eps, tau=tau).reshape(t.size, K, 2)
    num = st.s_a**2 - 2.0 * np.sum(s * st.cross, -1) + np.sum(s**2 * st.self_a, -1)
    for r, bulk in st.bulks.items():
        num = num + np.where(st.rank == r, _bulk_term(t, bulk, eps, tau)[:, None], 0.0)
    return num / st.s_a**2


def _check_times(t) -> np.ndarray:
    """Times in epochs, ``(T,)``: >= 0, with +inf allowed (the end of training, s(inf) = s_hat)."""
    return as_float_array("t", t, nonneg=True, ndim=1, allow_inf=True, what="times in epochs")


def _check_time(eps, tau):
    eps = check_positive("eps", eps)
    if eps < np.finfo(float).tiny:
        # a subnormal float has lost its relative precision, and s_hat / eps overflows
        raise ValueError(
            f"eps must be at least {np.finfo(float).tiny:.3g} (a normal float), got {eps!r}"
        )
    return eps, check_positive("tau", tau)


def predicted_joint_error(
    t,
    s_a,
    s_b,
    q,
    *,
    n_in: int,
    n_out: int,
    hidden: int,
    eps: float,
    tau: float,
    noise_std: float = 1.0,
    n_nodes: int = 1000,
) -> np.ndarray:
    """Predicted test error on task A of a student trained on tasks A and B jointly.

    Our derivation, see chapter 4 (module docstring; the paper's Sec. 5 with the joint bulk made
    explicit): normalised by s_A^2, clean targets, fresh white inputs.

    Args:
        t: times in epochs, ``(T,)``, >= 0; +inf gives the end of training.
        s_a: task A's singular value (SNR), > 0, any shape.
        s_b: task B's singular value, >= 0, broadcastable with ``s_a``.
        q: input alignment in [0, 1], broadcastable.
        n_in: N1 = P one-hot inputs.
        n_out: N3 outputs per task, 2 N3 <= N1.
        hidden: N2, the shared hidden width.
        eps: initial strength of every mode, > 0 and a normal float (>= 2.2e-308).
        tau: 1 / learning rate, in epochs.
        noise_std: sigma_z (noise variance sigma_z^2 / N1 per entry).
        n_nodes: quadrature nodes over the noise bulk.

    Returns:
        Errors of shape ``(T, *broadcast shape)``.
    """
    eps, tau = _check_time(eps, tau)
    t = _check_times(t)
    st = _joint_setup(s_a, s_b, q, n_in, n_out, hidden, noise_std, n_nodes)
    return _joint_curves(t, st, eps, tau).reshape(t.size, *st.shape)


def predicted_alone_error(
    t,
    s_a,
    *,
    n_in: int,
    n_out: int,
    hidden: int,
    eps: float,
    tau: float,
    noise_std: float = 1.0,
    n_nodes: int = 1000,
) -> np.ndarray:
    """Predicted test error of a student trained on task A alone (rank 1, N3 outputs).

    Implements Sec. 2.3 of Lampinen & Ganguli 2019 (arXiv:1809.10374) through
    :func:`dltheory.theory.generalization.predicted_error_curves`.

    Args:
        t: times in epochs, ``(T,)``, >= 0; +inf gives the end of training.
        s_a: task A's singular value, > 0, any shape.
        n_in, n_out, hidden, eps, tau, noise_std, n_nodes: as in :func:`predicted_joint_error`,
            except that one task alone needs only n_out <= n_in.

    Returns:
        Errors of shape ``(T, *s_a.shape)``.
    """
    _check_time(eps, tau)
    t = _check_times(t)
    s_a = as_float_array("s_a", s_a)
    if np.any(s_a <= 0):
        raise ValueError("s_a must be > 0 (the errors are normalised by s_a^2)")
    return predicted_error_curves(
        t,
        s_a[..., None],
        n_in=n_in,
        n_out=n_out,
        hidden=hidden,
        eps=eps,
        tau=tau,
        noise_std=noise_std,
        n_nodes=n_nodes,
    ).test


@dataclass(frozen=True)
class TransferPrediction:
    """Predicted optimal stopping of task A alone and jointly, and the transfer benefit.

    Attributes:
        t_alone: optimal stopping time of the student trained on A alone, epochs, ``shape``.
        err_alone: its minimal test error on A, ``shape``.
        t_joint: stopping time of the joint student that is best for A, epochs, ``shape``.
        err_joint: its minimal test error on A, ``shape``.
        benefit: T = err_alone - err_joint, ``shape`` (positive: B helps A).
    """

    t_alone: np.ndarray
    err_alone: np.ndarray
    t_joint: np.ndarray
    err_joint: np.ndarray
    benefit: np.ndarray


def _search_grid(st: _JointSetup, t_max: float, eps: float, tau: float) -> np.ndarray:
    """Uniform grid on [0, t_max] plus dense points around each fast mode's sigmoidal transition."""
    uniform = np.linspace(0.0, t_max, _GRID)
    extra = []
    for s_hat in np.unique(st.s_hat):
        width = tau / (2.0 * s_hat)  # time scale of the sigmoid s(t, s_hat)
        if s_hat > 2.0 * eps and width < _RESOLVED * uniform[1]:
            extra.append(width * (np.log(s_hat / eps - 1.0) + _WINDOW))
    grid = np.concatenate([uniform, *extra])
    return np.unique(grid[(grid >= 0.0) & (grid <= t_max)])


def _subset(st: _JointSetup, idx: np.ndarray) -> _JointSetup:
    ranks = {int(r) for r in st.rank[idx]}
    return _JointSetup(
        s_a=st.s_a[idx],
        sigma=st.sigma[idx],
        w_a=st.w_a[idx],
        s_hat=st.s_hat[idx],
        cross=st.cross[idx],
        self_a=st.self_a[idx],
        rank=st.rank[idx],
        bulks={r: st.bulks[r] for r in ranks},
        shape=(idx.size,),
    )


def _default_t_max(st: _JointSetup, eps: float, tau: float) -> float:
    """End of the default search window: 20 tau, or twice the time by which A's error must rise.

    Joint mode i's term -2 s_i cross_i + s_i^2 self_i in A's error falls while s_i grows to
    cross_i / self_i and rises after; every bulk term rises while its mode grows from eps. So the
    minimum lies before every joint mode has passed min(cross_i / self_i, s_hat_i / 2) (at twice the
    half-learning time a mode is within eps of s_hat). That time scales as tau log(s_hat / eps) / s_hat:
    a fixed 20 tau misses the learning for a tiny eps (eps = 1e-200 gave t = 0 and error 1).
    """
    target = np.divide(st.cross, st.self_a, out=np.zeros(st.cross.shape), where=st.self_a > 0)
    target = np.minimum(target, 0.5 * st.s_hat)
    grows = target > eps
    if not grows.any():
        return 20.0 * tau
    t_pass = predicted_time_to_strength(target[grows], st.s_hat[grows], eps=eps, tau=tau)
    return max(20.0 * tau, 2.0 * float(np.max(t_pass)))


def _minimise_joint(st: _JointSetup, t_max: float, eps: float, tau: float):
    K = st.s_a.size
    t_opt, e_opt = np.empty(K), np.empty(K)
    for start in range(0, K, _K_CHUNK):  # conditions in blocks: each block has its own fine grid
        idx = np.arange(start, min(start + _K_CHUNK, K))
        block = _subset(st, idx)
        grid = _search_grid(block, t_max, eps, tau)
        err = _joint_curves(grid, block, eps, tau)
        for j, k in enumerate(idx):
            one = _subset(st, np.array([k]))
            t_opt[k], e_opt[k] = refine_grid_minimum(
                lambda x, one=one: _joint_curves(np.array([x]), one, eps, tau)[0, 0],
                grid,
                err[:, j],
                xatol=1e-6 * tau,
            )
    return t_opt, e_opt


def predicted_transfer(
    s_a,
    s_b,
    q,
    *,
    n_in: int,
    n_out: int,
    hidden: int,
    eps: float,
    tau: float,
    noise_std: float = 1.0,
    t_max: float | None = None,
    n_nodes: int = 1000,
) -> TransferPrediction:
    """Transfer benefit T(s_A, s_B, q) = min_t err_A,alone - min_t err_A,joint, on a grid.

    Implements the transfer benefit of Lampinen & Ganguli 2019 (arXiv:1809.10374, Sec. 5); the
    joint-student error is our derivation, see chapter 4. The alone minimum comes from
    :func:`dltheory.theory.generalization.predicted_optimal_stopping`; the joint minimum is found on
    a grid of times (uniform on [0, t_max], dense around each joint mode's transition) and refined
    by a bounded scalar search between the best point's neighbours.

    Args:
        s_a: task A's singular value (SNR), > 0, any shape.
        s_b: task B's singular value, >= 0, broadcastable with ``s_a``.
        q: input alignment in [0, 1], broadcastable.
        n_in: N1 = P one-hot inputs.
        n_out: N3 outputs per task, 2 N3 <= N1.
        hidden: N2 of both students.
        eps: initial strength of every mode, > 0 and a normal float (>= 2.2e-308).
        tau: 1 / learning rate, in epochs.
        noise_std: sigma_z.
        t_max: end of the search, in epochs. Default: 20 tau, or longer where the modes are
            learned later (a tiny eps): twice the time by which every joint mode has passed the
            strength best for A; the alone search uses the single-task default of
            :func:`dltheory.theory.generalization.predicted_optimal_stopping`.
        n_nodes: quadrature nodes over the noise bulks.

    Returns:
        :class:`TransferPrediction`, every field of the broadcast shape of the arguments.
    """
    eps, tau = _check_time(eps, tau)
    if t_max is not None:
        t_max = check_positive("t_max", t_max)
    st = _joint_setup(s_a, s_b, q, n_in, n_out, hidden, noise_std, n_nodes)
    t_end = _default_t_max(st, eps, tau) if t_max is None else t_max
    t_joint, err_joint = _minimise_joint(st, t_end, eps, tau)
    uniq, inverse = np.unique(st.s_a, return_inverse=True)
    t_al, err_al = predicted_optimal_stopping(
        uniq[:, None],
        n_in=n_in,
        n_out=n_out,
        hidden=hidden,
        eps=eps,
        tau=tau,
        noise_std=noise_std,
        t_max=t_max,
        n_nodes=n_nodes,
    )
    t_alone, err_alone = t_al[inverse], err_al[inverse]
    return TransferPrediction(
        t_alone=t_alone.reshape(st.shape),
        err_alone=err_alone.reshape(st.shape),
        t_joint=t_joint.reshape(st.shape),
        err_joint=err_joint.reshape(st.shape),
        benefit=(err_alone - err_joint).reshape(st.shape),
    )
