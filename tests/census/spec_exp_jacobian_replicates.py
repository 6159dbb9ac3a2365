"""Census cases: chapter 5's seed-replicated comparisons (``jacobian_replicates``).

The valid calls share the tiny problem of ``spec_exp_jacobian_information``.
"""

from census.harness import Case
from census.spec_exp_jacobian_information import _problem, _spectrum

M = "dltheory.experiments.jacobian_replicates."

CASES = {
    M + "run_corruption_sweep": Case(
        valid=lambda rng: {"problem": _problem(), "spectrum": _spectrum(), "rng": rng},
        domain={"problem": [None], "spectrum": [None, _problem()]},
    ),
    M + "run_heldout_energy": Case(
        valid=lambda rng: {"problem": _problem(), "spectrum": _spectrum(), "rng": rng},
        domain={"problem": [None], "spectrum": [None]},
    ),
}
_RESULT = "a result record returned by {}, not built by readers"
EXEMPT = {
    M + "CorruptionSweep": _RESULT.format("run_corruption_sweep"),
    M + "HeldoutEnergy": _RESULT.format("run_heldout_energy"),
}
