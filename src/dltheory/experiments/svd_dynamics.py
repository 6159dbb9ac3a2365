"""Mode-by-mode learning of the SVD by deep linear networks: Saxe, McClelland & Ganguli (2014), "Exact
solutions to the nonlinear dynamics of learning in deep linear neural networks", arXiv:1312.6120, in
the setting of Lampinen & Ganguli (2019), arXiv:1809.10374, Sec. 2.1.

A student trained by full-batch gradient descent from an initialisation aligned with the singular
vectors of the training correlation Sigma^31 learns each data mode ``s_hat`` on the sigmoid
``s(t) = s_hat / (1 + (s_hat / eps - 1) exp(-2 s_hat t / tau))``, reaching half strength at
``t_1/2 = tau / (2 s_hat) ln(s_hat / eps - 1)``; with ``N_W`` weight matrices each mode follows
``tau ds/dt = N_W s^(2 - 2/N_W) (s_hat - s)``. Each ``run_*`` function trains the students of one
part of chapter 1 and returns the closed form beside the measurement, per seed and mode.

The random streams are consumed in a fixed order (chapter 1 relies on it): :func:`run_modes` draws
the teacher and the noise, then the random initialisations; :func:`run_half_times` draws the
rank-1 teachers and their noise; :func:`run_deep` draws the random deep initialisations.

The random one-hidden-layer student also records the alignment of the singular vectors of its map
W(t) = W^32 W^21 with the data's, |u_a(t) . u_hat_a| and |v_a(t) . v_hat_a|, as in the supplementary
alignment-time figure of Lampinen & Ganguli (2019) (the authors' code tracks the same overlaps). Its
half times are compared with a linearisation of the early dynamics (our reconstruction, not in the
paper): while the weights are small, c_a = (W^21 v_hat_a + W^32T u_hat_a) / 2 grows like
exp(s_hat_a t / tau) and the rest of the weights stay put, so mode a follows the aligned sigmoid from
the effective strength eps_a = |c_a(0)|^2; the part of c_a along the hidden directions of the
stronger modes, learned first, is suppressed once they are learned, so only the part orthogonal to
c_1 .. c_(a-1) (Gram-Schmidt, strongest first) counts.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, replace

import numpy as np

from dltheory._checks import ArgumentTypeError, as_float_array, check_int, check_rng
from dltheory.config import SVDDynamicsSizes
from dltheory.experiments.lampinen_ganguli import LGSetup
from dltheory.linear_nets import _random_init, empirical_half_time, simulate_gd
from dltheory.teachers import NoisyData, snr_singular_values
from dltheory.theory.mode_dynamics import predicted_half_time, predicted_mode_strength

__all__ = [
    "SETUP",
    "RANK",
    "MULTIPLIER",
    "DEEP_HIDDEN_LAYERS",
    "DEEP_EPS",
    "LEARNING_RATES",
    "ModeResult",
    "HalfTimeResult",
    "DeepResult",
    "LearningRateResult",
    "run_modes",
    "run_half_times",
    "run_deep",
    "run_learning_rates",
]

SETUP = LGSetup(eps=1e-3)
"""Chapter 1's setting: sigma_z = 1, lambda = 1e-3 (tau = 1000 epochs), eps = 1e-3 as in the
paper's Fig. 1."""

RANK, MULTIPLIER = 3, 2.0
"""The teacher: singular values m * (3, 2, 1) = (6, 4, 2)."""

DEEP_HIDDEN_LAYERS, DEEP_EPS = 3, 1e-2
"""The deeper student (4 weight matrices); it starts at a larger eps because its early growth rate
is proportional to eps^(1 - 2/N_W)."""

LEARNING_RATES = (1e-3, 3e-3, 1e-2, 3e-2)
"""Learning rates of the comparison of gradient descent with gradient flow."""


