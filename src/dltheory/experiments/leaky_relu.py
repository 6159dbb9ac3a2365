"""Leaky-ReLU students beside the linear theory: Lampinen & Ganguli (2019), "An analytic theory of
generalization dynamics and transfer learning in deep linear networks", arXiv:1809.10374,
supplementary figures on nonlinear networks (leaky-ReLU versions of its generalisation figure,
Fig. 3, and transfer figure, Fig. 5), where the paper reports that the linear theory describes
nonlinear networks qualitatively. The figure numbers of the final PDF are inferred from the authors'
plotting code (github.com/lampinen/transfer-theory).

The student is ``y = W2 phi(W1 x)`` with ``phi(z) = z`` for ``z > 0`` and ``slope * z`` otherwise,
trained by full-batch gradient descent on ``1/2 ||Y - W2 phi(W1 X)||^2`` from the authors' small
random initialisation (each layer ``sqrt(eps)`` times a Haar partial orthogonal matrix). The data are
the linear teachers of chapters 2 and 4 on ``P = N1`` one-hot inputs, so the network's function on
the inputs is the matrix ``W2 phi(W1)``, and the test error is measured on the same inputs with clean
targets, as in the authors' ``running_single_generalization_nonlinear.py``. Because ``phi`` is a
bijection, ``phi(W1)`` can be any matrix: the leaky network can represent every map the linear one
can, and differs only in its dynamics (the hidden pre-activations that are negative move at
``slope^2`` times the rate of the positive ones).

Slopes: 0.1 for generalisation (``leak_alpha`` of the authors' generalisation script) and 0.2 for
transfer (TensorFlow's default, used by the authors' ``running_transfer_nonlinear.py``). The
authors' generalisation runs used SNRs 5, 10 and 30 (and also three hidden layers); here the SNRs
are chapter 2's, where the linear theory's curves are checked. The authors' transfer script also
puts a leaky ReLU on the output, uses a leaky-ReLU teacher and draws small Gaussian weights; here
teacher and output stay linear, the setting the theory is about, and both experiments start from
the generalisation script's orthogonal weights, so that only the hidden nonlinearity differs from
the linear students.

The steps are ``LR_FACTOR`` times the setup's learning rate and time is reported in the setup's
epochs (``t / tau`` unchanged). In the generalisation runs each data set and initialisation also
trains a linear student (slope 1): it measures what this step, the random initialisation and the
finite size do to the theory's agreement, apart from the nonlinearity.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from dltheory._checks import (
    ArgumentTypeError,
    as_float_array,
    check_in_range,
    check_int,
    check_positive,
    check_rng,
)
from dltheory.config import EarlyStoppingSizes, TransferSizes
from dltheory.experiments._grid import Grid, seed_stats
from dltheory.experiments.lampinen_ganguli import LGSetup
from dltheory.linear_nets import empirical_optimal_stopping
from dltheory.task_pairs import aligned_task_pair, task_pair_data
from dltheory.teachers import haar_stiefel
from dltheory.theory.generalization import predicted_error_curves, predicted_optimal_stopping
from dltheory.theory.transfer import TransferPrediction, predicted_transfer

__all__ = [
    "LEAK_GENERALISATION",
    "LEAK_TRANSFER",
    "SNRS",
    "GEN_EPOCHS",
    "TRANSFER",
    "LR_FACTOR",
    "LeakyCurvesResult",
    "LeakyTransferResult",
    "run_leaky_generalisation",
    "run_leaky_transfer",
]

LEAK_GENERALISATION = 0.1
"""Leaky slope of the generalisation runs (the authors' ``leak_alpha``)."""
LEAK_TRANSFER = 0.2
"""Leaky slope of the transfer runs (``tf.nn.leaky_relu``'s default in the authors' script)."""
SNRS = (2.0, 4.0, 8.0)
"""Rank-1 teacher SNRs of the generalisation runs (the SNRs the paper's Fig. 3 shows)."""
GEN_EPOCHS = 6000
"""Epochs of the generalisation runs: past the leaky network's optimal stopping time at SNR 2."""
TRANSFER = dict(s_a=3.0, s_b=10.0, q=(0.0, 0.5, 1.0))
"""Conditions of the transfer runs: task A at SNR 3, its partner at 10, three input alignments."""
LR_FACTOR = 5
"""Gradient steps are this many times the setup's learning rate (lambda s_hat <= 0.05 at SNR 8)."""


def _check_setup(setup) -> None:
    if not isinstance(setup, LGSetup):
        raise ArgumentTypeError(f"setup must be an LGSetup, got {type(setup).__name__}")


def _seeds(n_seeds, default: int) -> int:
    if n_seeds is None:
        n_seeds = default
    return check_int("n_seeds", n_seeds, minimum=2)


def _init(n_in: int, hidden: int, n_out: int, batch: int, eps: float, rng) -> tuple:
    """The authors' initialisation: each layer sqrt(eps) times a Haar partial orthogonal matrix."""
    a = np.sqrt(eps)
    W1 = np.empty((batch, hidden, n_in))
    W2 = np.empty((batch, n_out, hidden))
    for b, child in enumerate(rng.spawn(batch)):
        W1[b] = a * (
            haar_stiefel(n_in, hidden, rng=child).T
            if hidden <= n_in
            else haar_stiefel(hidden, n_in, rng=child)
        )
        W2[b] = a * (
            haar_stiefel(n_out, hidden, rng=child)
            if hidden <= n_out
            else haar_stiefel(hidden, n_out, rng=child).T
        )
    return W1, W2


def _simulate(sigma31, target, slopes, init, *, lr: float, steps: int, every: int):
    """Full-batch gradient descent of ``W2 phi(W1)`` on one-hot data, all runs at once.

    Args:
        sigma31: training targets (X = I), ``(B, N3, N1)``.
        target: clean teacher of the first ``n`` output rows, ``(B, n, N1)``.
        slopes: leaky slope of each run, ``(B,)``.
        init: ``(W1 (B, N2, N1), W2 (B, N3, N2))``, copied.
        lr, steps, every: step size, number of steps, steps between records.

    Returns:
        ``(train, test)``, each ``(T, B)``: ||M - Sigma^31||^2 / ||Sigma^31||^2 over all outputs and
        ||M_rows - target||^2 / ||target||^2 over the target's rows, at steps 0, every, ...
    """
    W1, W2 = (w.copy() for w in init)
    n = target.shape[1]
    leak = np.asarray(slopes, dtype=float)[:, None, None]
    norm_train = np.einsum("bij,bij->b", sigma31, sigma31)
    norm_test = np.einsum("bij,bij->b", target, target)
    train, test = [], []
    for i in range(steps + 1):
        gain = np.where(W1 > 0, 1.0, leak)  # phi'(W1); phi(W1) = gain * W1
        H = gain * W1
        R = sigma31 - W2 @ H
        if i % every == 0:
            D = R[:, :n] - (sigma31[:, :n] - target)  # = target - M on the target's rows
            train.append(np.einsum("bij,bij->b", R, R) / norm_train)
            test.append(np.einsum("bij,bij->b", D, D) / norm_test)
        if i == steps:
            break
        G1 = np.swapaxes(W2, 1, 2) @ R
        W2 += lr * (R @ np.swapaxes(H, 1, 2))
        W1 += lr * (G1 * gain)
    if not (np.all(np.isfinite(train[-1])) and np.all(np.isfinite(test[-1]))):
        raise ValueError(f"gradient descent diverged at step size {lr:g}; lower it")
    return np.array(train), np.array(test)


def _steps(epochs: int, record_every: int) -> tuple[int, int, np.ndarray]:
    """Steps, steps between records and recorded epochs for ``epochs`` epochs of the setup."""
    steps = max(1, epochs // LR_FACTOR)
    every = max(1, round(record_every / LR_FACTOR))
    return steps, every, np.arange(0, steps + 1, every) * LR_FACTOR


@dataclass(frozen=True)
class LeakyCurvesResult:
    """Error curves of leaky-ReLU and linear students on rank-1 teachers, beside the linear theory.

    Attributes:
        grid: teacher ``snr`` x seed; each seed is one data set and one initialisation, shared by
            the leaky and the linear student.
        slope: the leaky slope.
        lr: the simulation's step size (``LR_FACTOR`` times the setup's learning rate).
        epochs: recorded times, in epochs of the setup's learning rate, ``(T,)``.
        train_error, test_error: the leaky students, ``(T, snr, seed)``.
        linear_train_error, linear_test_error: the linear students, ``(T, snr, seed)``.
        predicted_train, predicted_test: the linear theory, ``(T, snr)``.
        t_opt, min_error: the leaky students' optimal stopping epoch and error, ``(snr, seed)``.
        linear_t_opt, linear_min_error: the same for the linear students, ``(snr, seed)``.
        predicted_t_opt, predicted_min_error: the linear theory, ``(snr,)``.
    """

    grid: Grid
    slope: float
    lr: float
    epochs: np.ndarray
    train_error: np.ndarray
    test_error: np.ndarray
    linear_train_error: np.ndarray
    linear_test_error: np.ndarray
    predicted_train: np.ndarray
    predicted_test: np.ndarray
    t_opt: np.ndarray
    min_error: np.ndarray
    linear_t_opt: np.ndarray
    linear_min_error: np.ndarray
    predicted_t_opt: np.ndarray
    predicted_min_error: np.ndarray

    def glue(self, snr: float = 4.0) -> dict:
        """The numbers chapter 2's prose quotes, at teacher SNR ``snr`` (one of the grid's)."""
        k = self.grid.index("snr", snr)
        mean, se, n = seed_stats(self.min_error[k])
        tag = f"{snr:g}"
        return {
            "leaky_slope": self.slope,
            "leaky_seeds": n,
            "leaky_lr_factor": LR_FACTOR,
            f"leaky_err_th_{tag}": float(self.predicted_min_error[k]),
            f"leaky_err_sim_{tag}": float(mean),
            f"leaky_err_se_{tag}": float(se),
            f"leaky_err_lin_{tag}": float(self.linear_min_error[k].mean()),
            f"leaky_stop_ratio_{tag}": float(self.t_opt[k].mean() / self.linear_t_opt[k].mean()),
        }


def run_leaky_generalisation(
    setup: LGSetup,
    sizes: EarlyStoppingSizes,
    *,
    rng: np.random.Generator,
    snrs=SNRS,
    slope: float = LEAK_GENERALISATION,
    n_seeds: int | None = None,
    epochs: int = GEN_EPOCHS,
) -> LeakyCurvesResult:
    """Train and test error over time of leaky-ReLU students on noisy rank-1 teachers (the
    leaky-ReLU version of Lampinen & Ganguli 2019, Fig. 3), beside the linear theory (Sec. 2.3-2.4).

    Draws ``n_seeds`` data sets per SNR with ``setup.draw`` (two spawned children), then one
    initialisation per run (one spawned child), and trains a leaky and a linear student of width
    ``sizes.hidden`` from it on the same data.

    Args:
        setup: the physical parameters (noise, learning rate, initial strength eps).
        sizes: chapter 2's sizes (N1, N3, N2, recording interval).
        rng: source of randomness.
        snrs: teacher SNRs, a non-empty 1-D list of positive numbers.
        slope: leaky slope in [0, 1] (1 is the linear network).
        n_seeds: data sets per SNR, at least 2; default ``sizes.n_seeds_random``.
        epochs: training time in epochs of the setup's learning rate, at least ``LR_FACTOR``.

    Returns:
        A :class:`LeakyCurvesResult`.
    """
    _check_setup(setup)
    if not isinstance(sizes, EarlyStoppingSizes):
        raise ArgumentTypeError(
            f"sizes must be EarlyStoppingSizes (get_scale(name).early_stopping), got {sizes!r}"
        )
    check_rng(rng)
    s = as_float_array("snrs", snrs)
    if s.ndim != 1 or s.size == 0 or np.any(s <= 0):
        raise ValueError(f"snrs must be a non-empty 1-D list of positive SNRs, got {snrs!r}")
    slope = check_in_range("slope", slope, 0.0, 1.0)
    n_seeds = _seeds(n_seeds, sizes.n_seeds_random)
    epochs = check_int("epochs", epochs, minimum=LR_FACTOR)
    n_in, n_out, hidden = sizes.n_in, sizes.n_out, sizes.hidden
    grid = Grid(axes={"snr": s}, n_seeds=n_seeds)
    data = setup.draw(n_in, n_out, s[:, None], n_seeds, rng=rng)
    B = data.batch
    init = _init(n_in, hidden, n_out, B, setup.eps, rng.spawn(1)[0])
    steps, every, t = _steps(epochs, sizes.record_every)
    lr = setup.lr * LR_FACTOR
    both = [np.concatenate([x, x]) for x in (data.sigma31, data.teacher.W, *init)]
    train, test = _simulate(
        both[0],
        both[1],
        np.repeat([slope, 1.0], B),
        (both[2], both[3]),
        lr=lr,
        steps=steps,
        every=every,
    )
    theory = setup.theory(n_in, n_out)
    curves = predicted_error_curves(t, s[:, None], hidden=hidden, **theory)
    predicted = np.array([predicted_optimal_stopping([x], hidden=hidden, **theory) for x in s])
    optima = [empirical_optimal_stopping(t, test[:, k]) for k in (slice(0, B), slice(B, None))]
    return LeakyCurvesResult(
        grid=grid,
        slope=slope,
        lr=lr,
        epochs=t,
        train_error=grid.unflatten(train[:, :B], 1),
        test_error=grid.unflatten(test[:, :B], 1),
        linear_train_error=grid.unflatten(train[:, B:], 1),
        linear_test_error=grid.unflatten(test[:, B:], 1),
        predicted_train=curves.train,
        predicted_test=curves.test,
        t_opt=grid.unflatten(optima[0][0]),
        min_error=grid.unflatten(optima[0][1]),
        linear_t_opt=grid.unflatten(optima[1][0]),
        linear_min_error=grid.unflatten(optima[1][1]),
        predicted_t_opt=predicted[:, 0],
        predicted_min_error=predicted[:, 1],
    )


@dataclass(frozen=True)
class LeakyTransferResult:
    """Transfer benefit of task B to task A for leaky-ReLU students, beside the linear theory.

    Attributes:
        grid: input alignment ``q`` x seed; each seed is one task pair and one noise draw, shared by
            the student of A alone and the joint student.
        s_a, s_b: task A's and the partner's SNR.
        slope: the leaky slope.
        epochs: recorded times, in epochs of the setup's learning rate, ``(T,)``.
        err_alone, err_joint: task A's test error of the students trained on A alone and on A and B
            jointly, ``(T, q, seed)``.
        min_alone, min_joint: their minima over time, ``(q, seed)``.
        measured: the benefit ``min_alone - min_joint``, ``(q, seed)``.
        predicted: the linear theory's benefit, ``(q,)``.
        prediction: the theory's stopping times and minimal errors, ``(q,)``.
        fine_q: a fine grid of alignments on [0, 1] for the theory's lines, ``(F,)``.
        fine: the theory there, ``(F,)``.
    """

    grid: Grid
    s_a: float
    s_b: float
    slope: float
    epochs: np.ndarray
    err_alone: np.ndarray
    err_joint: np.ndarray
    min_alone: np.ndarray
    min_joint: np.ndarray
    measured: np.ndarray
    predicted: np.ndarray
    prediction: TransferPrediction
    fine_q: np.ndarray
    fine: TransferPrediction

    def signs(self) -> tuple[list[int], list[int]]:
        """Signs of the predicted benefit and of the seed-mean measured one, one per alignment."""
        return (
            np.sign(self.predicted).astype(int).tolist(),
            np.sign(self.measured.mean(axis=1)).astype(int).tolist(),
        )

    def glue(self) -> dict:
        """The numbers chapter 4's prose quotes; per alignment q, names end in ``_{q:g}``."""
        mean, se, n = seed_stats(self.measured)
        out = {"leaky_tr_slope": self.slope, "leaky_tr_seeds": n}
        out["leaky_alone_th"] = float(self.prediction.err_alone[0])
        out["leaky_alone_sim"] = float(self.min_alone.mean())
        for k, q in enumerate(self.grid.axes["q"]):
            values = dict(T_th=self.predicted[k], T_sim=mean[k], T_se=se[k])
            values |= dict(
                joint_th=self.prediction.err_joint[k], joint_sim=self.min_joint[k].mean()
            )
            out |= {f"leaky_{name}_{q:g}": float(v) for name, v in values.items()}
        return out


def run_leaky_transfer(
    setup: LGSetup,
    sizes: TransferSizes,
    *,
    rng: np.random.Generator,
    s_a: float = TRANSFER["s_a"],
    s_b: float = TRANSFER["s_b"],
    q=TRANSFER["q"],
    slope: float = LEAK_TRANSFER,
    n_seeds: int | None = None,
) -> LeakyTransferResult:
    """Transfer benefit ``T = min_t err_A,alone - min_t err_A,joint`` of leaky-ReLU students (the
    leaky-ReLU version of Lampinen & Ganguli 2019, Fig. 5), beside the linear theory (Sec. 5).

    Draws the task pairs and one noise draw per pair as chapter 4 does (one spawned child each),
    then one initialisation per run for the student of A alone and one for the joint student (one
    spawned child each), and trains both, of width ``sizes.hidden``, for ``sizes.epochs`` epochs.

    Args:
        setup: the physical parameters (noise, learning rate, initial strength eps).
        sizes: chapter 4's sizes (N1, N3 per task, N2, seeds, epochs, recording interval).
        rng: source of randomness.
        s_a: task A's SNR, > 0.
        s_b: the partner's SNR, > 0.
        q: input alignments, a non-empty 1-D list in [0, 1].
        slope: leaky slope in [0, 1] (1 is the linear network).
        n_seeds: runs per alignment, at least 2; default half of ``sizes.n_seeds`` (at least 2):
            these students are full matrices, chapter 4's linear ones run in mode space.

    Returns:
        A :class:`LeakyTransferResult`.
    """
    _check_setup(setup)
    if not isinstance(sizes, TransferSizes):
        raise ArgumentTypeError(
            f"sizes must be a TransferSizes (get_scale(name).transfer), got {type(sizes).__name__}"
        )
    check_rng(rng)
    s_a = check_positive("s_a", s_a)
    s_b = check_positive("s_b", s_b)
    qs = as_float_array("q", q)
    if qs.ndim != 1 or qs.size == 0 or np.any((qs < 0) | (qs > 1)):
        raise ValueError(f"q must be a non-empty 1-D list of alignments in [0, 1], got {q!r}")
    slope = check_in_range("slope", slope, 0.0, 1.0)
    n_seeds = _seeds(n_seeds, max(2, sizes.n_seeds // 2))
    n_in, n_out, hidden = sizes.n_in, sizes.n_out, sizes.hidden
    grid = Grid(axes={"q": qs}, n_seeds=n_seeds)
    pair = aligned_task_pair(n_in, n_out, s_a, s_b, grid.per_run("q"), rng=rng.spawn(1)[0])
    alone, joint = task_pair_data(pair, noise_std=setup.noise_std, rng=rng.spawn(1)[0])
    steps, every, t = _steps(sizes.epochs, sizes.record_every)
    err = {}
    for name, data in (("alone", alone), ("joint", joint)):
        init = _init(n_in, hidden, data.n_out, pair.batch, setup.eps, rng.spawn(1)[0])
        err[name] = _simulate(
            data.sigma31,
            pair.task_a.W,
            np.full(pair.batch, slope),
            init,
            lr=setup.lr * LR_FACTOR,
            steps=steps,
            every=every,
        )[1]
    minima = {k: grid.unflatten(empirical_optimal_stopping(t, v)[1]) for k, v in err.items()}
    theory = dict(setup.theory(n_in, n_out), hidden=hidden)
    prediction = predicted_transfer(s_a, s_b, qs, **theory)
    fine_q = np.linspace(0.0, 1.0, 41)
    return LeakyTransferResult(
        grid=grid,
        s_a=s_a,
        s_b=s_b,
        slope=slope,
        epochs=t,
        err_alone=grid.unflatten(err["alone"], 1),
        err_joint=grid.unflatten(err["joint"], 1),
        min_alone=minima["alone"],
        min_joint=minima["joint"],
        measured=minima["alone"] - minima["joint"],
        predicted=prediction.benefit,
        prediction=prediction,
        fine_q=fine_q,
        fine=predicted_transfer(s_a, s_b, fine_q, **theory),
    )
