"""Census cases: the experiments of chapter 5 (the Jacobian's information and nuisance spaces).

The valid calls share one tiny problem (5 digits per class, width 8, a few steps), built once.
"""

import dataclasses
from functools import cache

import numpy as np

from census.harness import Case

M = "dltheory.experiments.jacobian_information."


def _sizes():
    from dltheory.config import get_scale

    return dataclasses.replace(
        get_scale("ci").jacobian,
        per_class=5,
        width=8,
        steps=12,
        record_every=4,
        dense_steps=6,
        rank=5,
        heldout_per_class=3,
        deep_width=8,
        deep_steps=6,
        train_centred=False,
        corruption_draws=3,
        heldout_draws=2,
    )


@cache
def _problem():
    from dltheory.experiments import jacobian_information as ji

    return ji.draw_problem(ji.SETUP, _sizes(), rng=np.random.default_rng(0))


@cache
def _spectrum():
    from dltheory.experiments import jacobian_information as ji

    return ji.run_spectrum(_problem())


@cache
def _dynamics():
    from dltheory.experiments import jacobian_information as ji

    return ji.run_dynamics(_problem(), _spectrum())


def _setup():
    from dltheory.experiments.jacobian_information import SETUP

    return SETUP


def _wrong_sizes():
    from dltheory.config import get_scale

    return get_scale("ci").early_stopping


CASES = {
    M + "JacobianSetup": Case(
        valid=lambda rng: {
            "rhos": (0.0, 0.5),
            "rho_train": 0.5,
            "fit_step": 100,
            "directions": (1, 9),
            "arpack_seed": 0,
        },
        domain={
            "rhos": [(), [0.0, 0.5], (0.0, 1.5), (-0.1,), ("a",)],
            "rho_train": [1.5, -0.1],
            "fit_step": [0],
            "directions": [(), [1, 9], (-1,), (1.5,)],
            "arpack_seed": [-1],
        },
    ),
    M + "draw_problem": Case(
        valid=lambda rng: {"setup": _setup(), "sizes": _sizes(), "rng": rng},
        domain={"setup": [None], "sizes": [_wrong_sizes(), None]},
    ),
    M + "run_spectrum": Case(
        valid=lambda rng: {"problem": _problem()},
        domain={"problem": [None]},
    ),
    M + "run_label_energy": Case(
        valid=lambda rng: {"problem": _problem(), "spectrum": _spectrum()},
        domain={"problem": [None], "spectrum": [None]},
    ),
    M + "run_dynamics": Case(
        valid=lambda rng: {"problem": _problem(), "spectrum": _spectrum()},
        domain={"problem": [None], "spectrum": [None]},
    ),
    M + "run_heldout_alignment": Case(
        valid=lambda rng: {"problem": _problem(), "dynamics": _dynamics()},
        domain={"problem": [None], "dynamics": [None, _spectrum()]},
    ),
}
_RESULT = "a result record returned by {}, not built by readers"
EXEMPT = {
    M + "Problem": _RESULT.format("draw_problem"),
    M + "SpectrumResult": _RESULT.format("run_spectrum"),
    M + "LabelEnergyResult": _RESULT.format("run_label_energy"),
    M + "DynamicsResult": _RESULT.format("run_dynamics"),
    M + "HeldoutResult": _RESULT.format("run_heldout_alignment"),
}