@dataclass(frozen=True)
class ModeResult:
    """One-hidden-layer students on noisy rank-3 teachers, one data set per seed.

    Attributes:
        data: the data sets, one per seed (the later experiments of the chapter reuse them).
        s_bar: the teacher's singular values, ``(RANK,)``.
        s_hat: the data's strengths of the signal modes, ``(seed, mode)``.
        epochs: recorded epochs, ``(T,)``.
        theory: the closed form at each seed's ``s_hat``, ``(T, seed, mode)``.
        aligned: measured strengths, aligned initialisation, ``(T, seed, mode)``.
        random: measured strengths, Haar-random initialisation, ``(T, seed, mode)``.
        half_theory: predicted half-learning times, ``(seed, mode)``.
        half_aligned: measured half-learning times, aligned initialisation, ``(seed, mode)``.
        half_random: measured half-learning times, random initialisation, ``(seed, mode)``.
        u_overlap: ``|u_a(t) . u_hat_a|`` of the random student's a-th left singular vector of
            W(t), ``(T, seed, mode)``; v_overlap: the same for the right singular vectors.
        eps_random: the random student's effective initial strength of each mode, ``(seed, mode)``.
        random_theory: the closed form at ``eps_random``, ``(T, seed, mode)``.
        half_random_theory: its half times, ``(seed, mode)``.
    """

    data: NoisyData
    s_bar: np.ndarray
    s_hat: np.ndarray
    epochs: np.ndarray
    theory: np.ndarray
    aligned: np.ndarray
    random: np.ndarray
    half_theory: np.ndarray
    half_aligned: np.ndarray
    half_random: np.ndarray
    u_overlap: np.ndarray
    v_overlap: np.ndarray
    eps_random: np.ndarray
    random_theory: np.ndarray
    half_random_theory: np.ndarray

    @property
    def align_time(self) -> np.ndarray:
        """Epochs until ``|u_a . u_hat_a| |v_a . v_hat_a|`` of the random student reaches 1/2."""
        return empirical_half_time(
            self.epochs, self.u_overlap * self.v_overlap, np.ones_like(self.s_hat)
        )

    @property
    def deviation(self) -> float:
        """Largest ``|s_aligned - s_theory| / s_hat`` over epochs, seeds and modes."""
        return float(np.max(np.abs(self.aligned - self.theory) / self.s_hat))

    @property
    def bulk_top(self) -> float:
        """The largest noise mode of the data (mean over seeds)."""
        return float(self.data.s_hat[:, RANK].mean())

    @property
    def order(self) -> list[list[int]]:
        """Per seed, the modes (1-based) in the order they reach half strength."""
        return (np.argsort(self.half_aligned, axis=1) + 1).tolist()

    @property
    def lag(self) -> np.ndarray:
        """Seed-mean ratio of random-init to aligned-init half times, ``(mode,)``."""
        return (self.half_random / self.half_aligned).mean(axis=0)


@dataclass(frozen=True)
class HalfTimeResult:
    """Half-learning times against the singular value and against the initial strength.

    Attributes:
        s_bar: rank-1 teacher strengths, ``(n_sweep,)``.
        s_hat: the data's strength of each rank-1 mode, ``(n_sweep,)``.
        half: measured half times of the rank-1 modes, ``(n_sweep,)``.
        half_theory: predicted half times of the rank-1 modes, ``(n_sweep,)``.
        eps: initial strengths, ``(n_eps,)``.
        eps_half: measured half times of the main data's modes, ``(eps, seed, mode)``.
        eps_half_theory: predicted half times, ``(eps, seed, mode)``.
        slope: seed-mean least-squares slope of ``t_1/2`` against ``ln(1/eps)``, ``(mode,)``.
        slope_theory: seed mean of the predicted slope ``tau / (2 s_hat)``, ``(mode,)``.
    """

    s_bar: np.ndarray
    s_hat: np.ndarray
    half: np.ndarray
    half_theory: np.ndarray
    eps: np.ndarray
    eps_half: np.ndarray
    eps_half_theory: np.ndarray
    slope: np.ndarray
    slope_theory: np.ndarray


