"""Chapter 5's comparisons repeated over draws: corruption draws and held-out image sets.

Oymak, Fabian, Li & Soltanolkotabi (2019), arXiv:1906.05392. Each function here repeats a measurement
of :mod:`dltheory.experiments.jacobian_information` over independent draws, so that its claim compares
a prediction with a seed mean and a tolerance from the measured spread:

* :func:`run_corruption_sweep`: the label-energy profile ``E(r)`` over corruption levels, many draws
  each, against its expectation (the book's derivation, with exactly ``rho n`` labels corrupted), and
  the early-stopped test error of the network and of its linearisation at each level;
* :func:`run_heldout_energy`: ``E(r)`` of disjoint held-out image sets, each under the Jacobian of a
  fresh initialisation, as the prediction for the training set's.
"""

import copy
from dataclasses import dataclass

import numpy as np

from dltheory import datasets as ds
from dltheory._checks import check_instance, check_rng
from dltheory._torch import torch
from dltheory.experiments._grid import Grid, seed_stats
from dltheory.experiments.jacobian_information import K, Problem, SpectrumResult, _stacked, _top
from dltheory.jacobian import label_energy
from dltheory.nets import linearised, train_gd, two_layer_net
from dltheory.theory import jacobian_split as js

__all__ = [
    "SWEEP_RHOS",
    "SWEEP_RANKS",
    "CorruptionSweep",
    "run_corruption_sweep",
    "HeldoutEnergy",
    "run_heldout_energy",
]

SWEEP_RHOS = (0.1, 0.25, 0.5, 0.75, 0.9, 1.0)  # corruption levels of the sweep
SWEEP_RANKS = (20, 50, 100, 200, 400, 1000, 2000)  # cutoff ranks r at which E(r) is compared


def _worst(predicted, mean, se) -> dict:
    """Claim numbers at the cell whose deviation most exceeds three standard errors."""
    p, m, s = (np.ravel(a) for a in (predicted, mean, se))
    i = int(np.argmax(np.abs(m - p) - 3 * s))
    return dict(predicted=float(p[i]), measured=float(m[i]), abs=float(3 * s[i]), se=float(s[i]))


def _stop_step(lam: np.ndarray, rank: int) -> int:
    """``T = Gamma / (eta alpha^2)`` with ``Gamma = 1``, ``eta = 1/lambda_1^2``, ``alpha = lambda_r``."""
    return max(1, int(round((lam[0] / lam[rank - 1]) ** 2)))


def _test_mse(net, data: ds.Digits) -> float:
    """``0.5 ||f(X_test) - Y_test||_F^2 / n_test`` of a trained network."""
    p = next(net.parameters())
    with torch.no_grad():
        f = net(torch.as_tensor(data.X_test, dtype=p.dtype)).double().numpy()
    return float(0.5 * np.sum((f - ds.one_hot(data.labels_test, K)) ** 2) / f.shape[0])


def _fit(net, data: ds.Digits, labels, lr: float, steps, desc: str):
    """Gradient descent on ``net`` (in place), recording ``steps``; returns the record."""
    return train_gd(
        net,
        data.X_train,
        ds.one_hot(labels, K),
        lr=lr,
        steps=int(max(steps)),
        record_steps=np.unique(np.concatenate([[0], steps])),
        X_test=data.X_test,
        labels_test=data.labels_test,
        desc=desc,
    )


@dataclass(frozen=True)
class CorruptionSweep:
    """``E(r)`` over corruption levels and draws, and early-stopped test errors, on ``J(W_0)``.

    Attributes:
        grid: ``{"rho": SWEEP_RHOS, "r": ...}`` (the ``SWEEP_RANKS`` below ``K n``), ``n_seeds``
            corruption draws per level.
        predicted: ``(L, C)`` the expectation (exactly ``rho n`` labels corrupted).
        mean, se: ``(L, C)`` the draw mean and its standard error.
        stop_step: ``T = (lambda_1 / lambda_r)^2`` of the early-stopping reading (``r = sizes.rank``).
        test_error: ``(2, L + 1)`` clean-test classification error at ``T`` of the network (row 0) and
            its linearisation (row 1), trained on the first draw of each level (``rho = 0`` first).
        test_mse: ``(2, L + 1)`` the same for the test loss ``0.5 ||f - y||^2`` per image.
        bias: ``(L + 1,)`` the bias term ``2 ||Pi_N y|| / sqrt(n)`` of the book's reconstruction, from the
            expected ``E(r)`` at ``r = sizes.rank``.
    """

    grid: Grid
    predicted: np.ndarray
    mean: np.ndarray
    se: np.ndarray
    stop_step: int
    test_error: np.ndarray
    test_mse: np.ndarray
    bias: np.ndarray

    def at(self, rho: float, r: int) -> dict:
        """The expectation and the spread of one draw (``"predicted"``, ``"sd"``) at ``(rho, r)``."""
        i, j = self.grid.index("rho", rho), self.grid.index("r", r)
        sd = self.se[i, j] * np.sqrt(self.grid.n_seeds)
        return dict(predicted=float(self.predicted[i, j]), sd=float(sd))

    def claim(self) -> dict:
        """``check_close`` numbers at the (level, cutoff) that deviates most beyond 3 se."""
        return _worst(self.predicted, self.mean, self.se) | dict(n=self.grid.n_seeds)


