"""Transfer between two aligned tasks: Lampinen & Ganguli (2019), "An analytic theory of generalization
dynamics and transfer learning in deep linear networks", arXiv:1809.10374, Sec. 5.

Task A (SNR ``s_a``) and task B (SNR ``s_b``) are rank-1 teachers on the same ``N1`` inputs, with input
alignment ``q = v_A . v_B`` and separate blocks of ``N3`` outputs. One student learns A alone, another
learns A and B jointly through a shared hidden layer; both start from small aligned weights. The
transfer benefit of B to A is

    T = min_t err_A,alone(t) - min_t err_A,joint(t),

predicted by :func:`dltheory.theory.transfer.predicted_transfer` (the joint-student error is the book's
derivation, chapter 4) and measured by gradient descent on the grid of SNRs and alignments of the
paper's Sec. 5. Both students see the same noise draw, so the comparison is paired run by run.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass

import numpy as np

from dltheory._checks import ArgumentTypeError, as_float_array, check_rng
from dltheory.config import TransferSizes
from dltheory.experiments._grid import Grid
from dltheory.experiments.lampinen_ganguli import LGSetup
from dltheory.linear_nets import empirical_optimal_stopping
from dltheory.progress import progress_bar
from dltheory.task_pairs import (
    TaskPair,
    aligned_task_pair,
    empirical_block_error,
    rotate_output_blocks,
    task_pair_data,
)
from dltheory.teachers import NoisyData, data_from_targets, select_runs
from dltheory.theory.transfer import TransferPrediction, predicted_transfer

__all__ = [
    "TransferResult",
    "RotationResult",
    "FiniteSizeResult",
    "theory_setting",
    "run_grid",
    "run_transfer",
    "run_claims",
    "run_strong",
    "run_output_rotation",
    "required_alignment",
    "run_finite_size",
]

S_A = (3.0, 10.0)  # task A's SNRs above its detection threshold: moderate, strong
S_B = (1.5, 3.0, 5.0, 10.0, 30.0)  # the partner's SNRs above A's detection threshold
Q_EXTRA = (0.9, 0.95)  # alignments added to the even q grid, where T changes sign for s_A >= 3
ROTATION = dict(s_a=3.0, s_b=(3.0, 10.0), q=(0.0, 0.5, 1.0))  # conditions of run_output_rotation
CLAIMS = dict(s_b=(3.0, 10.0), q=(0.0, 0.5, 1.0))  # conditions of run_claims (s_a as run_transfer)
STRONG = dict(s_a=(100.0,), s_b=(10.0, 30.0), q=(0.0, 0.5, 0.9, 1.0))  # conditions of run_strong
FINITE_SIZE = dict(s_b=10.0, q=(0.0, 1.0))  # partners of run_finite_size (s_a at A's threshold)
Q_WEAK = 0.2  # the weak alignment of run_finite_size's paired gain (partner as FINITE_SIZE)
CHUNK = 256  # runs per gradient-descent call: bounds the memory of the recorded mode strengths


@dataclass(frozen=True)
class TransferResult:
    """Transfer benefit on the (s_a, s_b, q) grid, predicted and measured.

    Attributes:
        grid: axes ``s_a``, ``s_b``, ``q`` (task A's SNR, the partner's SNR, the input alignment)
            times seeds; each seed is one task pair and one noise draw shared by both students.
        epochs: recorded epochs, ``(T,)``.
        err_alone: task A's test error of the student trained on A alone, ``(T, *grid.shape)``.
        err_joint: task A's test error of the student trained on A and B jointly, same shape.
        measured: transfer benefit of each run, ``min_t err_alone - min_t err_joint``, ``grid.shape``.
        predicted: the closed-form benefit, ``grid.shape[:-1]``.
        prediction: the closed form's stopping times and minimal errors, ``grid.shape[:-1]``.
        pair: the task pairs, flat batch in the grid's run order.
        alone: task A's data, flat batch.
        joint: the joint data, flat batch (its top ``N3`` rows are ``alone``).
    """

    grid: Grid
    epochs: np.ndarray
    err_alone: np.ndarray
    err_joint: np.ndarray
    measured: np.ndarray
    predicted: np.ndarray
    prediction: TransferPrediction
    pair: TaskPair
    alone: NoisyData
    joint: NoisyData

    def at(self, s_a: float, s_b: float, q: float) -> tuple[int, int, int]:
        """Index of the condition (s_a, s_b, q) in ``predicted`` (and of its seeds in ``measured``)."""
        return self.grid.index("s_a", s_a), self.grid.index("s_b", s_b), self.grid.index("q", q)


@dataclass(frozen=True)
class RotationResult:
    """Transfer benefit before and after each output block is turned by its own rotation.

    Attributes:
        grid: axes ``s_b`` and ``q`` at ``s_a = 3``, times the seeds of the base runs.
        original: the base runs' benefit, ``grid.shape``.
        rotated: the same runs with teacher and noise of each output block rotated, ``grid.shape``.
        fresh: the rotated teachers with a fresh noise draw (another sample), ``grid.shape``.
        predicted: the closed-form benefit, ``grid.shape[:-1]``; it has no output modes in it.
    """

    grid: Grid
    original: np.ndarray
    rotated: np.ndarray
    fresh: np.ndarray
    predicted: np.ndarray

    @property
    def change(self) -> np.ndarray:
        """Change of the mean benefit over seeds under the rotation, per condition."""
        return np.abs(self.rotated.mean(-1) - self.original.mean(-1))

    @property
    def se(self) -> np.ndarray:
        """Standard error of the original mean benefit over seeds, per condition."""
        return self.original.std(axis=-1, ddof=1) / np.sqrt(self.grid.n_seeds)


@dataclass(frozen=True)
class FiniteSizeResult:
    """Task A at its detection threshold with a partner at SNR 10, for growing N1 (N3 = N2 = N1/2).

    Attributes:
        grid: axes ``n_in`` (N1) and ``q`` times seeds.
        s_a: task A's SNR, its detection threshold ``(N3 / N1)^(1/4)``.
        measured_alone: minimal test error of the student trained on A alone, ``grid.shape``.
        measured: transfer benefit of each run, ``grid.shape``.
        predicted_alone: its closed form, ``grid.shape[:-1]``.
        predicted: the closed-form benefit, ``grid.shape[:-1]``.
        weak_gain: per N1 and seed, ``T(q = 0.2) - T(0)`` measured paired (same task pair and noise at
            both q), averaged with the seed's mirror image; ``(n_in, weak_seeds)``.
        weak_predicted: its closed form, ``(n_in,)``.
    """

    grid: Grid
    s_a: float
    measured_alone: np.ndarray
    measured: np.ndarray
    predicted_alone: np.ndarray
    predicted: np.ndarray
    weak_gain: np.ndarray
    weak_predicted: np.ndarray


def _check(setup, sizes) -> None:
    if not isinstance(setup, LGSetup):
        raise ArgumentTypeError(f"setup must be an LGSetup, got {type(setup).__name__}")
    if not isinstance(sizes, TransferSizes):
        raise ArgumentTypeError(
            f"sizes must be a TransferSizes (get_scale(name).transfer), got {type(sizes).__name__}"
        )


def theory_setting(setup: LGSetup, sizes: TransferSizes) -> dict:
    """Keyword arguments of the closed forms in :mod:`dltheory.theory.transfer` for these sizes.

    Args:
        setup: the physical parameters (noise, learning rate, initial strength).
        sizes: the chapter's sizes (N1, N3 per task, N2).

    Returns:
        ``dict(n_in, n_out, hidden, eps, tau, noise_std)``.
    """
    _check(setup, sizes)
    return dict(setup.theory(sizes.n_in, sizes.n_out), hidden=sizes.hidden)


def _draw(setup: LGSetup, n_in: int, n_out: int, s_a, s_b, q, *, rng: np.random.Generator):
    """Task pairs with per-run SNRs and alignments, and their (alone, joint) data from one noise draw."""
    pair = aligned_task_pair(n_in, n_out, s_a, s_b, q, rng=rng.spawn(1)[0])
    alone, joint = task_pair_data(pair, noise_std=setup.noise_std, rng=rng.spawn(1)[0])
    return pair, alone, joint


def _simulate(setup: LGSetup, sizes: TransferSizes, pair, alone, joint, *, hidden: int):
    """Task A's test error over time of both students, ``(epochs, alone (T, B), joint (T, B))``;
    with ``alone`` None only the joint student is trained (and the alone error is None)."""
    train = dict(hidden=hidden, epochs=sizes.epochs, record_every=sizes.record_every)
    err_alone, err_joint = [], []
    with progress_bar(total=pair.batch, desc="transfer runs") as bar:
        for start in range(0, pair.batch, CHUNK):
            runs = slice(start, start + CHUNK)
            if alone is not None:
                err_alone.append(setup.train(select_runs(alone, runs), **train).test_error)
            joint_runs = select_runs(joint, runs)
            run_j = setup.train(joint_runs, **train)
            held = run_j.mode_strength[:, :, :hidden]  # the student holds the first N2 modes only
            block = select_runs(pair.task_a, runs)
            err_joint.append(empirical_block_error(joint_runs, held, block=block))
            bar.update(held.shape[1])
    err_alone = np.concatenate(err_alone, axis=1) if alone is not None else None
    return run_j.steps, err_alone, np.concatenate(err_joint, axis=1)


def _weak_gain(setup: LGSetup, sizes: TransferSizes, n1: int, s_a: float, *, rng) -> np.ndarray:
    """Per seed, ``T(Q_WEAK) - T(0) = min_t err_A,joint(q = 0) - min_t err_A,joint(q = Q_WEAK)``.

    One task pair draw and one noise draw (copies of the same generators) serve both alignments, so
    the alone student, whose finite-size bias dominates T at threshold, cancels exactly. Each seed is
    averaged with its mirror image, A's noise block negated (like q -> -q: same ensemble), which
    cancels the part of the gain odd in that noise (antithetic pair)."""
    n3, seeds = n1 // 2, sizes.weak_seeds
    pair_rng, noise_rng = rng.spawn(1)[0], rng.spawn(1)[0]
    mins = []
    for q in (0.0, Q_WEAK):
        pair = aligned_task_pair(n1, n3, s_a, FINITE_SIZE["s_b"], np.full(seeds, q), rng=copy.deepcopy(pair_rng))  # fmt: skip
        _, joint = task_pair_data(pair, noise_std=setup.noise_std, rng=copy.deepcopy(noise_rng))
        mirror = joint.sigma31.copy()
        mirror[:, :n3] = 2 * pair.task_a.W - mirror[:, :n3]
        for data in (joint, data_from_targets(pair.joint, mirror, noise_std=setup.noise_std)):
            epochs, _, err = _simulate(setup, sizes, pair, None, data, hidden=n3)
            mins.append(empirical_optimal_stopping(epochs, err)[1])
    return 0.5 * ((mins[0] - mins[2]) + (mins[1] - mins[3]))


def _benefit(epochs, err_alone, err_joint) -> np.ndarray:
    """Per run: min_t of the alone error minus min_t of the joint error (stopping chosen for A)."""
    return (
        empirical_optimal_stopping(epochs, err_alone)[1]
        - empirical_optimal_stopping(epochs, err_joint)[1]
    )


def run_grid(
    setup: LGSetup, sizes: TransferSizes, *, s_a, s_b, q, n_seeds: int, rng: np.random.Generator
) -> TransferResult:
    """Transfer benefit of task B to task A on the product grid ``s_a x s_b x q``, ``n_seeds`` each.

    Draws the task pairs, then one noise draw per pair (each from ``rng.spawn(1)[0]``), trains both
    students on every run at the sizes' N1, N3, N2 and epochs, and evaluates the closed form.

    Args:
        setup: the physical parameters (noise, learning rate, initial strength).
        sizes: N1, N3, N2, epochs and recording interval.
        s_a, s_b, q: 1-D arrays of task A's SNRs, the partner's SNRs and the input alignments.
        n_seeds: runs per condition, at least 1.
        rng: source of randomness.

    Returns:
        :class:`TransferResult`.
    """
    _check(setup, sizes)
    check_rng(rng)
    if isinstance(n_seeds, bool) or not isinstance(n_seeds, int | np.integer) or n_seeds < 1:
        raise ValueError(f"n_seeds must be a positive integer, got {n_seeds!r}")
    axes = {}
    for name, values in dict(s_a=s_a, s_b=s_b, q=q).items():
        values = as_float_array(name, values)
        if values.ndim != 1 or values.size == 0 or not np.all(np.isfinite(values)):
            raise ValueError(f"{name} must be a non-empty finite 1-D array, got {values}")
        axes[name] = values
    if np.any(axes["s_a"] <= 0) or np.any(axes["s_b"] <= 0):
        raise ValueError("s_a and s_b must be positive SNRs")
    if np.any(np.abs(axes["q"]) > 1):
        raise ValueError(f"q must lie in [-1, 1], got {axes['q']}")
    n_in, n_out = sizes.n_in, sizes.n_out
    grid = Grid(axes=axes, n_seeds=int(n_seeds))
    s_a, s_b, q = (grid.per_run(name) for name in axes)
    pair, alone, joint = _draw(setup, n_in, n_out, s_a, s_b, q, rng=rng)
    epochs, err_alone, err_joint = _simulate(setup, sizes, pair, alone, joint, hidden=sizes.hidden)
    prediction = predicted_transfer(
        axes["s_a"][:, None, None], axes["s_b"][:, None], axes["q"], **theory_setting(setup, sizes)
    )
    return TransferResult(
        grid=grid,
        epochs=epochs,
        err_alone=grid.unflatten(err_alone, axis=1),
        err_joint=grid.unflatten(err_joint, axis=1),
        measured=grid.unflatten(_benefit(epochs, err_alone, err_joint)),
        predicted=prediction.benefit,
        prediction=prediction,
        pair=pair,
        alone=alone,
        joint=joint,
    )


def run_transfer(
    setup: LGSetup, sizes: TransferSizes, *, rng: np.random.Generator
) -> TransferResult:
    """Transfer benefit of task B to task A over SNRs and alignments (Lampinen & Ganguli 2019, Sec. 5).

    The grid: task A at its detection threshold ``(N3 / N1)^(1/4)``, 3 and 10; the partner at A's
    threshold, 1.5, 3, 5, 10 and 30; ``sizes.n_q_grid`` alignments evenly spaced on [0, 1] and also
    0.9 and 0.95, where the sign of the benefit changes; each condition ``sizes.n_seeds`` times
    (:func:`run_grid`).

    Args:
        setup: the physical parameters (noise, learning rate, initial strength).
        sizes: N1, N3, N2, seeds, epochs and the number of alignments.
        rng: source of randomness.

    Returns:
        :class:`TransferResult`.
    """
    _check(setup, sizes)
    threshold = setup.threshold(sizes.n_in, sizes.n_out)
    return run_grid(
        setup,
        sizes,
        s_a=np.array([threshold, *S_A]),
        s_b=np.array([threshold, *S_B]),
        q=np.union1d(np.linspace(0.0, 1.0, sizes.n_q_grid), Q_EXTRA),
        n_seeds=sizes.n_seeds,
        rng=rng,
    )


def run_claims(setup: LGSetup, sizes: TransferSizes, *, rng: np.random.Generator) -> TransferResult:
    """The conditions of the chapter's claims, with ``sizes.claim_seeds`` seeds each.

    Task A at its detection threshold, 3 and 10; the partner at 3 and 10; ``q`` in {0, 0.5, 1}
    (:func:`run_grid`): a separate run, so that the claims' seed means have a small spread.

    Args:
        setup: the physical parameters (noise, learning rate, initial strength).
        sizes: N1, N3, N2, epochs and ``claim_seeds``.
        rng: source of randomness.

    Returns:
        :class:`TransferResult`.
    """
    _check(setup, sizes)
    threshold = setup.threshold(sizes.n_in, sizes.n_out)
    return run_grid(
        setup, sizes, s_a=np.array([threshold, *S_A]), **CLAIMS, n_seeds=sizes.claim_seeds, rng=rng
    )


def run_strong(setup: LGSetup, sizes: TransferSizes, *, rng: np.random.Generator) -> TransferResult:
    """A strong task, ``s_a = 100`` (the paper's Fig. 5c), with ``sizes.claim_seeds`` seeds each.

    The partner at SNR 10 and 30, ``q`` in {0, 0.5, 0.9, 1} (:func:`run_grid`).

    Args:
        setup: the physical parameters (noise, learning rate, initial strength).
        sizes: N1, N3, N2, epochs and ``claim_seeds``.
        rng: source of randomness.

    Returns:
        :class:`TransferResult`.
    """
    _check(setup, sizes)
    return run_grid(setup, sizes, **STRONG, n_seeds=sizes.claim_seeds, rng=rng)


def required_alignment(q, benefit) -> np.ndarray:
    """The alignment above which the benefit stays positive, by linear interpolation on a q grid.

    For each profile ``benefit[..., :]`` over the increasing alignments ``q``: the zero crossing of
    the linear interpolant in the last interval where the benefit goes from ``<= 0`` to ``> 0`` and
    stays positive after it; ``q[0]`` when the whole profile is positive, ``nan`` when its last
    value is not positive.

    Args:
        q: increasing alignments, ``(Q,)``.
        benefit: transfer benefits, ``(..., Q)``.

    Returns:
        the required alignment per profile, ``benefit.shape[:-1]``.
    """
    q, benefit = as_float_array("q", q), as_float_array("benefit", benefit)
    if q.ndim != 1 or q.size < 2 or np.any(np.diff(q) <= 0) or not np.all(np.isfinite(q)):
        raise ValueError(f"q must be a strictly increasing 1-D array of at least 2 values, got {q}")
    if benefit.ndim < 1 or benefit.shape[-1] != q.size or not np.all(np.isfinite(benefit)):
        raise ValueError(
            f"benefit must be finite with last axis of length {q.size}, got shape {benefit.shape}"
        )
    flat = benefit.reshape(-1, q.size)
    out = np.full(flat.shape[0], np.nan)
    for k, row in enumerate(flat):
        if row[-1] <= 0:
            continue
        low = np.flatnonzero(row <= 0)
        if low.size == 0:
            out[k] = q[0]
            continue
        i = low[-1]  # last non-positive value; the crossing lies in (q[i], q[i + 1]]
        out[k] = q[i] + (q[i + 1] - q[i]) * (-row[i]) / (row[i + 1] - row[i])
    return out.reshape(benefit.shape[:-1])


def run_output_rotation(
    setup: LGSetup, sizes: TransferSizes, base: TransferResult, *, rng: np.random.Generator
) -> RotationResult:
    """Transfer does not depend on the output modes (Lampinen & Ganguli 2019, Sec. 5).

    For ``s_a = 3``, ``s_b`` in {3, 10} and ``q`` in {0, 0.5, 1}, turns each output block of every base
    run (teacher and noise together) by its own Haar rotation and retrains both students; then trains
    them again on the rotated teachers with a fresh noise draw. Gradient descent from aligned
    initialisation is equivariant under the rotation, so the rotated benefit equals the original up to
    round-off; the fresh draw is another sample and moves by about the seed noise.

    Args:
        setup: the physical parameters of ``base``.
        sizes: the sizes of ``base``.
        base: the runs of :func:`run_transfer`; its grid must hold the conditions above.
        rng: source of randomness: the rotations, then the fresh noise (each ``rng.spawn(1)[0]``).

    Returns:
        :class:`RotationResult`.
    """
    _check(setup, sizes)
    if not isinstance(base, TransferResult):
        raise ArgumentTypeError(f"base must be a TransferResult, got {type(base).__name__}")
    check_rng(rng)
    if (base.pair.task_a.n_in, base.pair.n_out) != (sizes.n_in, sizes.n_out):
        raise ValueError(
            f"base was run at N1 = {base.pair.task_a.n_in}, N3 = {base.pair.n_out}, sizes ask for "
            f"N1 = {sizes.n_in}, N3 = {sizes.n_out}"
        )
    s_a, s_b, q = ROTATION["s_a"], ROTATION["s_b"], ROTATION["q"]
    try:
        runs = np.concatenate([base.grid.runs_of(s_a=s_a, s_b=b, q=x) for b in s_b for x in q])
        i_a = base.grid.index("s_a", s_a)
        i_b = [base.grid.index("s_b", b) for b in s_b]
        i_q = [base.grid.index("q", x) for x in q]
    except ValueError as e:
        raise ValueError(f"base must hold s_a = 3, s_b in {s_b} and q in {q}: {e}") from None
    grid = Grid(axes={"s_b": np.array(s_b), "q": np.array(q)}, n_seeds=base.grid.n_seeds)
    turned, alone, joint = rotate_output_blocks(
        select_runs(base.pair, runs),
        select_runs(base.alone, runs),
        select_runs(base.joint, runs),
        rng=rng.spawn(1)[0],
    )
    rotated = _benefit(*_simulate(setup, sizes, turned, alone, joint, hidden=sizes.hidden))
    alone_f, joint_f = task_pair_data(turned, noise_std=setup.noise_std, rng=rng.spawn(1)[0])
    fresh = _benefit(*_simulate(setup, sizes, turned, alone_f, joint_f, hidden=sizes.hidden))
    return RotationResult(
        grid=grid,
        original=base.measured[i_a][np.ix_(i_b, i_q)],
        rotated=rotated.reshape(grid.shape),
        fresh=fresh.reshape(grid.shape),
        predicted=base.predicted[i_a][np.ix_(i_b, i_q)],
    )


def run_finite_size(
    setup: LGSetup, sizes: TransferSizes, *, rng: np.random.Generator
) -> FiniteSizeResult:
    """Task A at its detection threshold as N1 grows at fixed N3/N1 = N2/N1 = 1/2.

    At the threshold the large-N theory says task A alone learns nothing (error 1), and a misaligned
    partner then neither helps nor hurts; at finite N the transition is smooth and early stopping
    still extracts a little of A. For each N1 in ``sizes.finite_size_n_in`` draws
    ``sizes.finite_size_seeds`` pairs with a partner at SNR 10 and ``q`` in {0, 1} (task pairs, then
    noise, each from ``rng.spawn(1)[0]``), trains both students, and evaluates the closed form. Then
    measures the gain of a weakly aligned partner, ``T(0.2) - T(0)``, paired, with
    ``sizes.weak_seeds`` joint students and their mirror images per alignment (``_weak_gain``).

    Args:
        setup: the physical parameters (noise, learning rate, initial strength).
        sizes: the input sizes and seeds of the check; ``epochs``, ``record_every`` and the
            threshold's aspect ratio ``n_out / n_in`` come from here too.
        rng: source of randomness.

    Returns:
        :class:`FiniteSizeResult`.
    """
    _check(setup, sizes)
    check_rng(rng)
    s_a = setup.threshold(sizes.n_in, sizes.n_out)
    n_ins = np.array(sizes.finite_size_n_in)
    grid = Grid(
        axes={"n_in": n_ins, "q": np.array(FINITE_SIZE["q"])}, n_seeds=sizes.finite_size_seeds
    )
    one = Grid(axes={"q": grid.axes["q"]}, n_seeds=grid.n_seeds)  # the runs of one N1
    alone_min, benefit, pred_alone, pred, weak, weak_pred = [], [], [], [], [], []
    for n1 in (int(n) for n in n_ins):
        n3 = n1 // 2
        s_ab = np.full(one.n_runs, s_a), np.full(one.n_runs, FINITE_SIZE["s_b"])
        pair, alone, joint = _draw(setup, n1, n3, *s_ab, one.per_run("q"), rng=rng)
        epochs, err_a, err_j = _simulate(setup, sizes, pair, alone, joint, hidden=n3)
        alone_min.append(empirical_optimal_stopping(epochs, err_a)[1].reshape(one.shape))
        benefit.append(_benefit(epochs, err_a, err_j).reshape(one.shape))
        qs = np.r_[one.axes["q"], Q_WEAK]  # the grid's q (first 0), then the weak alignment
        theory = predicted_transfer(s_a, FINITE_SIZE["s_b"], qs, **setup.theory(n1, n3), hidden=n3)
        pred_alone.append(theory.err_alone[:-1])
        pred.append(theory.benefit[:-1])
        weak.append(_weak_gain(setup, sizes, n1, s_a, rng=rng))
        weak_pred.append(theory.benefit[-1] - theory.benefit[0])
    return FiniteSizeResult(
        grid=grid,
        s_a=s_a,
        measured_alone=np.stack(alone_min),
        measured=np.stack(benefit),
        predicted_alone=np.stack(pred_alone),
        predicted=np.stack(pred),
        weak_gain=np.stack(weak),
        weak_predicted=np.array(weak_pred),
    )
