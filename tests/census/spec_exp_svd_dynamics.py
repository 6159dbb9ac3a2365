"""Census cases: chapter 1's experiments (mode-by-mode learning of the SVD, Saxe et al. 2014)."""

from dataclasses import replace

import numpy as np

from census.harness import Case
from dltheory.config import get_scale
from dltheory.experiments.lampinen_ganguli import LGSetup

EX = "dltheory.experiments.svd_dynamics."
# Tiny sizes and a fast setting (tau = 100 epochs), so that every mode reaches half strength.
FAST = LGSetup(lr=1e-2, eps=1e-3)
TINY = replace(
    get_scale("ci").svd_dynamics,
    n_in=10,
    n_out=6,
    hidden=6,
    n_seeds=2,
    epochs=1000,
    deep_epochs=1000,
    record_every=10,
    n_sweep=3,
)


def _data(rng):
    return FAST.draw(TINY.n_in, TINY.n_out, [6.0, 4.0, 2.0], TINY.n_seeds, rng=rng)


def _few_modes(rng):
    return FAST.draw(3, 3, [6.0, 4.0, 2.0], 2, rng=rng)


COMMON = {"setup": ["x", get_scale("ci").svd_dynamics], "sizes": ["x", get_scale("ci")]}

CASES = {
    EX + "run_modes": Case(
        valid=lambda rng: {"setup": FAST, "sizes": TINY, "rng": rng},
        domain=COMMON,
    ),
    EX + "run_half_times": Case(
        valid=lambda rng: {"setup": FAST, "sizes": TINY, "data": _data(rng), "rng": rng},
        domain={
            **COMMON,
            "data": [_few_modes(np.random.default_rng(0))],
            "s_bar_range": [(10.0, 1.5), (1.5,), (1.5, 5.0, 10.0), (0.0, 1.0)],
            "log10_eps_range": [(-1.5, -8.0), (-8.0, 1.0), (-8.0,)],
        },
    ),
    EX + "run_deep": Case(
        valid=lambda rng: {"setup": FAST, "sizes": TINY, "data": _data(rng), "rng": rng},
        domain={**COMMON, "hidden_layers": [0, -1], "eps": [0.0, -1e-2, 5.0]},
    ),
    EX + "run_learning_rates": Case(
        valid=lambda rng: {
            "setup": FAST,
            "sizes": TINY,
            "data": _data(rng),
            "lrs": np.array([1e-2, 3e-2]),
        },
        domain={
            **COMMON,
            "lrs": [np.array([]), np.array([-1e-2]), np.array([0.0, 1e-2]), [[1e-2]]],
        },
    ),
}
EXEMPT = {
    EX + "ModeResult": "a result record returned by run_modes, not called by readers",
    EX + "HalfTimeResult": "a result record returned by run_half_times, not called by readers",
    EX + "DeepResult": "a result record returned by run_deep, not called by readers",
    EX
    + "LearningRateResult": "a result record returned by run_learning_rates, not called by readers",
}
