"""Scales: the one place where problem sizes (widths, seeds, epochs, grids) live.

Every chapter has one parameter, ``scale``, set by papermill or the ``BOOK_SCALE`` environment variable:

* ``ci``    -- small enough that all chapters together run in a few minutes on 2 CPU cores, while still
  checking every claim with a tolerance honest for that size (``make test``);
* ``book``  -- what the rendered website shows, each chapter a minute or two (``make book``);
* ``paper`` -- the papers' own sizes, for a full reproduction (``make chapter CH=01 SCALE=paper``).

Physical parameters of an experiment (learning rate, initial strength, teacher singular values) are not
sizes: they live in the frozen setups of :mod:`dltheory.experiments`, which the chapters print and explain.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Literal, get_args

__all__ = [
    "ScaleName",
    "SVDDynamicsSizes",
    "EarlyStoppingSizes",
    "OptimalLearnerSizes",
    "TransferSizes",
    "JacobianSizes",
    "KernelTransferSizes",
    "SilentAlignmentSizes",
    "Scale",
    "SCALES",
    "get_scale",
    "default_scale_name",
]

ScaleName = Literal["ci", "book", "paper"]


@dataclass(frozen=True)
class SVDDynamicsSizes:
    """Sizes for chapter 1 (SVD learning dynamics).

    Attributes:
        n_in: input size N1 = P (one-hot examples).
        n_out: output size N3 (aspect ratio N3/N1).
        hidden: hidden width N2 of the students.
        n_seeds: independent teachers/data sets/initialisations.
        epochs: gradient-descent epochs for the one-hidden-layer students.
        deep_epochs: epochs for the deeper students.
        record_every: epochs between recorded snapshots.
        n_sweep: points in the sweeps of half-time against singular value and initial strength.
    """

    n_in: int
    n_out: int
    hidden: int
    n_seeds: int
    epochs: int
    deep_epochs: int
    record_every: int
    n_sweep: int


@dataclass(frozen=True)
class EarlyStoppingSizes:
    """Sizes for chapter 2 (early stopping with noisy teachers).

    The network sizes are the paper's canonical ones at every scale (N1 = P = 100, N3 = N2 = 50), so
    the claims are checked at the size they are stated for; scales differ in seeds and grids only.

    Attributes:
        n_in, n_out, hidden: N1 = P, N3, N2 of the canonical configuration.
        n_seeds: seeds per condition for training-aligned runs (computed exactly in mode space).
        n_seeds_random: seeds per condition for randomly initialised runs (full matrices).
        random_all_snrs: simulate random initialisation at every SNR below 10 (else only at
            SNR 4, the one its claim is about).
        epochs: gradient-descent epochs.
        record_every: epochs between recorded snapshots (the claims need at most 10).
        rmt_n_in, rmt_n_out: size of the random-matrix checks (outliers, overlaps, MP bulk).
        rmt_seeds: draws per teacher strength in the outlier/overlap sweep.
        rmt_claim_seeds: draws at s_bar = 2 for the outlier and overlap claims.
        n_sbar_grid: teacher strengths in the outlier/overlap sweep.
        n_snr_grid: SNRs in the minimal-error and stopping-time sweep (mode space).
        examples_n: N1 = N2 = N3 of the P != N1 experiment (100, the paper's canonical N1).
        examples_grid: numbers of examples P in that experiment.
        examples_snrs: SNRs in that experiment.
        examples_seeds: seeds per (P, SNR).
        examples_epochs: epochs of that experiment (full matrices, Sigma^11 != I).
        bias_draws: data sets (SVDs only, no training) drawn to measure finite-size biases: the
            shuffled-target spectrum, the Gaussian top singular value and the empirical overlap.
    """

    n_in: int
    n_out: int
    hidden: int
    n_seeds: int
    n_seeds_random: int
    random_all_snrs: bool
    epochs: int
    record_every: int
    rmt_n_in: int
    rmt_n_out: int
    rmt_seeds: int
    rmt_claim_seeds: int
    n_sbar_grid: int
    n_snr_grid: int
    examples_n: int
    examples_grid: tuple[int, ...]
    examples_snrs: tuple[float, ...]
    examples_seeds: int
    examples_epochs: int
    bias_draws: int


@dataclass(frozen=True)
class OptimalLearnerSizes:
    """Sizes for chapter 3 (the optimal non-gradient learner).

    Attributes:
        n_in, n_out, hidden: N1 = P, N3, N2 of the canonical configuration (at every scale).
        n_seeds: data sets per SNR in the minimal-error-against-SNR sweep.
        epochs: gradient-descent epochs.
        record_every: epochs between recorded snapshots.
        n_snr_grid: SNRs in the minimal-error-against-SNR sweep.
        n_seeds_claims: data sets per claimed condition. The learners are cheap (one SVD each, GD in
            mode space), and near the threshold one draw's plug-in error has a heavy tail, so the
            claims average over more draws than the sweep.
        finite_size_n_in: input sizes N1 (N3 = N1 / 2) of the finite-size study of the plug-in.
        finite_size_seeds: data sets per size in that study.
        n_seeds_rank3: data sets of the teacher (3, 2, 1) for its claims (the gap to gradient
            descent is a small difference, 0.02, and needs more of them); ``None``: ``n_seeds_claims``.
    """

    n_in: int
    n_out: int
    hidden: int
    n_seeds: int
    epochs: int
    record_every: int
    n_snr_grid: int
    n_seeds_claims: int
    finite_size_n_in: tuple[int, ...]
    finite_size_seeds: int
    n_seeds_rank3: int | None = None


@dataclass(frozen=True)
class TransferSizes:
    """Sizes for chapter 4 (transfer between aligned tasks).

    The network sizes are the canonical ones at every scale (N1 = P = 100, N3 = 50 per task,
    N2 = 50); scales differ in seeds and grids.

    Attributes:
        n_in, n_out, hidden: N1 = P, N3 per task, N2 for both students.
        n_seeds: seeds per condition (each seed is one teacher pair, one noise draw shared by the
            alone and joint students, and the rotated copies of both).
        epochs: gradient-descent epochs (at least 5000).
        record_every: epochs between recorded snapshots.
        n_q_grid: input alignments q in the simulated sweeps, evenly spaced on [0, 1]; odd, so that
            q = 0.5 is on the grid.
        n_q_fine: input alignments of the theory curves.
        finite_size_n_in: input sizes N1 of the finite-size check (N3 = N2 = N1/2; the first is N1).
        finite_size_seeds: seeds per condition in the finite-size check.
        claim_seeds: seeds per condition of the few conditions the chapter's claims compare with
            the theory (a separate run, so that their seed spread is small).
        weak_seeds: seeds per N1 of the weak-alignment check at A's threshold (each seed: one task
            pair and one noise draw, with its mirror image, at q = 0 and q = 0.2; joint students).
    """

    n_in: int
    n_out: int
    hidden: int
    n_seeds: int
    epochs: int
    record_every: int
    n_q_grid: int
    n_q_fine: int
    finite_size_n_in: tuple[int, ...]
    finite_size_seeds: int
    claim_seeds: int
    weak_seeds: int


@dataclass(frozen=True)
class JacobianSizes:
    """Sizes for chapter 5 (the Jacobian's information/nuisance split).

    The claims are stated for the book's reference setup (40 digits per class, n = 400, width 256,
    eta = 1/lambda_1^2, 6000 full-batch steps), and every scale keeps it for the two-layer network;
    scales differ in the deeper network and the optional runs.

    Attributes:
        per_class: training images per class (n = 10 * per_class).
        width: hidden width k of the two-layer network.
        steps: full-batch gradient steps of the two-layer runs.
        record_every: steps between recorded snapshots after the first ``dense_steps``.
        dense_steps: every step is recorded up to here (the per-direction comparison).
        rank: r, the dimension of the information space, and the k of the matrix-free spectra.
        heldout_per_class: held-out images per class for the held-out alignment (from the test split).
        deep_width: hidden width of both layers of the deeper (three-layer) network.
        deep_steps: full-batch gradient steps of the deeper network.
        train_centred: also train on mean-centred pixels (only for the spectrum after training).
        widths: hidden widths of the width sweep (even, increasing).
        width_seeds: initialisations per width in the width sweep.
        width_steps: gradient steps recorded in the width sweep (train and test curves).
        corruption_draws: corruption draws per level in the label-energy corruption sweep.
        heldout_draws: disjoint held-out image sets whose ``E(r)`` predicts the training set's.
        mixture_seeds: data sets and initialisations in the Gaussian-mixture case study.
        mixture_width: hidden width in the Gaussian-mixture case study.
    """

    per_class: int
    width: int
    steps: int
    record_every: int
    dense_steps: int
    rank: int
    heldout_per_class: int
    deep_width: int
    deep_steps: int
    train_centred: bool
    widths: tuple[int, ...]
    width_seeds: int
    width_steps: int
    corruption_draws: int
    heldout_draws: int
    mixture_seeds: int
    mixture_width: int


@dataclass(frozen=True)
class KernelTransferSizes:
    """Sizes for chapter 6 (lazy NTK vs. adaptive-kernel transfer).

    The claims' physical setup (D = 40, gamma = 1, lam = 0.5, P_s = 200, P_t = 10, the (P, N) pairs of
    the fixed-point checks) is the same at every scale; scales differ in repeats, grids and widths.

    Attributes:
        width: hidden width N of the linear networks in the sweeps and transfer runs.
        steps: gradient steps to a weight-decay fixed point (time step 0.01, so time = steps / 100).
        n_seeds: source networks (teacher, data set, initialisation) per condition.
        n_targets: target data sets per source network and condition (readout, lazy baselines).
        n_alpha: alignments in the transfer sweeps (the claims' alignments are always added).
        n_gamma: richness values simulated in the gamma sweep.
        n_p_grid: sample sizes in the lazy-vs-adaptive sweep.
        digits_width: hidden width of the ReLU networks on the digits.
        digits_source: source training set size on the digits.
        digits_steps: gradient steps on the digits (pretraining and training from scratch).
        digits_seeds: target draws per task and target size on the digits.
        poly_seeds: source ReLU networks (teacher, data set, initialisation) in the polynomial-teacher
            experiment.
        poly_targets: target data sets per source network and alignment in that experiment.
        poly_steps: gradient steps of the source networks there (time step 0.005).
        gf_width: hidden width N of the linear networks trained by plain gradient flow (no weight
            decay), whose weight moments the book's moment equations follow.
        gf_seeds: source networks (teacher, data set, initialisation) per condition there.
        gf_targets: target data sets per source network and condition there.
    """

    width: int
    steps: int
    n_seeds: int
    n_targets: int
    n_alpha: int
    n_gamma: int
    n_p_grid: int
    digits_width: int
    digits_source: int
    digits_steps: int
    digits_seeds: int
    poly_seeds: int
    poly_targets: int
    poly_steps: int
    gf_width: int
    gf_seeds: int
    gf_targets: int


@dataclass(frozen=True)
class SilentAlignmentSizes:
    """Sizes for chapter 7 (the silent alignment effect); the physical setup is the same at every
    scale (``dltheory.experiments.silent_alignment.SETUP``).

    Attributes:
        n_seeds: seeds (data set and initialisation) of the two-layer runs.
        n_seeds_deep: seeds of each depth.
        n_seeds_relu: seeds of the ReLU network.
        record_every: gradient steps between recorded kernels.
    """

    n_seeds: int
    n_seeds_deep: int
    n_seeds_relu: int
    record_every: int


@dataclass(frozen=True)
class Scale:
    """All sizes of one scale, one field per chapter."""

    name: ScaleName
    svd_dynamics: SVDDynamicsSizes
    early_stopping: EarlyStoppingSizes
    optimal_learner: OptimalLearnerSizes
    transfer: TransferSizes
    jacobian: JacobianSizes
    kernel_transfer: KernelTransferSizes
    silent_alignment: SilentAlignmentSizes


SCALES: dict[str, Scale] = {
    "ci": Scale(
        name="ci",
        svd_dynamics=SVDDynamicsSizes(
            n_in=40, n_out=20, hidden=20, n_seeds=3, epochs=5000, deep_epochs=5000,
            record_every=10, n_sweep=6,
        ),
        early_stopping=EarlyStoppingSizes(
            n_in=100, n_out=50, hidden=50, n_seeds=20, n_seeds_random=3, random_all_snrs=False,
            epochs=10000, record_every=10, rmt_n_in=1000, rmt_n_out=500, rmt_seeds=1, rmt_claim_seeds=5,
            n_sbar_grid=8, n_snr_grid=8, examples_n=100,
            examples_grid=(40, 100, 200), examples_snrs=(3.0,), examples_seeds=6,
            examples_epochs=6000, bias_draws=100,
        ),
        optimal_learner=OptimalLearnerSizes(
            n_in=100, n_out=50, hidden=50, n_seeds=6, epochs=10000, record_every=10,
            n_snr_grid=8, n_seeds_claims=50, finite_size_n_in=(100, 200, 400), finite_size_seeds=6,
        ),
        transfer=TransferSizes(
            n_in=100, n_out=50, hidden=50, n_seeds=8, epochs=5000, record_every=10,
            n_q_grid=3, n_q_fine=11, finite_size_n_in=(100, 200), finite_size_seeds=12,
            claim_seeds=16, weak_seeds=112,
        ),
        jacobian=JacobianSizes(
            per_class=40, width=256, steps=6000, record_every=25, dense_steps=300, rank=100,
            heldout_per_class=40, deep_width=256, deep_steps=2000, train_centred=False,
            widths=(32, 64, 128, 256, 512), width_seeds=3, width_steps=300, corruption_draws=20,
            heldout_draws=3, mixture_seeds=3, mixture_width=256,
        ),
        kernel_transfer=KernelTransferSizes(
            width=64, steps=4000, n_seeds=4, n_targets=40, n_alpha=5, n_gamma=4,
            n_p_grid=6, digits_width=128, digits_source=300, digits_steps=2000, digits_seeds=4,
            poly_seeds=3, poly_targets=3, poly_steps=3000,
            gf_width=512, gf_seeds=3, gf_targets=10,
        ),
        silent_alignment=SilentAlignmentSizes(n_seeds=24, n_seeds_deep=6, n_seeds_relu=2, record_every=5),
    ),
    "book": Scale(
        name="book",
        svd_dynamics=SVDDynamicsSizes(
            n_in=100, n_out=50, hidden=50, n_seeds=5, epochs=5000, deep_epochs=5000,
            record_every=10, n_sweep=12,
        ),
        early_stopping=EarlyStoppingSizes(
            n_in=100, n_out=50, hidden=50, n_seeds=100, n_seeds_random=4,
            random_all_snrs=True, epochs=10000, record_every=10,
            rmt_n_in=1000, rmt_n_out=500, rmt_seeds=2, rmt_claim_seeds=10, n_sbar_grid=16, n_snr_grid=16,
            examples_n=100, examples_grid=(20, 60, 100, 200), examples_snrs=(2.0, 4.0),
            examples_seeds=6, examples_epochs=6000, bias_draws=400,
        ),
        optimal_learner=OptimalLearnerSizes(
            n_in=100, n_out=50, hidden=50, n_seeds=10, epochs=10000, record_every=10,
            n_snr_grid=16, n_seeds_claims=100, finite_size_n_in=(100, 200, 400),
            finite_size_seeds=30, n_seeds_rank3=300,
        ),
        transfer=TransferSizes(
            n_in=100, n_out=50, hidden=50, n_seeds=20, epochs=5000, record_every=10,
            n_q_grid=9, n_q_fine=21, finite_size_n_in=(100, 200, 400), finite_size_seeds=16,
            claim_seeds=100, weak_seeds=128,
        ),
        jacobian=JacobianSizes(
            per_class=40, width=256, steps=6000, record_every=20, dense_steps=300, rank=100,
            heldout_per_class=40, deep_width=256, deep_steps=6000, train_centred=True,
            widths=(32, 64, 128, 256, 512), width_seeds=6, width_steps=500,
            corruption_draws=50, heldout_draws=3, mixture_seeds=6,
            mixture_width=512,
        ),
        kernel_transfer=KernelTransferSizes(
            width=128, steps=4000, n_seeds=8, n_targets=50, n_alpha=9, n_gamma=5,
            n_p_grid=9, digits_width=128, digits_source=400, digits_steps=2000, digits_seeds=6,
            poly_seeds=4, poly_targets=5, poly_steps=4000,
            gf_width=512, gf_seeds=6, gf_targets=20,
        ),
        silent_alignment=SilentAlignmentSizes(n_seeds=64, n_seeds_deep=12, n_seeds_relu=4, record_every=4),
    ),
    "paper": Scale(
        name="paper",
        svd_dynamics=SVDDynamicsSizes(
            n_in=100, n_out=50, hidden=50, n_seeds=10, epochs=8000, deep_epochs=8000,
            record_every=5, n_sweep=24,
        ),
        early_stopping=EarlyStoppingSizes(
            n_in=100, n_out=50, hidden=50, n_seeds=10, n_seeds_random=10,
            random_all_snrs=True, epochs=10000, record_every=5,
            rmt_n_in=1000, rmt_n_out=500, rmt_seeds=10, rmt_claim_seeds=20, n_sbar_grid=24, n_snr_grid=24,
            examples_n=100, examples_grid=(20, 40, 60, 80, 100, 120, 140, 160, 180, 200),
            examples_snrs=(2.0, 3.0, 4.0), examples_seeds=10, examples_epochs=8000, bias_draws=1000,
        ),
        optimal_learner=OptimalLearnerSizes(
            n_in=100, n_out=50, hidden=50, n_seeds=10, epochs=10000, record_every=10,
            n_snr_grid=24, n_seeds_claims=200, finite_size_n_in=(100, 200, 400, 1000, 2000),
            finite_size_seeds=20,
        ),
        transfer=TransferSizes(
            n_in=100, n_out=50, hidden=50, n_seeds=20, epochs=5000, record_every=10,
            n_q_grid=21, n_q_fine=41, finite_size_n_in=(100, 200, 400), finite_size_seeds=32,
            claim_seeds=200, weak_seeds=256,
        ),
        jacobian=JacobianSizes(
            per_class=40, width=256, steps=6000, record_every=10, dense_steps=300, rank=100,
            heldout_per_class=40, deep_width=256, deep_steps=6000, train_centred=True,
            widths=(32, 64, 128, 256, 512, 1024, 2048), width_seeds=10, width_steps=1000,
            corruption_draws=200, heldout_draws=3, mixture_seeds=10,
            mixture_width=1024,
        ),
        kernel_transfer=KernelTransferSizes(
            width=256, steps=6000, n_seeds=20, n_targets=100, n_alpha=11, n_gamma=10,
            n_p_grid=12, digits_width=512, digits_source=1000, digits_steps=6000, digits_seeds=20,
            poly_seeds=10, poly_targets=10, poly_steps=8000,
            gf_width=1024, gf_seeds=10, gf_targets=40,
        ),
        silent_alignment=SilentAlignmentSizes(n_seeds=256, n_seeds_deep=32, n_seeds_relu=8, record_every=2),
    ),
}  # fmt: skip


def default_scale_name() -> str:
    """The scale named by ``BOOK_SCALE``, else ``"book"``."""
    return os.environ.get("BOOK_SCALE", "book")


def get_scale(name: str | None = None) -> Scale:
    """Return the :class:`Scale` called ``name`` (``"ci"``, ``"book"`` or ``"paper"``).

    Args:
        name: scale name; ``None`` reads ``BOOK_SCALE`` (default ``"book"``).

    Raises:
        ValueError: for an unknown name.
    """
    name = default_scale_name() if name is None else name
    if name not in get_args(ScaleName):
        raise ValueError(f"scale name must be one of {get_args(ScaleName)}, got {name!r}")
    return SCALES[name]
