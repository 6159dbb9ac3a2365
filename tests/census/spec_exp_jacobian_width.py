"""Census cases: the width sweep of chapter 5 (networks beside their linearisations).

The valid call runs on one tiny problem (5 digits per class, widths 8 and 16, a few steps), built once.
"""

import dataclasses
from functools import cache

import numpy as np

from census.harness import Case

M = "dltheory.experiments.jacobian_width."


@cache
def _problem():
    from dltheory.config import get_scale
    from dltheory.experiments import jacobian_information as ji

    sizes = dataclasses.replace(
        get_scale("ci").jacobian,
        per_class=5,
        width=8,
        rank=10,
        widths=(8, 16),
        width_seeds=2,
        width_steps=6,
    )
    return ji.draw_problem(ji.SETUP, sizes, rng=np.random.default_rng(0))


CASES = {
    M + "run_width_sweep": Case(
        valid=lambda rng: {"problem": _problem(), "rng": rng},
        domain={"problem": [None, _problem().data]},
    ),
    M + "expected_kernel_stopping": Case(
        valid=lambda rng: {
            "problem": _problem(),
            "labels": _problem().labels,
            "steps": np.array([0, 1, 5, 20]),
        },
        domain={
            "problem": [None],
            "labels": [_problem().labels[:-1], _problem().labels + 10, _problem().labels * 0.5],
            "steps": [np.array([]), np.array([3, 1]), np.array([-1, 2]), np.array([0.5, 1.0])],
        },
    ),
}
EXEMPT = {
    M + "WidthSweepResult": "a result record returned by run_width_sweep, not built by readers",
}
