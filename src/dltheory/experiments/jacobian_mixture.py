"""The Gaussian-mixture case study of chapter 5: a few large singular values, labels in their span.

Oymak, Fabian, Li & Soltanolkotabi (2019), arXiv:1906.05392, name in their abstract a case study on a
mixture of well-separated clusters. Its statement could not be retrieved: the prediction measured here is
the book's derivation (:mod:`dltheory.theory.gaussian_mixture`), resting on the expected Gram
``E[J J^T] = I_K (x) Sigma`` of chapter 5's two-layer network.

Data (:func:`draw_mixture`): ``K`` classes with ``C`` clusters each, unit-norm centres whose cosines are
``rho`` within a class and 0 across (a uniformly random rotation of a fixed frame), samples
``x = normalise(mu_a + sigma g / sqrt(d))``, ``n_a`` per cluster, labels the cluster's class. Each seed
draws fresh data and a fresh :func:`dltheory.nets.two_layer_net`; the spectrum of ``J(W_0)`` is exact
(:func:`dltheory.jacobian.two_layer_gram`, ``eigh``). The ``K`` outputs make every level ``K``-fold
degenerate, and a finite width splits each level by ``O(1/sqrt(width))``, which biases the *sorted*
values by as much; the mean square over a level is a linear function of the Gram to first order, so
levels are compared by their root mean square, whose bias is ``O(1/width)``.
"""

import time
from dataclasses import dataclass

import numpy as np

from dltheory import datasets as ds
from dltheory._checks import (
    check_in_range,
    check_instance,
    check_int,
    check_positive,
    check_rng,
)
from dltheory.config import JacobianSizes
from dltheory.experiments._grid import seed_stats
from dltheory.jacobian import label_energy, two_layer_gram
from dltheory.nets import train_gd, two_layer_net
from dltheory.theory import gaussian_mixture as gm
from dltheory.theory.jacobian_split import expected_gram

__all__ = [
    "MixtureSetup",
    "SETUP",
    "MixtureData",
    "draw_mixture",
    "MixtureResult",
    "run_mixture",
    "TrainingResult",
    "run_training",
]


@dataclass(frozen=True)
class MixtureSetup:
    """Physical constants of the case study (the same at every scale).

    Attributes:
        num_classes: ``K``, classes and network outputs (>= 2).
        clusters_per_class: ``C``; ``m = K C`` clusters.
        dim: input dimension ``d`` (>= ``K + m``, room for the orthonormal frame of the centres).
        per_cluster: ``n_a``, samples per cluster (``n = m n_a``).
        sigma: within-cluster noise, ``x = normalise(mu + sigma g / sqrt(d))`` (``|noise| ~ sigma``).
        rho: cosine between two centres of one class, in ``(0, 1)``.
        top: leading singular values kept per seed (>= ``K m + 1``, <= ``K n``).
        test_per_cluster: held-out samples per cluster (same centres) for the training runs.
        train_widths: hidden widths of the training runs (even).
        train_steps: full-batch gradient steps of the training runs.
        train_lr: ``eta s_1^2``, the step in units of the predicted top level, in ``(0, 1)``.
    """

    num_classes: int = 3
    clusters_per_class: int = 2
    dim: int = 20
    per_cluster: int = 50
    sigma: float = 0.05
    rho: float = 0.5
    top: int = 36
    test_per_cluster: int = 50
    train_widths: tuple[int, ...] = (16, 256)
    train_steps: int = 60
    train_lr: float = 0.1

    def __post_init__(self):
        check_int("num_classes", self.num_classes, minimum=2)
        check_int("clusters_per_class", self.clusters_per_class)
        check_int("per_cluster", self.per_cluster)
        check_positive("sigma", self.sigma)
        check_in_range("rho", self.rho, 0.0, 1.0)
        if not 0.0 < self.rho < 1.0:
            raise ValueError(f"rho must lie in (0, 1), got {self.rho!r}")
        m = self.num_classes * self.clusters_per_class
        check_int("dim", self.dim, minimum=self.num_classes + m)
        check_int("top", self.top, minimum=self.rank + 1)
        if self.top > self.num_classes * m * self.per_cluster:
            raise ValueError(f"top must be <= K n = {self.num_classes * self.n}, got {self.top}")
        check_int("test_per_cluster", self.test_per_cluster)
        if not isinstance(self.train_widths, tuple) or not self.train_widths:
            raise ValueError(f"train_widths must be a non-empty tuple, got {self.train_widths!r}")
        for w in self.train_widths:
            if check_int("train_widths", w, minimum=2) % 2:
                raise ValueError(f"train_widths must be even (doubled initialisation), got {w}")
        check_int("train_steps", self.train_steps)
        check_in_range("train_lr", self.train_lr, 0.0, 1.0)
        if not 0.0 < self.train_lr < 1.0:
            raise ValueError(f"train_lr must lie in (0, 1), got {self.train_lr!r}")

    @property
    def clusters(self) -> int:
        """``m = K C``."""
        return self.num_classes * self.clusters_per_class

    @property
    def n(self) -> int:
        """Samples, ``m n_a``."""
        return self.clusters * self.per_cluster

    @property
    def rank(self) -> int:
        """``K m``: the large singular values of ``J`` (the information space)."""
        return self.num_classes * self.clusters

    def predicted(self) -> np.ndarray:
        """``(K m,)`` the book's noiseless singular values (:mod:`dltheory.theory.gaussian_mixture`)."""
        M = gm.centre_kernel(self.num_classes, self.clusters_per_class, self.rho)
        return gm.predicted_singular_values(M, self.per_cluster, self.num_classes)


