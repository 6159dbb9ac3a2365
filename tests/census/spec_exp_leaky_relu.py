"""Census cases: leaky-ReLU students beside the linear theory (dltheory.experiments.leaky_relu)."""

import dataclasses

from census.harness import Case
from dltheory.config import get_scale
from dltheory.experiments.lampinen_ganguli import SETUP

M = "dltheory.experiments.leaky_relu"
TINY_ES = dataclasses.replace(
    get_scale("ci").early_stopping, n_in=8, n_out=4, hidden=4, record_every=10
)
TINY_TR = dataclasses.replace(
    get_scale("ci").transfer, n_in=8, n_out=4, hidden=4, epochs=10, record_every=5
)
_RESULT = "a frozen result that its run_leaky_* function builds, not called by users"

CASES = {
    f"{M}.run_leaky_generalisation": Case(
        valid=lambda rng: {
            "setup": SETUP,
            "sizes": TINY_ES,
            "rng": rng,
            "snrs": [2.0, 4.0],
            "slope": 0.1,
            "n_seeds": 2,
            "epochs": 10,
        },
        domain={
            "setup": [{"noise_std": 1.0}, 3],
            "sizes": [TINY_TR, 3],
            "snrs": [[], [-1.0], [[2.0]]],
            "slope": [-0.1, 1.5],
            "n_seeds": [1, 0],
            "epochs": [4, 0],  # fewer epochs than one step of LR_FACTOR epochs
        },
    ),
    f"{M}.run_leaky_transfer": Case(
        valid=lambda rng: {
            "setup": SETUP,
            "sizes": TINY_TR,
            "rng": rng,
            "s_a": 3.0,
            "s_b": 10.0,
            "q": [0.0, 1.0],
            "slope": 0.2,
            "n_seeds": 2,
        },
        domain={
            "setup": [{"noise_std": 1.0}, 3],
            "sizes": [TINY_ES, 3],
            "s_a": [0.0, -1.0],
            "s_b": [0.0],
            "q": [[], [1.5], [-0.5], [[0.0]]],
            "slope": [-0.1, 1.5],
            "n_seeds": [1, 0],
        },
    ),
}
EXEMPT = {
    f"{M}.LeakyCurvesResult": _RESULT,
    f"{M}.LeakyTransferResult": _RESULT,
}