def run_corruption_sweep(
    problem: Problem, spectrum: SpectrumResult, *, rng: np.random.Generator
) -> CorruptionSweep:
    """Label energy over ``SWEEP_RHOS`` (``sizes.corruption_draws`` draws each) and test errors.

    Args:
        problem: chapter 5's draws (training images, ``W_0``).
        spectrum: the dense spectrum of ``J(W_0)`` (all left singular vectors).
        rng: the corruption draws.
    """
    check_instance("problem", problem, Problem)
    check_instance("spectrum", spectrum, SpectrumResult)
    check_rng(rng)
    sizes, data, labels = problem.sizes, problem.data, problem.labels
    U, lam, n = spectrum.dense.U, spectrum.dense.s, labels.size
    label_energy(U, _stacked(labels))  # checks that U is orthonormal, once
    ranks = np.array([r for r in SWEEP_RANKS if r < U.shape[0]])  # E(K n) = 1 for any labels
    cut = ranks - 1
    draws = sizes.corruption_draws
    pred, mean, se, first = [], [], [], [labels]
    for rho, child in zip(SWEEP_RHOS, rng.spawn(len(SWEEP_RHOS)), strict=True):
        exact = round(rho * n) / n  # corrupt_labels corrupts round(rho n) labels
        pred.append(js.predicted_label_energy(U, labels, exact, K, exact_count=True)[cut])
        lab = [ds.corrupt_labels(labels, rho, num_classes=K, rng=child) for _ in range(draws)]
        Y = np.stack([_stacked(y) for y in lab], axis=1)  # one product for all draws: ||y||^2 = n
        E = np.cumsum((U[:, : cut[-1] + 1].T @ Y) ** 2, axis=0)[cut].T / n
        m, s, _ = seed_stats(E, axis=0)
        mean.append(m)
        se.append(s)
        first.append(lab[0])
    T = _stop_step(lam, sizes.rank)
    lr = 1.0 / lam[0] ** 2
    err, mse = np.zeros((2, len(first))), np.zeros((2, len(first)))
    for j, lab in enumerate(first):
        for i, net in enumerate([copy.deepcopy(problem.net0), linearised(problem.net0)]):
            run = _fit(net, data, lab, lr, [T], f"rho level {j}")
            err[i, j], mse[i, j] = 1 - run.test_acc[-1], _test_mse(net, data)
    E_R = np.array(
        [js.predicted_label_energy(U[:, : sizes.rank], labels, round(rho * n) / n, K,
                                   exact_count=True)[-1] for rho in (0.0, *SWEEP_RHOS)]
    )  # fmt: skip
    bias = js.bias_term(np.sqrt(n * (1 - E_R)), n)
    grid = Grid({"rho": np.array(SWEEP_RHOS), "r": ranks}, n_seeds=draws)
    return CorruptionSweep(grid, np.stack(pred), np.stack(mean), np.stack(se), T, err, mse, bias)


@dataclass(frozen=True)
class HeldoutEnergy:
    """``E(r)`` of the clean labels of disjoint held-out sets, each under a fresh ``J(W_0)``.

    Attributes:
        energy: ``(m, r)`` one profile per held-out set (``sizes.per_class`` images per class).
        trained_set: ``(r,)`` the training set's profile under chapter 5's ``J(W_0)``.
    """

    energy: np.ndarray
    trained_set: np.ndarray

    def claim(self, r: int) -> dict:
        """``check_close`` numbers for ``E(r)``: the training set's value against the held-out mean,
        within three standard deviations of one draw (the training set is one more draw)."""
        x = self.energy[:, r - 1]
        m, se, n = seed_stats(x)
        sd_one = float(se * np.sqrt(n) * np.sqrt(1 + 1 / n))
        return dict(
            predicted=float(m), measured=float(self.trained_set[r - 1]), abs=3 * sd_one, se=sd_one,
            n=n,
        )  # fmt: skip


def run_heldout_energy(
    problem: Problem, spectrum: SpectrumResult, *, rng: np.random.Generator
) -> HeldoutEnergy:
    """``E(r)`` of ``sizes.heldout_draws`` disjoint held-out sets of the training set's size.

    Each set takes ``sizes.per_class`` test images per class, without overlap between sets, and its own
    initialisation at the chapter's width.
    """
    check_instance("problem", problem, Problem)
    check_instance("spectrum", spectrum, SpectrumResult)
    check_rng(rng)
    sizes, data = problem.sizes, problem.data
    pool = np.arange(data.labels_test.size)
    profiles = []
    for child in rng.spawn(sizes.heldout_draws):
        split_rng, net_rng = child.spawn(2)
        idx, rest = ds.split_by_class(data.labels_test[pool], sizes.per_class, rng=split_rng)
        X, y = data.X_test[pool[idx]], data.labels_test[pool[idx]]
        pool = pool[rest]
        net = two_layer_net(X.shape[1], sizes.width, K, rng=net_rng)
        U = _top(problem.setup, net, X, sizes.rank, frobenius=False).U
        profiles.append(label_energy(U, _stacked(y)))
    trained = label_energy(spectrum.dense.U[:, : sizes.rank], _stacked(problem.labels))
    return HeldoutEnergy(np.stack(profiles), trained)