SETUP = MixtureSetup()  # the case study of chapter 5


@dataclass(frozen=True)
class MixtureData:
    """One draw of the mixture.

    Attributes:
        X: ``(n, d)`` unit-norm samples at noise ``sigma``, cluster-major.
        X_half: the same centres and noise directions at noise ``sigma / 2``.
        centres: ``(m, d)`` unit-norm centres.
        clusters, labels: ``(n,)`` cluster and class of each sample.
        X_test, labels_test: ``m * test_per_cluster`` held-out samples at ``sigma`` and their classes.
    """

    X: np.ndarray
    X_half: np.ndarray
    centres: np.ndarray
    clusters: np.ndarray
    labels: np.ndarray
    X_test: np.ndarray
    labels_test: np.ndarray


def draw_mixture(setup: MixtureSetup, *, rng: np.random.Generator) -> MixtureData:
    """Draw centres (a random rotation of the fixed frame), samples at ``sigma`` and ``sigma / 2`` (the
    same noise directions) and held-out samples at ``sigma``."""
    check_instance("setup", setup, MixtureSetup)
    check_rng(rng)
    K, C, d, m = setup.num_classes, setup.clusters_per_class, setup.dim, setup.clusters
    Q, R = np.linalg.qr(rng.standard_normal((d, K + m)))
    Q = Q * np.sign(np.diag(R))  # a Haar-distributed orthonormal frame
    cls = np.repeat(np.arange(K), C)
    centres = np.sqrt(setup.rho) * Q[:, cls].T + np.sqrt(1 - setup.rho) * Q[:, K:].T
    clusters = np.repeat(np.arange(m), setup.per_cluster)
    g = rng.standard_normal((setup.n, d)) / np.sqrt(d)
    test = np.repeat(np.arange(m), setup.test_per_cluster)
    g_test = rng.standard_normal((test.size, d)) / np.sqrt(d)

    def unit(sigma, which, noise):
        X = centres[which] + sigma * noise
        return X / np.linalg.norm(X, axis=1, keepdims=True)

    return MixtureData(
        X=unit(setup.sigma, clusters, g),
        X_half=unit(setup.sigma / 2, clusters, g),
        centres=centres,
        clusters=clusters,
        labels=cls[clusters],
        X_test=unit(setup.sigma, test, g_test),
        labels_test=cls[test],
    )


def _levels(predicted: np.ndarray) -> list[slice]:
    """Runs of equal predicted values (the degenerate levels), as slices of the sorted spectrum."""
    edges = np.flatnonzero(~np.isclose(predicted[1:], predicted[:-1], rtol=1e-9)) + 1
    bounds = [0, *edges.tolist(), predicted.size]
    return [slice(a, b) for a, b in zip(bounds[:-1], bounds[1:], strict=True)]