@dataclass(frozen=True)
class DeepResult:
    """Students with ``hidden_layers`` hidden layers on the main data sets.

    Attributes:
        hidden_layers: hidden layers of the students (``hidden_layers + 1`` weight matrices).
        eps: their initial strength per mode.
        s_hat: the data's strengths of the signal modes, ``(seed, mode)``.
        epochs: recorded epochs, ``(T,)``.
        theory: the deep ODE's solution at each seed's ``s_hat``, ``(T, seed, mode)``.
        aligned: measured strengths, aligned initialisation, ``(T, seed, mode)``.
        random: measured strengths, Haar-random initialisation, ``(T, seed, mode)``.
        half_theory: predicted half-learning times, ``(seed, mode)``.
        half_aligned: measured half-learning times, aligned initialisation, ``(seed, mode)``.
        half_random: measured half-learning times, random initialisation, ``(seed, mode)``.
    """

    hidden_layers: int
    eps: float
    s_hat: np.ndarray
    epochs: np.ndarray
    theory: np.ndarray
    aligned: np.ndarray
    random: np.ndarray
    half_theory: np.ndarray
    half_aligned: np.ndarray
    half_random: np.ndarray

    @property
    def half_error(self) -> float:
        """Largest relative error, over modes, of the seed-mean aligned half time."""
        ratio = self.half_aligned.mean(axis=0) / self.half_theory.mean(axis=0)
        return float(np.max(np.abs(ratio - 1)))

    @property
    def lag(self) -> np.ndarray:
        """Seed-mean ratio of random-init to aligned-init half times, ``(mode,)``."""
        return (self.half_random / self.half_aligned).mean(axis=0)


@dataclass(frozen=True)
class LearningRateResult:
    """Gradient descent against gradient flow at several learning rates (aligned, mode space).

    Attributes:
        lr: learning rates, ``(n_lr,)``; each run lasts the same time ``sizes.epochs * setup.lr``.
        deviation: largest ``|s_GD - s_flow| / s_hat`` over epochs, seeds and modes, ``(n_lr,)``.
    """

    lr: np.ndarray
    deviation: np.ndarray


_NO_DATA = object()


def _check(setup, sizes, data=_NO_DATA):
    if not isinstance(setup, LGSetup):
        raise ArgumentTypeError(f"setup must be an LGSetup, got {type(setup).__name__}")
    if not isinstance(sizes, SVDDynamicsSizes):
        raise ArgumentTypeError(
            f"sizes must be an SVDDynamicsSizes (get_scale(...).svd_dynamics), got "
            f"{type(sizes).__name__}"
        )
    if data is not _NO_DATA:
        if not isinstance(data, NoisyData):
            raise ArgumentTypeError(
                f"data must be a NoisyData (ModeResult.data), got {type(data).__name__}"
            )
        if data.s_hat.shape[1] <= RANK:
            raise ValueError(f"data needs more than {RANK} modes, got {data.s_hat.shape[1]}")


def _pair(name, value):
    pair = as_float_array(name, value, ndim=1)
    if pair.size != 2:
        raise ValueError(f"{name} must be two numbers (low, high), got {value!r}")
    return pair


def _train(setup, sizes, data, **kwargs):
    # Full matrices unless method='modes' is passed: the aligned main and deep students test the
    # full dynamics, not only its exact mode-space reduction (which the sweeps use for speed).
    kw = dict(hidden=sizes.hidden, eps=setup.eps, lr=setup.lr, record_every=sizes.record_every)
    return simulate_gd(data, **{**kw, "epochs": sizes.epochs, **kwargs})


def _effective_eps(data, Ws):
    V, U = data.V_hat[:, :, :RANK], data.U_hat[:, :, :RANK]
    c = (Ws[0] @ V + np.swapaxes(Ws[1], 1, 2) @ U) / 2  # (seed, hidden, mode)
    q = np.linalg.qr(c)[0]  # hidden directions of the modes, strongest first
    return np.einsum("bhk,bhk->bk", q, c) ** 2


def _trajectories(epochs, s_hat, *, eps, tau, n_weights=2):
    return np.stack(
        [
            predicted_mode_strength(epochs, sh, eps=eps, tau=tau, n_weights=n_weights)
            for sh in s_hat
        ],
        axis=1,
    )


