"""Variations on the setting of chapter 2: Lampinen & Ganguli (2019), "An analytic theory of
generalization dynamics and transfer learning in deep linear networks", arXiv:1809.10374.

What the best test error does not depend on (random against training-aligned initialisation, the
paper's Fig. 3c; the hidden width) and what the data change (P != N1 examples on orthogonal inputs;
structured against randomised targets). As in :mod:`dltheory.experiments.early_stopping`, each
``run_*`` draws from ``rng`` in a fixed order.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from dltheory._checks import check_int, check_positive
from dltheory.config import EarlyStoppingSizes
from dltheory.experiments._fine_lines import examples_lines
from dltheory.experiments._grid import Grid
from dltheory.experiments.early_stopping import _check_common, _train, snr_grid
from dltheory.experiments.early_stopping_claims import (
    _predicted_t_half,
    predicted_shuffled_edge,
    predicted_spectra,
)
from dltheory.experiments.lampinen_ganguli import LGSetup
from dltheory.linear_nets import GDRecord, empirical_optimal_stopping, simulate_gd
from dltheory.teachers import (
    data_from_targets,
    low_rank_teacher,
    noisy_data_examples,
    snr_singular_values,
)
from dltheory.theory.generalization import (
    predicted_error_curves,
    predicted_error_curves_examples,
    predicted_optimal_stopping,
)

__all__ = [
    "RandomInitResult",
    "WidthResult",
    "ExamplesResult",
    "RandomisedResult",
    "run_random_init",
    "run_hidden_width",
    "run_examples",
    "run_randomised",
]


@dataclass(frozen=True)
class RandomInitResult:
    """Random against training-aligned initialisation on the same data: curves and optimal stopping.

    Attributes:
        grid: ``snr`` (rank 1) x seed.
        epochs: recorded epochs, ``(T,)``.
        aligned_train, aligned_test: aligned initialisation, ``(T, snr, seed)``.
        random_train, random_test: random initialisation, ``(T, snr, seed)``.
        predicted_train, predicted_test: the aligned-initialisation theory, ``(T, snr)``.
        aligned_t_opt, aligned_min_error: aligned initialisation, ``(snr, seed)``.
        random_t_opt, random_min_error: random initialisation, ``(snr, seed)``.
    """

    grid: Grid
    epochs: np.ndarray
    aligned_train: np.ndarray
    aligned_test: np.ndarray
    random_train: np.ndarray
    random_test: np.ndarray
    predicted_train: np.ndarray
    predicted_test: np.ndarray
    aligned_t_opt: np.ndarray
    aligned_min_error: np.ndarray
    random_t_opt: np.ndarray
    random_min_error: np.ndarray

    @property
    def shown(self) -> list[tuple[int, float]]:
        """``(position, snr)`` on the ``snr`` axis of the SNRs 2 and 4 the chapter's figure shows."""
        snrs = self.grid.axes["snr"]
        return [(k, float(s)) for k, s in enumerate(snrs) if np.isclose(s, [2, 4]).any()]

    def curves(self, which: str, k: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The ``which`` (``"train"`` or ``"test"``) error curves at SNR position ``k``: predicted
        ``(T,)``, then aligned and random ``(seed, T)``."""
        get = {"train": (self.predicted_train, self.aligned_train, self.random_train)}
        get["test"] = (self.predicted_test, self.aligned_test, self.random_test)
        th, al, rd = get[which]
        return th[:, k], al[:, k].T, rd[:, k].T

    @property
    def lag_pct(self) -> np.ndarray:
        """Alignment lag of the stopping time, 100 (mean random t_opt / mean aligned t_opt - 1),
        ``(snr,)``."""
        return 100 * (self.random_t_opt.mean(axis=-1) / self.aligned_t_opt.mean(axis=-1) - 1)


def run_random_init(
    setup: LGSetup, sizes: EarlyStoppingSizes, *, rng: np.random.Generator
) -> RandomInitResult:
    """Random against aligned initialisation, paired on the same data sets (Lampinen & Ganguli 2019,
    Fig. 3c).

    Rank-1 teachers at every SNR of :func:`snr_grid` below 10 (``random_all_snrs``) or at SNR 4
    only, ``n_seeds_random`` each. Draws the data (two spawned children), then one child for the
    random initialisations; random initialisation couples the modes, so it runs on full matrices.

    Args:
        setup: the physical parameters.
        sizes: chapter 2's sizes.
        rng: source of randomness.

    Returns:
        A :class:`RandomInitResult`.
    """
    _check_common(setup, sizes, rng)
    snrs = snr_grid(setup, sizes)
    grid = Grid(
        axes={"snr": snrs[snrs < 10] if sizes.random_all_snrs else np.array([4.0])},
        n_seeds=sizes.n_seeds_random,
    )
    data = setup.draw(sizes.n_in, sizes.n_out, grid.axes["snr"][:, None], grid.n_seeds, rng=rng)
    run_r = _train(setup, sizes, data, init="random", rng=rng.spawn(1)[0])
    run_a = _train(setup, sizes, data)
    t_r, e_r = (
        grid.unflatten(x) for x in empirical_optimal_stopping(run_r.steps, run_r.test_error)
    )
    t_a, e_a = (
        grid.unflatten(x) for x in empirical_optimal_stopping(run_a.steps, run_a.test_error)
    )
    theory = predicted_error_curves(
        run_a.steps, grid.axes["snr"][:, None], hidden=sizes.hidden,
        **setup.theory(sizes.n_in, sizes.n_out),
    )  # fmt: skip
    return RandomInitResult(
        grid=grid,
        epochs=run_a.steps,
        aligned_train=grid.unflatten(run_a.train_error, 1),
        aligned_test=grid.unflatten(run_a.test_error, 1),
        random_train=grid.unflatten(run_r.train_error, 1),
        random_test=grid.unflatten(run_r.test_error, 1),
        predicted_train=theory.train,
        predicted_test=theory.test,
        aligned_t_opt=t_a,
        aligned_min_error=e_a,
        random_t_opt=t_r,
        random_min_error=e_r,
    )


@dataclass(frozen=True)
class WidthResult:
    """Test error of students of several hidden widths trained on the same data sets.

    Attributes:
        grid: ``hidden`` width x seed.
        epochs: recorded epochs, ``(T,)``.
        test_error: measured, ``(T, hidden, seed)``.
        predicted_test: predicted, ``(T, hidden)``.
        min_error: per run, the smallest recorded test error, ``(hidden, seed)``.
        predicted_min_error: predicted, ``(hidden,)``.
    """

    grid: Grid
    epochs: np.ndarray
    test_error: np.ndarray
    predicted_test: np.ndarray
    min_error: np.ndarray
    predicted_min_error: np.ndarray

    @property
    def late_error(self) -> np.ndarray:
        """Test error at the last recorded epoch, ``(hidden, seed)``."""
        return self.test_error[-1]

    @property
    def predicted_late_error(self) -> np.ndarray:
        """Predicted test error at the last recorded epoch, ``(hidden,)``."""
        return self.predicted_test[-1]

    @property
    def spread(self) -> float:
        """(max - min) / mean over widths of the seed-mean minimal test error."""
        m = self.min_error.mean(axis=-1)
        return float((m.max() - m.min()) / m.mean())

    @property
    def predicted_spread(self) -> float:
        """The same for the predicted minimal test errors."""
        m = self.predicted_min_error
        return float((m.max() - m.min()) / m.mean())

    @property
    def spread_se(self) -> float:
        """Jackknife standard error of :attr:`spread` over the seeds (left out jointly for every
        width, since the widths share their data sets)."""
        n = self.min_error.shape[-1]
        loo = []
        for k in range(n):
            m = np.delete(self.min_error, k, axis=-1).mean(axis=-1)
            loo.append((m.max() - m.min()) / m.mean())
        loo = np.array(loo)
        return float(np.sqrt((n - 1) / n * np.sum((loo - loo.mean()) ** 2)))


def run_hidden_width(
    setup: LGSetup,
    sizes: EarlyStoppingSizes,
    *,
    rng: np.random.Generator,
    widths=(1, 5, 20, 50),
    s_bar: float = 3.0,
    init: str = "aligned",
) -> WidthResult:
    """The best test error hardly depends on the hidden width (Lampinen & Ganguli 2019, the
    hidden-size experiment of the supplement).

    Draws rank-1 data sets (two spawned children) and trains a student of every width on each of
    them, so the widths differ on the same data: ``n_seeds`` data sets from aligned initialisation
    (mode space), or ``n_seeds_random`` from random initialisation (full matrices, one spawned
    child per width for the initial weights).

    Args:
        setup: the physical parameters.
        sizes: chapter 2's sizes.
        rng: source of randomness.
        widths: hidden widths N2 >= 1.
        s_bar: the teacher's SNR, > 0.
        init: ``"aligned"`` or ``"random"``; the prediction is the aligned-initialisation theory.

    Returns:
        A :class:`WidthResult`.
    """
    _check_common(setup, sizes, rng)
    if not isinstance(widths, tuple | list) or not widths:
        raise ValueError(f"widths must be a non-empty tuple of hidden widths, got {widths!r}")
    widths = [check_int("widths", w) for w in widths]
    s_bar = check_positive("s_bar", s_bar)
    if init not in ("aligned", "random"):
        raise ValueError(f"init must be 'aligned' or 'random', got {init!r}")
    seeds = sizes.n_seeds if init == "aligned" else sizes.n_seeds_random
    grid = Grid(axes={"hidden": np.array(widths)}, n_seeds=seeds)
    theory = setup.theory(sizes.n_in, sizes.n_out)
    data = setup.draw(sizes.n_in, sizes.n_out, [[s_bar]], grid.n_seeds, rng=rng)
    runs: list[GDRecord] = [
        _train(
            setup, sizes, data, hidden=n2, init=init,
            rng=rng.spawn(1)[0] if init == "random" else None,
        )
        for n2 in widths
    ]  # fmt: skip
    t = runs[0].steps
    return WidthResult(
        grid=grid,
        epochs=t,
        test_error=np.stack([r.test_error for r in runs], axis=1),
        predicted_test=np.stack(
            [predicted_error_curves(t, [s_bar], hidden=n2, **theory).test for n2 in widths], axis=1
        ),
        min_error=np.stack([empirical_optimal_stopping(t, r.test_error)[1] for r in runs]),
        predicted_min_error=np.array(
            [predicted_optimal_stopping([s_bar], hidden=n2, **theory)[1] for n2 in widths]
        ),
    )


@dataclass(frozen=True)
class ExamplesResult:
    """Test error with P orthogonal examples, P != N1 (N1 = N2 = N3), predicted beside measured.

    Attributes:
        grid: ``snr`` x ``n_examples`` (P) x seed.
        n: N1 = N2 = N3.
        epochs: recorded epochs, ``(T,)``.
        train_error, test_error: measured, ``(T, snr, n_examples, seed)``.
        predicted_train, predicted_test: predicted, ``(T, snr, n_examples)``.
        fine: theory lines at every integer P (:func:`~dltheory.experiments._fine_lines.examples_lines`).
    """

    grid: Grid
    n: int
    epochs: np.ndarray
    train_error: np.ndarray
    test_error: np.ndarray
    predicted_train: np.ndarray
    predicted_test: np.ndarray
    fine: dict

    @property
    def min_error(self) -> np.ndarray:
        """Seed mean of each run's smallest recorded test error, ``(snr, n_examples)``."""
        return self.test_error.min(axis=0).mean(axis=-1)

    @property
    def predicted_min_error(self) -> np.ndarray:
        """Smallest predicted test error over the recorded epochs, ``(snr, n_examples)``."""
        return self.predicted_test.min(axis=0)

    @property
    def late_error(self) -> np.ndarray:
        """Seed mean of the test error at the last epoch, ``(snr, n_examples)``."""
        return self.test_error[-1].mean(axis=-1)

    @property
    def predicted_late_error(self) -> np.ndarray:
        """Predicted test error at the last epoch, ``(snr, n_examples)``."""
        return self.predicted_test[-1]

    @property
    def best_falls_late_peaks(self) -> list[bool]:
        """Per SNR, whether the measured best error falls from the smallest P to P = N1 to the
        largest P while the measured error at the end of training is largest at P = N1."""
        i = self.grid.index("n_examples", self.n)
        return [
            bool(m[0] > m[i] > m[-1] and late[i] > max(late[0], late[-1]))
            for m, late in zip(self.min_error, self.late_error, strict=True)
        ]


def run_examples(
    setup: LGSetup, sizes: EarlyStoppingSizes, *, rng: np.random.Generator
) -> ExamplesResult:
    """Learning from P orthogonal examples, fewer or more than the N1 input directions.

    The paper varies P in its experiment on the number of examples; the closed form for P != N1 is
    this book's derivation (:func:`dltheory.theory.generalization.predicted_error_curves_examples`).
    For each SNR, then each P, draws ``examples_seeds`` teachers and data sets (one spawned child
    each) and trains students of width N2 = N1 = N3 from aligned initialisation on the full weight
    matrices (Sigma^11 != I), in single precision.

    Args:
        setup: the physical parameters.
        sizes: chapter 2's sizes (``examples_*``).
        rng: source of randomness.

    Returns:
        An :class:`ExamplesResult`.
    """
    _check_common(setup, sizes, rng)
    n = sizes.examples_n
    grid = Grid(
        axes={"snr": np.array(sizes.examples_snrs), "n_examples": np.array(sizes.examples_grid)},
        n_seeds=sizes.examples_seeds,
    )
    runs, curves = [], []  # (train, test) per condition
    for snr in grid.axes["snr"]:
        for p in grid.axes["n_examples"]:  # one batch per condition: the inputs differ in shape
            s_bar = np.full((grid.n_seeds, 1), snr)
            teacher = low_rank_teacher(n, n, s_bar, rng=rng.spawn(1)[0])
            data = noisy_data_examples(
                teacher, int(p), noise_std=setup.noise_std, rng=rng.spawn(1)[0]
            )
            run = simulate_gd(
                data, hidden=n, eps=setup.eps, lr=setup.lr, epochs=sizes.examples_epochs,
                record_every=sizes.record_every, dtype="float32",
            )  # fmt: skip
            runs.append((run.train_error, run.test_error))
            pred = predicted_error_curves_examples(
                run.steps, [snr], n_in=n, n_out=n, n_examples=int(p), hidden=n, eps=setup.eps,
                tau=setup.tau, noise_std=setup.noise_std,
            )  # fmt: skip
            curves.append((pred.train, pred.test))
    sim = [grid.unflatten(np.concatenate(x, axis=1), 1) for x in zip(*runs, strict=True)]
    th = [np.stack(x, axis=1).reshape(-1, *grid.shape[:-1]) for x in zip(*curves, strict=True)]
    return ExamplesResult(
        grid=grid,
        n=n,
        epochs=run.steps,
        train_error=sim[0],
        test_error=sim[1],
        predicted_train=th[0],
        predicted_test=th[1],
        fine=examples_lines(setup, n, grid.axes["snr"], grid.axes["n_examples"], run.steps),
    )


@dataclass(frozen=True)
class RandomisedResult:
    """Structured targets against the same targets shuffled, both fitted from random initialisation.

    Attributes:
        grid: ``targets`` (structured, randomised) x seed.
        epochs: recorded epochs, ``(T,)``.
        s_hat: singular values of Sigma^31, ``(targets, seed, N3)``.
        train_error: ``(T, targets, seed)``.
        t_half: first recorded epoch with training error below ``half``, inf if never,
            ``(targets, seed)``.
        predicted_t_half: predicted t_half from training-aligned theory, ``(targets,)``: the
            structured data's outliers and bulk (``predicted_error_curves``), and for the shuffled
            data a Marchenko-Pastur bulk of all N3 modes stretched by the entries' variance
            (:func:`dltheory.experiments.early_stopping_claims.predicted_shuffled_edge`).
        predicted_top_ratio: predicted top singular value of the shuffled over the structured
            targets, the stretched bulk edge over s_hat(s_bar_1).
        predicted_s_hat: predicted sorted singular values, ``(targets, N3)``
            (:func:`dltheory.experiments.early_stopping_claims.predicted_spectra`).
        record_every: epochs between recorded snapshots (t_half is quantised to it).
    """

    grid: Grid
    epochs: np.ndarray
    s_hat: np.ndarray
    train_error: np.ndarray
    t_half: np.ndarray
    predicted_t_half: np.ndarray
    predicted_top_ratio: float
    predicted_s_hat: np.ndarray
    record_every: int

    @property
    def predicted_slowdown(self) -> float:
        """Predicted ratio of the times to the training error ``half``, randomised over structured."""
        return float(self.predicted_t_half[1] / self.predicted_t_half[0])

    @property
    def quantisation(self) -> float:
        """Largest change of the measured slowdown from timing on the grid of recorded epochs:
        each t_half is late by less than ``record_every``."""
        t_s = self.t_half[0].min()
        return float(self.predicted_slowdown * self.record_every / t_s)

    @property
    def top_ratio(self) -> np.ndarray:
        """Top singular value of the randomised over the structured targets, per seed."""
        return self.s_hat[1, :, 0] / self.s_hat[0, :, 0]

    @property
    def slowdown(self) -> np.ndarray:
        """Time to reach the training error ``half``, randomised over structured, per seed."""
        return self.t_half[1] / self.t_half[0]


def _time_below(run: GDRecord, level: float) -> np.ndarray:
    below = run.train_error < level
    return np.where(below.any(axis=0), run.steps[np.argmax(below, axis=0)], np.inf)


def run_randomised(
    setup: LGSetup,
    sizes: EarlyStoppingSizes,
    *,
    rng: np.random.Generator,
    multiplier: float = 10.0,
    half: float = 0.5,
) -> RandomisedResult:
    """Structured targets are fitted faster than randomised ones (Lampinen & Ganguli 2019, the
    randomised-data experiment).

    The paper does not spell out its randomisation; the book shuffles the entries of each target
    matrix, which keeps their mean and variance but spreads the three teacher modes over all N3.
    Draws ``n_seeds_random`` rank-3 data sets (two spawned children), one child per data set for
    its shuffle, then one child each for the random initialisations of the two trainings.

    Args:
        setup: the physical parameters.
        sizes: chapter 2's sizes.
        rng: source of randomness.
        multiplier: the teacher's singular values are multiplier * (3, 2, 1), > 0.
        half: training-error level whose first crossing is timed, in (0, 1).

    Returns:
        A :class:`RandomisedResult`.
    """
    _check_common(setup, sizes, rng)
    multiplier = check_positive("multiplier", multiplier)
    half = check_positive("half", half)
    if half >= 1:
        raise ValueError(f"half must lie in (0, 1), got {half!r}")
    grid = Grid(
        axes={"targets": np.array(["structured", "randomised"])}, n_seeds=sizes.n_seeds_random
    )
    struct = setup.draw(
        sizes.n_in, sizes.n_out, snr_singular_values(3, multiplier), grid.n_seeds, rng=rng
    )
    shuffle_rngs = rng.spawn(struct.batch)
    shuffled = np.stack(
        [
            r.permutation(y.ravel()).reshape(y.shape)
            for r, y in zip(shuffle_rngs, struct.sigma31, strict=True)
        ]
    )
    randomised = data_from_targets(struct.teacher, shuffled, noise_std=setup.noise_std)
    runs = [
        _train(setup, sizes, d, init="random", rng=rng.spawn(1)[0]) for d in (struct, randomised)
    ]
    s_bar = snr_singular_values(3, multiplier)
    edge, top = predicted_shuffled_edge(setup, sizes, s_bar)
    return RandomisedResult(
        grid=grid,
        epochs=runs[0].steps,
        s_hat=np.stack([struct.s_hat, randomised.s_hat]),
        train_error=np.stack([r.train_error for r in runs], axis=1),
        t_half=np.stack([_time_below(r, half) for r in runs]),
        predicted_t_half=_predicted_t_half(setup, sizes, s_bar, half),
        predicted_top_ratio=float(edge / top),
        predicted_s_hat=predicted_spectra(setup, sizes, s_bar),
        record_every=sizes.record_every,
    )