def _rms(values: np.ndarray, levels: list[slice]) -> np.ndarray:
    """``(..., L)`` root mean square of ``values[..., level]`` per level."""
    return np.stack([np.sqrt(np.mean(values[..., sl] ** 2, axis=-1)) for sl in levels], axis=-1)


@dataclass(frozen=True)
class MixtureResult:
    """Spectra of ``J(W_0)`` on the mixture, over seeds, beside the book's noiseless prediction.

    Attributes:
        setup: the physical constants; width: the hidden width ``k``.
        predicted: ``(K m,)`` noiseless singular values, descending.
        measured, measured_wide: ``(S, top)`` sorted singular values at width ``k`` and ``2k`` (same
            data, fresh initialisation).
        infinite, infinite_half: ``(S, top)`` the same of ``E[J J^T] = I_K (x) Sigma(X)`` (infinite
            width) on the samples at ``sigma`` and at ``sigma / 2``.
        energy: ``(S, top)`` label energy ``E(r)`` of the one-hot labels on ``J(W_0)`` at width ``k``.
        gap_index: ``(S,)`` the ``s < top`` of the largest ratio ``lambda_s / lambda_{s+1}``. The
            window is needed: ``J`` is numerically rank-deficient (samples of a tight cluster share
            most gates, so its rows span about ``K d`` directions per cluster), and over the whole
            spectrum the largest ratio would mark that numerical rank instead.
        seconds: wall time of the run.
    """

    setup: MixtureSetup
    width: int
    predicted: np.ndarray
    measured: np.ndarray
    measured_wide: np.ndarray
    infinite: np.ndarray
    infinite_half: np.ndarray
    energy: np.ndarray
    gap_index: np.ndarray
    seconds: float

    @property
    def levels(self) -> list[slice]:
        """The degenerate levels of the prediction, as slices of the sorted spectrum."""
        return _levels(self.predicted)

    def level_table(self) -> dict:
        """Per level: prediction, seed mean and se of the measured rms, and the measured biases.

        ``noise_bias``: ``2 (rms_inf(sigma) - rms_inf(sigma/2))``, the ``O(sigma)`` shift of the
        infinite-width spectrum (the arc-cosine kernel has a kink at angle 0, so the within-cluster
        entries fall by ``O(sigma)``, not ``O(sigma^2)``). ``width_bias``: the seed mean of
        ``rms(k) - rms_inf(sigma)`` on the same data, the finite-width bias; ``width_bias_wide`` the
        same at ``2k``. ``tol = 3 se + |noise_bias| + |width_bias|``. Neither bias uses the prediction,
        so an error in it is not absorbed into the tolerance.
        """
        lv, r = self.levels, self.setup.rank
        rms = _rms(self.measured[:, :r], lv)
        inf = _rms(self.infinite[:, :r], lv)
        mean, se, n = seed_stats(rms, axis=0)
        noise_bias = 2 * (inf - _rms(self.infinite_half[:, :r], lv)).mean(0)
        width_bias = (rms - inf).mean(0)
        return dict(
            predicted=_rms(self.predicted, lv),
            measured=mean,
            se=se,
            n=n,
            noise_bias=noise_bias,
            width_bias=width_bias,
            width_bias_wide=(_rms(self.measured_wide[:, :r], lv) - inf).mean(0),
            tol=3 * se + np.abs(noise_bias) + np.abs(width_bias),
            size=np.array([sl.stop - sl.start for sl in lv]),
        )

    def claim(self) -> dict:
        """``check_close`` arguments for the level closest to its tolerance (all pass if it does)."""
        t = self.level_table()
        j = int(np.argmax(np.abs(t["measured"] - t["predicted"]) / t["tol"]))
        p = float(t["predicted"][j])
        return dict(
            predicted=p,
            measured=float(t["measured"][j]),
            rel=float(t["tol"][j] / p),
            se=float(t["se"][j]),
            n=t["n"],
        )

    def glue(self) -> dict:
        """The numbers the chapter's prose quotes (keys prefixed ``m_``)."""
        s, t, r = self.setup, self.level_table(), self.setup.rank
        sorted_dev = np.abs(self.measured[:, :r].mean(0) / self.predicted - 1)
        kk = s.num_classes**2
        return {
            "m_K": s.num_classes,
            "m_C": s.clusters_per_class,
            "m_clusters": s.clusters,
            "m_rank": r,
            "m_top_mult": kk,
            "m_n": s.n,
            "m_na": s.per_cluster,
            "m_d": s.dim,
            "m_sigma": s.sigma,
            "m_rho": s.rho,
            "m_train_lr": s.train_lr,
            "m_width": self.width,
            "m_seeds": int(self.measured.shape[0]),
            "m_level1": float(t["predicted"][0]),
            "m_level2": float(t["predicted"][-1]),
            "m_dev_max": float(np.max(np.abs(t["measured"] / t["predicted"] - 1))),
            "m_tol_max": float(np.max(t["tol"] / t["predicted"])),
            "m_noise_bias": float(np.max(np.abs(t["noise_bias"]) / t["predicted"])),
            "m_width_bias": float(np.max(np.abs(t["width_bias"]) / t["predicted"])),
            "m_width_bias_wide": float(np.max(np.abs(t["width_bias_wide"]) / t["predicted"])),
            "m_sorted_dev": float(sorted_dev.max()),
            "m_gap": float(np.mean(self.measured[:, r - 1] / self.measured[:, r])),
            "m_E_top": float(self.energy[:, kk - 1].mean()),
            "m_E_rank": float(self.energy[:, r - 1].mean()),
            "m_nuis": float(np.sqrt(1.0 - self.energy[:, r - 1].mean())),
            "m_seconds": self.seconds,
        }


