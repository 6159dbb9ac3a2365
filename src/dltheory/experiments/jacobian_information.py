"""The Jacobian's information and nuisance spaces, on the 8x8 digits (chapter 5).

Oymak, Fabian, Li & Soltanolkotabi (2019), "Generalization guarantees for neural networks via
harnessing the low-rank structure of the Jacobian", arXiv:1906.05392. The chapter measures their
abstract's three empirical findings: (i) the Jacobian is effectively low rank; (ii) learning is fast
over the information space (the top singular directions) and most of the label vector lies there;
(iii) label noise falls on the nuisance space (the rest) and impedes optimisation and generalisation.

The book's setting (the paper's experiments use CIFAR-10): ``n = K * per_class`` unit-norm digits,
``K = 10``; :func:`dltheory.nets.two_layer_net` (``f(W_0) = 0``, so ``r_0 = -y``) trained by full-batch
gradient descent on ``0.5 ||f - Y||_F^2`` at ``eta = 1 / lambda_1^2`` of its initial Jacobian ``J``
(``(K n, p)``, rows class-major, ``c * n + i``), whose top ``r = sizes.rank`` left singular vectors
span the information space. Every random draw is made once, by :func:`draw_problem`.
"""

import copy
import time
from collections import defaultdict
from dataclasses import dataclass

import numpy as np
from torch import nn

from dltheory import datasets as ds
from dltheory._checks import check_in_range, check_instance, check_int, check_rng
from dltheory._torch import torch
from dltheory.config import JacobianSizes
from dltheory.experiments._grid import Grid
from dltheory.jacobian import JacobianOperator, Spectrum, label_energy, split_residual, top_singular
from dltheory.nets import three_layer_net, train_gd, two_layer_net
from dltheory.theory import jacobian_split as js

__all__ = [
    "K",
    "JacobianSetup",
    "SETUP",
    "Problem",
    "draw_problem",
    "SpectrumResult",
    "run_spectrum",
    "LabelEnergyResult",
    "run_label_energy",
    "DynamicsResult",
    "run_dynamics",
    "HeldoutResult",
    "run_heldout_alignment",
]

K = 10  # classes of the digits


@dataclass(frozen=True)
class JacobianSetup:
    """Physical parameters of chapter 5 (sizes are in :class:`~dltheory.config.JacobianSizes`).

    Attributes:
        rhos: corruption fractions of the label-energy profile (a fraction ``rho`` of the labels
            moves to a uniformly random other class, :func:`dltheory.datasets.corrupt_labels`).
        rho_train: corruption of the noisy training run.
        fit_step: the step at which the information and nuisance residuals are compared.
        directions: 0-based singular directions whose residual is followed one by one.
        arpack_seed: seed of ARPACK's start vector. Every Lanczos run starts from a fresh
            ``np.random.default_rng(arpack_seed)`` (:meth:`arpack_rng`), so that a spectrum depends on
            its network and data alone, not on how many spectra were computed before it.
    """

    rhos: tuple[float, ...] = (0.0, 0.25, 0.5, 0.75, 1.0)
    rho_train: float = 0.5
    fit_step: int = 100
    directions: tuple[int, ...] = (1, 9, 29, 99, 299)
    arpack_seed: int = 0

    def __post_init__(self):
        for name in ("rhos", "directions"):
            if not isinstance(getattr(self, name), tuple) or not getattr(self, name):
                raise ValueError(f"{name} must be a non-empty tuple, got {getattr(self, name)!r}")
        for rho in self.rhos:
            check_in_range("rhos", rho, 0.0, 1.0)
        for s in self.directions:
            check_int("directions", s, minimum=0)
        check_in_range("rho_train", self.rho_train, 0.0, 1.0)
        check_int("fit_step", self.fit_step)
        check_int("arpack_seed", self.arpack_seed, minimum=0)

    @property
    def rho_random(self) -> float:
        """The corruption ``1 - 1/K`` at which the labels are independent of the images."""
        return 1 - 1 / K

    def arpack_rng(self) -> np.random.Generator:
        """A fresh generator for ARPACK's start vector (the same vector on every call)."""
        return np.random.default_rng(self.arpack_seed)


