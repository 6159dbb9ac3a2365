"""The setup of the linear-network experiments of chapter 6 and the checks every run shares."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from dltheory._checks import ArgumentTypeError, check_int, check_positive, check_rng
from dltheory._torch import torch
from dltheory.config import KernelTransferSizes
from dltheory.experiments._grid import seed_stats


@dataclass(frozen=True)
class KernelTransferSetup:
    """Physical parameters of the linear-network experiments.

    Attributes:
        D: input dimension.
        gamma: richness of the networks.
        lam: weight decay.
        lr: time step of gradient descent (time = steps * lr).
        P_s: source samples in the transfer experiments.
        P_t: target samples of the readout claims (at most D, at least 3).
    """

    D: int = 40
    gamma: float = 1.0
    lam: float = 0.5
    lr: float = 0.01
    P_s: int = 200
    P_t: int = 10

    def __post_init__(self):
        object.__setattr__(self, "D", check_int("D", self.D, minimum=2))
        for name in ("gamma", "lam", "lr"):
            object.__setattr__(self, name, check_positive(name, getattr(self, name)))
        object.__setattr__(self, "P_s", check_int("P_s", self.P_s))
        object.__setattr__(self, "P_t", check_int("P_t", self.P_t, minimum=3))
        if self.P_t > self.D:
            raise ValueError(
                f"P_t must be at most D = {self.D} (an invertible kernel), got {self.P_t}"
            )


SETUP = KernelTransferSetup()
"""Chapter 6's setting: D = 40, gamma = 1, lam = 0.5, time step 0.01, P_s = 200, P_t = 10."""


def _check_args(setup, sizes, rng, kind: type = KernelTransferSetup) -> None:
    if not isinstance(setup, kind):
        raise ArgumentTypeError(f"setup must be a {kind.__name__}, got {type(setup).__name__}")
    if not isinstance(sizes, KernelTransferSizes):
        raise ArgumentTypeError(
            "sizes must be KernelTransferSizes (get_scale(name).kernel_transfer), "
            f"got {type(sizes).__name__}"
        )
    check_rng(rng)


def _fit(setup: KernelTransferSetup, sizes: KernelTransferSizes) -> dict:
    return dict(gamma=setup.gamma, lr=setup.lr, steps=sizes.steps)


def _test_inputs(D: int, batch: tuple[int, ...]) -> torch.Tensor:
    """sqrt(D) e_k for every network of ``batch``: a linear predictor's outputs on them are its beta."""
    return torch.as_tensor(np.broadcast_to(np.sqrt(D) * np.eye(D), (*batch, D, D)).copy())


def flow_claim(predicted, measured, fresh, labels, n_sources: int) -> dict:
    """``check_close`` numbers of a moment-theory claim at its least resolved condition.

    Arrays are ``(conditions, draws)``, draws source-major ``(source, target)`` pairs on the last axis
    (a single target per source is allowed). ``predicted`` is the theory from the infinite-width
    moments; ``fresh`` the same theory from independent width-N initial moments (not the networks').

    * ``se``: standard error over sources of the paired difference ``measured - predicted``, averaged
      over each source's targets: the networks of one source share its initialisation, the only thing
      the theory averages over.
    * ``bias``: ``|mean(fresh - predicted)|``, the finite-width shift, with its own standard error
      ``se_bias`` over sources.
    * ``tol = 3 sqrt(se^2 + se_bias^2) + bias``, at the condition of largest
      ``(tol + |m - p|) / |p|``.
    """
    p, m = predicted.mean(-1), measured.mean(-1)

    def per_source(x):
        return x.reshape(*x.shape[:-1], n_sources, -1).mean(-1)

    _, se, n = seed_stats(per_source(measured - predicted))
    shift, se_bias, _ = seed_stats(per_source(fresh - predicted))
    bias = np.abs(shift)
    tol = 3 * np.sqrt(se**2 + se_bias**2) + bias
    i = int(np.argmax((tol + np.abs(m - p)) / np.abs(p)))
    return dict(
        predicted=float(p[i]), measured=float(m[i]), tol=float(tol[i]), se=float(se[i]), n=n,
        bias=float(bias[i]), se_bias=float(se_bias[i]), at=labels[i],
    )  # fmt: skip