def run_modes(setup: LGSetup, sizes: SVDDynamicsSizes, *, rng: np.random.Generator) -> ModeResult:
    """Train aligned and random one-hidden-layer students on rank-3 noisy teachers.

    Args:
        setup: noise, learning rate and initial strength.
        sizes: ``n_in``, ``n_out``, ``hidden``, ``n_seeds``, ``epochs`` and ``record_every``.
        rng: draws the teachers, the noise and the random initialisations, in that order.

    Returns:
        A :class:`ModeResult`.
    """
    _check(setup, sizes)
    check_rng(rng)
    s_bar = snr_singular_values(RANK, MULTIPLIER)
    data = setup.draw(sizes.n_in, sizes.n_out, s_bar, sizes.n_seeds, rng=rng)
    s_hat = data.s_hat[:, :RANK]
    aligned = _train(setup, sizes, data, init="aligned")
    child = rng.spawn(1)[0]
    init = _random_init(data, sizes.hidden, 2, setup.eps, copy.deepcopy(child))
    random = _train(setup, sizes, data, init="random", rng=child, record_svd=RANK)
    t = aligned.steps
    eps_r = _effective_eps(data, init)
    per_mode = [
        [(sh, float(e)) for sh, e in zip(s_row, e_row, strict=True)]
        for s_row, e_row in zip(s_hat, eps_r, strict=True)
    ]
    kw = dict(tau=setup.tau)
    return ModeResult(
        data=data,
        s_bar=s_bar,
        s_hat=s_hat,
        epochs=t,
        theory=_trajectories(t, s_hat, eps=setup.eps, tau=setup.tau),
        aligned=aligned.mode_strength[:, :, :RANK],
        random=random.mode_strength[:, :, :RANK],
        half_theory=predicted_half_time(s_hat, eps=setup.eps, tau=setup.tau),
        half_aligned=empirical_half_time(t, aligned.mode_strength[:, :, :RANK], s_hat),
        half_random=empirical_half_time(t, random.mode_strength[:, :, :RANK], s_hat),
        u_overlap=np.abs(np.diagonal(random.svd_u_overlap, axis1=2, axis2=3)),
        v_overlap=np.abs(np.diagonal(random.svd_v_overlap, axis1=2, axis2=3)),
        eps_random=eps_r,
        random_theory=np.moveaxis(
            np.array(
                [[predicted_mode_strength(t, sh, eps=e, **kw) for sh, e in row] for row in per_mode]
            ),
            -1,
            0,
        ),
        half_random_theory=np.array(
            [[predicted_half_time(sh, eps=e, **kw) for sh, e in row] for row in per_mode]
        ),
    )


def run_half_times(
    setup: LGSetup,
    sizes: SVDDynamicsSizes,
    data: NoisyData,
    *,
    rng: np.random.Generator,
    s_bar_range: tuple[float, float] = (1.5, 10.0),
    log10_eps_range: tuple[float, float] = (-8.0, -1.5),
) -> HalfTimeResult:
    """Half times of rank-1 teachers over ``s_bar``, and of ``data``'s modes over ``eps``.

    Both sweeps start aligned and run in mode space, where the modes decouple exactly.

    Args:
        setup: noise, learning rate and initial strength (of the ``s_bar`` sweep).
        sizes: as in :func:`run_modes`; ``n_sweep`` points per sweep.
        data: the data sets of :func:`run_modes` (``ModeResult.data``), rerun at every ``eps``.
        rng: draws the rank-1 teachers, then their noise.
        s_bar_range: smallest and largest rank-1 teacher strength.
        log10_eps_range: smallest and largest ``log10(eps)``.

    Returns:
        A :class:`HalfTimeResult`.
    """
    _check(setup, sizes, data)
    check_rng(rng)
    lo, hi = _pair("s_bar_range", s_bar_range)
    if not 2 * setup.eps < lo < hi:
        raise ValueError(f"s_bar_range must be increasing and above 2 eps, got {s_bar_range!r}")
    e_lo, e_hi = _pair("log10_eps_range", log10_eps_range)
    if not e_lo < e_hi < np.log10(data.s_hat[:, RANK - 1].min() / 2):
        raise ValueError(
            f"log10_eps_range must be increasing, with 2 eps below every s_hat, got "
            f"{log10_eps_range!r}"
        )
    s_bar = np.linspace(lo, hi, sizes.n_sweep)
    sweep_data = setup.draw(sizes.n_in, sizes.n_out, s_bar[:, None], 1, rng=rng)
    sweep = _train(setup, sizes, sweep_data, method="modes")
    sweep_s_hat = sweep_data.s_hat[:, 0]
    s_hat = data.s_hat[:, :RANK]
    eps_grid = np.logspace(e_lo, e_hi, sizes.n_sweep)
    eps_half = np.stack(
        [
            empirical_half_time(r.steps, r.mode_strength[:, :, :RANK], s_hat)
            for r in (_train(setup, sizes, data, method="modes", eps=e) for e in eps_grid)
        ]
    )  # (eps, seed, mode)
    slope = np.polyfit(np.log(1 / eps_grid), eps_half.reshape(eps_grid.size, -1), 1)[0]
    return HalfTimeResult(
        s_bar=s_bar,
        s_hat=sweep_s_hat,
        half=empirical_half_time(sweep.steps, sweep.mode_strength[:, :, 0], sweep_s_hat),
        half_theory=predicted_half_time(sweep_s_hat, eps=setup.eps, tau=setup.tau),
        eps=eps_grid,
        eps_half=eps_half,
        eps_half_theory=np.stack(
            [predicted_half_time(s_hat, eps=e, tau=setup.tau) for e in eps_grid]
        ),
        slope=slope.reshape(s_hat.shape).mean(axis=0),
        slope_theory=(setup.tau / (2 * s_hat)).mean(axis=0),
    )


