"""Small torch networks with explicit dtype and generator, and a full-batch gradient-descent loop.

Chapter 5 (Oymak et al. 2019, arXiv:1906.05392). Symbols of the paper: ``W`` the trained input weights
``(k, d)``, ``V`` the fixed readout ``(K, k)``, ``k`` the width, ``d`` the input size, ``K`` the classes;
``P`` samples (the paper's ``n``). Inputs ``X`` are ``(P, d)``; outputs ``(P, K)``.

Both networks use a *symmetric (doubled) initialisation*: the hidden units come in two identical
copies whose readout columns have opposite signs, so ``f(x; W_0) = 0`` for every ``x`` and the initial
residual is ``r_0 = -y``. Randomness comes from a ``torch.Generator`` derived from a numpy generator
(:func:`torch_generator`); nothing is seeded globally.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from torch import nn

from dltheory._checks import ArgumentTypeError, as_float_array, check_int, check_positive
from dltheory._torch import torch, torch_generator
from dltheory.progress import progress_bar
from dltheory.trajectory import Trajectory, recorded_steps

__all__ = [
    "torch_generator",
    "TwoLayerNet",
    "ThreeLayerNet",
    "two_layer_net",
    "three_layer_net",
    "LinearisedTwoLayerNet",
    "linearised",
    "TrainRecord",
    "train_gd",
]


# How far above its initial value the loss may go before gradient descent counts as diverged: the flow
# never increases the loss, a stable step barely does, and an unstable one multiplies the error by a
# factor > 1 every step, so it passes a million times the start within a few steps.
_BLOWUP = 1e6


def _as_tensor(name: str, x, dtype, *, ndim: int) -> torch.Tensor:
    """``x`` (a tensor or array-like of finite real numbers) with ``ndim`` dimensions, as ``dtype``."""
    if isinstance(x, torch.Tensor):
        x = x.detach().cpu().numpy()
    arr = as_float_array(name, x, ndim=ndim)
    if 0 in arr.shape:
        raise ValueError(f"{name} must not be empty, got shape {arr.shape}")
    if not arr.flags.writeable:
        arr = arr.copy()
    return torch.as_tensor(arr, dtype=dtype)


def _signs(shape, gen: torch.Generator, dtype) -> torch.Tensor:
    return (torch.randint(0, 2, shape, generator=gen) * 2 - 1).to(dtype)


class TwoLayerNet(nn.Module):
    """``f(x) = V relu(W x)``: trained ``W`` ``(k, d)``, fixed readout ``V`` ``(K, k)`` (a buffer).

    Implements the one-hidden-layer model of Oymak et al. 2019 (arXiv:1906.05392).
    Build it with :func:`two_layer_net`.
    """

    def __init__(self, W: torch.Tensor, V: torch.Tensor):
        super().__init__()
        self.W = nn.Parameter(W)
        self.register_buffer("V", V)

    def forward(self, X: torch.Tensor) -> torch.Tensor:
        """``X`` ``(P, d)`` -> outputs ``(P, K)``."""
        return torch.relu(X @ self.W.T) @ self.V.T


class ThreeLayerNet(nn.Module):
    """``f(x) = V relu(W2 relu(W1 x) / sqrt(k/2))``, trained ``W1`` ``(k, d)`` and ``W2`` ``(k, k)``.

    The deeper network of chapter 5. Build it with :func:`three_layer_net`. ``W2`` starts
    block-diagonal (two identical ``k/2`` blocks), so the two copies stay separate at initialisation
    and ``f(W_0) = 0``; training is free to fill the off-diagonal blocks.
    """

    def __init__(self, W1: torch.Tensor, W2: torch.Tensor, V: torch.Tensor):
        super().__init__()
        self.W1 = nn.Parameter(W1)
        self.W2 = nn.Parameter(W2)
        self.register_buffer("V", V)
        self.scale = 1.0 / math.sqrt(W2.shape[1] / 2)

    def forward(self, X: torch.Tensor) -> torch.Tensor:
        """``X`` ``(P, d)`` -> outputs ``(P, K)``."""
        h = torch.relu(X @ self.W1.T)
        return torch.relu(self.scale * (h @ self.W2.T)) @ self.V.T


def _check_sizes(d, width, num_classes, dtype):
    d = check_int("d", d)
    width = check_int("width", width, minimum=2)
    if width % 2:
        raise ValueError(f"width must be even (two symmetric copies), got {width}")
    if not isinstance(dtype, torch.dtype) or not dtype.is_floating_point:
        raise ArgumentTypeError(f"dtype must be a floating-point torch dtype, got {dtype!r}")
    return d, width, check_int("num_classes", num_classes)


def two_layer_net(
    d: int,
    width: int,
    num_classes: int,
    *,
    rng: np.random.Generator,
    dtype: torch.dtype = torch.float64,
) -> TwoLayerNet:
    """Chapter 5's two-layer ReLU network with symmetric doubled initialisation (``f(W_0) = 0``).

    ``W_0 = [A; A]`` with ``A_{ij} ~ N(0, 1)`` of shape ``(k/2, d)``; ``V = [B, -B]`` with ``B`` of
    entries ``+-1/sqrt(k)``, shape ``(K, k/2)``.

    Args:
        d: input size.
        width: hidden width ``k`` (even).
        num_classes: outputs ``K``.
        rng: numpy generator (a torch generator is derived from it).
        dtype: parameter dtype.
    """
    d, width, num_classes = _check_sizes(d, width, num_classes, dtype)
    gen = torch_generator(rng)
    half = width // 2
    A = torch.randn(half, d, generator=gen, dtype=dtype)
    B = _signs((num_classes, half), gen, dtype) / math.sqrt(width)
    return TwoLayerNet(torch.cat([A, A], 0), torch.cat([B, -B], 1))


class LinearisedTwoLayerNet(nn.Module):
    """The first-order model ``f(W_0) + J(W_0)(W - W_0)`` of a :class:`TwoLayerNet`, exactly.

    For ``f(x) = V relu(W x)`` the Jacobian at ``W_0`` applied to ``Delta`` is ``V (g(x) * (Delta x))``
    with the gates ``g(x) = 1[W_0 x > 0]`` frozen, and ``relu(W_0 x) = g(x) * (W_0 x)``, so the linearised
    model is ``V (g(x) * (W x))``: the same network with its ReLU gates fixed at initialisation. Gradient
    descent on it is kernel gradient descent with the network's initial Gram ``J(W_0) J(W_0)^T``, the
    linearised dynamics of Oymak et al. 2019 (arXiv:1906.05392). Build it with :func:`linearised`.
    """

    def __init__(self, W0: torch.Tensor, V: torch.Tensor):
        super().__init__()
        self.W = nn.Parameter(W0.clone())
        self.register_buffer("W0", W0.clone())
        self.register_buffer("V", V.clone())

    def forward(self, X: torch.Tensor) -> torch.Tensor:
        """``X`` ``(P, d)`` -> outputs ``(P, K)``."""
        gates = (X @ self.W0.T > 0).to(X.dtype)
        return (gates * (X @ self.W.T)) @ self.V.T


def linearised(net: TwoLayerNet) -> LinearisedTwoLayerNet:
    """The linearisation of ``net`` at its current weights, as a trainable module (a copy)."""
    if not isinstance(net, TwoLayerNet):
        raise ArgumentTypeError(f"net must be a TwoLayerNet, got {type(net).__name__}")
    return LinearisedTwoLayerNet(net.W.detach(), net.V.detach())


def three_layer_net(
    d: int,
    width: int,
    num_classes: int,
    *,
    rng: np.random.Generator,
    dtype: torch.dtype = torch.float64,
) -> ThreeLayerNet:
    """A three-layer ReLU network with the same doubled initialisation (``f(W_0) = 0``).

    ``W1 = [A; A]`` (``A`` ``(k/2, d)``, entries ``N(0, 1)``), ``W2 = diag(C, C)`` (``C`` ``(k/2, k/2)``,
    entries ``N(0, 1)``; forward scale ``1/sqrt(k/2)``), ``V = [B, -B]`` with ``B`` entries
    ``+-1/sqrt(k)``.

    Args:
        d: input size.
        width: hidden width ``k`` of both hidden layers (even).
        num_classes: outputs ``K``.
        rng: numpy generator.
        dtype: parameter dtype.
    """
    d, width, num_classes = _check_sizes(d, width, num_classes, dtype)
    gen = torch_generator(rng)
    half = width // 2
    A = torch.randn(half, d, generator=gen, dtype=dtype)
    C = torch.randn(half, half, generator=gen, dtype=dtype)
    B = _signs((num_classes, half), gen, dtype) / math.sqrt(width)
    return ThreeLayerNet(torch.cat([A, A], 0), torch.block_diag(C, C), torch.cat([B, -B], 1))


@dataclass(frozen=True)
class TrainRecord(Trajectory):
    """What :func:`train_gd` measured (a :class:`~dltheory.trajectory.Trajectory`).

    Attributes:
        steps: ``(T,)`` recorded step numbers (0 is the initialisation).
        loss: ``(T,)`` training loss ``0.5 * ||f - Y||_F^2``.
        residuals: ``(T, K P)`` stacked residuals ``r = f - y``, class-major (entry ``c * P + i``).
        train_acc: ``(T,)`` accuracy against the labels trained on.
        test_acc: ``(T,)`` accuracy on the held-out set (NaN if none was given).
        lr: the learning rate used.
    """

    loss: np.ndarray
    residuals: np.ndarray
    train_acc: np.ndarray
    test_acc: np.ndarray


def train_gd(
    model: nn.Module,
    X,
    Y,
    *,
    lr: float,
    steps: int,
    record_every: int | None = None,
    record_steps=None,
    X_test=None,
    labels_test=None,
    progress: bool | None = None,
    desc: str = "train",
) -> TrainRecord:
    """Full-batch gradient descent on ``0.5 * ||f(X) - Y||_F^2`` over every trainable parameter.

    ``W_{t+1} = W_t - lr * grad L(W_t)`` (the full-batch gradient descent of Oymak et al. 2019,
    arXiv:1906.05392). The model is trained in place.

    Args:
        model: network mapping ``(P, d)`` to ``(P, K)``.
        X: ``(P, d)`` training inputs.
        Y: ``(P, K)`` training targets (one-hot, possibly corrupted).
        lr: step size ``eta``.
        steps: number of gradient steps.
        record_every: record step 0, every this many steps and the last (default: every step).
        record_steps: record exactly these increasing step numbers in ``[0, steps]`` instead.
        X_test: optional ``(P_test, d)`` held-out inputs.
        labels_test: ``(P_test,)`` held-out classes in ``[0, K)`` (with ``X_test``).
        progress: show a progress bar; ``None`` follows ``DLTHEORY_PROGRESS`` / ``CI``.
        desc: the progress bar's label.

    Returns:
        A :class:`TrainRecord`.

    Raises:
        ValueError: for a bad argument, or if training diverges (``lr`` too large): the loss becomes
            non-finite or exceeds a million times its initial value, which bounds it under the gradient
            flow. The model is then left at the weights it had reached.
    """
    if not isinstance(model, nn.Module):
        raise ArgumentTypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    params = [q for q in model.parameters() if q.requires_grad]
    if not params:
        raise ValueError("model must have trainable parameters")
    lr = check_positive("lr", lr)
    steps = check_int("steps", steps, minimum=0)
    if not isinstance(desc, str):
        raise ArgumentTypeError(f"desc must be a string, got {desc!r}")
    dtype = params[0].dtype
    X = _as_tensor("X", X, dtype, ndim=2)
    Y = _as_tensor("Y", Y, dtype, ndim=2)
    if X.shape[0] != Y.shape[0]:
        raise ValueError(
            f"X (P, d) and Y (P, K) must share P, got {tuple(X.shape)}, {tuple(Y.shape)}"
        )
    rec = recorded_steps(steps, record_every=record_every, record_steps=record_steps)
    if (X_test is None) != (labels_test is None):
        raise ValueError("give X_test and labels_test together")
    with torch.no_grad():
        try:
            out = model(X)
        except RuntimeError as e:
            raise ValueError(
                f"model cannot be applied to X of shape {tuple(X.shape)}: {e}"
            ) from None
    if out.shape != Y.shape:
        raise ValueError(
            f"Y must have the model's output shape {tuple(out.shape)}, got {tuple(Y.shape)}"
        )
    if not bool(torch.isfinite(out).all()):
        raise ValueError("model gives non-finite outputs on X: its parameters must be finite")
    if X_test is not None:
        Xt = _as_tensor("X_test", X_test, dtype, ndim=2)
        if Xt.shape[1] != X.shape[1]:
            raise ValueError(
                f"X_test must have d = {X.shape[1]} columns, got shape {tuple(Xt.shape)}"
            )
        lt = np.asarray(labels_test)
        if lt.dtype.kind not in "iu":
            raise ArgumentTypeError(f"labels_test must be integer classes, got dtype {lt.dtype}")
        if lt.shape != (Xt.shape[0],):
            raise ValueError(
                f"labels_test must have shape ({Xt.shape[0]},) like X_test, got {lt.shape}"
            )
        if lt.size and (lt.min() < 0 or lt.max() >= Y.shape[1]):
            raise ValueError(
                f"labels_test must lie in [0, {Y.shape[1]}), got {lt.min()}..{lt.max()}"
            )
        lt = torch.as_tensor(lt)
    labels = Y.argmax(1)
    is_rec = np.zeros(steps + 1, dtype=bool)
    is_rec[rec] = True
    loss_h, res_h, tr_h, te_h = [], [], [], []
    with progress_bar(total=steps, desc=desc, progress=progress) as bar:
        for t in range(steps + 1):
            out = model(X)
            resid = out - Y
            loss = 0.5 * (resid**2).sum()
            value = float(loss.detach())
            if t == 0:
                bound = _BLOWUP * value
            if not value <= bound:  # also catches NaN
                raise ValueError(
                    f"training diverged: after {t} steps the loss is {value:.3g}, above {_BLOWUP:g} "
                    f"times its initial value (which bounds it under the gradient flow); lr = {lr:g} is "
                    "too large a step for this model and these data, use a smaller lr"
                )
            if is_rec[t]:
                with torch.no_grad():
                    loss_h.append(value)
                    res_h.append(resid.detach().T.reshape(-1).numpy().copy())
                    tr_h.append(float((out.argmax(1) == labels).double().mean()))
                    if X_test is not None:
                        te_h.append(float((model(Xt).argmax(1) == lt).double().mean()))
                    else:
                        te_h.append(float("nan"))
            if t == steps:
                break
            grads = torch.autograd.grad(loss, params)
            with torch.no_grad():
                for q, g in zip(params, grads, strict=True):
                    q.sub_(lr * g)
            bar.update(1)
    return TrainRecord(
        steps=rec,
        loss=np.array(loss_h),
        residuals=np.stack(res_h),
        train_acc=np.array(tr_h),
        test_acc=np.array(te_h),
        lr=lr,
    )
