"""The library's one door to torch: importing torch from here applies the book's thread policy.

Every module of :mod:`dltheory` that runs torch imports it as ``from dltheory._torch import torch``,
so the policy of :mod:`dltheory.threads` reaches torch's kernels however a chapter imports things.
Randomness for torch comes from a numpy generator through :func:`torch_generator`; nothing is seeded
globally.
"""

from __future__ import annotations

import numpy as np
import torch

from dltheory._checks import check_rng
from dltheory.threads import apply_thread_policy

__all__ = ["torch", "torch_generator"]

apply_thread_policy()


def torch_generator(rng: np.random.Generator) -> torch.Generator:
    """A CPU ``torch.Generator`` seeded from ``rng`` (advances ``rng`` by one draw)."""
    return torch.Generator().manual_seed(int(check_rng(rng).integers(2**62)))
