"""The setup of the linear-network experiments of chapter 6 and the checks every run shares."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from dltheory._checks import ArgumentTypeError, check_int, check_positive, check_rng
from dltheory._torch import torch
from dltheory.config import KernelTransferSizes


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
