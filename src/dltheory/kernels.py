"""Mean-field / muP two-layer networks with richness gamma and weight decay; NTKs; transfer protocols.

Implements the setup of chapter 6 (Lauditi, Bordelon & Pehlevan 2025, arXiv:2507.04448, with the
conventions of the companion code of arXiv:2502.07998; spec ``transfer_adaptive_kernels.md`` Sec. 1-2):

    h_i(x) = w_i . x / sqrt(D),    f(x) = (1 / (gamma N)) sum_i z_i phi(h_i(x)),

w_i ~ N(0, I_D), z_i ~ N(0, 1) at initialisation, trained by gradient descent with the learning rate
scaled by N gamma^2 and weight decay lam, i.e. the Euler discretisation (time step ``lr``) of

    w_i' = gamma z_i sum_mu Delta_mu phi'(h_i^mu) x_mu / sqrt(D) - lam w_i - delta (w_i - w_i^s),
    z_i' = gamma sum_mu Delta_mu phi(h_i^mu) - lam z_i - delta (z_i - z_i^s),   Delta = y - f(X),

where the elastic term (strength ``elastic`` = delta, towards anchor weights theta^s) is v1's elastic
weight coupling. The gradients are written out (not autograd) and checked against ``torch.func`` in
the tests. The NTK of this parameterisation is K = N gamma^2 J J^T = Phi + G * C with the feature
kernel Phi = (1/N) sum_i phi phi', the gradient kernel G = (1/N) sum_i z_i^2 phi' phi'' and
C = x . x' / D; :func:`empirical_ntk` computes it with ``torch.func`` (jacrev + vmap).

Layout: ``X`` is ``(..., P, D)``; weights ``w`` are ``(..., N, D)``, ``z`` ``(..., N)``; leading
dimensions ``...`` index independent networks (seeds, conditions) trained as one batched program.
Everything is float64 unless said otherwise. Randomness comes from a ``torch.Generator`` that the
caller derives from its numpy ``rng`` (:func:`torch_generator`); nothing seeds globally.

Also here: the data of the chapter (aligned linear and polynomial teachers, Gaussian inputs, binary tasks on
scikit-learn's bundled digits), since no shared data module covers them.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np

from dltheory._checks import (
    ArgumentTypeError,
    as_float_array,
    check_choice,
    check_int,
    check_nonneg,
    check_positive,
    check_real,
    check_rng,
)
from dltheory._torch import torch, torch_generator
from dltheory.progress import progress_bar

__all__ = [
    "Activation",
    "TwoLayerParams",
    "TrainResult",
    "torch_generator",
    "init_params",
    "forward",
    "linear_map",
    "feature_kernels",
    "empirical_ntk",
    "elastic_penalty",
    "velocity",
    "train",
    "readout_predictions",
    "aligned_teachers",
    "gaussian_task",
    "polynomial_task",
    "digits_data",
    "binary_labels",
]

Activation = Literal["linear", "relu"]
_ACTIVATIONS = ("linear", "relu")


@dataclass(frozen=True)
class TwoLayerParams:
    """Weights of a batch of two-layer networks.

    Construction checks that both are finite floating-point tensors of one dtype, with
    ``z.shape == w.shape[:-1]`` and ``N, D >= 1``.

    Attributes:
        w: first-layer weights, ``(..., N, D)``.
        z: readout weights, ``(..., N)``.
    """

    w: torch.Tensor
    z: torch.Tensor

    def __post_init__(self):
        for name, t in (("w", self.w), ("z", self.z)):
            if not isinstance(t, torch.Tensor) or not t.is_floating_point():
                got = f"dtype {t.dtype}" if isinstance(t, torch.Tensor) else type(t).__name__
                raise ArgumentTypeError(f"{name} must be a floating-point torch tensor, got {got}")
        if self.w.ndim < 2 or 0 in self.w.shape[-2:]:
            raise ValueError(
                f"w must have shape (..., N, D) with N, D >= 1, got {tuple(self.w.shape)}"
            )
        if self.z.shape != self.w.shape[:-1]:
            raise ValueError(
                f"z must have shape w.shape[:-1] = {tuple(self.w.shape[:-1])}, got {tuple(self.z.shape)}"
            )
        if self.z.dtype != self.w.dtype:
            raise ValueError(f"z must have the dtype of w ({self.w.dtype}), got {self.z.dtype}")
        for name, t in (("w", self.w), ("z", self.z)):
            if not bool(torch.isfinite(t.detach()).all()):
                raise ValueError(f"{name} must be finite")

    @property
    def width(self) -> int:
        return self.z.shape[-1]

    @property
    def n_in(self) -> int:
        return self.w.shape[-1]

    @property
    def batch_shape(self) -> tuple[int, ...]:
        return tuple(self.z.shape[:-1])

    def clone(self) -> TwoLayerParams:
        return _unchecked(self.w.clone(), self.z.clone())

    def __getitem__(self, idx) -> TwoLayerParams:
        """Select networks along the leading (batch) dimensions."""
        w = self.w[idx]
        if w.ndim < 2 or w.shape[-2:] != self.w.shape[-2:]:
            raise IndexError(f"idx must select along the batch dimensions {self.batch_shape} only")
        return _unchecked(w, self.z[idx])


def _unchecked(w: torch.Tensor, z: torch.Tensor) -> TwoLayerParams:
    """TwoLayerParams without the checks of its constructor, for weights the library made itself: the
    training loop wraps its weights once per step, where a finiteness scan would cost a sync each time."""
    p = object.__new__(TwoLayerParams)
    object.__setattr__(p, "w", w)
    object.__setattr__(p, "z", z)
    return p


@dataclass(frozen=True)
class TrainResult:
    """What a batch of training runs did.

    Attributes:
        params: final weights.
        steps: recorded step numbers, ``(T,)`` (first 0, last ``steps``).
        loss: training loss (1/2) sum_mu Delta_mu^2 at the recorded steps, ``(T, ...)``.
        observed: ``observe(params)`` at the recorded steps stacked on a first time axis, or None.
        speed: final |theta'| / |theta| per network, ``(...)``: how far from a fixed point.
        lr: the time step; time = step * lr.
    """

    params: TwoLayerParams
    steps: np.ndarray
    loss: np.ndarray
    observed: np.ndarray | None
    speed: np.ndarray
    lr: float


def init_params(
    n_in: int,
    width: int,
    *,
    batch: Sequence[int] = (),
    rng: np.random.Generator,
    dtype: torch.dtype = torch.float64,
) -> TwoLayerParams:
    """Mean-field initialisation w_i ~ N(0, I_D), z_i ~ N(0, 1) (spec Sec. 1).

    Args:
        n_in: input dimension D.
        width: hidden width N.
        batch: leading batch shape (independent networks).
        rng: numpy generator the torch generator is derived from.
        dtype: torch dtype.

    Returns:
        :class:`TwoLayerParams` with ``w`` ``(*batch, N, D)`` and ``z`` ``(*batch, N)``.
    """
    D, N = check_int("n_in", n_in), check_int("width", width)
    if not isinstance(batch, tuple | list | torch.Size):
        raise ArgumentTypeError(f"batch must be a tuple of positive integers, got {batch!r}")
    batch = tuple(check_int("batch", b) for b in batch)
    _check_dtype(dtype)
    g = torch_generator(rng)
    w = torch.randn(*batch, N, D, generator=g, dtype=dtype)
    z = torch.randn(*batch, N, generator=g, dtype=dtype)
    return TwoLayerParams(w, z)


def _phi(h: torch.Tensor, activation: str) -> tuple[torch.Tensor, torch.Tensor]:
    if activation == "linear":
        return h, torch.ones_like(h)
    return torch.relu(h), (h > 0).to(h.dtype)


def _check_activation(activation) -> str:
    return check_choice("activation", activation, _ACTIVATIONS)


def _check_dtype(dtype) -> None:
    if not isinstance(dtype, torch.dtype) or not dtype.is_floating_point:
        raise ArgumentTypeError(f"dtype must be a floating-point torch dtype, got {dtype!r}")


def _check_params(name: str, params) -> TwoLayerParams:
    if not isinstance(params, TwoLayerParams):
        raise ArgumentTypeError(f"{name} must be TwoLayerParams, got {type(params).__name__}")
    return params


def _check_flag(name: str, value) -> bool:
    if not isinstance(value, bool | np.bool_):
        raise ArgumentTypeError(f"{name} must be True or False, got {value!r}")
    return bool(value)


def _as_tensor(name: str, x, dtype, *, min_ndim: int = 1) -> torch.Tensor:
    """``x`` (a torch tensor or array-like of real numbers) as a finite tensor of ``dtype``."""
    if isinstance(x, torch.Tensor):
        if x.dtype == torch.bool or x.is_complex():
            raise ArgumentTypeError(f"{name} must hold real numbers, got dtype {x.dtype}")
        t = x.to(dtype)
    else:
        arr = as_float_array(name, x)
        if not arr.flags.writeable:
            arr = arr.copy()
        t = torch.as_tensor(arr, dtype=dtype)
    if t.ndim < min_ndim or 0 in t.shape[-min_ndim:]:
        raise ValueError(
            f"{name} must have at least {min_ndim} non-empty dimension(s), got shape {tuple(t.shape)}"
        )
    if not bool(torch.isfinite(t).all()):
        raise ValueError(f"{name} must be finite")
    return t


def _inputs(name: str, x, params: TwoLayerParams) -> torch.Tensor:
    """Inputs ``(..., P, D)`` for ``params``, checked for D."""
    X = _as_tensor(name, x, params.w.dtype, min_ndim=2)
    if X.shape[-1] != params.n_in:
        raise ValueError(
            f"{name} must have D = {params.n_in} columns (the networks' input size), "
            f"got shape {tuple(X.shape)}"
        )
    return X


def _labels(name: str, y, X: torch.Tensor, x_name: str) -> torch.Tensor:
    """Labels ``(..., P)`` matching inputs ``X`` ``(..., P, D)``."""
    y = _as_tensor(name, y, X.dtype)
    if y.shape[-1] != X.shape[-2]:
        raise ValueError(
            f"{name} must have P = {X.shape[-2]} entries (the rows of {x_name}), got shape {tuple(y.shape)}"
        )
    return y


def _batch(names: str, *shapes) -> tuple[int, ...]:
    """The broadcast of the batch shapes of several arguments, or an error naming them."""
    try:
        return tuple(torch.broadcast_shapes(*shapes))
    except RuntimeError:
        raise ValueError(
            f"the batch (leading) dimensions of {names} must broadcast together, "
            f"got {[tuple(s) for s in shapes]}"
        ) from None


def _hidden(params: TwoLayerParams, X: torch.Tensor) -> torch.Tensor:
    return X @ params.w.transpose(-1, -2) / math.sqrt(params.n_in)  # (..., P, N)


def forward(params: TwoLayerParams, X, *, gamma: float, activation: Activation = "linear"):
    """Network output f(x) = (1/(gamma N)) sum_i z_i phi(w_i . x / sqrt(D)).

    Args:
        params: weights, ``w`` ``(..., N, D)``, ``z`` ``(..., N)``.
        X: inputs, ``(..., P, D)`` (broadcast against the batch of networks).
        gamma: richness, > 0.
        activation: ``"linear"`` or ``"relu"``.

    Returns:
        f(X), ``(..., P)``.
    """
    params = _check_params("params", params)
    gamma = check_positive("gamma", gamma)
    activation = _check_activation(activation)
    X = _inputs("X", X, params)
    _batch("params and X", params.batch_shape, X.shape[:-2])
    phi, _ = _phi(_hidden(params, X), activation)
    return (phi @ params.z.unsqueeze(-1)).squeeze(-1) / (gamma * params.width)


def linear_map(params: TwoLayerParams, *, gamma: float) -> torch.Tensor:
    """beta = W^T z / (gamma N) of a linear network, so that f(x) = beta . x / sqrt(D).

    Args:
        params: weights, ``w`` ``(..., N, D)``, ``z`` ``(..., N)``.
        gamma: richness, > 0.

    Returns:
        beta, ``(..., D)``.
    """
    params = _check_params("params", params)
    gamma = check_positive("gamma", gamma)
    return (params.z.unsqueeze(-2) @ params.w).squeeze(-2) / (gamma * params.width)


def feature_kernels(
    params: TwoLayerParams, X1, X2, *, activation: Activation = "linear"
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Feature kernel Phi, gradient kernel G and NTK K = Phi + G * C from the hidden features.

    Spec Sec. 1: Phi(x, x') = (1/N) sum_i phi(h_i) phi(h_i'), G = (1/N) sum_i z_i^2 phi'(h_i) phi'(h_i'),
    C = x . x' / D.

    Args:
        params: weights, ``w`` ``(..., N, D)``, ``z`` ``(..., N)``.
        X1: inputs, ``(..., P1, D)``.
        X2: inputs, ``(..., P2, D)``.
        activation: ``"linear"`` or ``"relu"``.

    Returns:
        ``(Phi, G, K)``, each ``(..., P1, P2)``.
    """
    params = _check_params("params", params)
    activation = _check_activation(activation)
    X1, X2 = _inputs("X1", X1, params), _inputs("X2", X2, params)
    _batch("params, X1 and X2", params.batch_shape, X1.shape[:-2], X2.shape[:-2])
    N, D = params.width, params.n_in
    p1, d1 = _phi(_hidden(params, X1), activation)
    p2, d2 = _phi(_hidden(params, X2), activation)
    z2 = params.z.unsqueeze(-2) ** 2
    Phi = p1 @ p2.transpose(-1, -2) / N
    G = (d1 * z2) @ d2.transpose(-1, -2) / N
    C = X1 @ X2.transpose(-1, -2) / D
    return Phi, G, Phi + G * C


