"""Transfer with two-layer ReLU networks, where no closed form is known here: binary tasks on the
digits and single-index polynomial teachers. Four protocols on the target, all measured:

* ``scratch NTK``: kernel ridge regression with the NTK of fresh networks and ridge 2 lam;
* ``scratch rich``: fresh networks trained on the target with weight decay;
* ``readout on source features``: kernel ridge regression with the source features Phi_s, ridge lam
  (the fixed point of a readout trained with weight decay);
* ``fine-tuned``: all weights trained from the source network, without weight decay, for a finite time.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from dltheory._checks import ArgumentTypeError, check_int, check_positive
from dltheory._torch import torch
from dltheory.config import KernelTransferSizes
from dltheory.datasets import aligned_teachers, binary_labels, digits_data, polynomial_task
from dltheory.experiments._grid import Grid
from dltheory.experiments.kernel_transfer._common import _check_args
from dltheory.kernel_nets import (
    TwoLayerParams,
    empirical_ntk,
    feature_kernels,
    forward,
    init_params,
    readout_predictions,
)
from dltheory.kernel_training import train
from dltheory.progress import progress_bar
from dltheory.theory.kernels import kernel_predictor

PROTOCOLS = ("scratch NTK", "scratch rich", "readout on source features", "fine-tuned")
"""The four target protocols, in the order of the figures."""
_N_DIGITS = 1797  # images in scikit-learn's bundled digits


def _check_fields(obj, positive: tuple[str, ...], ints: tuple[str, ...]) -> None:
    for name in positive:
        object.__setattr__(obj, name, check_positive(name, getattr(obj, name)))
    for name in ints:
        object.__setattr__(obj, name, check_int(name, getattr(obj, name)))


def _check_digit_set(name: str, digits) -> tuple[int, ...]:
    if not isinstance(digits, tuple) or not all(
        isinstance(d, int) and not isinstance(d, bool) for d in digits
    ):
        raise ArgumentTypeError(f"{name} must be a tuple of digits, got {digits!r}")
    if not digits or not set(digits) < set(range(10)):
        raise ValueError(f"{name} must be a non-empty proper subset of 0-9, got {digits!r}")
    return digits


@dataclass(frozen=True)
class DigitsSetup:
    """Physical parameters of the binary digit tasks.

    Attributes:
        gamma: richness.
        lam: weight decay.
        lr_source: time step of pretraining, below 2 / (largest NTK eigenvalue) on the source set.
        lr_target: time step on the target sets, likewise.
        n_test: held-out images of the test errors.
        P_t: target sizes; the claims use the first.
        source_task: the digits labelled +1 in the source task (the others -1).
        targets: (name, digits labelled +1) of each target task.
    """

    gamma: float = 1.0
    lam: float = 0.5
    lr_source: float = 0.005
    lr_target: float = 0.01
    n_test: int = 500
    P_t: tuple[int, ...] = (10, 20, 50)
    source_task: tuple[int, ...] = (0, 1, 2, 3, 4)
    targets: tuple[tuple[str, tuple[int, ...]], ...] = (
        ("{0-3, 5}", (0, 1, 2, 3, 5)),
        ("{0-6}", (0, 1, 2, 3, 4, 5, 6)),
        ("even", (0, 2, 4, 6, 8)),
        ("{0, 6, 8, 9}", (0, 6, 8, 9)),
        ("{1, 4, 7, 9}", (1, 4, 7, 9)),
    )

    def __post_init__(self):
        _check_fields(self, ("gamma", "lam", "lr_source", "lr_target"), ("n_test",))
        if not isinstance(self.P_t, tuple) or not self.P_t:
            raise ArgumentTypeError(f"P_t must be a non-empty tuple of sizes, got {self.P_t!r}")
        object.__setattr__(self, "P_t", tuple(check_int("P_t", p) for p in self.P_t))
        _check_digit_set("source_task", self.source_task)
        if not isinstance(self.targets, tuple) or not self.targets:
            raise ArgumentTypeError(f"targets must be a non-empty tuple, got {self.targets!r}")
        for t in self.targets:
            if not (isinstance(t, tuple) and len(t) == 2 and isinstance(t[0], str)):
                raise ArgumentTypeError(f"targets must hold (name, digits) pairs, got {t!r}")
            _check_digit_set("targets", t[1])
        if len({name for name, _ in self.targets}) < len(self.targets):
            raise ValueError(f"targets must have distinct names, got {self.targets!r}")


@dataclass(frozen=True)
class DigitsResult:
    """Test MSEs of the four protocols on the target tasks, ``digits_seeds`` target draws each.

    Attributes:
        grid: conditions ``task`` (names) and ``P_t`` times target draws.
        mse: protocol -> test MSE, ``(task, P_t, seed)``; NaN where a protocol was not run
            (``scratch rich`` and ``fine-tuned`` run on the most and the least aligned task only).
        alignment: |cos| between the ridge-regression weights of source and target task, ``(task,)``.
        gain: test MSE of scratch NTK minus that of the readout at the first P_t, ``(task,)``.
        most: the most aligned task.
        least: the least aligned task.
        source_mse: the source network's test MSE on its own task.
    """

    grid: Grid
    mse: dict[str, np.ndarray]
    alignment: np.ndarray
    gain: np.ndarray
    most: str
    least: str
    source_mse: float

    @property
    def tasks(self) -> list[str]:
        return [str(t) for t in self.grid.axes["task"]]


def run_digits(
    setup: DigitsSetup, sizes: KernelTransferSizes, *, rng: np.random.Generator
) -> DigitsResult:
    """Pretrain one ReLU network on the source task, then compare the protocols on every target.

    The images are split at random into the source set (``sizes.digits_source``), ``setup.n_test``
    held-out images and a pool the target sets are drawn from. Draws from ``rng``: the split, the
    source initialisation, then per task and P_t the target sets and fresh initialisations.

    Args:
        setup: physical parameters.
        sizes: ``digits_width``, ``digits_source``, ``digits_steps`` and ``digits_seeds`` are used.
        rng: numpy generator.

    Returns:
        :class:`DigitsResult`.
    """
    _check_args(setup, sizes, rng, DigitsSetup)
    if sizes.digits_source + setup.n_test + max(setup.P_t) > _N_DIGITS:
        raise ValueError(
            f"sizes.digits_source + setup.n_test + max(setup.P_t) must be at most {_N_DIGITS}, the "
            f"number of images, got {sizes.digits_source} + {setup.n_test} + {max(setup.P_t)}"
        )
    X, digit = digits_data()
    D, gamma, lam, M, n_test = X.shape[1], setup.gamma, setup.lam, sizes.digits_seeds, setup.n_test
    relu = dict(gamma=gamma, activation="relu")
    order = rng.permutation(len(digit))
    src_idx, test_idx = order[: sizes.digits_source], order[-n_test:]
    pool = order[sizes.digits_source : -n_test]

    def ridge_weights(positive):
        idx = np.concatenate([src_idx, pool])
        Xp = X[idx]
        return np.linalg.solve(Xp.T @ Xp + np.eye(D), Xp.T @ binary_labels(digit[idx], positive))

    targets = dict(setup.targets)
    w_src = ridge_weights(setup.source_task)
    align = {
        k: abs(w_src @ ridge_weights(v)) / np.linalg.norm(w_src) / np.linalg.norm(ridge_weights(v))
        for k, v in targets.items()
    }
    y_src = binary_labels(digit, setup.source_task)
    p0 = init_params(D, sizes.digits_width, rng=rng)
    src = train(
        p0,
        X[src_idx],
        y_src[src_idx],
        lam=lam,
        lr=setup.lr_source,
        steps=sizes.digits_steps,
        **relu,
    ).params
    X_test = torch.as_tensor(X[test_idx])
    source_mse = float(((forward(src, X_test, **relu).numpy() - y_src[test_idx]) ** 2).mean())
    most, least = max(align, key=align.get), min(align, key=align.get)
    mse = {}
    with progress_bar(total=len(targets) * len(setup.P_t), desc="digits") as bar:
        for task, positive in targets.items():
            y_t = binary_labels(digit, positive)
            target = y_t[test_idx]
            for P_t in setup.P_t:
                idx = np.stack([rng.choice(pool, P_t, replace=False) for _ in range(M)])
                Xb, yb = torch.as_tensor(X[idx]), torch.as_tensor(y_t[idx])
                Xtb = X_test.expand(M, n_test, D)
                init = init_params(D, sizes.digits_width, batch=(M,), rng=rng)
                _, _, K0 = feature_kernels(init, Xb, Xb, activation="relu")
                _, _, K0x = feature_kernels(init, Xtb, Xb, activation="relu")
                pred = {
                    "scratch NTK": np.stack(
                        [kernel_predictor(K0[m], K0x[m], yb[m], ridge=2 * lam) for m in range(M)]
                    ),
                    "readout on source features": readout_predictions(
                        src, Xb, yb, Xtb, activation="relu", ridge=lam
                    ).numpy(),
                }
                if task in (most, least):
                    kw = dict(lr=setup.lr_target, steps=sizes.digits_steps // 2, **relu)
                    rich = train(init, Xb, yb, lam=lam, **kw).params
                    pred["scratch rich"] = forward(rich, Xtb, **relu).numpy()
                    start = TwoLayerParams(
                        src.w.expand(M, -1, -1).clone(), src.z.expand(M, -1).clone()
                    )
                    tuned = train(start, Xb, yb, lam=0.0, **kw).params
                    pred["fine-tuned"] = forward(tuned, Xtb, **relu).numpy()
                for name, p in pred.items():
                    mse[task, P_t, name] = ((p - target) ** 2).mean(-1)
                bar.update()
    P0, nan = setup.P_t[0], np.full(M, np.nan)
    gain = [
        float(mse[k, P0, "scratch NTK"].mean() - mse[k, P0, "readout on source features"].mean())
        for k in targets
    ]
    return DigitsResult(
        grid=Grid(axes={"task": list(targets), "P_t": np.array(setup.P_t)}, n_seeds=M),
        mse={
            name: np.array([[mse.get((k, p, name), nan) for p in setup.P_t] for k in targets])
            for name in PROTOCOLS
        },
        alignment=np.array([align[k] for k in targets]),
        gain=np.array(gain),
        most=most,
        least=least,
        source_mse=source_mse,
    )


@dataclass(frozen=True)
class PolynomialSetup:
    """Physical parameters of the polynomial-teacher experiment.

    Attributes:
        D: input dimension.
        P_s: source samples.
        P_t: target samples.
        gamma: richness.
        lam: weight decay.
        lr_source: time step of pretraining, below 2 / (largest NTK eigenvalue) on the source set.
        lr_target: time step on the target sets.
        n_test: fresh inputs of the test errors.
        alphas: alignments cos(beta_s, beta_t) of the target teachers; the claim uses the last.
    """

    D: int = 20
    P_s: int = 200
    P_t: int = 20
    gamma: float = 1.0
    lam: float = 0.5
    lr_source: float = 0.005
    lr_target: float = 0.01
    n_test: int = 300
    alphas: tuple[float, ...] = (0.0, 0.5, 0.9)

    def __post_init__(self):
        _check_fields(
            self, ("gamma", "lam", "lr_source", "lr_target"), ("D", "P_s", "P_t", "n_test")
        )
        if self.D < 2:
            raise ValueError(f"D must be at least 2, got {self.D}")
        a = np.asarray(self.alphas)
        if not isinstance(self.alphas, tuple) or a.dtype.kind not in "iuf" or a.ndim != 1:
            raise ArgumentTypeError(f"alphas must be a tuple of numbers, got {self.alphas!r}")
        if a.size == 0 or not np.all(np.abs(a) <= 1):
            raise ValueError(f"alphas must be a non-empty tuple in [-1, 1], got {self.alphas!r}")


@dataclass(frozen=True)
class PolynomialResult:
    """The four protocols on polynomial targets, and how close the source networks are to their
    adaptive-kernel predictor.

    Attributes:
        grid: conditions ``alpha`` times (source network, target draw) pairs, source-major.
        mse: protocol -> target test MSE, ``(alpha, seed)``.
        gain: mean test MSE of scratch NTK minus that of the readout at the last alpha.
        network_output: the source networks' outputs on fresh inputs, ``(S, n_test)``.
        kernel_output: their adaptive-kernel predictor K(x, X)(K + 2 lam I)^{-1} y there, with K the
            empirical NTK of the trained network, ``(S, n_test)``: equal at a fixed point.
        kernel_error: |kernel_output - network_output| / |network_output| per source, ``(S,)``.
        source_mse: the source networks' test MSE, ``(S,)``.
        kernel_mse: the adaptive-kernel predictor's test MSE, ``(S,)``.
        speed: the source networks' final |theta'| / |theta|, ``(S,)``.
        t_source: training time of the source networks.
    """

    grid: Grid
    mse: dict[str, np.ndarray]
    gain: float
    network_output: np.ndarray
    kernel_output: np.ndarray
    kernel_error: np.ndarray
    source_mse: np.ndarray
    kernel_mse: np.ndarray
    speed: np.ndarray
    t_source: float

    def glue(self) -> dict[str, float]:
        """The numbers the chapter's prose quotes, by glue name (protocol MSEs per alpha)."""
        out = {
            "poly_t_src": self.t_source,
            "poly_gain": self.gain,
            "poly_ak_err": float(self.kernel_error.max()),
            "poly_speed": float(self.speed.max()),
            "poly_src_mse": float(self.source_mse.mean()),
            "poly_ak_mse": float(self.kernel_mse.mean()),
        }
        for name, key in zip(("ntk", "rich", "ro", "ft"), PROTOCOLS, strict=True):
            for i, a in enumerate(self.grid.axes["alpha"]):
                out[f"poly_{name}_{a:g}"] = float(self.mse[key][i].mean())
        return out


