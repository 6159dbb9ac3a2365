"""Pairs of aligned tasks for transfer: two rank-1 teachers sharing their inputs, and their data.

Implements the multi-task setting of Lampinen & Ganguli 2019 (arXiv:1809.10374, Sec. 5): task A is
s_A u_A v_A^T and task B is s_B u_B v_B^T on the same N1 one-hot inputs, each with its own block of
N3 outputs, with input alignment q = v_A . v_B. The teachers and data of one task are those of
:mod:`dltheory.teachers`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from dltheory._checks import (
    ArgumentTypeError,
    as_float_array,
    check_int,
    check_nonneg,
    check_rng,
    check_task_grid,
)
from dltheory.teachers import NoisyData, Teacher, _check_teacher, data_from_targets, haar_stiefel

__all__ = [
    "TaskPair",
    "aligned_task_pair",
    "task_pair_data",
    "rotate_output_blocks",
    "empirical_block_error",
]


@dataclass(frozen=True)
class TaskPair:
    """A batch of two rank-1 tasks on shared inputs, with separate output blocks, and their joint teacher.

    Task A is s_A u_A v_A^T and task B is s_B u_B v_B^T, each ``(N3, N1)``, with input alignment
    q = v_A . v_B. The joint teacher stacks them, [W_A; W_B] of shape ``(2 N3, N1)``: task A owns
    output rows ``0 .. N3-1`` and task B rows ``N3 .. 2 N3-1`` (Lampinen & Ganguli 2019,
    arXiv:1809.10374, Sec. 5).

    Attributes:
        task_a: task A alone, a rank-1 :class:`Teacher` batch with ``U (B, N3, 1)``.
        task_b: task B alone, a rank-1 :class:`Teacher` batch with ``U (B, N3, 1)``.
        joint: the joint teacher as a rank-2 :class:`Teacher` (its exact SVD), ``U (B, 2 N3, 2)``,
            ``s (B, 2)`` descending, ``V (B, N1, 2)``; the second singular value is 0 at q = 1.
        q: input alignments, ``(B,)``.
    """

    task_a: Teacher
    task_b: Teacher
    joint: Teacher
    q: np.ndarray

    @property
    def batch(self) -> int:
        return self.task_a.batch

    @property
    def n_out(self) -> int:
        """Outputs per task, N3."""
        return self.task_a.n_out


def _joint_teacher(task_a: Teacher, task_b: Teacher) -> Teacher:
    """Exact SVD of [W_A; W_B] through its 2x2 core in the bases (u_A + 0, 0 + u_B), (v_A, v_B)."""
    B, n_out = task_a.batch, task_a.n_out
    left = np.zeros((B, 2 * n_out, 2))
    left[:, :n_out, 0] = task_a.U[:, :, 0]
    left[:, n_out:, 1] = task_b.U[:, :, 0]
    right, r = np.linalg.qr(np.concatenate([task_a.V, task_b.V], axis=2))  # (B, N1, 2), (B, 2, 2)
    core = np.zeros((B, 2, 2))
    core[:, 0, :] = task_a.s[:, :1] * r[:, :, 0]
    core[:, 1, :] = task_b.s[:, :1] * r[:, :, 1]
    L, sigma, Rt = np.linalg.svd(core)
    return Teacher(U=left @ L, s=sigma, V=right @ np.swapaxes(Rt, 1, 2))


def aligned_task_pair(n_in: int, n_out: int, s_a, s_b, q, *, rng: np.random.Generator) -> TaskPair:
    """Draw a batch of rank-1 task pairs with input alignment q.

    v_A is Haar random and v_B = q v_A + sqrt(1 - q^2) v_perp with v_perp a Haar random unit vector
    orthogonal to v_A, so v_A . v_B = q exactly; u_A and u_B are independent random unit vectors,
    each in its own block of N3 outputs (Lampinen & Ganguli 2019, arXiv:1809.10374, Sec. 5; the
    authors' ``rank_one_correlated_dataset``).

    Args:
        n_in: input size N1 (= P one-hot examples).
        n_out: outputs per task N3, with 2 N3 <= N1 (the joint aspect ratio 2 N3 / N1 lies in (0, 1]).
        s_a: singular value (SNR) of task A, > 0; scalar or ``(B,)``.
        s_b: singular value (SNR) of task B, >= 0; scalar or ``(B,)``.
        q: input alignment in [0, 1]; scalar or ``(B,)``.
        rng: source of randomness; run b uses ``rng.spawn(B)[b]``.

    Returns:
        The :class:`TaskPair` batch; B is the broadcast size of ``s_a``, ``s_b`` and ``q``.
    """
    n_in = check_int("n_in", n_in)
    n_out = check_int("n_out", n_out)
    if 2 * n_out > n_in:
        raise ValueError(
            f"the joint aspect ratio 2 n_out / n_in must lie in (0, 1], got n_out={n_out}, "
            f"n_in={n_in}"
        )
    check_rng(rng)
    s_a, s_b, q = (np.atleast_1d(x) for x in check_task_grid(s_a, s_b, q))
    if s_a.ndim != 1:
        raise ValueError(f"s_a, s_b and q must be scalars or 1-d, got shape {s_a.shape}")
    B = s_a.size
    u_a, u_b, v_a, v_b = (np.empty((B, n, 1)) for n in (n_out, n_out, n_in, n_in))
    for b, child in enumerate(rng.spawn(B)):
        u_a[b] = haar_stiefel(n_out, 1, rng=child)
        u_b[b] = haar_stiefel(n_out, 1, rng=child)
        v = haar_stiefel(n_in, 2, rng=child)  # v_A and v_perp, orthonormal
        v_a[b, :, 0] = v[:, 0]
        v_b[b, :, 0] = q[b] * v[:, 0] + np.sqrt(1.0 - q[b] ** 2) * v[:, 1]
    task_a = Teacher(U=u_a, s=s_a[:, None].copy(), V=v_a)
    task_b = Teacher(U=u_b, s=s_b[:, None].copy(), V=v_b)
    return TaskPair(task_a=task_a, task_b=task_b, joint=_joint_teacher(task_a, task_b), q=q.copy())


def rotate_output_blocks(
    pair: TaskPair, alone: NoisyData, joint: NoisyData, *, rng: np.random.Generator
) -> tuple[TaskPair, NoisyData, NoisyData]:
    """Turn each output block of a task pair, and of its data, by its own Haar-random rotation.

    u_A -> R_A u_A and u_B -> R_B u_B with independent Haar orthogonal ``(N3, N3)`` matrices; the
    inputs (and so q) are unchanged. The data are rotated with their teachers, Sigma^31_J ->
    diag(R_A, R_B) Sigma^31_J (teacher *and* noise), and their SVDs are recomputed. Used to show
    that transfer does not depend on the output modes. For the rotated teachers with a fresh noise
    draw, pass the returned pair to :func:`task_pair_data`.

    Args:
        pair: a :class:`TaskPair` batch of B pairs.
        alone: task A's data for ``pair`` (from :func:`task_pair_data`), ``(B, N3, N1)``.
        joint: the joint data for ``pair``, ``(B, 2 N3, N1)``.
        rng: source of randomness; run b uses ``rng.spawn(B)[b]``.

    Returns:
        ``(pair, alone, joint)``, all rotated.
    """
    if not isinstance(pair, TaskPair):
        raise ArgumentTypeError(f"pair must be a TaskPair, got {type(pair).__name__}")
    check_rng(rng)
    n, B = pair.n_out, pair.batch
    for name, d, rows in (("alone", alone, n), ("joint", joint, 2 * n)):
        if not isinstance(d, NoisyData):
            raise ArgumentTypeError(f"{name} must be a NoisyData batch, got {type(d).__name__}")
        if d.sigma31.shape != (B, rows, pair.task_a.n_in):
            raise ValueError(
                f"{name} must hold {B} data sets of shape ({rows}, {pair.task_a.n_in}), got "
                f"{d.sigma31.shape}"
            )
    rot_a, rot_b = np.empty((B, n, n)), np.empty((B, n, n))
    for b, child in enumerate(rng.spawn(B)):
        rot_a[b] = haar_stiefel(n, n, rng=child)
        rot_b[b] = haar_stiefel(n, n, rng=child)
    task_a = Teacher(U=rot_a @ pair.task_a.U, s=pair.task_a.s.copy(), V=pair.task_a.V.copy())
    task_b = Teacher(U=rot_b @ pair.task_b.U, s=pair.task_b.s.copy(), V=pair.task_b.V.copy())
    turned = TaskPair(
        task_a=task_a, task_b=task_b, joint=_joint_teacher(task_a, task_b), q=pair.q.copy()
    )
    sigma_j = np.concatenate([rot_a @ joint.sigma31[:, :n], rot_b @ joint.sigma31[:, n:]], axis=1)
    return (
        turned,
        _data_from(task_a, rot_a @ alone.sigma31, alone.noise_std),
        _data_from(turned.joint, sigma_j, joint.noise_std),
    )


def _data_from(teacher: Teacher, sigma31: np.ndarray, noise_std: float) -> NoisyData:
    return data_from_targets(teacher, sigma31, noise_std=noise_std)


def task_pair_data(
    pair: TaskPair, *, noise_std: float = 1.0, rng: np.random.Generator
) -> tuple[NoisyData, NoisyData]:
    """Noisy training data for task A alone and for the joint task, from one noise draw.

    The joint data are Sigma^31_J = [W_A; W_B] + Z with Z of shape ``(2 N3, N1)`` and entries
    N(0, sigma_z^2 / N1) (the paper's stated setup; the authors' committed script used / N3). Task
    A's data are the top N3 rows, W_A + Z[:N3], so ``joint.sigma31[:, :N3]`` equals ``alone.sigma31``
    exactly and the comparison of the two students is paired.

    Args:
        pair: a :class:`TaskPair` batch of B pairs.
        noise_std: sigma_z >= 0.
        rng: source of randomness; run b uses ``rng.spawn(B)[b]``.

    Returns:
        ``(alone, joint)``: :class:`NoisyData` for task A (``(B, N3, N1)``, teacher ``pair.task_a``)
        and for the joint task (``(B, 2 N3, N1)``, teacher ``pair.joint``).
    """
    if not isinstance(pair, TaskPair):
        raise ArgumentTypeError(f"pair must be a TaskPair, got {type(pair).__name__}")
    sigma = check_nonneg("noise_std", noise_std)
    check_rng(rng)
    n_out, n_in = pair.n_out, pair.task_a.n_in
    Z = np.stack([c.standard_normal((2 * n_out, n_in)) for c in rng.spawn(pair.batch)])
    Z *= sigma / np.sqrt(n_in)
    joint = pair.joint.W + Z
    alone = joint[:, :n_out, :].copy()
    return _data_from(pair.task_a, alone, sigma), _data_from(pair.joint, joint, sigma)


def empirical_block_error(
    data: NoisyData, mode_strength: np.ndarray, *, block: Teacher, first_row: int = 0
) -> np.ndarray:
    """Test error on one block of outputs of a student whose map is sum_a s_a(t) u_hat_a v_hat_a^T.

    With training-aligned initialisation the student's map is exactly W(t) = sum_a s_a(t) u_hat_a
    v_hat_a^T (:func:`dltheory.linear_nets.simulate_gd` records the s_a as ``mode_strength``). Its
    error on the output rows of ``block`` (e.g. task A's rows of a joint student) is

        ||W_blk(t) - W_bar_blk||_F^2 / ||W_bar_blk||_F^2
          = [sum_a s_a^2 ||u_hat_a^blk||^2 - 2 sum_a s_a (u_hat_a^blk)^T W_bar_blk v_hat_a
             + ||W_bar_blk||^2] / ||W_bar_blk||^2,

    which needs only the mode strengths (white test inputs, clean targets).

    Args:
        data: the student's training data, B runs with M modes.
        mode_strength: s_a(t) of the first K <= M data modes, ``(T, B, K)``; the other modes are
            taken as 0 (a student of width N2 holds at most the first N2).
        block: the teacher of the block, ``U (B, n_blk, r)``.
        first_row: index of the block's first output row in ``data``.

    Returns:
        Normalised block test error, ``(T, B)``.
    """
    if not isinstance(data, NoisyData):
        raise ArgumentTypeError(f"data must be a NoisyData batch, got {type(data).__name__}")
    _check_teacher(block, "block")
    first_row = check_int("first_row", first_row, minimum=0)
    strength = as_float_array("mode_strength", mode_strength, ndim=3)
    B, M = data.batch, data.s_hat.shape[1]
    K = strength.shape[2]
    if strength.shape[1] != B or not 1 <= K <= M:
        raise ValueError(
            f"mode_strength must have shape (T, {B}, K) with 1 <= K <= {M}, got {strength.shape}"
        )
    n_blk = block.n_out
    if block.batch != B or block.n_in != data.n_in:
        raise ValueError(
            f"block ({block.batch} runs, {n_blk}x{block.n_in}) does not match the data ({B} runs, "
            f"{data.n_out}x{data.n_in})"
        )
    if first_row + n_blk > data.n_out:
        raise ValueError(
            f"first_row={first_row} puts the block's {n_blk} rows past the data's {data.n_out} "
            "output rows"
        )
    u_blk = data.U_hat[:, first_row : first_row + n_blk, :K]  # (B, n_blk, K)
    W_blk = block.W
    norm = np.sum(W_blk**2, axis=(1, 2))
    if np.any(norm == 0):
        raise ValueError(
            "block must be a nonzero teacher in every run (the error is normalised by it)"
        )
    h = np.sum(u_blk**2, axis=1)  # (B, K)
    g = np.einsum("bia,bij,bja->ba", u_blk, W_blk, data.V_hat[:, :, :K], optimize=True)  # (B, K)
    num = np.sum(strength**2 * h, axis=2) - 2.0 * np.sum(strength * g, axis=2) + norm
    return num / norm