SETUP = JacobianSetup()  # the setting of chapter 5


@dataclass(frozen=True)
class Problem:
    """Everything chapter 5 draws at random, drawn once by :func:`draw_problem`.

    Attributes:
        setup, sizes: the physical parameters and the sizes.
        data, data_centred: the train/test split, raw pixels and pixels centred by the training mean.
        net0, deep0: the two- and three-layer networks at their initial weights (float64).
        labels_noisy: training labels with a fraction ``setup.rho_train`` corrupted.
        labels_rho: one corruption draw per ``setup.rhos`` (the clean labels at ``rho = 0``).
        labels_random: labels corrupted at ``setup.rho_random``, independent of the images.
        heldout: ``sizes.heldout_per_class`` images per class, indices into the test split.
    """

    setup: JacobianSetup
    sizes: JacobianSizes
    data: ds.Digits
    data_centred: ds.Digits
    net0: nn.Module
    deep0: nn.Module
    labels_noisy: np.ndarray
    labels_rho: tuple[np.ndarray, ...]
    labels_random: np.ndarray
    heldout: np.ndarray

    @property
    def labels(self) -> np.ndarray:
        """``(n,)`` clean training classes."""
        return self.data.labels_train

    def glue(self) -> dict:
        """The sizes the chapter's prose quotes."""
        names = ("per_class", "width", "rank", "steps", "dense_steps", "deep_width", "deep_steps")
        sizes = {name: getattr(self.sizes, name) for name in names}
        counts = dict(n_train=self.labels.size, n_test=self.data.labels_test.size)
        return sizes | counts | {"heldout_n": self.heldout.size}


def _stacked(labels) -> np.ndarray:
    return ds.stack_classes(ds.one_hot(labels, K))


def draw_problem(
    setup: JacobianSetup, sizes: JacobianSizes, *, rng: np.random.Generator
) -> Problem:
    """Draw the split, the initial weights, the corrupted labels and the held-out subset.

    Four streams, children of ``rng`` in this order: the split; the two-layer weights; the label
    noise; the held-out subset, then the three-layer weights.

    Args:
        setup: physical parameters.
        sizes: sizes (``per_class``, ``width``, ``heldout_per_class``, ``deep_width``).
        rng: numpy generator.

    Returns:
        A :class:`Problem`.
    """
    check_instance("setup", setup, JacobianSetup)
    check_instance("sizes", sizes, JacobianSizes)
    check_rng(rng)
    split_rng, net_rng, noise_rng, deep_rng = rng.spawn(4)
    # The raw and the centred pixels share one split: both loads draw it from a fresh generator on
    # the split stream's own seed sequence.
    split_seed = split_rng.bit_generator.seed_seq
    data = ds.load_digits_data(sizes.per_class, rng=np.random.default_rng(split_seed))
    data_c = ds.load_digits_data(
        sizes.per_class, center=True, rng=np.random.default_rng(split_seed)
    )
    labels, d = data.labels_train, data.X_train.shape[1]
    net0 = two_layer_net(d, sizes.width, K, rng=net_rng)
    noisy = ds.corrupt_labels(labels, setup.rho_train, num_classes=K, rng=noise_rng)
    rhos = np.array(setup.rhos)
    labels_rho = tuple(
        labels if rho == 0 else ds.corrupt_labels(labels, rho, num_classes=K, rng=child)
        for rho, child in zip(rhos, noise_rng.spawn(rhos.size), strict=True)
    )
    random = ds.corrupt_labels(labels, setup.rho_random, num_classes=K, rng=noise_rng)
    heldout, _ = ds.split_by_class(data.labels_test, sizes.heldout_per_class, rng=deep_rng)
    deep0 = three_layer_net(d, sizes.deep_width, K, rng=deep_rng)
    return Problem(setup, sizes, data, data_c, net0, deep0, noisy, labels_rho, random, heldout)


def _top(setup: JacobianSetup, net: nn.Module, X, k: int, frobenius: bool = True) -> Spectrum:
    """Matrix-free top ``k`` singular values and vectors of the network's Jacobian on ``X``."""
    return top_singular(JacobianOperator(net, X), k, frobenius=frobenius, rng=setup.arpack_rng())