def run_deep(
    setup: LGSetup,
    sizes: SVDDynamicsSizes,
    data: NoisyData,
    *,
    rng: np.random.Generator,
    hidden_layers: int = DEEP_HIDDEN_LAYERS,
    eps: float = DEEP_EPS,
) -> DeepResult:
    """Train aligned and random students with ``hidden_layers`` hidden layers on ``data``.

    Args:
        setup: noise and learning rate (its ``eps`` is replaced by ``eps``).
        sizes: ``hidden`` units per hidden layer, ``deep_epochs`` and ``record_every``.
        data: the data sets of :func:`run_modes` (``ModeResult.data``).
        rng: draws the random initialisations.
        hidden_layers: hidden layers of the students.
        eps: initial strength of every mode of the product map.

    Returns:
        A :class:`DeepResult`.
    """
    _check(setup, sizes, data)
    check_rng(rng)
    hidden_layers = check_int("hidden_layers", hidden_layers)
    deep = replace(setup, eps=eps)
    s_hat = data.s_hat[:, :RANK]
    if not np.all(s_hat > 2 * deep.eps):
        raise ValueError(f"eps must be below s_hat / 2 = {s_hat.min() / 2:g}, got {eps!r}")
    kw = dict(hidden_layers=hidden_layers, epochs=sizes.deep_epochs)
    aligned = _train(deep, sizes, data, init="aligned", **kw)
    random = _train(deep, sizes, data, init="random", rng=rng.spawn(1)[0], **kw)
    t, n_w = aligned.steps, hidden_layers + 1
    return DeepResult(
        hidden_layers=hidden_layers,
        eps=deep.eps,
        s_hat=s_hat,
        epochs=t,
        theory=_trajectories(t, s_hat, eps=deep.eps, tau=deep.tau, n_weights=n_w),
        aligned=aligned.mode_strength[:, :, :RANK],
        random=random.mode_strength[:, :, :RANK],
        half_theory=predicted_half_time(s_hat, eps=deep.eps, tau=deep.tau, n_weights=n_w),
        half_aligned=empirical_half_time(t, aligned.mode_strength[:, :, :RANK], s_hat),
        half_random=empirical_half_time(t, random.mode_strength[:, :, :RANK], s_hat),
    )


def run_learning_rates(
    setup: LGSetup, sizes: SVDDynamicsSizes, data: NoisyData, *, lrs=LEARNING_RATES
) -> LearningRateResult:
    """Deviation of aligned gradient descent from the gradient flow at several learning rates.

    Each run lasts ``sizes.epochs * setup.lr / lr`` epochs (the same time in units of tau) and
    records every epoch; no randomness is involved.

    Args:
        setup: noise and initial strength (its learning rate fixes the duration).
        sizes: ``hidden`` and ``epochs``.
        data: the data sets of :func:`run_modes` (``ModeResult.data``).
        lrs: learning rates, each > 0.

    Returns:
        A :class:`LearningRateResult`.
    """
    _check(setup, sizes, data)
    lrs = as_float_array("lrs", lrs, ndim=1)
    if lrs.size == 0 or np.any(lrs <= 0) or np.any(lrs > setup.lr * sizes.epochs):
        raise ValueError(f"lrs must be positive and at most lr * epochs, got {lrs!r}")
    s_hat = data.s_hat[:, :RANK]
    dev = []
    for lr in lrs:
        epochs = int(sizes.epochs * setup.lr / lr)
        run = _train(setup, sizes, data, method="modes", lr=lr, epochs=epochs, record_every=1)
        th = _trajectories(run.steps, s_hat, eps=setup.eps, tau=1 / lr)
        dev.append(np.max(np.abs(run.mode_strength[:, :, :RANK] - th) / s_hat))
    return LearningRateResult(lr=lrs, deviation=np.array(dev))