def empirical_ntk(
    params: TwoLayerParams, X1, X2, *, gamma: float, activation: Activation = "linear"
) -> torch.Tensor:
    """Empirical NTK N gamma^2 sum_theta df(x)/dtheta df(x')/dtheta of one network (torch.func).

    The Jacobians come from ``torch.func.jacrev`` vmapped over inputs; the factor N gamma^2 is the
    learning-rate scaling of spec Sec. 1, so that df/dt = K Delta under the flow and K = Phi + G * C.

    Args:
        params: weights of one network, ``w`` ``(N, D)``, ``z`` ``(N,)``.
        X1: inputs, ``(P1, D)``.
        X2: inputs, ``(P2, D)``.
        gamma: richness, > 0.
        activation: ``"linear"`` or ``"relu"``.

    Returns:
        K(X1, X2), ``(P1, P2)``.
    """
    params = _check_params("params", params)
    gamma = check_positive("gamma", gamma)
    activation = _check_activation(activation)
    if params.w.ndim != 2:
        raise ValueError(
            f"params must hold one network (w of shape (N, D)), got {tuple(params.w.shape)}"
        )
    X1, X2 = _inputs("X1", X1, params), _inputs("X2", X2, params)
    for name, x in (("X1", X1), ("X2", X2)):
        if x.ndim != 2:
            raise ValueError(f"{name} must be (P, D) for one network, got shape {tuple(x.shape)}")
    N, D = params.width, params.n_in

    def f(w, z, x):
        h = w @ x / math.sqrt(D)
        phi = h if activation == "linear" else torch.relu(h)
        return z @ phi / (gamma * N)

    jac = torch.func.vmap(torch.func.jacrev(f, argnums=(0, 1)), in_dims=(None, None, 0))
    Jw1, Jz1 = jac(params.w, params.z, X1)
    Jw2, Jz2 = jac(params.w, params.z, X2)
    K = Jw1.reshape(X1.shape[0], -1) @ Jw2.reshape(X2.shape[0], -1).T + Jz1 @ Jz2.T
    return N * gamma**2 * K