def _train(problem: Problem, net64, data: ds.Digits, labels, n_steps: int, desc: str):
    """Train a float32 copy of ``net64`` by full-batch GD at ``eta = 1 / lambda_1^2`` of ``J(W_0)``.

    Float32 is cheaper per step; Jacobians are taken in float64, from the float64 copy of the trained
    weights returned beside the run. Records every step to ``dense_steps``, then every ``record_every``.
    """
    s = problem.sizes
    steps = np.union1d(np.arange(s.dense_steps + 1), np.arange(0, s.steps + 1, s.record_every))
    net32 = copy.deepcopy(net64).to(torch.float32)
    lam1 = _top(problem.setup, net64, data.X_train, 1, frobenius=False).s[0]
    run = train_gd(
        net32,
        data.X_train,
        ds.one_hot(labels, K),
        lr=1.0 / lam1**2,
        steps=n_steps,
        record_steps=steps[steps <= n_steps],
        X_test=data.X_test,
        labels_test=data.labels_test,
        desc=desc,
    )
    return run, copy.deepcopy(net32).to(torch.float64)


@dataclass(frozen=True)
class SpectrumResult:
    """The spectrum of ``J(W_0)`` by the dense route (exact) and the matrix-free one.

    Attributes:
        dense: all ``K n`` singular values and vectors (closed-form Gram, ``eigh``; ``||J||_F^2``).
        predicted, measured: ``(r,)`` the top singular values by the dense route and by the
            matrix-free one (ARPACK on ``J J^T`` applied by ``torch.func`` products).
        centred: the top ``r`` on centred pixels (matrix-free, with ``||J||_F^2``).
        centred_clean, centred_random: ``(r,)`` ``E(r)`` on the centred-pixel Jacobian, clean labels
            and labels independent of the images.
        seconds: wall time of the dense and the matrix-free route in this run.
        shape: ``(K n, p)``; f0_max: ``max |f(W_0)|``, zero up to rounding.
    """

    dense: Spectrum
    predicted: np.ndarray
    measured: np.ndarray
    centred: Spectrum
    centred_clean: np.ndarray
    centred_random: np.ndarray
    seconds: tuple[float, float]
    shape: tuple[int, int]
    f0_max: float

    def glue(self) -> dict:
        """The numbers the chapter's prose quotes."""
        lam, r = self.dense.s, self.measured.size
        return dict(
            kn=self.shape[0],
            p_two=self.shape[1],
            f0_max=self.f0_max,
            mf_err=float(np.max(np.abs(self.measured - self.predicted) / self.predicted)),
            t_dense=self.seconds[0],
            t_free=self.seconds[1],
            top10=self.dense.energy_fraction(K),
            top100=self.dense.energy_fraction(r),
            gap_k=float(lam[K - 1] / lam[K]),
            lam_median=float(lam[K - 1] / np.median(lam)),
            top10_c=self.centred.energy_fraction(K),
            Ec_clean=float(self.centred_clean[-1]),
            Ec_random=float(self.centred_random[-1]),
        )


def run_spectrum(problem: Problem) -> SpectrumResult:
    """The spectrum of ``J(W_0)`` by both routes, and the centred-pixel ablation."""
    check_instance("problem", problem, Problem)
    setup, r, net0, X = problem.setup, problem.sizes.rank, problem.net0, problem.data.X_train
    jac0 = JacobianOperator(net0, X)
    t0 = time.perf_counter()
    dense = top_singular(jac0, None, method="gram", model=net0, X=X)
    t1 = time.perf_counter()
    mf = top_singular(jac0, r, frobenius=False, rng=setup.arpack_rng())
    seconds = (t1 - t0, time.perf_counter() - t1)
    centred = _top(setup, net0, problem.data_centred.X_train, r)
    clean = label_energy(centred.U, _stacked(problem.labels))
    random = label_energy(centred.U, _stacked(problem.labels_random))
    f0_max = float(np.abs(jac0.outputs).max())
    return SpectrumResult(
        dense, dense.s[:r], mf.s, centred, clean, random, seconds, jac0.shape, f0_max
    )


