"""Scales: the one place where problem sizes (widths, seeds, epochs, grids) live.

Every chapter has one parameter, ``scale``, set by papermill or the ``BOOK_SCALE`` environment variable:

* ``ci``    -- small enough that all chapters together run in a few minutes on 2 CPU cores, while still
  checking every claim with a tolerance honest for that size (``make test``);
* ``book``  -- what the rendered website shows, each chapter a minute or two (``make book``);
* ``paper`` -- the papers' own sizes, for a full reproduction (``make chapter CH=01 SCALE=paper``).

Physical parameters of an experiment (learning rate, initial strength, teacher singular values) are
part of the chapter's statement and live in the chapter, next to the text that explains them.
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
    "Scale",
    "SCALES",
    "scale",
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


@dataclass(frozen=True)
class OptimalLearnerSizes:
    """Sizes for chapter 3 (the optimal non-gradient learner).

    Attributes:
        n_in, n_out, hidden: N1 = P, N3, N2 of the canonical configuration.
        n_seeds: data sets per condition.
        epochs: gradient-descent epochs.
        record_every: epochs between recorded snapshots.
        n_snr_grid: SNRs in the minimal-error-against-SNR sweep.
    """

    n_in: int
    n_out: int
    hidden: int
    n_seeds: int
    epochs: int
    record_every: int
    n_snr_grid: int


@dataclass(frozen=True)
class TransferSizes:
    """Sizes for chapter 4 (transfer between aligned tasks).

    Attributes:
        n_in, n_out, hidden: N1 = P, N3 per task, N2 for both students.
        n_seeds: seeds per condition.
        epochs: gradient-descent epochs (at least 5000).
        record_every: epochs between recorded snapshots.
        n_q_grid: input alignments q in the sweeps.
    """

    n_in: int
    n_out: int
    hidden: int
    n_seeds: int
    epochs: int
    record_every: int
    n_q_grid: int


@dataclass(frozen=True)
class JacobianSizes:
    """Sizes for chapter 5 (the Jacobian's information/nuisance split).

    Attributes:
        n_train: training images.
        width: hidden width of the two-layer network.
        steps: full-batch gradient steps.
        n_seeds: seeds per condition.
    """

    n_train: int
    width: int
    steps: int
    n_seeds: int


@dataclass(frozen=True)
class KernelTransferSizes:
    """Sizes for chapter 6 (lazy NTK vs. adaptive-kernel transfer).

    Attributes:
        width: hidden width of the finite networks.
        steps: gradient steps.
        n_seeds: repeats per condition.
    """

    width: int
    steps: int
    n_seeds: int


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


SCALES: dict[str, Scale] = {
    "ci": Scale(
        name="ci",
        svd_dynamics=SVDDynamicsSizes(
            n_in=40, n_out=20, hidden=20, n_seeds=3, epochs=5000, deep_epochs=5000,
            record_every=10, n_sweep=6,
        ),
        early_stopping=EarlyStoppingSizes(
            n_in=100, n_out=50, hidden=50, n_seeds=6, n_seeds_random=3, random_all_snrs=False,
            epochs=10000, record_every=10, rmt_n_in=1000, rmt_n_out=500, rmt_seeds=1, rmt_claim_seeds=5,
            n_sbar_grid=8, n_snr_grid=8,
        ),
        optimal_learner=OptimalLearnerSizes(
            n_in=100, n_out=50, hidden=50, n_seeds=6, epochs=10000, record_every=10,
            n_snr_grid=8,
        ),
        transfer=TransferSizes(
            n_in=100, n_out=50, hidden=50, n_seeds=4, epochs=5000, record_every=10,
            n_q_grid=3,
        ),
        jacobian=JacobianSizes(n_train=400, width=256, steps=6000, n_seeds=1),
        kernel_transfer=KernelTransferSizes(width=256, steps=2000, n_seeds=2),
    ),
    "book": Scale(
        name="book",
        svd_dynamics=SVDDynamicsSizes(
            n_in=100, n_out=50, hidden=50, n_seeds=5, epochs=5000, deep_epochs=5000,
            record_every=10, n_sweep=12,
        ),
        early_stopping=EarlyStoppingSizes(
            n_in=100, n_out=50, hidden=50, n_seeds=10, n_seeds_random=4,
            random_all_snrs=True, epochs=10000, record_every=10,
            rmt_n_in=1000, rmt_n_out=500, rmt_seeds=2, rmt_claim_seeds=10, n_sbar_grid=16, n_snr_grid=16,
        ),
        optimal_learner=OptimalLearnerSizes(
            n_in=100, n_out=50, hidden=50, n_seeds=10, epochs=10000, record_every=10,
            n_snr_grid=16,
        ),
        transfer=TransferSizes(
            n_in=100, n_out=50, hidden=50, n_seeds=6, epochs=5000, record_every=10,
            n_q_grid=6,
        ),
        jacobian=JacobianSizes(n_train=400, width=256, steps=6000, n_seeds=1),
        kernel_transfer=KernelTransferSizes(width=512, steps=4000, n_seeds=5),
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
        ),
        optimal_learner=OptimalLearnerSizes(
            n_in=100, n_out=50, hidden=50, n_seeds=10, epochs=10000, record_every=10,
            n_snr_grid=24,
        ),
        transfer=TransferSizes(
            n_in=100, n_out=50, hidden=50, n_seeds=10, epochs=5000, record_every=10,
            n_q_grid=11,
        ),
        jacobian=JacobianSizes(n_train=400, width=256, steps=6000, n_seeds=3),
        kernel_transfer=KernelTransferSizes(width=1024, steps=8000, n_seeds=20),
    ),
}  # fmt: skip


def default_scale_name() -> str:
    """The scale named by ``BOOK_SCALE``, else ``"book"``."""
    return os.environ.get("BOOK_SCALE", "book")


def scale(name: str | None = None) -> Scale:
    """Return the :class:`Scale` called ``name`` (``"ci"``, ``"book"`` or ``"paper"``).

    Args:
        name: scale name; ``None`` reads ``BOOK_SCALE`` (default ``"book"``).

    Raises:
        ValueError: for an unknown name.
    """
    name = default_scale_name() if name is None else name
    if name not in get_args(ScaleName):
        raise ValueError(f"scale must be one of {get_args(ScaleName)}, got {name!r}")
    return SCALES[name]