def elastic_penalty(params: TwoLayerParams, anchor: TwoLayerParams) -> torch.Tensor:
    """The elastic weight coupling (1/2) |theta - theta_s|^2 per network.

    Args:
        params: weights, ``w`` ``(..., N, D)``, ``z`` ``(..., N)``.
        anchor: source weights theta_s, same shapes (or broadcastable).

    Returns:
        Penalty, ``(...)``.
    """
    params, anchor = _check_params("params", params), _check_params("anchor", anchor)
    _check_anchor(params, anchor, exact=False)
    dw = (params.w - anchor.w) ** 2
    dz = (params.z - anchor.z) ** 2
    return 0.5 * (dw.sum(dim=(-1, -2)) + dz.sum(dim=-1))


def _check_anchor(params: TwoLayerParams, anchor: TwoLayerParams, *, exact: bool) -> None:
    """``anchor`` must be networks of the same size whose batch broadcasts against ``params``'s (to
    exactly ``params``'s batch when ``exact``: training updates the weights in place)."""
    if anchor.w.shape[-2:] != params.w.shape[-2:]:
        raise ValueError(
            f"anchor must have the networks' (N, D) = {tuple(params.w.shape[-2:])}, "
            f"got {tuple(anchor.w.shape[-2:])}"
        )
    if anchor.w.dtype != params.w.dtype:
        raise ValueError(
            f"anchor must have the dtype of params ({params.w.dtype}), got {anchor.w.dtype}"
        )
    batch = _batch("params and anchor", params.batch_shape, anchor.batch_shape)
    if exact and batch != params.batch_shape:
        raise ValueError(
            f"anchor's batch shape {anchor.batch_shape} must broadcast to the networks' {params.batch_shape}"
        )