@dataclass(frozen=True)
class LabelEnergyResult:
    """Label-energy profiles ``E(r) = ||U_r^T y||^2 / ||y||^2`` on ``J(W_0)``, per corruption.

    Attributes:
        grid: ``{"rho": setup.rhos}``, one seed (one corruption draw).
        predicted: ``(n_rho, K n)`` the expectation over draws (the chapter's eq-label-energy).
        measured: ``(n_rho, K n)`` one draw.
        centred: ``(K n,)`` the profile of the centred clean labels ``y - 1/K``.
        baseline: ``(K n,)`` a random subspace's ``r / (K n)``.
        class_mean: ``sum_c (n_c/n)^2``, the energy the class-constant directions hold.
    """

    grid: Grid
    predicted: np.ndarray
    measured: np.ndarray
    centred: np.ndarray
    baseline: np.ndarray
    class_mean: float

    def at(self, rho: float, r: int) -> tuple[float, float]:
        """``(predicted, measured)`` ``E(r)`` at corruption ``rho``."""
        i = self.grid.index("rho", rho)
        return self.predicted[i, r - 1], self.measured[i, r - 1]

    def glue(self, r: int) -> dict:
        """The numbers the chapter's prose quotes, at cutoff rank ``r``."""
        return dict(
            E100_clean=float(self.at(0.0, r)[1]),
            E100_half=float(self.at(0.5, r)[1]),
            E100_half_pred=float(self.at(0.5, r)[0]),
            E100_75=float(self.at(0.75, r)[1]),
            E100_one=float(self.at(1.0, r)[1]),
            E400_clean=float(self.at(0.0, 4 * r)[1]),
            base100=float(self.baseline[r - 1]),
            class_mean=self.class_mean,
        )


def run_label_energy(problem: Problem, spectrum: SpectrumResult) -> LabelEnergyResult:
    """Where the labels lie: ``E(r)`` of each corruption draw beside its expectation."""
    check_instance("problem", problem, Problem)
    check_instance("spectrum", spectrum, SpectrumResult)
    U, labels, rhos = spectrum.dense.U, problem.labels, np.array(problem.setup.rhos)
    return LabelEnergyResult(
        grid=Grid({"rho": rhos}, n_seeds=1),
        predicted=np.stack([js.predicted_label_energy(U, labels, rho, K) for rho in rhos]),
        measured=np.stack([label_energy(U, _stacked(lab)) for lab in problem.labels_rho]),
        centred=label_energy(U, _stacked(labels) - 1.0 / K),
        baseline=js.random_baseline(np.arange(1, U.shape[1] + 1), U.shape[0]),
        class_mean=js.class_mean_energy(labels, K),
    )


