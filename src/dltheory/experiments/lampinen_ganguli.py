"""The student-teacher setting shared by chapters 1-4: Lampinen & Ganguli (2019), "An analytic theory of
generalization dynamics and transfer learning in deep linear networks", arXiv:1809.10374, Sec. 2-3.

A rank-``r`` linear teacher ``W_bar`` (N3 x N1) with singular values ``s_bar`` produces targets
``y = W_bar x + z`` on ``P = N1`` orthonormal inputs, with noise ``z`` of variance ``noise_std^2 / N1``
per entry, so each ``s_bar`` is the signal-to-noise ratio of its mode. A deep linear student starts
with every mode at strength ``eps`` and learns by full-batch gradient descent at rate ``lr`` (time
constant ``tau = 1 / lr`` epochs). Sizes (N1, N3, N2, seeds, epochs) come from :mod:`dltheory.config`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from dltheory._checks import check_int, check_positive
from dltheory.linear_nets import GDRecord, Init, simulate_gd
from dltheory.teachers import NoisyData, low_rank_teacher, noisy_data
from dltheory.theory.random_matrix import detection_threshold

__all__ = ["LGSetup", "SETUP"]


@dataclass(frozen=True)
class LGSetup:
    """Physical parameters of the setting (Lampinen & Ganguli 2019, Sec. 2).

    Attributes:
        noise_std: sigma_z; the noise variance per target entry is ``noise_std**2 / N1``.
        lr: learning rate lambda; time is measured in ``tau = 1 / lr`` epochs.
        eps: initial strength of every mode of the student's product map (small: rich regime).
    """

    noise_std: float = 1.0
    lr: float = 1e-3
    eps: float = 1e-5

    def __post_init__(self):
        for name in ("noise_std", "lr", "eps"):
            object.__setattr__(self, name, check_positive(name, getattr(self, name)))

    @property
    def tau(self) -> float:
        """Time constant of gradient descent, in epochs."""
        return 1.0 / self.lr

    def theory(self, n_in: int, n_out: int) -> dict:
        """Keyword arguments the closed forms of :mod:`dltheory.theory` take for this setting."""
        return dict(n_in=n_in, n_out=n_out, eps=self.eps, tau=self.tau, noise_std=self.noise_std)

    def threshold(self, n_in: int, n_out: int) -> float:
        """Teacher SNR below which a mode leaves no outlier in the data, ``sigma_z (N3 / N1)^(1/4)``
        (the paper's Sec. 2.2)."""
        return float(detection_threshold(aspect_ratio=n_out / n_in, noise_std=self.noise_std))

    def draw(
        self, n_in: int, n_out: int, s_bar, n_seeds: int, *, rng: np.random.Generator
    ) -> NoisyData:
        """``n_seeds`` teachers and noisy data sets per condition (rows of ``s_bar``), conditions-major."""
        n_seeds = check_int("n_seeds", n_seeds)
        reps = np.repeat(np.atleast_2d(s_bar), n_seeds, axis=0)
        teacher = low_rank_teacher(n_in, n_out, reps, rng=rng.spawn(1)[0])
        return noisy_data(teacher, noise_std=self.noise_std, rng=rng.spawn(1)[0])

    def train(
        self,
        data: NoisyData,
        *,
        hidden: int,
        epochs: int,
        record_every: int,
        init: Init = "aligned",
        hidden_layers: int = 1,
        rng: np.random.Generator | None = None,
    ) -> GDRecord:
        """Gradient descent on every data set; aligned initialisation runs in (exact) mode space."""
        return simulate_gd(
            data,
            hidden=hidden,
            hidden_layers=hidden_layers,
            init=init,
            eps=self.eps,
            lr=self.lr,
            epochs=epochs,
            record_every=record_every,
            method="modes" if init == "aligned" else "full",
            rng=rng,
        )


SETUP = LGSetup()
"""The setting of chapters 2-4 and ``bench``: sigma_z = 1, lambda = 1e-3, eps = 1e-5."""