def _spectrum(G: np.ndarray, top: int) -> tuple[np.ndarray, np.ndarray]:
    w, V = np.linalg.eigh((G + G.T) / 2)
    return np.sqrt(np.clip(w[::-1], 0.0, None)), V[:, ::-1][:, :top]


def _infinite(X: np.ndarray, K: int, top: int) -> np.ndarray:
    """Top singular values of ``I_K (x) Sigma(X)``: those of ``Sigma`` each ``K`` times."""
    w = np.clip(np.linalg.eigvalsh(expected_gram(X))[::-1], 0.0, None)
    return np.repeat(np.sqrt(w), K)[:top]


def run_mixture(
    setup: MixtureSetup, sizes: JacobianSizes, *, rng: np.random.Generator
) -> MixtureResult:
    """Spectra of ``J(W_0)`` over ``sizes.mixture_seeds`` seeds at width ``sizes.mixture_width``.

    Each seed's stream spawns three children: the data, the width-``k`` network, the ``2k`` network.

    Args:
        setup: physical constants.
        sizes: sizes (``mixture_seeds`` >= 2, ``mixture_width``).
        rng: numpy generator.

    Returns:
        A :class:`MixtureResult`.
    """
    check_instance("setup", setup, MixtureSetup)
    check_instance("sizes", sizes, JacobianSizes)
    check_rng(rng)
    seeds = check_int("sizes.mixture_seeds", sizes.mixture_seeds, minimum=2)
    width = check_int("sizes.mixture_width", sizes.mixture_width, minimum=2)
    if width % 2:
        raise ValueError(f"sizes.mixture_width must be even (doubled initialisation), got {width}")
    K, top, t0 = setup.num_classes, setup.top, time.perf_counter()
    out = {k: [] for k in ("measured", "wide", "inf", "half", "energy", "gap")}
    for seed_rng in rng.spawn(seeds):
        data_rng, net_rng, wide_rng = seed_rng.spawn(3)
        data = draw_mixture(setup, rng=data_rng)
        net = two_layer_net(setup.dim, width, K, rng=net_rng)
        lam, U = _spectrum(two_layer_gram(net, data.X), top)
        wide = two_layer_net(setup.dim, 2 * width, K, rng=wide_rng)
        out["measured"].append(lam[:top])
        out["wide"].append(_spectrum(two_layer_gram(wide, data.X), top)[0][:top])
        out["inf"].append(_infinite(data.X, K, top))
        out["half"].append(_infinite(data.X_half, K, top))
        out["energy"].append(label_energy(U, ds.stack_classes(ds.one_hot(data.labels, K))))
        out["gap"].append(int(np.argmax(lam[: top - 1] / np.maximum(lam[1:top], 1e-300))) + 1)
    return MixtureResult(
        setup=setup,
        width=width,
        predicted=setup.predicted(),
        measured=np.array(out["measured"]),
        measured_wide=np.array(out["wide"]),
        infinite=np.array(out["inf"]),
        infinite_half=np.array(out["half"]),
        energy=np.array(out["energy"]),
        gap_index=np.array(out["gap"]),
        seconds=time.perf_counter() - t0,
    )


