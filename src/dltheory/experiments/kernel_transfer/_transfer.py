"""Transfer from source networks at their weight-decay fixed points: the paper's protocol (i), a
readout on the frozen source features, against training from scratch and lazy fine-tuning; and its
protocol (ii), all weights trained from the source network, with an elastic coupling to it or without.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from dltheory._checks import ArgumentTypeError
from dltheory.config import KernelTransferSizes
from dltheory.datasets import aligned_teachers, gaussian_task
from dltheory.experiments._grid import Grid, seed_stats
from dltheory.experiments.kernel_transfer._common import (
    KernelTransferSetup,
    _check_args,
    _fit,
    _test_inputs,
)
from dltheory.kernel_nets import (
    TwoLayerParams,
    init_params,
    linear_map,
    linearised_beta,
    readout_predictions,
)
from dltheory.kernel_training import train
from dltheory.theory.kernels import (
    predicted_fixed_point,
    predicted_lazy_finetune_beta,
    predicted_readout_mse,
    predicted_readout_mse_alpha,
    predicted_scratch_mse,
    predicted_test_mse,
    predicted_transfer_boundary,
)

ALPHA_CLAIMS = (0.0, 0.5, 0.8, 0.95)
"""Alignments of the readout claims, always simulated."""
NU2 = (0.1, 0.25, 0.5)
"""Target sizes P_t / D of the readout sweep."""


@dataclass(frozen=True)
class LinearSource:
    """Source networks trained to their weight-decay fixed points, ``n_seeds`` of them.

    Attributes:
        teachers: source teachers beta_s, ``(S, D)``.
        init: the initial networks, batch ``(S,)``.
        params: the trained networks, batch ``(S,)``.
        beta_predicted: the theory's fixed point for each source data set, ``(S, D)``.
        beta_measured: the trained networks' beta, ``(S, D)``.
        direction: the theory's source direction beta_hat_s, ``(S, D)``.
        cos: cos(beta_hat_s, beta_s), ``(S,)``.
        c_mean: root mean square of ``cos``, the source quality the transfer theory takes.
    """

    teachers: np.ndarray
    init: TwoLayerParams
    params: TwoLayerParams
    beta_predicted: np.ndarray
    beta_measured: np.ndarray
    direction: np.ndarray
    cos: np.ndarray
    c_mean: float


def train_source(
    setup: KernelTransferSetup, sizes: KernelTransferSizes, *, rng: np.random.Generator
) -> LinearSource:
    """Train ``sizes.n_seeds`` source networks on P_s samples of their teachers.

    Draws from ``rng``: the teachers, the data sets, the initial networks.

    Args:
        setup: physical parameters.
        sizes: ``n_seeds``, ``width`` and ``steps`` are used.
        rng: numpy generator.

    Returns:
        :class:`LinearSource`.
    """
    _check_args(setup, sizes, rng)
    D, gamma, lam, S = setup.D, setup.gamma, setup.lam, sizes.n_seeds
    teachers, _ = aligned_teachers(D, np.zeros(S), rng=rng)
    X, y = gaussian_task(teachers, setup.P_s, rng=rng)
    p0 = init_params(D, sizes.width, batch=(S,), rng=rng)
    run = train(p0, X, y, lam=lam, **_fit(setup, sizes))
    fps = [predicted_fixed_point(X[s], y[s], gamma=gamma, lam=lam) for s in range(S)]
    bhat = np.array([f.beta / f.norm for f in fps])
    cos = np.sum(bhat * teachers, -1) / np.sqrt(D)
    return LinearSource(
        teachers=teachers, init=p0, params=run.params,
        beta_predicted=np.array([f.beta for f in fps]),
        beta_measured=linear_map(run.params, gamma=gamma).numpy(),
        direction=bhat, cos=cos, c_mean=float(np.sqrt(np.mean(cos**2))),
    )  # fmt: skip


def _check_source(source, setup: KernelTransferSetup, sizes: KernelTransferSizes) -> LinearSource:
    if not isinstance(source, LinearSource):
        raise ArgumentTypeError(
            f"source must be a LinearSource (from train_source), got {type(source).__name__}"
        )
    want = (sizes.n_seeds, sizes.width, setup.D)
    got = (*source.params.batch_shape, source.params.width, source.params.n_in)
    if got != want:
        raise ValueError(
            f"source must hold n_seeds networks of the sizes' width and the setup's D, "
            f"(S, N, D) = {want}, got {got}"
        )
    return source


@dataclass(frozen=True)
class ReadoutTransferResult:
    """Protocol (i) and its baselines on target tasks at alignment alpha with each source teacher.

    Seeds are (source network, target draw) pairs, source-major: ``n_seeds * n_targets`` per condition.

    Attributes:
        grid: conditions ``nu2`` (P_t / D) and ``alpha`` (alignment) times seeds.
        P_t: target samples per ``nu2``, ``(nu2,)``.
        rho: cos(beta_hat_s, beta_t) of each target, ``(nu2, alpha, seed)``.
        readout_predicted: (1 - rho^2)(1 + 1/(P_t - 2)), ``(nu2, alpha, seed)``.
        readout_measured: test MSE of a least-squares readout on the frozen source features.
        readout_predicted_net: the prediction with rho from each trained network's own direction
            beta_net / |beta_net| instead of the theory's fixed point.
        scratch_predicted: 1 - nu2, the min-norm error from scratch, ``(nu2,)``.
        scratch_measured: test MSE of kernel regression with the initial networks' NTK.
        lazy_finetune_predicted: test MSE of lazy fine-tuning with the theory's adaptive kernel.
        lazy_finetune_measured: test MSE of lazy fine-tuning with the trained networks' NTK.
        c_mean: the source quality (:attr:`LinearSource.c_mean`).
        D: input dimension.
    """

    grid: Grid
    P_t: np.ndarray
    rho: np.ndarray
    readout_predicted: np.ndarray
    readout_measured: np.ndarray
    readout_predicted_net: np.ndarray
    scratch_predicted: np.ndarray
    scratch_measured: np.ndarray
    lazy_finetune_predicted: np.ndarray
    lazy_finetune_measured: np.ndarray
    c_mean: float
    D: int

    @property
    def gain_measured(self) -> np.ndarray:
        """Scratch minus readout test MSE, seed means, ``(nu2, alpha)``: > 0 is positive transfer."""
        return self.scratch_measured.mean(-1) - self.readout_measured.mean(-1)

    def _P_t(self, nu2) -> list[int]:
        return [max(int(round(nu * self.D)), 3) for nu in np.atleast_1d(nu2)]

    def predicted_readout(self, nu2, alpha) -> np.ndarray:
        """Predicted readout test MSE (1 - E rho^2)(1 + 1/(P_t - 2)) at P_t = max(round(nu2 D), 3), for
        sources of quality ``c_mean``, ``(len(nu2), len(alpha))``."""
        return np.array(
            [predicted_readout_mse_alpha(alpha, self.c_mean, p, self.D) for p in self._P_t(nu2)]
        )

    def predicted_gain(self, nu2, alpha) -> np.ndarray:
        """Predicted scratch minus readout test MSE, (1 - nu2) minus :meth:`predicted_readout`."""
        return (1 - np.atleast_1d(nu2))[:, None] - self.predicted_readout(nu2, alpha)

    def predicted_boundary(self, nu2) -> np.ndarray:
        """Alignment alpha* above which the readout is predicted to beat scratch, ``(len(nu2),)``."""
        return np.array(
            [predicted_transfer_boundary(p, self.D, self.c_mean) for p in self._P_t(nu2)]
        )

    def readout_claim(self, nu2: float, alpha: float) -> dict:
        """``check_close`` numbers for the readout at one condition.

        ``predicted`` and ``measured`` are draw means, ``se`` the standard error of their paired
        difference over the ``n`` source/target draws; ``bias`` is the finite-width effect on the
        prediction: the mean change of the predicted error when ``rho`` is taken from each network's
        own direction instead of the theory's fixed point. ``tol = 3 se + bias``.
        """
        th, sim = (
            self.at("readout_predicted", nu2=nu2, alpha=alpha),
            self.at("readout_measured", nu2=nu2, alpha=alpha),
        )
        _, se, n = seed_stats(sim - th)
        bias = abs(float(np.mean(self.at("readout_predicted_net", nu2=nu2, alpha=alpha) - th)))
        return dict(
            predicted=float(th.mean()), measured=float(sim.mean()), se=float(se), n=int(n),
            bias=bias, tol=float(3 * se + bias),
        )  # fmt: skip

    def at(self, field: str, **where) -> np.ndarray:
        """The seeds of one condition of ``field``, e.g. ``at("readout_measured", nu2=0.25, alpha=0.5)``."""
        i, j = self.grid.index("nu2", where["nu2"]), self.grid.index("alpha", where["alpha"])
        return getattr(self, field)[i, j]

    def transfer_signs(self, which: str, *, nu2: float, alphas) -> list[int]:
        """Sign of the readout's minus the scratch test MSE, seed means, at ``nu2`` and each of
        ``alphas``: +1 is negative transfer, -1 positive. ``which``: "predicted" or "measured"."""
        if which not in ("predicted", "measured"):
            raise ValueError(f"which must be 'predicted' or 'measured', got {which!r}")
        signs = []
        for a in alphas:
            readout = self.at(f"readout_{which}", nu2=nu2, alpha=a).mean()
            if which == "predicted":
                scratch = self.scratch_predicted[self.grid.index("nu2", nu2)]
            else:
                scratch = self.at("scratch_measured", nu2=nu2, alpha=a).mean()
            signs.append(int(np.sign(readout - scratch)))
        return signs


def run_readout_transfer(
    setup: KernelTransferSetup,
    sizes: KernelTransferSizes,
    source: LinearSource,
    *,
    rng: np.random.Generator,
) -> ReadoutTransferResult:
    """Readout, scratch and lazy fine-tuning on ``sizes.n_targets`` targets per source and condition.

    The alignments are ``sizes.n_alpha`` values from 0 to 1 and :data:`ALPHA_CLAIMS`; the target
    sizes are :data:`NU2` times D. Draws from ``rng``, for each nu2 and then each alpha: the target
    teachers, the target data sets.

    Args:
        setup: physical parameters.
        sizes: ``n_targets`` and ``n_alpha`` are used.
        source: the source networks, from :func:`train_source` with the same setup and sizes.
        rng: numpy generator.

    Returns:
        :class:`ReadoutTransferResult`.
    """
    _check_args(setup, sizes, rng)
    source = _check_source(source, setup, sizes)
    D, S, R = setup.D, sizes.n_seeds, sizes.n_targets
    alphas = np.unique(np.concatenate([np.linspace(0, 1, sizes.n_alpha), ALPHA_CLAIMS]))
    E = _test_inputs(D, (S, R))
    trained = TwoLayerParams(source.params.w[:, None], source.params.z[:, None])
    initial = TwoLayerParams(source.init.w[:, None], source.init.z[:, None])
    beta_rep = np.broadcast_to(source.beta_measured[:, None], (S, R, D))
    bhat = source.direction
    bhat_net = source.beta_measured / np.linalg.norm(source.beta_measured, axis=-1, keepdims=True)
    out = {k: [] for k in ("rho", "ro", "ro_th", "ro_th_net", "sc", "lz", "lz_th")}
    for nu2 in NU2:
        P_t = int(round(nu2 * D))
        rows = {k: [] for k in out}
        for a in alphas:
            _, beta_t = aligned_teachers(
                D, np.full((S, R), a), rng=rng, source=source.teachers[:, None]
            )
            X, y = gaussian_task(beta_t, P_t, rng=rng)
            rho = np.sum(bhat[:, None] * beta_t, -1) / np.sqrt(D)
            rho_net = np.sum(bhat_net[:, None] * beta_t, -1) / np.sqrt(D)
            lz_th = [
                [
                    predicted_test_mse(
                        predicted_lazy_finetune_beta(X[s, r], y[s, r], source.beta_predicted[s]),
                        beta_t[s, r],
                    )
                    for r in range(R)
                ]
                for s in range(S)
            ]
            new = dict(
                rho=rho,
                ro=predicted_test_mse(readout_predictions(trained, X, y, E).numpy(), beta_t),
                ro_th=predicted_readout_mse(rho, P_t),
                ro_th_net=predicted_readout_mse(rho_net, P_t),
                sc=predicted_test_mse(linearised_beta(initial, X, y, 0 * beta_rep).numpy(), beta_t),
                lz=predicted_test_mse(linearised_beta(trained, X, y, beta_rep).numpy(), beta_t),
                lz_th=np.array(lz_th),
            )
            for k, v in new.items():
                rows[k].append(np.asarray(v).reshape(S * R))
        for k in out:
            out[k].append(rows[k])
    arr = {k: np.array(v) for k, v in out.items()}
    P_ts = np.array([int(round(nu2 * D)) for nu2 in NU2])
    return ReadoutTransferResult(
        grid=Grid(axes={"nu2": np.array(NU2), "alpha": alphas}, n_seeds=S * R),
        P_t=P_ts, rho=arr["rho"],
        readout_predicted=arr["ro_th"], readout_measured=arr["ro"],
        readout_predicted_net=arr["ro_th_net"],
        scratch_predicted=np.array([predicted_scratch_mse(int(p), D) for p in P_ts]),
        scratch_measured=arr["sc"],
        lazy_finetune_predicted=arr["lz_th"], lazy_finetune_measured=arr["lz"],
        c_mean=source.c_mean, D=D,
    )  # fmt: skip
