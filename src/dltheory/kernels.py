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
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
import torch

from dltheory._checks import check_choice, check_int, check_positive
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

    Attributes:
        w: first-layer weights, ``(..., N, D)``.
        z: readout weights, ``(..., N)``.
    """

    w: torch.Tensor
    z: torch.Tensor

    @property
    def width(self) -> int:
        return self.z.shape[-1]

    @property
    def n_in(self) -> int:
        return self.w.shape[-1]

    def clone(self) -> TwoLayerParams:
        return TwoLayerParams(self.w.clone(), self.z.clone())

    def __getitem__(self, idx) -> TwoLayerParams:
        """Select networks along the leading (batch) dimensions."""
        return TwoLayerParams(self.w[idx], self.z[idx])


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


def torch_generator(rng: np.random.Generator) -> torch.Generator:
    """A ``torch.Generator`` seeded from a numpy generator (no global seeding)."""
    if not isinstance(rng, np.random.Generator):
        raise ValueError(f"rng must be a numpy Generator, got {type(rng).__name__}")
    return torch.Generator().manual_seed(int(rng.integers(2**62)))


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
    batch = tuple(check_int("batch", b) for b in batch)
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


def _as_tensor(name: str, x, dtype) -> torch.Tensor:
    if isinstance(x, np.ndarray) and not x.flags.writeable:
        x = x.copy()
    t = torch.as_tensor(x, dtype=dtype)
    if not torch.isfinite(t).all():
        raise ValueError(f"{name} must be finite")
    return t


def _hidden(params: TwoLayerParams, X: torch.Tensor) -> torch.Tensor:
    if X.shape[-1] != params.n_in:
        raise ValueError(f"X must have D = {params.n_in} columns, got shape {tuple(X.shape)}")
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
    gamma = check_positive("gamma", gamma)
    activation = _check_activation(activation)
    X = _as_tensor("X", X, params.w.dtype)
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
    activation = _check_activation(activation)
    dt = params.w.dtype
    X1, X2 = _as_tensor("X1", X1, dt), _as_tensor("X2", X2, dt)
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
    gamma = check_positive("gamma", gamma)
    activation = _check_activation(activation)
    if params.w.ndim != 2:
        raise ValueError(
            f"params must hold one network (w of shape (N, D)), got {tuple(params.w.shape)}"
        )
    dt = params.w.dtype
    X1, X2 = _as_tensor("X1", X1, dt), _as_tensor("X2", X2, dt)
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
    dw = (params.w - anchor.w) ** 2
    dz = (params.z - anchor.z) ** 2
    return 0.5 * (dw.sum(dim=(-1, -2)) + dz.sum(dim=-1))


def velocity(
    params: TwoLayerParams,
    X: torch.Tensor,
    y: torch.Tensor,
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
        X: inputs, ``(..., P, D)``.
        y: labels, ``(..., P)``.
        gamma: richness.
        lam: weight decay (>= 0).
        activation: ``"linear"`` or ``"relu"``.
        anchor: elastic anchor theta_s (required if ``elastic`` > 0).
        elastic: elastic coupling delta >= 0.
        readout_only: freeze the first layer (w' = 0).

    Returns:
        ``(w', z', Delta)`` of shapes ``(..., N, D)``, ``(..., N)``, ``(..., P)``.
    """
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
        X: inputs, ``(..., P, D)``.
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
    """
    gamma, lr = check_positive("gamma", gamma), check_positive("lr", lr)
    lam = float(lam)
    if not (math.isfinite(lam) and lam >= 0):
        raise ValueError(f"lam must be a finite number >= 0, got {lam!r}")
    elastic = float(elastic)
    if not (math.isfinite(elastic) and elastic >= 0):
        raise ValueError(f"elastic must be a finite number >= 0, got {elastic!r}")
    steps = check_int("steps", steps)
    activation = _check_activation(activation)
    every = steps if record_every is None else check_int("record_every", record_every)
    dt = params.w.dtype
    X, y = _as_tensor("X", X, dt), _as_tensor("y", y, dt)
    if y.shape[-1] != X.shape[-2]:
        raise ValueError(f"y must have P = {X.shape[-2]} entries, got shape {tuple(y.shape)}")
    anchor = params.clone() if anchor is None else anchor
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
            p = TwoLayerParams(w, z)
            if step == steps or fused is None:
                dw, dz, delta = velocity(p, X, y, **kw)
            else:
                dz, delta, u = fused(p)
            if step % every == 0 or step == steps:
                rec_steps.append(step)
                losses.append(0.5 * (delta**2).sum(-1))
                if observe is not None:
                    obs.append(observe(p).clone())
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
        params=TwoLayerParams(w, z),
        steps=np.array(rec_steps),
        loss=torch.stack(losses).numpy(),
        observed=torch.stack(obs).numpy() if obs else None,
        speed=speed.numpy(),
        lr=lr,
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
    activation = _check_activation(activation)
    if not 0 < rcond < 1:
        raise ValueError(f"rcond must lie in (0, 1), got {rcond!r}")
    if not (math.isfinite(ridge) and ridge >= 0):
        raise ValueError(f"ridge must be a finite number >= 0, got {ridge!r}")
    dt = params.w.dtype
    X_t, y_t, X_test = (
        _as_tensor(n, v, dt) for n, v in (("X_t", X_t), ("y_t", y_t), ("X_test", X_test))
    )
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
    alpha = np.asarray(alpha, dtype=float)
    if not np.all(np.abs(alpha) <= 1):
        raise ValueError("alpha must lie in [-1, 1]")
    if source is None:
        g = rng.standard_normal((*alpha.shape, D))
    else:
        g = np.asarray(source, dtype=float)
        if g.shape[-1] != D or not np.all(np.linalg.norm(g, axis=-1) > 0):
            raise ValueError(f"source must be non-zero vectors of length D = {D}")
    shape = np.broadcast_shapes(alpha.shape, g.shape[:-1])
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
    beta = np.asarray(beta, dtype=float)
    P = check_int("P", P)
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
        digit: digit labels, ``(P,)``.
        positive: the digits labelled +1 (a non-empty proper subset of 0-9).

    Returns:
        Labels, ``(P,)``.
    """
    pos = set(int(p) for p in positive)
    if not pos or not pos <= set(range(10)) or len(pos) == 10:
        raise ValueError(f"positive must be a non-empty proper subset of 0-9, got {positive!r}")
    return np.where(np.isin(np.asarray(digit), sorted(pos)), 1.0, -1.0)
