"""Census cases: chapter 3's experiments (the optimal learner against stopped gradient descent)."""

from dataclasses import replace

import numpy as np

from census.harness import Case
from dltheory.config import get_scale
from dltheory.experiments.lampinen_ganguli import SETUP

OL = "dltheory.experiments.optimal_learner."
TINY = replace(
    get_scale("ci").optimal_learner,
    n_in=12,
    n_out=6,
    hidden=6,
    n_seeds=2,
    epochs=200,
    record_every=20,
    n_snr_grid=1,  # the census calls run_learners once: keep its theory to 6 conditions
    n_seeds_claims=2,
    finite_size_n_in=(12,),
    finite_size_seeds=2,
)
BAD_SIZES = [
    replace(TINY, n_out=2),  # below the teacher's rank 3
    replace(TINY, hidden=2),
    replace(TINY, n_out=20),  # n_out > n_in
    replace(TINY, finite_size_n_in=(4,)),
    replace(TINY, finite_size_n_in=()),
    get_scale("ci").early_stopping,  # another chapter's sizes
]


def _run(rng):
    return {"setup": SETUP, "sizes": TINY, "rng": rng}


_RUN = Case(valid=_run, domain={"setup": [None, TINY], "sizes": BAD_SIZES})

CASES = {
    OL + "predicted_errors": Case(
        valid=lambda rng: {"setup": SETUP, "sizes": TINY, "s_bar": np.array([[1.0], [2.0]])},
        domain={
            "setup": [None],
            "sizes": BAD_SIZES,
            "s_bar": [np.ones(3), np.ones((0, 1)), np.zeros((1, 1)), -np.ones((2, 1))],
        },
    ),
    OL + "run_plugin_example": _RUN,
    OL + "run_learners": _RUN,
    OL + "run_finite_size": _RUN,
}
_RESULT = "a result record returned by a run_* function, not called by readers"
EXEMPT = {
    OL + name: _RESULT
    for name in ("PluginExample", "LearnerRun", "LearnerComparison", "FiniteSizeResult")
}
