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
from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np
import torch
from threadpoolctl import threadpool_limits
from torch import nn

from dltheory._checks import check_int, check_positive
from dltheory.progress import progress_bar

__all__ = [
    "single_threaded",
    "torch_generator",
    "TwoLayerNet",
    "ThreeLayerNet",
    "two_layer_net",
    "three_layer_net",
    "TrainRecord",
    "train_gd",
]


@contextmanager
def single_threaded():
    """Run torch and BLAS on one thread inside the block, restoring torch's setting after it.

    On a small shared machine the per-step work of these networks is too small to split: with two
    torch threads and other processes on two cores, a gradient step measured 10-20x slower than on
    one thread, and numpy's BLAS threads, spinning between calls, starve torch's.
    """
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        with threadpool_limits(1, user_api="blas"):
            yield
    finally:
        torch.set_num_threads(before)


def torch_generator(rng: np.random.Generator) -> torch.Generator:
    """A CPU ``torch.Generator`` seeded from ``rng`` (advances ``rng`` by one draw)."""
    if not isinstance(rng, np.random.Generator):
        raise ValueError(f"rng must be a numpy Generator, got {type(rng).__name__}")
    g = torch.Generator()
    g.manual_seed(int(rng.integers(0, 2**62)))
    return g


def _signs(shape, gen: torch.Generator, dtype) -> torch.Tensor:
    return (torch.randint(0, 2, shape, generator=gen) * 2 - 1).to(dtype)


class TwoLayerNet(nn.Module):
    """``f(x) = V relu(W x)``: trained ``W`` ``(k, d)``, fixed readout ``V`` ``(K, k)`` (a buffer).

    Implements the model of Sec. 1 of the chapter-5 spec (Oymak et al. 2019, one hidden layer).
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


def _check_sizes(d, width, num_classes):
    d = check_int("d", d)
    width = check_int("width", width, minimum=2)
    if width % 2:
        raise ValueError(f"width must be even (two symmetric copies), got {width}")
    return d, width, check_int("num_classes", num_classes)


def two_layer_net(
    d: int,
    width: int,
    num_classes: int,
    *,
    rng: np.random.Generator,
    dtype: torch.dtype = torch.float64,
) -> TwoLayerNet:
    """The spec's two-layer ReLU network with symmetric doubled initialisation (``f(W_0) = 0``).

    ``W_0 = [A; A]`` with ``A_{ij} ~ N(0, 1)`` of shape ``(k/2, d)``; ``V = [B, -B]`` with ``B`` of
    entries ``+-1/sqrt(k)``, shape ``(K, k/2)``.

    Args:
        d: input size.
        width: hidden width ``k`` (even).
        num_classes: outputs ``K``.
        rng: numpy generator (a torch generator is derived from it).
        dtype: parameter dtype.
    """
    d, width, num_classes = _check_sizes(d, width, num_classes)
    gen = torch_generator(rng)
    half = width // 2
    A = torch.randn(half, d, generator=gen, dtype=dtype)
    B = _signs((num_classes, half), gen, dtype) / math.sqrt(width)
    return TwoLayerNet(torch.cat([A, A], 0), torch.cat([B, -B], 1))


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
    d, width, num_classes = _check_sizes(d, width, num_classes)
    gen = torch_generator(rng)
    half = width // 2
    A = torch.randn(half, d, generator=gen, dtype=dtype)
    C = torch.randn(half, half, generator=gen, dtype=dtype)
    B = _signs((num_classes, half), gen, dtype) / math.sqrt(width)
    return ThreeLayerNet(torch.cat([A, A], 0), torch.block_diag(C, C), torch.cat([B, -B], 1))


@dataclass(frozen=True)
class TrainRecord:
    """What :func:`train_gd` measured.

    Attributes:
        steps: ``(T,)`` recorded step numbers (0 is the initialisation).
        loss: ``(T,)`` training loss ``0.5 * ||f - Y||_F^2``.
        residuals: ``(T, K P)`` stacked residuals ``r = f - y``, class-major (entry ``c * P + i``).
        train_acc: ``(T,)`` accuracy against the labels trained on.
        test_acc: ``(T,)`` accuracy on the held-out set (NaN if none was given).
        lr: the learning rate used.
    """

    steps: np.ndarray
    loss: np.ndarray
    residuals: np.ndarray
    train_acc: np.ndarray
    test_acc: np.ndarray
    lr: float


def train_gd(
    model: nn.Module,
    X,
    Y,
    *,
    lr: float,
    steps: int,
    record_steps=None,
    X_test=None,
    labels_test=None,
    progress: str | None = None,
) -> TrainRecord:
    """Full-batch gradient descent on ``0.5 * ||f(X) - Y||_F^2`` over every trainable parameter.

    ``W_{t+1} = W_t - lr * grad L(W_t)`` (Sec. 1 of the chapter-5 spec). The model is trained in place.

    Args:
        model: network mapping ``(P, d)`` to ``(P, K)``.
        X: ``(P, d)`` training inputs.
        Y: ``(P, K)`` training targets (one-hot, possibly corrupted).
        lr: step size ``eta``.
        steps: number of gradient steps.
        record_steps: increasing step numbers in ``[0, steps]`` to record (default: every step).
        X_test: optional ``(P_test, d)`` held-out inputs.
        labels_test: ``(P_test,)`` held-out classes (with ``X_test``).
        progress: description for a progress bar (``None``: none).

    Returns:
        A :class:`TrainRecord`.
    """
    lr = check_positive("lr", lr)
    steps = check_int("steps", steps, minimum=0)
    p = next(model.parameters())
    dtype = p.dtype
    X = torch.as_tensor(np.asarray(X), dtype=dtype)
    Y = torch.as_tensor(np.asarray(Y), dtype=dtype)
    if X.ndim != 2 or Y.ndim != 2 or X.shape[0] != Y.shape[0]:
        raise ValueError(
            f"X (P, d) and Y (P, K) must share P, got {tuple(X.shape)}, {tuple(Y.shape)}"
        )
    rec = np.arange(steps + 1) if record_steps is None else np.asarray(record_steps, dtype=np.int64)
    if rec.ndim != 1 or rec.size == 0 or np.any(np.diff(rec) <= 0) or rec[0] < 0 or rec[-1] > steps:
        raise ValueError(f"record_steps must be increasing integers in [0, {steps}]")
    if (X_test is None) != (labels_test is None):
        raise ValueError("give X_test and labels_test together")
    if X_test is not None:
        Xt = torch.as_tensor(np.asarray(X_test), dtype=dtype)
        lt = torch.as_tensor(np.asarray(labels_test))
    labels = Y.argmax(1)
    params = [q for q in model.parameters() if q.requires_grad]
    is_rec = np.zeros(steps + 1, dtype=bool)
    is_rec[rec] = True
    loss_h, res_h, tr_h, te_h = [], [], [], []
    with (
        single_threaded(),
        progress_bar(total=steps, desc=progress or "", enable=None if progress else False) as bar,
    ):
        for t in range(steps + 1):
            out = model(X)
            resid = out - Y
            loss = 0.5 * (resid**2).sum()
            if is_rec[t]:
                with torch.no_grad():
                    loss_h.append(float(loss))
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
