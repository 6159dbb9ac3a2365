"""Two-layer networks in the mean-field / muP parameterisation with richness gamma: weights, outputs,
feature kernels, the empirical NTK and the predictors built on frozen or linearised networks.

The network of Lauditi, Bordelon & Pehlevan (2025), "Transfer learning in infinite width feature
learning networks", arXiv:2507.04448, written as in the companion code of arXiv:2502.07998
(github.com/clarissalauditi/adaptive_kernel_predictors, ``2layer_mlp/GF.py``, ``NN_func``):

    h_i(x) = w_i . x / sqrt(D),    f(x) = (1 / (gamma N)) sum_i z_i phi(h_i(x)),

with w_i ~ N(0, I_D), z_i ~ N(0, 1) at initialisation. Gradient descent with the learning rate
scaled by N gamma^2 (``NN_train`` there) is in :mod:`dltheory.kernel_training`. The NTK of this
parameterisation is K = N gamma^2 J J^T = Phi + G * C with the feature kernel
Phi = (1/N) sum_i phi phi', the gradient kernel G = (1/N) sum_i z_i^2 phi' phi'' and C = x . x' / D;
:func:`empirical_ntk` computes it with ``torch.func`` (jacrev + vmap), :func:`feature_kernels` from
the hidden features.

Layout: ``X`` is ``(..., P, D)``; weights ``w`` are ``(..., N, D)``, ``z`` ``(..., N)``; leading
dimensions ``...`` index independent networks (seeds, conditions) evaluated as one batched program.
Everything is float64 unless said otherwise. Randomness comes from a ``torch.Generator`` that the
caller derives from its numpy ``rng`` (:func:`torch_generator`); nothing seeds globally.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
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
)
from dltheory._torch import torch, torch_generator

__all__ = [
    "Activation",
    "TwoLayerParams",
    "init_params",
    "forward",
    "linear_map",
    "feature_kernels",
    "empirical_ntk",
    "readout_predictions",
    "linearised_beta",
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


def init_params(
    n_in: int,
    width: int,
    *,
    batch: Sequence[int] = (),
    rng: np.random.Generator,
    dtype: torch.dtype = torch.float64,
) -> TwoLayerParams:
    """Mean-field initialisation w_i ~ N(0, I_D), z_i ~ N(0, 1), as ``NN_train`` of the companion code.

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

    Phi(x, x') = (1/N) sum_i phi(h_i) phi(h_i'), G = (1/N) sum_i z_i^2 phi'(h_i) phi'(h_i'),
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
    learning-rate scaling of the parameterisation, so that df/dt = K Delta under the flow and
    K = Phi + G * C.

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


def linearised_beta(params: TwoLayerParams, X_t, y_t, beta0) -> torch.Tensor:
    """Linear map of the lazy predictor: linear networks linearised at ``params``, fitted to the target.

    The predictor is f(x) = f_0(x) + K(x, X_t) K(X_t, X_t)^{-1} (y_t - f_0(X_t)), with K the empirical
    NTK of ``params`` (linear activation, :func:`feature_kernels`) and f_0(x) = beta0 . x / sqrt(D):
    kernel regression without a ridge around f_0, the end point of gradient flow on the linearised
    network. Its outputs at x = sqrt(D) e_k are the entries of its linear map, which this returns.
    ``beta0`` = 0 gives plain kernel regression with the NTK of ``params``.

    Args:
        params: weights the kernel is taken at, ``w`` ``(..., N, D)``, ``z`` ``(..., N)``.
        X_t: target inputs, ``(..., P_t, D)``, with P_t <= D so that K(X_t, X_t) is invertible.
        y_t: target labels, ``(..., P_t)``.
        beta0: linear map of f_0, ``(..., D)``.

    Returns:
        beta of the predictor, ``(...', D)`` with ``...'`` the broadcast batch shape.
    """
    params = _check_params("params", params)
    dt, D = params.w.dtype, params.n_in
    X_t = _inputs("X_t", X_t, params).contiguous()
    y_t = _labels("y_t", y_t, X_t, "X_t").contiguous()
    beta0 = _as_tensor("beta0", beta0, dt).contiguous()
    if beta0.shape[-1] != D:
        raise ValueError(f"beta0 must have D = {D} entries, got shape {tuple(beta0.shape)}")
    batch = _batch(
        "params, X_t, y_t and beta0",
        params.batch_shape, X_t.shape[:-2], y_t.shape[:-1], beta0.shape[:-1],
    )  # fmt: skip
    E = torch.as_tensor(np.broadcast_to(np.sqrt(D) * np.eye(D), (*batch, D, D)).copy())
    _, _, K = feature_kernels(params, X_t, X_t)
    _, _, Kx = feature_kernels(params, E, X_t)
    resid = y_t - (X_t @ beta0[..., None]).squeeze(-1) / np.sqrt(D)
    return beta0 + (Kx @ torch.linalg.solve(K, resid[..., None])).squeeze(-1)