@dataclass(frozen=True)
class TrainingResult:
    """Gradient descent from ``W_0`` on the mixture at each of ``setup.train_widths``.

    Every run takes ``eta = train_lr / s_1^2`` with ``s_1`` the predicted top level. The labels lie in
    the top level, so linearised at infinite width the residual is ``r_t = (1 - train_lr)^t r_0``.

    Attributes:
        widths: the hidden widths; steps: ``(T,)`` steps ``0 .. train_steps``.
        predicted: ``(T,)`` ``||r_t|| / ||r_0|| = (1 - train_lr)^t``.
        residual: ``(W, S, T)`` measured ``||r_t|| / ||r_0||``.
        test_error: ``(W, S, T)`` error on the held-out samples.
    """

    widths: tuple[int, ...]
    steps: np.ndarray
    predicted: np.ndarray
    residual: np.ndarray
    test_error: np.ndarray

    def glue(self) -> dict:
        """Final residual and held-out error at the smallest and the largest width (``m_`` keys)."""
        i, j = int(np.argmin(self.widths)), int(np.argmax(self.widths))
        out = {"m_train_steps": int(self.steps[-1]), "m_res_pred": float(self.predicted[-1])}
        for tag, w in (("small", i), ("large", j)):
            out |= {
                f"m_w_{tag}": int(self.widths[w]),
                f"m_res_{tag}": float(self.residual[w, :, -1].mean()),
                f"m_err_{tag}": float(self.test_error[w, :, -1].mean()),
            }
        return out


def run_training(
    setup: MixtureSetup, sizes: JacobianSizes, *, rng: np.random.Generator
) -> TrainingResult:
    """Train at each width over ``sizes.mixture_seeds`` seeds (fresh data and initialisation per seed).

    Each seed's stream spawns the data, then one child per width for the initialisation.
    """
    check_instance("setup", setup, MixtureSetup)
    check_instance("sizes", sizes, JacobianSizes)
    check_rng(rng)
    seeds = check_int("sizes.mixture_seeds", sizes.mixture_seeds, minimum=2)
    K, widths = setup.num_classes, setup.train_widths
    lr = setup.train_lr / float(setup.predicted()[0]) ** 2
    res = np.zeros((len(widths), seeds, setup.train_steps + 1))
    err = np.zeros_like(res)
    for s, seed_rng in enumerate(rng.spawn(seeds)):
        data_rng, *net_rngs = seed_rng.spawn(1 + len(widths))
        data = draw_mixture(setup, rng=data_rng)
        for w, (width, net_rng) in enumerate(zip(widths, net_rngs, strict=True)):
            run = train_gd(
                two_layer_net(setup.dim, width, K, rng=net_rng),
                data.X,
                ds.one_hot(data.labels, K),
                lr=lr,
                steps=setup.train_steps,
                record_every=1,
                X_test=data.X_test,
                labels_test=data.labels_test,
                progress=False,
            )
            norms = np.linalg.norm(run.residuals, axis=1)
            res[w, s], err[w, s] = norms / norms[0], 1.0 - run.test_acc
    steps = np.arange(setup.train_steps + 1)
    return TrainingResult(widths, steps, (1.0 - setup.train_lr) ** steps, res, err)
