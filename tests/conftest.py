"""Shared test settings: tolerances live here, in one place."""

import os

import numpy as np
import pytest

os.environ.setdefault("DLTHEORY_PROGRESS", "0")
os.environ.setdefault("MPLBACKEND", "Agg")

# Tolerances
EXACT = 1e-12  # two routes that compute the same floating-point quantity
ODE_REL = 1e-6  # a closed form against a finite-difference derivative
INVERSE_REL = 1e-8  # s(t(s)) = s through a quadrature or ODE solve


@pytest.fixture
def rng():
    return np.random.default_rng(12345)


# Property tests (hypothesis): derandomized, so a run is the same on every machine and CI never fails on
# an example no one can replay; no per-example deadline, because a busy machine is slow, not wrong.
from hypothesis import HealthCheck, settings  # noqa: E402

settings.register_profile(
    "book",
    derandomize=True,
    deadline=None,
    max_examples=40,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.load_profile("book")
