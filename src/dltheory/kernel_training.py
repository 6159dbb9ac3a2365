"""Training the two-layer networks of :mod:`dltheory.kernel_nets`: the weight-decay gradient flow, its
elastic coupling to source weights, and full-batch gradient descent on batches of networks.

The flow is that of the companion code of arXiv:2502.07998 (``2layer_mlp/GF.py``, ``NN_train``: the
learning rate scaled by N gamma^2, weight decay lam), used by Lauditi, Bordelon & Pehlevan (2025),
arXiv:2507.04448; gradient descent is its Euler discretisation with time step ``lr``:

    w_i' = gamma z_i sum_mu Delta_mu phi'(h_i^mu) x_mu / sqrt(D) - lam w_i - delta (w_i - w_i^s),
    z_i' = gamma sum_mu Delta_mu phi(h_i^mu) - lam z_i - delta (z_i - z_i^s),   Delta = y - f(X).

The elastic term (strength ``elastic`` = delta, towards anchor weights theta^s) is the elastic weight
coupling of the paper's first version (arXiv:2507.04448v1), in the form (delta/2)|theta - theta^s|^2
that the book chooses. The gradients are written out (not autograd), which lets the linear network
take O(ND + PD) steps, and are checked against autograd in the tests.

Layout as in :mod:`dltheory.kernel_nets`: ``X`` ``(..., P, D)``, ``w`` ``(..., N, D)``, ``z`` ``(..., N)``.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from dltheory._checks import (
    ArgumentTypeError,
    as_float_array,
    check_int,
    check_nonneg,
    check_positive,
)
from dltheory._torch import torch
from dltheory.kernel_nets import (
    Activation,
    TwoLayerParams,
    _batch,
    _check_activation,
    _check_params,
    _hidden,
    _inputs,
    _labels,
    _phi,
    _unchecked,
)
from dltheory.progress import progress_bar
from dltheory.trajectory import Trajectory, recorded_steps

__all__ = ["TrainResult", "elastic_penalty", "velocity", "train"]


@dataclass(frozen=True)
class TrainResult(Trajectory):
    """What a batch of training runs did (a :class:`~dltheory.trajectory.Trajectory`).

    Attributes:
        params: final weights.
        steps: recorded step numbers, ``(T,)`` (first 0, last ``steps``).
        loss: training loss (1/2) sum_mu Delta_mu^2 at the recorded steps, ``(T, ...)``.
        observed: ``observe(params)`` at the recorded steps stacked on a first time axis, or None.
        speed: final |theta'| / |theta| per network, ``(...)``: how far from a fixed point.
        lr: the time step; time = step * lr.
    """

    params: TwoLayerParams
    loss: np.ndarray
    observed: np.ndarray | None
    speed: np.ndarray


def _check_flag(name: str, value) -> bool:
    if not isinstance(value, bool | np.bool_):
        raise ArgumentTypeError(f"{name} must be True or False, got {value!r}")
    return bool(value)


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
    """The flow (w', z') of the module docstring, plus the residuals Delta.

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
    record_steps: Sequence[int] | None = None,
    observe: Callable[[TwoLayerParams], torch.Tensor] | None = None,
    progress: bool | None = None,
    desc: str = "training",
) -> TrainResult:
    """Full-batch gradient descent (Euler steps of the flow) on a batch of networks.

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
        record_every: record losses/observations at step 0, every this many steps and the last
            (default: only the first and the last).
        record_steps: record exactly these increasing step numbers instead.
        observe: function of the weights recorded alongside the loss (e.g. :func:`linear_map`).
        progress: show a progress bar; ``None`` follows ``DLTHEORY_PROGRESS`` / ``CI``.
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
    rec = recorded_steps(
        steps, record_every=record_every, record_steps=record_steps, default_every=steps
    )
    is_rec = np.zeros(steps + 1, dtype=bool)
    is_rec[rec] = True
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
    losses, obs = [], []
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

    with torch.no_grad(), progress_bar(total=steps, desc=desc, progress=progress) as bar:
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
            if is_rec[step]:
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
        steps=rec,
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
