"""Protocol (ii) without weight decay: the jointly rich target phase and the elastic coupling.

The linear two-layer network trained by plain gradient descent (lam = 0, the setting of the paper's
second version) depends on its weights only through the moments of
:mod:`dltheory.theory.linear_moments`, whose recursion maps the moments of one gradient step exactly.
Started from the infinite-width moments (I, 0, 1) it is the theory here: the book's derivation in the
framework of Lauditi, Bordelon & Pehlevan (2025), arXiv:2507.04448. Started from independent width-N
initialisations it measures the finite-width bias of that theory, which the claims add to 3 se."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from dltheory._checks import (
    ArgumentTypeError,
    check_in_range,
    check_int,
    check_nonneg,
    check_positive,
    check_rng,
)
from dltheory._torch import torch
from dltheory.config import KernelTransferSizes
from dltheory.datasets import aligned_teachers, gaussian_task
from dltheory.experiments.kernel_transfer._common import flow_claim
from dltheory.kernel_nets import TwoLayerParams, init_params, linear_map
from dltheory.kernel_training import train
from dltheory.theory import linear_moments as lm

__all__ = [
    "JointSetup",
    "JOINT_SETUP",
    "GFSource",
    "JointResult",
    "ElasticResult",
    "train_gf_source",
    "run_jointly_rich",
    "run_elastic_coupling",
]


@dataclass(frozen=True)
class JointSetup:
    """Physical parameters of the plain gradient-flow transfer experiments.

    Attributes:
        D: input dimension.
        gamma: richness of both phases (gamma_2 = gamma_1).
        lr: time step of gradient descent (time = steps * lr).
        P_s: source samples.
        source_time: training time of the source phase.
        P_t: target samples of the jointly rich experiment.
        alpha: alignment cos(beta_s, beta_t) there.
        target_time: training time of each target phase.
        lam_forget: weight decay of the contrast run (target phase with weight decay).
        forget_time: its training time (long enough to reach its fixed point).
        elastic_P_t: target samples of the elastic-coupling experiment.
        elastic_alpha: alignment there.
        elastic: elastic couplings delta (0 first, then increasing).
    """

    D: int = 40
    gamma: float = 1.0
    lr: float = 0.02
    P_s: int = 80
    source_time: float = 40.0
    P_t: int = 20
    alpha: float = 0.0
    target_time: float = 10.0
    lam_forget: float = 0.5
    forget_time: float = 30.0
    elastic_P_t: int = 20
    elastic_alpha: float = 0.9
    elastic: tuple = (0.0, 0.03, 0.1, 0.3, 1.0, 3.0, 10.0, 30.0)

    def __post_init__(self):
        object.__setattr__(self, "D", check_int("D", self.D, minimum=2))
        for name in ("gamma", "lr", "source_time", "target_time", "lam_forget", "forget_time"):
            object.__setattr__(self, name, check_positive(name, getattr(self, name)))
        for name in ("P_s", "P_t", "elastic_P_t"):
            object.__setattr__(self, name, check_int(name, getattr(self, name)))
        for name in ("alpha", "elastic_alpha"):
            object.__setattr__(self, name, check_in_range(name, getattr(self, name), -1.0, 1.0))
        if not isinstance(self.elastic, tuple) or len(self.elastic) < 2:
            raise ArgumentTypeError(
                f"elastic must be a tuple of >= 2 couplings, got {self.elastic!r}"
            )
        el = tuple(check_nonneg("elastic", d) for d in self.elastic)
        if el[0] != 0 or not all(a < b for a, b in zip(el, el[1:], strict=False)):
            raise ValueError(f"elastic must start at 0 and increase, got {self.elastic!r}")
        object.__setattr__(self, "elastic", el)
        for name in ("source_time", "target_time", "forget_time"):
            if self.steps(name) < 1:
                raise ValueError(f"{name} must be at least one step lr = {self.lr}")

    def steps(self, which: str) -> int:
        """Gradient steps of ``which`` ("source_time", "target_time" or "forget_time")."""
        return int(round(getattr(self, which) / self.lr))


JOINT_SETUP = JointSetup()
"""D = 40, gamma = 1, time step 0.02, P_s = 80 to time 40; P_t = 20 targets at alpha = 0 and at
alpha = 0.9 (elastic couplings 0 ... 30) to time 10; weight-decay contrast lam = 0.5 to time 30."""


# ---------------------------------------------------------------------------------- the moments


def _moments(p: TwoLayerParams) -> lm.Moments:
    return lm.empirical_moments(p.w, p.z)


def _per_target(mom: lm.Moments) -> lm.Moments:
    """Moments of batch ``(S,)`` as ``(S, 1)``, to broadcast against the targets of each source."""
    return lm.Moments(mom.M[:, None], mom.m[:, None], np.asarray(mom.q)[:, None])


def _trajectory(start: lm.Moments, X, y, *, rec, observe, **kw) -> tuple:
    """:func:`~dltheory.theory.linear_moments.integrate_source` from ``start`` (no elastic term),
    ``observe(moments)`` at the steps ``rec`` (increasing, from 0)."""
    s, seen, prev = start, [], 0
    for r in rec:
        s = lm.integrate_source(X, y, steps=int(r) - prev, start=s, **kw)
        seen.append(observe(s))
        prev = int(r)
    return s, np.array(seen)


# ------------------------------------------------------------------------------------ the source


@dataclass(frozen=True)
class GFSource:
    """Source networks trained by plain gradient descent (lam = 0), ``gf_seeds`` of them.

    Attributes:
        teachers: source teachers beta_s, ``(S, D)``.
        X, y: source data, ``(S, P_s, D)`` and ``(S, P_s)``.
        params: the trained networks, batch ``(S,)``.
        moments_predicted: the recursion from the infinite-width start, batch ``(S,)``.
        moments_fresh: the recursion from ``gf_targets`` independent width-N initialisations per
            source data set, batch ``(S, R)``: the finite-width bias of the theory.
        moments_measured: the trained networks' moments, batch ``(S,)``.
    """

    teachers: np.ndarray
    X: np.ndarray
    y: np.ndarray
    params: TwoLayerParams
    moments_predicted: lm.Moments
    moments_fresh: lm.Moments
    moments_measured: lm.Moments


def _check(setup, sizes, rng) -> None:
    if not isinstance(setup, JointSetup):
        raise ArgumentTypeError(f"setup must be a JointSetup, got {type(setup).__name__}")
    if not isinstance(sizes, KernelTransferSizes):
        raise ArgumentTypeError(
            "sizes must be KernelTransferSizes (get_scale(name).kernel_transfer), "
            f"got {type(sizes).__name__}"
        )
    if sizes.gf_seeds < 2:
        raise ValueError(f"sizes must have gf_seeds >= 2 (a standard error), got {sizes.gf_seeds}")
    check_rng(rng)


def _check_source(source, setup: JointSetup, sizes: KernelTransferSizes) -> GFSource:
    if not isinstance(source, GFSource):
        raise ArgumentTypeError(
            f"source must be a GFSource (from train_gf_source), got {type(source).__name__}"
        )
    want = (sizes.gf_seeds, sizes.gf_targets, sizes.gf_width, setup.D, setup.P_s)
    got = (
        *source.params.batch_shape, np.shape(source.moments_fresh.q)[-1], source.params.width,
        source.params.n_in, source.X.shape[-2],
    )  # fmt: skip
    if got != want:
        raise ValueError(
            "source must come from train_gf_source with these sizes and setup, "
            f"(gf_seeds, gf_targets, gf_width, D, P_s) = {want}, got {got}"
        )
    return source


def train_gf_source(
    setup: JointSetup, sizes: KernelTransferSizes, *, rng: np.random.Generator
) -> GFSource:
    """Train ``sizes.gf_seeds`` source networks of width ``gf_width`` on P_s samples, lam = 0.

    Draws from ``rng``: the teachers, the data sets, the initial networks, then ``gf_targets``
    independent initialisations per data set for the finite-width bias (moments only, not trained).

    Args:
        setup: physical parameters.
        sizes: ``gf_seeds``, ``gf_targets`` and ``gf_width`` are used.
        rng: numpy generator.

    Returns:
        :class:`GFSource`.
    """
    _check(setup, sizes, rng)
    D, S, R, gamma, lr = setup.D, sizes.gf_seeds, sizes.gf_targets, setup.gamma, setup.lr
    teachers, _ = aligned_teachers(D, np.zeros(S), rng=rng)
    X, y = gaussian_task(teachers, setup.P_s, rng=rng)
    p0 = init_params(D, sizes.gf_width, batch=(S,), rng=rng)
    fresh0 = _moments(init_params(D, sizes.gf_width, batch=(S, R), rng=rng))
    run = train(p0, X, y, gamma=gamma, lam=0.0, lr=lr, steps=setup.steps("source_time"),
                desc="source")  # fmt: skip
    kw = dict(gamma=gamma, lam=0.0, dt=lr, steps=setup.steps("source_time"))
    pred = lm.integrate_source(X, y, start=lm.infinite_width_start(D), **kw)
    fresh = lm.integrate_source(X[:, None], y[:, None], start=fresh0, **kw)
    return GFSource(
        teachers=teachers, X=X, y=y, params=run.params, moments_predicted=pred,
        moments_fresh=fresh, moments_measured=_moments(run.params),
    )  # fmt: skip


def _targets(setup, sizes, source, alpha, P_t, R, rng):
    """``R`` target teachers at ``alpha`` with each source teacher, their data, the expanded
    networks."""
    S, D, N = sizes.gf_seeds, setup.D, sizes.gf_width
    _, beta_t = aligned_teachers(
        D, np.full((S, R), alpha), rng=rng, source=source.teachers[:, None]
    )
    X, y = gaussian_task(beta_t, P_t, rng=rng)
    start = TwoLayerParams(
        source.params.w[:, None].expand(S, R, N, D).clone(),
        source.params.z[:, None].expand(S, R, N).clone(),
    )
    return beta_t, X, y, start


# ------------------------------------------------------------------------------- jointly rich


RECORDS = 20  # recorded points of each target phase's trajectory


@dataclass(frozen=True)
class JointResult:
    """The feature kernel after a target phase trained from the source networks.

    Seeds are (source network, target draw) pairs, source-major. ``direction`` 0 is the source teacher
    beta_hat_s, 1 the target teacher orthogonalised against it; the kernel's content along a unit
    direction v is v^T M v with M = W^T W / N (1 at initialisation, for an infinitely wide network).

    Attributes:
        times: recorded training times of the target phase (lam = 0), ``(T,)``.
        kernel_predicted: v^T M v of the infinite-width recursion, ``(T, direction, seed)``.
        kernel_measured: of the networks, ``(T, direction, seed)``.
        kernel_fresh: of the recursion from independent width-N starts, at the end,
            ``(direction, seed)``.
        forget_times: recorded times of the weight-decay contrast, ``(T',)``.
        forget_predicted: v^T M v of the recursion with weight decay, for the first target of each
            source, ``(T', direction, source)``.
        forget_measured: of the networks trained with weight decay, ``(T', direction, source)``.
        n_sources: source networks (the seeds are ``n_sources`` blocks of targets).
    """

    times: np.ndarray
    kernel_predicted: np.ndarray
    kernel_measured: np.ndarray
    kernel_fresh: np.ndarray
    forget_times: np.ndarray
    forget_predicted: np.ndarray
    forget_measured: np.ndarray
    n_sources: int

    def claim(self) -> dict:
        """``check_close`` numbers (:func:`flow_claim`) over the two directions at the end."""
        return flow_claim(
            self.kernel_predicted[-1], self.kernel_measured[-1], self.kernel_fresh,
            ("source", "target"), self.n_sources,
        )  # fmt: skip


def _projector(beta_s, beta_t):
    """Unit source direction and target direction orthogonalised against it, ``(2, ..., D)``."""
    s = beta_s / np.linalg.norm(beta_s, axis=-1, keepdims=True)
    t = beta_t - np.sum(beta_t * s, -1, keepdims=True) * s
    return np.stack([np.broadcast_to(s, t.shape), t / np.linalg.norm(t, axis=-1, keepdims=True)])


def run_jointly_rich(
    setup: JointSetup,
    sizes: KernelTransferSizes,
    source: GFSource,
    *,
    rng: np.random.Generator,
) -> JointResult:
    """Train all weights of the source networks on P_t target samples at alignment ``setup.alpha``,
    with lam = 0 to ``target_time`` and, as a contrast, with lam = ``lam_forget`` to ``forget_time``.

    Draws from ``rng``: the target teachers, the target data sets.

    Args:
        setup: physical parameters.
        sizes: ``gf_seeds``, ``gf_width`` and ``gf_targets`` are used.
        source: the source networks, from :func:`train_gf_source` with the same setup and sizes.
        rng: numpy generator.

    Returns:
        :class:`JointResult`.
    """
    _check(setup, sizes, rng)
    source = _check_source(source, setup, sizes)
    S, R, gamma, lr = sizes.gf_seeds, sizes.gf_targets, setup.gamma, setup.lr
    beta_t, X, y, start = _targets(setup, sizes, source, setup.alpha, setup.P_t, R, rng)
    V = _projector(source.teachers[:, None], beta_t)  # (2, S, R, D)
    out = {}
    # the contrast is for the figure only: the first target of each source is enough
    for key, lam, which, r in (
        ("kernel", 0.0, "target_time", R),
        ("forget", setup.lam_forget, "forget_time", 1),
    ):
        steps, Vr = setup.steps(which), V[:, :, :r]
        rec = np.unique(np.linspace(0, steps, RECORDS + 1).round().astype(int))
        Vt = torch.as_tensor(np.moveaxis(Vr, 0, -1).copy())  # (S, r, D, 2)

        def net_view(p, Vt=Vt):
            return ((p.w @ Vt) ** 2).sum(-2).movedim(-1, 0) / p.width  # (2, S, r)

        def theory_view(s, Vr=Vr):
            return np.einsum("ksrd,srde,ksre->ksr", Vr, s.M, Vr).reshape(2, -1)

        data = dict(X=X[:, :r], y=y[:, :r])
        net = TwoLayerParams(start.w[:, :r].clone(), start.z[:, :r].clone())
        run = train(net, **data, gamma=gamma, lam=lam, lr=lr, steps=steps, record_steps=rec,
                    observe=net_view, desc=key)  # fmt: skip
        kw = dict(gamma=gamma, lam=lam, dt=lr)
        start_th = _per_target(source.moments_predicted)
        _, th = _trajectory(start_th, **data, rec=rec, observe=theory_view, **kw)
        out[key] = (rec * lr, th, run.observed.reshape(len(rec), 2, S * r))
        if lam == 0:
            fresh = lm.integrate_source(**data, start=source.moments_fresh, steps=steps, **kw)
            kernel_fresh = theory_view(fresh)
    return JointResult(
        times=out["kernel"][0], kernel_predicted=out["kernel"][1], kernel_measured=out["kernel"][2],
        kernel_fresh=kernel_fresh, forget_times=out["forget"][0],
        forget_predicted=out["forget"][1], forget_measured=out["forget"][2], n_sources=S,
    )  # fmt: skip


# ---------------------------------------------------------------------------- elastic coupling


def _elastic_targets(sizes: KernelTransferSizes) -> int:
    """Target tasks per source in the elastic experiment, a quarter of ``gf_targets`` (at least 1):
    the paired differences there vary with the initialisation, hardly with the target data, and
    eight couplings cost eight trainings."""
    return max(1, sizes.gf_targets // 4)


@dataclass(frozen=True)
class ElasticResult:
    """Target test error |beta - beta_t|^2 / D after the target phase (lam = 0, time
    ``target_time``) with an elastic coupling delta to the source weights.

    Seeds are (source network, target draw) pairs, source-major.

    Attributes:
        elastic: the couplings delta, ``(K,)``.
        mse_predicted: the infinite-width recursion with cross moments, ``(K, seed)``.
        mse_measured: the networks, ``(K, seed)``.
        mse_fresh: the recursion from independent width-N starts, ``(K, seed)``.
        source_predicted: the source predictor's error |beta_s - beta_t|^2 / D (delta -> infinity),
            infinite-width theory, ``(seed,)``.
        n_sources: source networks.
    """

    elastic: np.ndarray
    mse_predicted: np.ndarray
    mse_measured: np.ndarray
    mse_fresh: np.ndarray
    source_predicted: np.ndarray
    n_sources: int

    def claim(self) -> dict:
        """``check_close`` numbers (:func:`flow_claim`) over the couplings (``at``: that delta)."""
        labels = tuple(float(d) for d in self.elastic)
        return flow_claim(
            self.mse_predicted, self.mse_measured, self.mse_fresh, labels, self.n_sources
        )


def run_elastic_coupling(
    setup: JointSetup,
    sizes: KernelTransferSizes,
    source: GFSource,
    *,
    rng: np.random.Generator,
) -> ElasticResult:
    """Train all weights of the source networks on ``elastic_P_t`` target samples at alignment
    ``elastic_alpha``, lam = 0, to ``target_time``, with each elastic coupling of ``setup.elastic``,
    on a quarter of ``gf_targets`` target tasks per source (at least one).

    Draws from ``rng``: the target teachers, the target data sets.

    Args:
        setup: physical parameters.
        sizes: ``gf_seeds``, ``gf_width`` and ``gf_targets`` are used.
        source: the source networks, from :func:`train_gf_source` with the same setup and sizes.
        rng: numpy generator.

    Returns:
        :class:`ElasticResult`.
    """
    _check(setup, sizes, rng)
    source = _check_source(source, setup, sizes)
    S, D, gamma, lr = sizes.gf_seeds, setup.D, setup.gamma, setup.lr
    R = _elastic_targets(sizes)
    beta_t, X, y, start = _targets(
        setup, sizes, source, setup.elastic_alpha, setup.elastic_P_t, R, rng
    )
    steps = setup.steps("target_time")
    fresh = source.moments_fresh
    fresh = lm.Moments(fresh.M[:, :R], fresh.m[:, :R], np.asarray(fresh.q)[:, :R])
    starts = dict(p=_per_target(source.moments_predicted), f=fresh)

    def mse(beta):
        return (np.sum((beta - beta_t) ** 2, -1) / D).reshape(S * R)

    rows = {k: [] for k in ("p", "m", "f")}
    for delta in setup.elastic:
        run = train(start, X, y, gamma=gamma, lam=0.0, lr=lr, steps=steps, elastic=delta,
                    anchor=start, desc=f"delta {delta:g}")  # fmt: skip
        rows["m"].append(mse(linear_map(run.params, gamma=gamma).numpy()))
        for key, src in starts.items():
            end, _ = lm.integrate_target(
                X, y, src, gamma=gamma, lam=0.0, delta=delta, dt=lr, steps=steps
            )
            rows[key].append(mse(end.beta(gamma)))
    return ElasticResult(
        elastic=np.array(setup.elastic), mse_predicted=np.array(rows["p"]),
        mse_measured=np.array(rows["m"]), mse_fresh=np.array(rows["f"]),
        source_predicted=mse(starts["p"].beta(gamma)), n_sources=S,
    )  # fmt: skip