def velocity(
    params: TwoLayerParams,
    X,
    y,
    *,
    gamma: float,
    lam: float,
    activation: str,
    anchor: TwoLayerParams | None = None,
    elastic: float = 0.0,
    readout_only: bool = False,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """The flow (w', z') of spec Sec. 1, plus the residuals Delta.

    Equals -N gamma^2 grad L - lam theta - delta (theta - theta_s) (checked against autograd in the
    tests).

    Args:
        params: weights, ``w`` ``(..., N, D)``, ``z`` ``(..., N)``.
        X: inputs, ``(..., P, D)`` (a tensor or array; batch dimensions broadcast against ``params``).
        y: labels, ``(..., P)``.
        gamma: richness, > 0.
        lam: weight decay (>= 0).
        activation: ``"linear"`` or ``"relu"``.
        anchor: elastic anchor theta_s (required if ``elastic`` > 0).
        elastic: elastic coupling delta >= 0.
        readout_only: freeze the first layer (w' = 0).

    Returns:
        ``(w', z', Delta)`` of shapes ``(..., N, D)``, ``(..., N)``, ``(..., P)``.
    """
    params = _check_params("params", params)
    gamma = check_positive("gamma", gamma)
    lam = check_nonneg("lam", lam)
    activation = _check_activation(activation)
    elastic = check_nonneg("elastic", elastic)
    readout_only = _check_flag("readout_only", readout_only)
    X = _inputs("X", X, params)
    y = _labels("y", y, X, "X")
    _batch("params, X and y", params.batch_shape, X.shape[:-2], y.shape[:-1])
    if anchor is not None:
        _check_anchor(params, _check_params("anchor", anchor), exact=False)
    elif elastic > 0:
        raise ValueError("anchor is required when elastic > 0")
    return _velocity(
        params, X, y, gamma=gamma, lam=lam, activation=activation, anchor=anchor, elastic=elastic,
        readout_only=readout_only,
    )  # fmt: skip


def _velocity(
    params: TwoLayerParams,
    X: torch.Tensor,
    y: torch.Tensor,
    *,
    gamma: float,
    lam: float,
    activation: str,
    anchor: TwoLayerParams | None,
    elastic: float,
    readout_only: bool,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """:func:`velocity` on checked arguments (the training loop's step)."""
    D, w, z = params.n_in, params.w, params.z
    if activation == "linear":
        # phi = h: every sum over samples collapses to u = X^T Delta / sqrt(D), O(ND + PD) per step
        beta = (z.unsqueeze(-2) @ w).squeeze(-2) / (gamma * params.width)
        delta = y - (X @ beta.unsqueeze(-1)).squeeze(-1) / math.sqrt(D)
        u = (delta.unsqueeze(-2) @ X).squeeze(-2) / math.sqrt(D)  # (..., D)
        dz = gamma * (w @ u.unsqueeze(-1)).squeeze(-1) - lam * z
        dw = None if readout_only else gamma * z.unsqueeze(-1) * u.unsqueeze(-2) - lam * w
    else:
        phi, dphi = _phi(_hidden(params, X), activation)
        delta = y - (phi @ z.unsqueeze(-1)).squeeze(-1) / (gamma * params.width)
        dz = gamma * (delta.unsqueeze(-2) @ phi).squeeze(-2) - lam * z
        if not readout_only:
            g = (dphi * delta.unsqueeze(-1)).transpose(-1, -2) @ X  # (..., N, D)
            dw = gamma * z.unsqueeze(-1) * g / math.sqrt(D) - lam * w
    if readout_only:
        dw = torch.zeros_like(w)
    if elastic > 0:
        dz = dz - elastic * (z - anchor.z)
        if not readout_only:
            dw = dw - elastic * (w - anchor.w)
    return dw, dz, delta


def train(
    params: TwoLayerParams,
    X,
    y,
    *,
    gamma: float,
    lam: float,
    lr: float,
    steps: int,
    activation: Activation = "linear",
    anchor: TwoLayerParams | None = None,
    elastic: float = 0.0,
    readout_only: bool = False,
    record_every: int | None = None,
    observe: Callable[[TwoLayerParams], torch.Tensor] | None = None,
    desc: str = "training",
) -> TrainResult:
    """Full-batch gradient descent (Euler steps of the spec's flow) on a batch of networks.

    Args:
        params: initial weights, ``w`` ``(..., N, D)``, ``z`` ``(..., N)``; not modified.
        X: inputs, ``(..., P, D)``; their batch dimensions must broadcast to those of ``params``
            (the weights are updated in place).
        y: labels, ``(..., P)``.
        gamma: richness, > 0.
        lam: weight decay, >= 0.
        lr: time step (learning rate before the N gamma^2 scaling), > 0.
        steps: number of steps, >= 1.
        activation: ``"linear"`` or ``"relu"``.
        anchor: source weights for the elastic penalty (default: the initial ``params``).
        elastic: elastic coupling delta >= 0 towards ``anchor``.
        readout_only: train the readout z only (frozen features).
        record_every: steps between recorded losses/observations (default: only first and last).
        observe: function of the weights recorded alongside the loss (e.g. :func:`linear_map`).
        desc: progress-bar label.

    Returns:
        :class:`TrainResult`.

    Raises:
        ValueError: for a bad argument, or if training diverges (``lr`` too large for the data and
            ``gamma``): checked every 500 steps and at the end, the weights or the loss are no longer
            finite, or the loss exceeds a million times its bound under the flow, V(0) = L(0) +
            (lam |theta_0|^2 + delta |theta_0 - theta_s|^2) / (2 N gamma^2).
    """
    params = _check_params("params", params)
    gamma, lr = check_positive("gamma", gamma), check_positive("lr", lr)
    lam = check_nonneg("lam", lam)
    elastic = check_nonneg("elastic", elastic)
    steps = check_int("steps", steps)
    activation = _check_activation(activation)
    readout_only = _check_flag("readout_only", readout_only)
    every = steps if record_every is None else check_int("record_every", record_every)
    if observe is not None and not callable(observe):
        raise ArgumentTypeError(f"observe must be a function of the weights, got {observe!r}")
    if not isinstance(desc, str):
        raise ArgumentTypeError(f"desc must be a string, got {desc!r}")
    X = _inputs("X", X, params)
    y = _labels("y", y, X, "X")
    # the weights are updated in place, so the data may not add batch dimensions of their own
    if (
        _batch("params, X and y", params.batch_shape, X.shape[:-2], y.shape[:-1])
        != params.batch_shape
    ):
        raise ValueError(
            f"X and y must have batch dimensions that broadcast to the networks' {params.batch_shape}, "
            f"got X {tuple(X.shape)}, y {tuple(y.shape)}"
        )
    if anchor is None:
        anchor = params.clone()
    else:
        _check_anchor(params, _check_params("anchor", anchor), exact=True)
    w, z = params.w.clone(), params.z.clone()
    rec_steps, losses, obs = [], [], []
    kw = dict(
        gamma=gamma, lam=lam, activation=activation, anchor=anchor, elastic=elastic,
        readout_only=readout_only,
    )  # fmt: skip
    fused = None
    if activation == "linear" and not readout_only and w.shape == anchor.w.shape:
        sqrt_d = math.sqrt(params.n_in)

        def fused(p):
            """dz, Delta and u = X^T Delta / sqrt(D) of the linear network (w' is applied in place)."""
            beta = (p.z.unsqueeze(-2) @ p.w).squeeze(-2) / (gamma * p.width)
            delta = y - (X @ beta.unsqueeze(-1)).squeeze(-1) / sqrt_d
            u = (delta.unsqueeze(-2) @ X).squeeze(-2) / sqrt_d
            dz = gamma * (p.w @ u.unsqueeze(-1)).squeeze(-1) - lam * p.z
            if elastic > 0:
                dz = dz - elastic * (p.z - anchor.z)
            return dz, delta, u

    with torch.no_grad(), progress_bar(total=steps, desc=desc) as bar:
        for step in range(steps + 1):
            p = _unchecked(w, z)
            if step == steps or fused is None:
                dw, dz, delta = _velocity(p, X, y, **kw)
            else:
                dz, delta, u = fused(p)
            if step % 500 == 0 or step == steps:
                loss = 0.5 * (delta**2).sum(-1)
                if step == 0:
                    bound = _flow_bound(loss, p, anchor, lam=lam, elastic=elastic, gamma=gamma)
                _check_diverged(lr, step, loss, bound, w, z)
            if step % every == 0 or step == steps:
                rec_steps.append(step)
                losses.append(0.5 * (delta**2).sum(-1))
                if observe is not None:
                    obs.append(_observed(observe, p))
            if step == steps:
                break
            if fused is None:
                w.add_(dw, alpha=lr)
            else:  # w += lr (gamma z u^T - lam w - delta (w - w_s)), in place
                w.mul_(1.0 - lr * (lam + elastic))
                w.addcmul_(z.unsqueeze(-1), u.unsqueeze(-2), value=lr * gamma)
                if elastic > 0:
                    w.add_(anchor.w, alpha=lr * elastic)
            z.add_(dz, alpha=lr)
            if step % 500 == 0:
                bar.update(min(500, steps - step))
        norm2 = (w**2).sum((-1, -2)) + (z**2).sum(-1)
        speed = torch.sqrt(((dw**2).sum((-1, -2)) + (dz**2).sum(-1)) / norm2)
    return TrainResult(
        params=_unchecked(w, z),
        steps=np.array(rec_steps),
        loss=torch.stack(losses).numpy(),
        observed=torch.stack(obs).numpy() if obs else None,
        speed=speed.numpy(),
        lr=lr,
    )


def _observed(observe: Callable, p: TwoLayerParams) -> torch.Tensor:
    out = observe(p)
    if isinstance(out, torch.Tensor):
        return out.clone()
    try:
        return torch.as_tensor(as_float_array("observe's value", out))
    except (TypeError, ValueError):
        raise ValueError(f"observe must return a tensor or array of numbers, got {out!r}") from None


# How far above its bound under the flow the loss may go before the Euler steps count as diverged. A
# stable step decreases the objective, as the flow does; a million times the bound is far beyond
# any stable run and reached within a few steps by an unstable one (the linear network's flow is cubic
# in the weights, so an unstable step grows the error like a tower of powers).
_BLOWUP = 1e6


def _flow_bound(loss, params: TwoLayerParams, anchor: TwoLayerParams, *, lam, elastic, gamma):
    """V(0) = L + (lam |theta|^2 + delta |theta - theta_s|^2) / (2 N gamma^2) per network.

    The flow is theta' = -N gamma^2 grad V, so V never increases along it and L(t) <= V(0).
    """
    w, z = params.w, params.z
    reg = lam * ((w**2).sum((-1, -2)) + (z**2).sum(-1))
    if elastic > 0:
        reg = reg + elastic * (((w - anchor.w) ** 2).sum((-1, -2)) + ((z - anchor.z) ** 2).sum(-1))
    return loss + reg / (2 * params.width * gamma**2)


def _check_diverged(lr: float, step: int, loss, bound, w, z) -> None:
    """Raise if Euler steps of size ``lr`` have left the flow (NaN, inf, or a loss far above the
    flow's bound), instead of returning NaN or numbers that follow no flow."""
    finite = all(bool(torch.isfinite(t).all()) for t in (loss, w, z))
    if not finite or bool((loss > _BLOWUP * bound).any()):
        raise ValueError(
            f"training diverged: after {step} steps the loss is {float(loss.max()):.3g}, above "
            f"{_BLOWUP:g} times its bound {float(bound.max()):.3g} under the gradient flow; lr = {lr:g} "
            "is too large a step for these data and this gamma, use a smaller lr"
        )


def readout_predictions(
    params: TwoLayerParams,
    X_t,
    y_t,
    X_test,
    *,
    activation: Activation = "linear",
    ridge: float = 0.0,
    rcond: float = 1e-6,
) -> torch.Tensor:
    """Protocol (i): a readout trained on the target with the first layer frozen at ``params``.

    With ``ridge`` = 0 this is the minimum-norm least-squares readout on the features phi(h_i(x))
    (the limit of gradient flow on z alone, without weight decay): singular directions of the feature
    matrix below ``rcond`` times the largest are dropped, as a finite training time would (after
    weight-decay pretraining the features of a linear network have rank one up to a residue that decays
    like e^{-lam t}). With ``ridge`` > 0: kernel ridge regression with Phi_s and that ridge.

    Args:
        params: frozen (pretrained) weights, ``w`` ``(..., N, D)``, ``z`` ``(..., N)``.
        X_t: target inputs, ``(..., P_t, D)``.
        y_t: target labels, ``(..., P_t)``.
        X_test: test inputs, ``(..., P_test, D)``.
        activation: ``"linear"`` or ``"relu"``.
        ridge: ridge on the feature kernel, >= 0.
        rcond: relative singular-value cutoff of the least-squares fit (``ridge`` = 0), in (0, 1).

    Returns:
        Predictions on X_test, ``(..., P_test)``.
    """
    params = _check_params("params", params)
    activation = _check_activation(activation)
    if not 0 < check_real("rcond", rcond) < 1:
        raise ValueError(f"rcond must lie in (0, 1), got {rcond!r}")
    ridge = check_nonneg("ridge", ridge)
    dt = params.w.dtype
    X_t, X_test = _inputs("X_t", X_t, params), _inputs("X_test", X_test, params)
    y_t = _labels("y_t", y_t, X_t, "X_t")
    _batch(
        "params, X_t, y_t and X_test",
        params.batch_shape, X_t.shape[:-2], y_t.shape[:-1], X_test.shape[:-2],
    )  # fmt: skip
    F, _ = _phi(_hidden(params, X_t), activation)  # (..., P_t, N)
    F_test, _ = _phi(_hidden(params, X_test), activation)
    if ridge > 0:
        N = params.width
        Phi = F @ F.transpose(-1, -2) / N
        eye = torch.eye(Phi.shape[-1], dtype=dt)
        coef = torch.linalg.solve(Phi + ridge * eye, y_t.unsqueeze(-1))
        return (F_test @ F.transpose(-1, -2) / N @ coef).squeeze(-1)
    U, S, Vh = torch.linalg.svd(F, full_matrices=False)
    keep = S > rcond * S[..., :1]
    inv = torch.where(keep, 1.0 / torch.where(keep, S, torch.ones_like(S)), torch.zeros_like(S))
    a = Vh.transpose(-1, -2) @ (inv.unsqueeze(-1) * (U.transpose(-1, -2) @ y_t.unsqueeze(-1)))
    return (F_test @ a).squeeze(-1)


# ----------------------------------------------------------------------------------------- data


def aligned_teachers(
    D: int, alpha, *, rng: np.random.Generator, source=None
) -> tuple[np.ndarray, np.ndarray]:
    """Source and target teachers with |beta|^2 = D and cos(beta_s, beta_t) = alpha exactly.

    Args:
        D: input dimension, >= 2.
        alpha: alignments in [-1, 1], any shape ``S``.
        rng: numpy generator.
        source: given source teachers, ``(..., D)`` broadcast against ``S`` (default: independent
            random directions); they are rescaled to |beta_s|^2 = D.

    Returns:
        ``(beta_s, beta_t)``, each ``(*S', D)`` with ``S'`` the broadcast shape.
    """
    D = check_int("D", D, minimum=2)
    alpha = as_float_array("alpha", alpha)
    if not np.all(np.abs(alpha) <= 1):
        raise ValueError("alpha must lie in [-1, 1]")
    check_rng(rng)
    if source is None:
        g = rng.standard_normal((*alpha.shape, D))
    else:
        g = as_float_array("source", source)
        if g.ndim == 0 or g.shape[-1] != D or not np.all(np.linalg.norm(g, axis=-1) > 0):
            raise ValueError(
                f"source must be non-zero vectors of length D = {D}, got shape {g.shape}"
            )
    try:
        shape = np.broadcast_shapes(alpha.shape, g.shape[:-1])
    except ValueError:
        raise ValueError(
            f"alpha {alpha.shape} and source {g.shape[:-1]} (less its last axis) must broadcast together"
        ) from None
    e_s = np.broadcast_to(g / np.linalg.norm(g, axis=-1, keepdims=True), (*shape, D))
    r = rng.standard_normal((*shape, D))
    perp = r - np.sum(r * e_s, axis=-1, keepdims=True) * e_s
    e_p = perp / np.linalg.norm(perp, axis=-1, keepdims=True)
    a = np.broadcast_to(alpha, shape)[..., None]
    return np.sqrt(D) * e_s.copy(), np.sqrt(D) * (a * e_s + np.sqrt(1 - a**2) * e_p)


def gaussian_task(beta, P: int, *, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Noiseless linear teacher data: x ~ N(0, I_D), y = beta . x / sqrt(D).

    Args:
        beta: teachers, ``(..., D)``.
        P: samples per teacher, >= 1.
        rng: numpy generator.

    Returns:
        ``(X, y)`` of shapes ``(..., P, D)`` and ``(..., P)``.
    """
    beta = as_float_array("beta", beta)
    if beta.ndim == 0 or beta.shape[-1] == 0:
        raise ValueError(
            f"beta must be teachers of shape (..., D) with D >= 1, got shape {beta.shape}"
        )
    P = check_int("P", P)
    check_rng(rng)
    D = beta.shape[-1]
    X = rng.standard_normal((*beta.shape[:-1], P, D))
    return X, np.einsum("...pd,...d->...p", X, beta) / np.sqrt(D)


def polynomial_task(beta, P: int, *, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Noiseless single-index polynomial teacher: x ~ N(0, I_D), u = beta . x / sqrt(D),
    y = (u + He_2(u) / sqrt(2)) / sqrt(2) with He_2(u) = u^2 - 1.

    For |beta|^2 = D (as from :func:`aligned_teachers`) u is a standard Gaussian, the two Hermite
    terms are orthonormal and E y = 0, E y^2 = 1: half the signal is linear, half quadratic.

    Args:
        beta: teacher directions, ``(..., D)``.
        P: samples per teacher, >= 1.
        rng: numpy generator.

    Returns:
        ``(X, y)`` of shapes ``(..., P, D)`` and ``(..., P)``.
    """
    X, u = gaussian_task(beta, P, rng=rng)
    return X, (u + (u**2 - 1) / math.sqrt(2)) / math.sqrt(2)


def digits_data() -> tuple[np.ndarray, np.ndarray]:
    """scikit-learn's bundled 8x8 digits (1797 images; no download), pixels/16, standardised.

    Pixels that are constant over the set stay 0 after centring. Each image is then scaled so that
    the average |x|^2 / D is 1, the normalisation of the Gaussian inputs.

    Returns:
        ``(X, digit)``: inputs ``(1797, 64)`` and digit labels ``(1797,)``.
    """
    from sklearn.datasets import load_digits

    d = load_digits()
    X = d.data / 16.0
    X = X - X.mean(0)
    sd = X.std(0)
    X = X / np.where(sd > 0, sd, 1.0)
    X = X / np.sqrt(np.mean(np.sum(X**2, axis=1)) / X.shape[1])
    return X, d.target.copy()


def binary_labels(digit, positive: Sequence[int]) -> np.ndarray:
    """+-1 labels of a binary task: +1 for digits in ``positive``, -1 otherwise.

    Args:
        digit: integer digit labels in 0-9, any shape (usually ``(P,)``).
        positive: the digits labelled +1 (a non-empty proper subset of 0-9).

    Returns:
        Labels, the shape of ``digit``.
    """
    digit = np.asarray(digit)
    if digit.dtype.kind not in "iu":
        raise ArgumentTypeError(
            f"digit must be an array of integer digit labels, got dtype {digit.dtype}"
        )
    if digit.size and (digit.min() < 0 or digit.max() > 9):
        raise ValueError(f"digit must hold digits 0-9, got {digit.min()}..{digit.max()}")
    if isinstance(positive, str | bytes) or not isinstance(positive, Iterable):
        raise ArgumentTypeError(f"positive must be a collection of digits, got {positive!r}")
    positive = tuple(positive)
    if not all(isinstance(p, int | np.integer) and not isinstance(p, bool) for p in positive):
        raise ArgumentTypeError(f"positive must hold integer digits, got {positive!r}")
    pos = set(int(p) for p in positive)
    if not pos or not pos <= set(range(10)) or len(pos) == 10:
        raise ValueError(f"positive must be a non-empty proper subset of 0-9, got {positive!r}")
    return np.where(np.isin(digit, sorted(pos)), 1.0, -1.0)