def run_polynomial(
    setup: PolynomialSetup, sizes: KernelTransferSizes, *, rng: np.random.Generator
) -> PolynomialResult:
    """Pretrain ``sizes.poly_seeds`` ReLU networks on polynomial teachers, then compare the protocols.

    Draws from ``rng``: the source teachers, source data, source test data, source initialisations,
    target teachers, target data, target test data, fresh initialisations.

    Args:
        setup: physical parameters.
        sizes: ``digits_width`` (the width), ``poly_seeds``, ``poly_targets``, ``poly_steps`` and
            ``digits_steps`` (its half is the training on the targets) are used.
        rng: numpy generator.

    Returns:
        :class:`PolynomialResult`.
    """
    _check_args(setup, sizes, rng, PolynomialSetup)
    D, N, gamma, lam = setup.D, sizes.digits_width, setup.gamma, setup.lam
    S, M, n_alpha = sizes.poly_seeds, sizes.poly_targets, len(setup.alphas)
    relu = dict(gamma=gamma, activation="relu")
    beta_s, _ = aligned_teachers(D, np.zeros(S), rng=rng)
    Xs, ys = polynomial_task(beta_s, setup.P_s, rng=rng)
    Xs_te, ys_te = polynomial_task(beta_s, setup.n_test, rng=rng)
    p0 = init_params(D, N, batch=(S,), rng=rng)
    src = train(p0, Xs, ys, lam=lam, lr=setup.lr_source, steps=sizes.poly_steps, **relu)
    f_src = forward(src.params, Xs_te, **relu).numpy()
    f_ak = np.stack(
        [
            kernel_predictor(
                empirical_ntk(src.params[s], Xs[s], Xs[s], **relu),
                empirical_ntk(src.params[s], Xs_te[s], Xs[s], **relu),
                ys[s],
                ridge=2 * lam,
            )
            for s in range(S)
        ]
    )
    shape = (n_alpha, S, M)
    alpha = np.broadcast_to(np.array(setup.alphas)[:, None, None], shape)
    _, beta_t = aligned_teachers(D, alpha, rng=rng, source=beta_s[None, :, None])
    Xt, yt = polynomial_task(beta_t, setup.P_t, rng=rng)
    Xt_te, yt_te = polynomial_task(beta_t, setup.n_test, rng=rng)
    src_rep = TwoLayerParams(
        src.params.w[None, :, None].expand(*shape, N, D).clone(),
        src.params.z[None, :, None].expand(*shape, N).clone(),
    )
    init = init_params(D, N, batch=shape, rng=rng)
    _, _, K0 = feature_kernels(init, Xt, Xt, activation="relu")
    _, _, K0x = feature_kernels(init, Xt_te, Xt, activation="relu")
    eye = torch.eye(setup.P_t, dtype=K0.dtype)
    kw = dict(lr=setup.lr_target, steps=sizes.digits_steps // 2, **relu)
    y_col = torch.as_tensor(yt)[..., None]
    pred = {
        "scratch NTK": (K0x @ torch.linalg.solve(K0 + 2 * lam * eye, y_col)).squeeze(-1).numpy(),
        "scratch rich": forward(train(init, Xt, yt, lam=lam, **kw).params, Xt_te, **relu).numpy(),
        "readout on source features": readout_predictions(
            src_rep, Xt, yt, Xt_te, activation="relu", ridge=lam
        ).numpy(),
        "fine-tuned": forward(train(src_rep, Xt, yt, lam=0.0, **kw).params, Xt_te, **relu).numpy(),
    }
    mse = {k: ((v - yt_te) ** 2).mean(-1).reshape(n_alpha, -1) for k, v in pred.items()}
    gain = mse["scratch NTK"][-1].mean() - mse["readout on source features"][-1].mean()
    return PolynomialResult(
        grid=Grid(axes={"alpha": np.array(setup.alphas)}, n_seeds=S * M),
        mse=mse,
        gain=float(gain),
        network_output=f_src,
        kernel_output=f_ak,
        kernel_error=np.linalg.norm(f_ak - f_src, axis=-1) / np.linalg.norm(f_src, axis=-1),
        source_mse=((f_src - ys_te) ** 2).mean(-1),
        kernel_mse=((f_ak - ys_te) ** 2).mean(-1),
        speed=src.speed,
        t_source=sizes.poly_steps * setup.lr_source,
    )