@dataclass(frozen=True)
class DynamicsResult:
    """Gradient descent from ``W_0`` on clean and on corrupted labels, beside its linearisation.

    Linearised, ``u_s^T r_t = (1 - eta lambda_s^2)^t u_s^T r_0``; at each cutoff rank
    (``alpha = lambda_rank``) the run is read at ``T = 1 / (eta alpha^2)`` (``Gamma = 1``).

    Attributes:
        grid: ``{"rho": (0, setup.rho_train)}``, one seed.
        runs: ``rho`` -> :class:`~dltheory.nets.TrainRecord`, all recorded at the same steps ``T``.
        trained_clean: float64 copy of the network trained on clean labels.
        predicted: linearised ``"info"`` and ``"nuisance"`` (``(2, T)``, ``||Pi r_t|| / ||Pi r_0||``),
            ``"loss"`` (``(2, T)``, ``0.5 ||r_t||^2``), ``"directions"`` (``(T_d, D)``,
            ``u_s^T r_t / u_s^T r_0`` of the clean run along ``setup.directions``, steps up to
            ``sizes.dense_steps``); ``"bias"`` (``(2, C)``, the term ``2 ||Pi_N y|| / sqrt(n)``).
        measured: the trained network's ``"info"``, ``"nuisance"``, ``"directions"``; and
            ``"test_error"`` (``(2, C_in)``, clean-test error at ``T(alpha)``, cutoffs inside the run).
        cutoff: ``"ranks"``, ``"alpha"``, ``"inside"`` (``T(alpha)`` within the run), each ``(C,)``.
        spectrum_trained(_centred): top ``r`` after clean training (on centred pixels, if
            ``sizes.train_centred``), with ``||J||_F^2``.
        ratios: ``"lam1"``, ``"fro"``, ``"top"``: ``lambda_1``, ``||J||_F^2`` and the top-``r``
            energy after clean training over their values at ``W_0``.
    """

    grid: Grid
    runs: dict
    trained_clean: nn.Module
    predicted: dict
    measured: dict
    cutoff: dict
    spectrum_trained: Spectrum
    spectrum_trained_centred: Spectrum | None
    ratios: dict

    def gap(self, rho: float) -> float:
        """Best minus final clean-test accuracy of run ``rho``, in points."""
        acc = self.runs[rho].test_acc
        return 100 * (acc.max() - acc[-1])

    def glue(self, step: int) -> dict:
        """The numbers the chapter's prose quotes; residuals at ``step`` and at the end."""
        p, m, ratios = self.predicted, self.measured, self.ratios
        (rho0, clean), (rho1, noisy) = self.runs.items()
        k = int(np.flatnonzero(clean.steps == step)[0])
        values = dict(
            info100=m["info"][0, k],
            nuis100=m["nuisance"][0, k],
            info100_th=p["info"][0, k],
            nuis100_th=p["nuisance"][0, k],
            infoT=m["info"][0, -1],
            nuisT=m["nuisance"][0, -1],
            nuisT_th=p["nuisance"][0, -1],
            info_noisy_T=m["info"][1, -1],
            loss_ratio_th=p["loss"][1, -1] / p["loss"][0, -1],
            lam1_ratio=ratios["lam1"],
            fro_ratio=ratios["fro"],
            top100_ratio=ratios["top"],
            loss_clean=clean.loss[-1],
            loss_noisy=noisy.loss[-1],
            gap_clean=self.gap(rho0),
            gap_noisy=self.gap(rho1),
            best_noisy=100 * noisy.test_acc.max(),
            final_noisy=100 * noisy.test_acc[-1],
            final_clean=100 * clean.test_acc[-1],
            train_acc_noisy=100 * noisy.train_acc[-1],
        )
        best_step = int(noisy.steps[np.argmax(noisy.test_acc)])
        return {key: float(v) for key, v in values.items()} | dict(best_step=best_step)


