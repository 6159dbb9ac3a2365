"""Full-batch gradient descent on deep linear networks, batched over runs.

Implements the training of Lampinen & Ganguli 2019 (arXiv:1809.10374): a student
y = W^{N_W} ... W^{1} x with ``hidden_layers`` hidden layers of width N2 (N_W = hidden_layers + 1 weight
matrices) minimises (1/2) sum_mu ||y_mu - W x_mu||^2 by simultaneous full-batch updates
W^l += lr * (W^{>l})^T (Sigma^31 - W Sigma^11) (W^{<l})^T. Inputs are one-hot (Sigma^11 = I) unless the
data carry ``sigma11`` (:func:`dltheory.teachers.noisy_data_examples`). Time is in epochs, tau = 1/lr.

Two routes compute the same thing:

* ``method="full"`` multiplies the full weight matrices, for any initialisation;
* ``method="modes"`` (training-aligned initialisation only) evolves one scalar per layer and data mode.
  With aligned initialisation the modes decouple exactly, so this is the *same* gradient descent
  (tests check equality to 1e-12) at a cost of O(N3) instead of O(N1 N2 N3) per epoch.

Initialisations: every layer is eps^(1/N_W) times a (partial) orthogonal matrix, so the product has all
its singular values equal to eps. ``"aligned"`` uses the singular vectors of Sigma^31 (the theory is
exact mode by mode); ``"random"`` uses Haar-random orthogonal matrices (alignment lag).

Layout: runs first, ``(B, out, in)`` per layer; records have time first, ``(T, B, ...)``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np

from dltheory._checks import (
    ArgumentTypeError,
    as_float_array,
    check_choice,
    check_int,
    check_positive,
    check_rng,
)
from dltheory._torch import torch
from dltheory.progress import progress_bar
from dltheory.teachers import NoisyData, haar_stiefel
from dltheory.trajectory import Trajectory, recorded_steps

__all__ = [
    "Init",
    "Method",
    "GDRecord",
    "simulate_gd",
    "empirical_half_time",
    "empirical_optimal_stopping",
]

Init = Literal["aligned", "random"]
Method = Literal["full", "modes"]


@dataclass(frozen=True)
class GDRecord(Trajectory):
    """What a batch of gradient-descent runs did over time (a :class:`~dltheory.trajectory.Trajectory`).

    Attributes:
        steps: recorded epochs, ``(T,)``.
        mode_strength: u_hat_a^T W(t) v_hat_a for every data mode a of Sigma^31, ``(T, B, M)``.
        train_error: ||W X - Y||_F^2 / ||Y||_F^2, ``(T, B)`` (for one-hot inputs
            ||W - Sigma^31||_F^2 / ||Sigma^31||_F^2).
        test_error: ||W - W_bar||_F^2 / ||W_bar||_F^2 (fresh white inputs, clean targets), ``(T, B)``.
        final_map: the product W at the last epoch, ``(B, N3, N1)``.
        lr: learning rate; tau = 1/lr epochs.
        svd_s: with ``record_svd=k``, the top k singular values of W(t), ``(T, B, k)``; else None.
        svd_u_overlap: with ``record_svd=k``, ``[t, b, i, j] = u_i(t) . u_hat_j`` between the
            left singular vectors of W(t) and of Sigma^31 (signs arbitrary), ``(T, B, k, k)``.
        svd_v_overlap: the same for the right singular vectors, ``v_i(t) . v_hat_j``.
    """

    mode_strength: np.ndarray
    train_error: np.ndarray
    test_error: np.ndarray
    final_map: np.ndarray
    svd_s: np.ndarray | None = None
    svd_u_overlap: np.ndarray | None = None
    svd_v_overlap: np.ndarray | None = None


def _layer_shapes(n_in: int, hidden: int, n_out: int, n_weights: int) -> list[tuple[int, int]]:
    return [(hidden, n_in)] + [(hidden, hidden)] * (n_weights - 2) + [(n_out, hidden)]


def _aligned_init(data: NoisyData, hidden: int, n_weights: int, eps: float) -> list[np.ndarray]:
    B, k = data.batch, min(hidden, data.s_hat.shape[1])
    a = eps ** (1.0 / n_weights)
    shapes = _layer_shapes(data.n_in, hidden, data.n_out, n_weights)
    Ws = [np.zeros((B, *shape)) for shape in shapes]
    Ws[0][:, :k, :] = a * np.swapaxes(data.V_hat[:, :, :k], 1, 2)
    for W in Ws[1:-1]:
        W[:, np.arange(k), np.arange(k)] = a
    Ws[-1][:, :, :k] = a * data.U_hat[:, :, :k]
    return Ws


def _random_init(
    data: NoisyData, hidden: int, n_weights: int, eps: float, rng: np.random.Generator
) -> list[np.ndarray]:
    a = eps ** (1.0 / n_weights)
    shapes = _layer_shapes(data.n_in, hidden, data.n_out, n_weights)
    Ws = [np.empty((data.batch, *shape)) for shape in shapes]
    for b, child in enumerate(rng.spawn(data.batch)):
        for W, (n_o, n_i) in zip(Ws, shapes, strict=True):
            q = (
                haar_stiefel(n_i, n_o, rng=child).T
                if n_o <= n_i
                else haar_stiefel(n_o, n_i, rng=child)
            )
            W[b] = a * q
    return Ws


def _product(Ws: list[np.ndarray]) -> np.ndarray:
    W = Ws[0]
    for layer in Ws[1:]:
        W = layer @ W
    return W


def _two_layer_buffers(Ws: list[np.ndarray], sigma31: np.ndarray, sigma11, lr: float) -> dict:
    """Torch views of the two weight arrays (shared memory, so updates land in the numpy arrays)."""
    W0, W1 = (torch.from_numpy(W) for W in Ws)
    return {
        "W0": W0,
        "W1": W1,
        "S31": torch.from_numpy(sigma31),
        "S11": None if sigma11 is None else torch.from_numpy(sigma11),
        "W": torch.empty(sigma31.shape, dtype=W0.dtype),
        "L": torch.empty(sigma31.shape, dtype=W0.dtype),
        "g1": torch.empty_like(W1),
        "lr": lr,
    }


def _two_layer_step(buf: dict) -> None:
    """One simultaneous GD step of a two-layer net, in place, in three batched matmuls.

    The learning rate is folded into the residual, L = lr (Sigma^31 - W^2 W^1 Sigma^11), and the
    update of W^1 is fused into its matmul (``baddbmm_``); torch's batched matmul runs at the
    machine's matmul rate on these small shapes where numpy's transposed-view matmul does not (see
    the Performance page).
    """
    W0, W1, L, lr = buf["W0"], buf["W1"], buf["L"], buf["lr"]
    if buf["S11"] is None:
        torch.baddbmm(buf["S31"], W1, W0, beta=lr, alpha=-lr, out=L)
    else:
        torch.bmm(W1, W0, out=buf["W"])
        torch.baddbmm(buf["S31"], buf["W"], buf["S11"], beta=lr, alpha=-lr, out=L)
    torch.bmm(L, W0.transpose(1, 2), out=buf["g1"])  # uses W^1 before its update
    W0.baddbmm_(W1.transpose(1, 2), L)
    W1.add_(buf["g1"])


def _deep_step(
    Ws: list[np.ndarray], sigma31: np.ndarray, sigma11: np.ndarray | None, lr: float
) -> None:
    """One simultaneous GD step on any number of full matrices, in place (Sigma^11 = I when ``None``)."""
    below = [None]  # below[l] = W^{l-1} ... W^0, None for the identity
    for W in Ws[:-1]:
        below.append(W if below[-1] is None else W @ below[-1])
    W = Ws[-1] @ below[-1]
    L = sigma31 - (W if sigma11 is None else W @ sigma11)
    grads = []
    above = None  # W^{N_W-1} ... W^{l+1}
    for layer in range(len(Ws) - 1, -1, -1):
        left = L if above is None else np.swapaxes(above, 1, 2) @ L
        grads.append(left if below[layer] is None else left @ np.swapaxes(below[layer], 1, 2))
        above = Ws[layer] if above is None else above @ Ws[layer]
    for W, g in zip(Ws, reversed(grads), strict=True):
        W += lr * g


def _check_args(data, hidden, hidden_layers, init, eps, lr, epochs, method, dtype):
    if not isinstance(data, NoisyData):
        raise ArgumentTypeError(f"data must be a NoisyData batch, got {type(data).__name__}")
    if not (np.all(np.isfinite(data.sigma31)) and np.all(np.isfinite(data.s_hat))):
        raise ValueError("data must be finite (its sigma31 holds NaN or inf)")
    # The records divide by these norms, so a zero one would read as a diverged run.
    if np.any(np.sum(data.teacher.W**2, axis=(1, 2)) == 0):
        raise ValueError(
            "data must have a nonzero teacher in every run (the test error is normalised by it)"
        )
    targets_sq = (
        np.sum(data.sigma31**2, axis=(1, 2)) if data.targets_sq is None else data.targets_sq
    )
    if np.any(targets_sq == 0):
        raise ValueError(
            "data must have nonzero targets in every run (the train error is normalised by them)"
        )
    hidden = check_int("hidden", hidden)
    rank = data.teacher.s.shape[1]
    if hidden < rank:
        raise ValueError(f"hidden (N2={hidden}) must be >= the teacher rank ({rank})")
    hidden_layers = check_int("hidden_layers", hidden_layers)
    check_choice("init", init, ("aligned", "random"))
    check_choice("method", method, ("full", "modes"))
    check_choice("dtype", dtype, ("float64", "float32"))
    if method == "modes" and init != "aligned":
        raise ValueError("method='modes' needs init='aligned' (random init couples the modes)")
    if method == "modes" and data.sigma11 is not None:
        raise ValueError("method='modes' needs one-hot inputs (Sigma^11 = I); use method='full'")
    eps = check_positive("eps", eps)
    lr = check_positive("lr", lr)
    epochs = check_int("epochs", epochs)
    return hidden, hidden_layers, eps, lr, epochs


def _divergence_error(data: NoisyData, lr: float, n_weights: int, epoch: int) -> ValueError:
    """The error for a run whose weights left the floats, with the stability bound where it is known.

    With one-hot inputs, at the learned map (every layer balanced, the product's top singular value
    s_hat_max) the loss's largest curvature is N_W s_hat_max^(2 - 2/N_W) (the Gauss-Newton term; the
    residual vanishes there), so gradient descent settles only for lr below 2 over it. Above that it
    oscillates, and further above it diverges.
    """
    msg = (
        f"lr={lr:g} diverged: the weights were no longer finite at epoch {epoch} (the first record "
        "after the blow-up)"
    )
    if data.sigma11 is None:
        s_max = float(np.max(data.s_hat))
        bound = 2.0 / (n_weights * s_max ** (2.0 - 2.0 / n_weights))
        msg += (
            f"; on these data gradient descent settles at the learned map only for lr < "
            f"2 / (N_W s_hat_max^(2 - 2/N_W)) = {bound:.3g} (N_W={n_weights}, s_hat_max={s_max:.3g})"
        )
    else:
        msg += "; use a smaller lr"
    return ValueError(msg)


def simulate_gd(
    data: NoisyData,
    *,
    hidden: int,
    hidden_layers: int = 1,
    init: Init = "aligned",
    eps: float,
    lr: float,
    epochs: int,
    record_every: int | None = None,
    record_steps: Sequence[int] | None = None,
    method: Method = "full",
    rng: np.random.Generator | None = None,
    progress: bool | None = None,
    desc: str | None = None,
    dtype: Literal["float64", "float32"] = "float64",
    record_svd: int = 0,
) -> GDRecord:
    """Train a batch of deep linear students on their data by full-batch gradient descent.

    Args:
        data: B data sets (one per run), e.g. from :func:`dltheory.teachers.noisy_data`.
        hidden: hidden width N2 (>= teacher rank).
        hidden_layers: number of hidden layers; N_W = hidden_layers + 1 weight matrices.
        init: ``"aligned"`` (singular vectors of Sigma^31) or ``"random"`` (Haar).
        eps: initial strength of every singular value of the product map.
        lr: learning rate lambda; tau = 1/lr epochs. With one-hot inputs the run settles at the
            learned map only for lr < 2 / (N_W s_hat_max^(2 - 2/N_W)) (the error message of a
            diverged run gives the number).
        epochs: number of full-batch steps.
        record_every: record epoch 0, every this many epochs and the last (default 10).
        record_steps: record exactly these increasing epochs instead.
        method: ``"full"`` matrices or exact ``"modes"`` (aligned init only).
        rng: needed for ``init="random"``; run b uses ``rng.spawn(B)[b]``.
        progress: show a progress bar; ``None`` follows ``DLTHEORY_PROGRESS`` / ``CI``.
        desc: the progress bar's label (default: the initialisation and method).
        dtype: floating type of the full-matrix updates (``"float32"`` is about twice as fast;
            records are always float64). The mode-space route always uses float64.
        record_svd: also record, at every recorded epoch, the top ``record_svd`` singular values
            of W(t) and the overlaps of its singular vectors with the data's (``method="full"``
            only; 0, the default, records none).

    Returns:
        A :class:`GDRecord` with time-first arrays.

    Raises:
        ValueError: for an argument out of its domain, and when the run diverges (``lr`` past the
            stability bound, which the message gives for one-hot inputs) instead of returning NaN.
    """
    hidden, hidden_layers, eps, lr, epochs = _check_args(
        data, hidden, hidden_layers, init, eps, lr, epochs, method, dtype
    )
    rec_epochs = recorded_steps(
        epochs, record_every=record_every, record_steps=record_steps, default_every=10
    )
    desc = f"GD {init}/{method}" if desc is None else desc
    if not isinstance(desc, str):
        raise ArgumentTypeError(f"desc must be a string, got {desc!r}")
    check_rng(rng, optional=True)
    if init == "random" and rng is None:
        raise ValueError("rng is required for init='random'")
    k_svd = check_int("record_svd", record_svd, minimum=0)
    if k_svd > min(hidden, data.n_out) or (k_svd and method != "full"):
        raise ValueError(
            f"record_svd must be at most min(hidden, n_out) = {min(hidden, data.n_out)} and needs "
            f"method='full', got {record_svd!r} with method={method!r}"
        )
    n_weights = hidden_layers + 1
    W_bar = data.teacher.W
    general_inputs = data.sigma11 is not None
    norm_train = data.targets_sq if general_inputs else np.sum(data.sigma31**2, axis=(1, 2))
    norm_test = np.sum(W_bar**2, axis=(1, 2))
    T, B, M = rec_epochs.size, data.batch, data.s_hat.shape[1]
    strength = np.empty((T, B, M))
    train = np.empty((T, B))
    test = np.empty((T, B))
    svd_s, svd_u, svd_v = np.empty((T, B, k_svd)), *np.empty((2, T, B, k_svd, k_svd))

    if method == "modes":
        k = min(hidden, M)
        a = np.full((n_weights, B, k), eps ** (1.0 / n_weights))
        target = data.s_hat[:, :k]
        # <W, W_bar> = sum_a s_a u_hat_a^T W_bar v_hat_a, so the test error needs only these numbers.
        overlap = np.sum(
            (np.swapaxes(data.U_hat, 1, 2) @ W_bar) * np.swapaxes(data.V_hat, 1, 2), axis=2
        )

        def observe(i):
            s = np.zeros((B, M))
            s[:, :k] = np.prod(a, axis=0)
            strength[i] = s
            train[i] = np.sum((data.s_hat - s) ** 2, axis=1) / norm_train
            test[i] = (
                np.sum(s**2, axis=1) + norm_test - 2 * np.sum(s * overlap, axis=1)
            ) / norm_test

        def step():
            r = lr * (target - np.prod(a, axis=0))
            if n_weights == 2:
                g0, g1 = a[1] * r, a[0] * r
                a[0] += g0
                a[1] += g1
            else:
                others = [
                    np.prod(np.delete(a, layer, axis=0), axis=0) for layer in range(n_weights)
                ]
                for layer in range(n_weights):
                    a[layer] += others[layer] * r

        final = None
    else:
        Ws = (
            _aligned_init(data, hidden, n_weights, eps)
            if init == "aligned"
            else _random_init(data, hidden, n_weights, eps, rng)
        )
        Ws = [np.ascontiguousarray(W, dtype=dtype) for W in Ws]  # torch views need C order
        sigma31 = data.sigma31.astype(dtype)
        sigma11 = None if data.sigma11 is None else data.sigma11.astype(dtype)
        buf = _two_layer_buffers(Ws, sigma31, sigma11, lr) if n_weights == 2 else None
        # Observations run in the working dtype (records are float64): in float32 a float64
        # evaluation every few epochs would cost a large share of the run. Contiguous copies:
        # numpy's batched matmul is slow on transposed views.
        Ut = torch.from_numpy(np.ascontiguousarray(np.swapaxes(data.U_hat, 1, 2), dtype=dtype))
        Vt = np.ascontiguousarray(np.swapaxes(data.V_hat, 1, 2), dtype=dtype)
        UtW = np.empty(Vt.shape, dtype=dtype)
        W_bar_d = W_bar.astype(dtype)

        def squared_distance(W, ref):  # sum over each run of (W - ref)^2, one temporary
            d = np.subtract(W, ref)
            np.square(d, out=d)
            return d.sum(axis=(1, 2), dtype=np.float64)

        def observe(i):
            W = _product(Ws) if buf is None else torch.bmm(buf["W1"], buf["W0"]).numpy()
            torch.bmm(Ut, torch.from_numpy(W), out=torch.from_numpy(UtW))
            np.multiply(UtW, Vt, out=UtW)
            strength[i] = UtW.sum(axis=2, dtype=np.float64)
            if general_inputs:  # ||W X - Y||^2 = tr(W S11 W^T) - 2 tr(W S31^T) + ||Y||^2
                W64 = W.astype(np.float64, copy=False)
                fit = np.sum((W64 @ data.sigma11) * W64, axis=(1, 2))
                cross = np.sum(W64 * data.sigma31, axis=(1, 2))
                train[i] = (fit - 2 * cross + norm_train) / norm_train
            else:
                train[i] = squared_distance(W, sigma31) / norm_train
            test[i] = squared_distance(W, W_bar_d) / norm_test
            if k_svd:
                u, sv, vh = np.linalg.svd(W.astype(np.float64), full_matrices=False)
                svd_s[i] = sv[:, :k_svd]
                svd_u[i] = np.swapaxes(u[:, :, :k_svd], 1, 2) @ data.U_hat[:, :, :k_svd]
                svd_v[i] = vh[:, :k_svd] @ data.V_hat[:, :, :k_svd]

        def step():
            if buf is not None:
                _two_layer_step(buf)
            else:
                _deep_step(Ws, sigma31, sigma11, lr)

    done = 0
    # A learning rate past the stability bound overflows the weights; the check after each record
    # turns that into an error naming lr, so numpy's overflow warnings on the way there are noise.
    with (
        progress_bar(total=epochs, desc=desc, progress=progress) as bar,
        np.errstate(over="ignore", invalid="ignore"),
    ):
        for i, target_epoch in enumerate(rec_epochs):
            for _ in range(target_epoch - done):
                step()
            bar.update(target_epoch - done)
            done = target_epoch
            observe(i)
            if not (np.all(np.isfinite(train[i])) and np.all(np.isfinite(test[i]))):
                raise _divergence_error(data, lr, n_weights, int(target_epoch))
        for _ in range(epochs - done):  # on to the last epoch when it is not recorded
            step()
        bar.update(epochs - done)
    if method == "full":
        final = _product(Ws).astype(np.float64)
    else:
        s = np.zeros((B, M))
        s[:, :k] = np.prod(a, axis=0)
        final = np.einsum("bia,ba,bja->bij", data.U_hat, s, data.V_hat)
    if not np.all(np.isfinite(final)):
        raise _divergence_error(data, lr, n_weights, epochs)
    return GDRecord(
        steps=rec_epochs,
        mode_strength=strength,
        train_error=train,
        test_error=test,
        final_map=final,
        lr=lr,
        **(dict(svd_s=svd_s, svd_u_overlap=svd_u, svd_v_overlap=svd_v) if k_svd else {}),
    )


def _check_epochs(epochs) -> np.ndarray:
    t = as_float_array("epochs", epochs, ndim=1)
    if t.size == 0:
        raise ValueError("epochs must hold at least one recorded epoch")
    if np.any(t < 0) or np.any(np.diff(t) <= 0):
        raise ValueError(f"epochs must be >= 0 and strictly increasing, got {t}")
    return t


def _check_time_first(name: str, values, t: np.ndarray) -> np.ndarray:
    x = as_float_array(name, values)
    if x.ndim == 0 or x.shape[0] != t.size:
        raise ValueError(
            f"{name} must have time first, one row per entry of epochs ({t.size}), got shape "
            f"{x.shape}"
        )
    return x


def empirical_half_time(epochs: np.ndarray, strength: np.ndarray, target: np.ndarray) -> np.ndarray:
    """First time a recorded trajectory reaches half its target, linearly interpolated.

    Args:
        epochs: recorded epochs, ``(T,)``, >= 0 and strictly increasing.
        strength: trajectories, ``(T, ...)``, finite.
        target: full strengths s_hat >= 0, broadcastable to ``strength.shape[1:]``.

    Returns:
        Half-learning times in epochs, ``strength.shape[1:]``; NaN where half is never reached.
    """
    epochs = _check_epochs(epochs)
    strength = _check_time_first("strength", strength, epochs)
    target = as_float_array("target", target, nonneg=True)
    try:
        half = np.broadcast_to(target / 2.0, strength.shape[1:])
    except ValueError:
        raise ValueError(
            f"target must broadcast to strength.shape[1:] = {strength.shape[1:]}, got shape "
            f"{target.shape}"
        ) from None
    above = strength >= half
    reached = above.any(axis=0)
    first = np.argmax(above, axis=0)
    prev = np.maximum(first - 1, 0)
    idx = np.indices(first.shape)
    s1 = strength[(first, *idx)]
    s0 = strength[(prev, *idx)]
    t1, t0 = epochs[first], epochs[prev]
    with np.errstate(invalid="ignore", divide="ignore"):
        frac = np.where(s1 > s0, (half - s0) / (s1 - s0), 0.0)
    out = t0 + np.clip(frac, 0.0, 1.0) * (t1 - t0)
    return np.where(reached, out, np.nan)


def empirical_optimal_stopping(epochs: np.ndarray, test_error: np.ndarray):
    """Per run, the recorded epoch of smallest test error and that error.

    Args:
        epochs: recorded epochs, ``(T,)``, >= 0 and strictly increasing.
        test_error: test errors, time first, ``(T, ...)``, finite (a NaN would hide the minimum).

    Returns:
        ``(t_opt, min_error)``, each of shape ``test_error.shape[1:]``.
    """
    epochs = _check_epochs(epochs)
    test_error = _check_time_first("test_error", test_error, epochs)
    i = np.argmin(test_error, axis=0)
    return epochs[i], np.min(test_error, axis=0)