def run_dynamics(problem: Problem, spectrum: SpectrumResult) -> DynamicsResult:
    """Train on clean and on ``rho_train``-corrupted labels, beside the linearised predictions."""
    check_instance("problem", problem, Problem)
    check_instance("spectrum", spectrum, SpectrumResult)
    setup, sizes, data, R = problem.setup, problem.sizes, problem.data, problem.sizes.rank
    U, lam, n, X = spectrum.dense.U, spectrum.dense.s, problem.labels.size, data.X_train
    lr = 1.0 / lam[0] ** 2  # eta of the linearised predictions, from the dense route
    ranks = np.unique(np.geomspace(K, U.shape[1] // 4, 25).astype(int))
    T_stop = (lam[0] / lam[ranks - 1]) ** 2
    inside = T_stop <= sizes.steps
    runs, trained, p, m = {}, {}, defaultdict(list), defaultdict(list)
    for rho, lab in [(0.0, problem.labels), (setup.rho_train, problem.labels_noisy)]:
        run, trained[rho] = _train(problem, problem.net0, data, lab, sizes.steps, f"rho={rho}")
        runs[rho] = run
        info, nuis = split_residual(U[:, :R], run.residuals)
        coeffs0 = U.T @ run.residuals[0]  # the initial residual along every u_s
        th_info, th_nuis = js.predicted_split_residual(run.steps, lam, coeffs0, lr, R)
        E = label_energy(U, _stacked(lab))
        at = np.minimum(np.searchsorted(run.steps, T_stop[inside]), run.steps.size - 1)
        m["info"].append(info / info[0])
        m["nuisance"].append(nuis / nuis[0])
        m["test_error"].append(1 - run.test_acc[at])
        p["info"].append(th_info / th_info[0])
        p["nuisance"].append(th_nuis / th_nuis[0])
        p["loss"].append(0.5 * (th_info**2 + th_nuis**2))
        p["bias"].append(js.bias_term(np.sqrt(n * (1 - E[ranks - 1])), n))
    p, m = {k: np.stack(v) for k, v in p.items()}, {k: np.stack(v) for k, v in m.items()}
    t, dirs = runs[0.0].steps, list(setup.directions)
    dense = t <= sizes.dense_steps
    coords = runs[0.0].residuals[dense] @ U
    p["directions"] = js.predicted_direction_decay(t[dense], lam[dirs], lr)
    m["directions"] = coords[:, dirs] / coords[0, dirs]
    spec_T, spec_T_c = _top(setup, trained[0.0], X, R), None
    if sizes.train_centred:
        data_c = problem.data_centred
        _, trained_c = _train(problem, problem.net0, data_c, problem.labels, sizes.steps, "centred")
        spec_T_c = _top(setup, trained_c, data_c.X_train, R)
    ratios = dict(
        lam1=float(_top(setup, trained[0.0], X, 1, frobenius=False).s[0] / lam[0]),
        fro=spec_T.frobenius_sq / spectrum.dense.frobenius_sq,
        top=float(np.sum(spec_T.s**2) / np.sum(lam[:R] ** 2)),
    )
    cutoff = dict(ranks=ranks, alpha=lam[ranks - 1], inside=inside)
    grid = Grid({"rho": np.array(list(runs))}, n_seeds=1)
    return DynamicsResult(grid, runs, trained[0.0], p, m, cutoff, spec_T, spec_T_c, ratios)


@dataclass(frozen=True)
class HeldoutResult:
    """``E(r)`` of held-out clean labels under ``J`` at the initial and at the trained weights.

    Attributes:
        grid: ``{"net": ("two-layer", "three-layer"), "weights": ("initial", "trained")}``, one seed.
        measured: ``(2, 2, r)`` the profiles.
        baseline: ``(r,)`` a random subspace's ``r / (K n_heldout)``.
    """

    grid: Grid
    measured: np.ndarray
    baseline: np.ndarray

    def profiles(self, net: str) -> np.ndarray:
        """``(2, r)`` the profiles of ``net`` at the initial and at the trained weights."""
        return self.measured[list(self.grid.axes["net"]).index(net)]

    def change(self, net: str) -> float:
        """``E(r)`` at the trained weights minus that at the initial ones, for ``net``."""
        return self.profiles(net)[1, -1] - self.profiles(net)[0, -1]

    def glue(self) -> dict:
        """The numbers the chapter's prose quotes."""
        (two0, twoT), (three0, threeT) = self.measured[..., -1].tolist()
        return dict(Eh_two_0=two0, Eh_two_T=twoT, Eh_three_0=three0, Eh_three_T=threeT)


def run_heldout_alignment(problem: Problem, dynamics: DynamicsResult) -> HeldoutResult:
    """Held-out alignment at the initial vs the trained weights, both networks trained on the clean
    labels for ``sizes.deep_steps`` steps at ``eta = 1/lambda_1^2`` of their own ``J(W_0)``."""
    check_instance("problem", problem, Problem)
    check_instance("dynamics", dynamics, DynamicsResult)
    setup, sizes, data = problem.setup, problem.sizes, problem.data
    X_h, y_h = data.X_test[problem.heldout], _stacked(data.labels_test[problem.heldout])

    def energy(net64):
        return label_energy(_top(setup, net64, X_h, sizes.rank, frobenius=False).U, y_h)

    _, deep_T = _train(problem, problem.deep0, data, problem.labels, sizes.deep_steps, "deep")
    two_T = dynamics.trained_clean  # both networks get the same number of steps
    if sizes.deep_steps != sizes.steps:
        _, two_T = _train(problem, problem.net0, data, problem.labels, sizes.deep_steps, "two")
    measured = [
        [energy(problem.net0), energy(two_T)],
        [energy(problem.deep0), energy(deep_T)],
    ]
    grid = Grid({"net": ["two-layer", "three-layer"], "weights": ["initial", "trained"]}, 1)
    baseline = js.random_baseline(np.arange(1, sizes.rank + 1), y_h.size)
    return HeldoutResult(grid, np.array(measured), baseline)
