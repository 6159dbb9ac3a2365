"""Census cases: theory.linear_moments (the weight moments of the linear two-layer network) and the
plain-gradient-flow experiments of chapter 6 built on them.

Valid calls are tiny (D = 4, a few steps); bad calls fail in the argument checks."""

import numpy as np

from census.harness import Case

LM = "dltheory.theory.linear_moments."
D = 4


def _lm():
    from dltheory.theory import linear_moments

    return linear_moments


def _data(rng):
    X = rng.standard_normal((6, D))
    return X, X @ rng.standard_normal(D) / np.sqrt(D)


def _source_call(rng):
    X, y = _data(rng)
    return {
        "X": X, "y": y, "gamma": 1.0, "lam": 0.1, "dt": 0.01, "steps": 5,
        "start": _lm().infinite_width_start(D),
    }  # fmt: skip


def _target_call(rng):
    X, y = _data(rng)
    return {
        "X": X, "y": y, "source": _lm().infinite_width_start(D), "gamma": 1.0, "lam": 0.1,
        "delta": 0.2, "dt": 0.01, "steps": 5,
    }  # fmt: skip


_STEP = {
    "gamma": [0.0, -1.0],
    "lam": [-0.1],
    "dt": [0.0, -0.01],
    "steps": [-1],
    "X": [np.ones((6, D + 1))],
    "y": [np.ones(5)],
}

CASES = {
    LM + "Moments": Case(
        valid=lambda rng: {"M": np.eye(D), "m": np.zeros(D), "q": 1.0},
        domain={
            "M": [np.ones((D, D + 1)), np.ones(D)],
            "m": [np.zeros(D + 1)],
            "q": [-1.0],  # a mean square is >= 0
        },
    ),
    LM + "infinite_width_start": Case(valid=lambda rng: {"D": D}, domain={"D": [0, -1]}),
    LM + "empirical_moments": Case(
        valid=lambda rng: {"W": rng.standard_normal((5, D)), "z": rng.standard_normal(5)},
        domain={"W": [np.ones(D)], "z": [np.ones(4)]},
    ),
    LM + "empirical_cross_moments": Case(
        valid=lambda rng: {
            "W": rng.standard_normal((5, D)),
            "z": rng.standard_normal(5),
            "W_s": rng.standard_normal((5, D)),
            "z_s": rng.standard_normal(5),
        },  # fmt: skip
        domain={
            "W": [np.ones(D)],
            "z": [np.ones(4)],
            "W_s": [np.ones((6, D))],
            "z_s": [np.ones(6)],
        },
    ),
    LM + "integrate_source": Case(valid=_source_call, domain={**_STEP, "start": [np.eye(D)]}),
    LM + "integrate_target": Case(
        valid=_target_call,
        domain={
            **_STEP,
            "delta": [-0.2],
            "source": [np.eye(D)],
            "cross0": [{"A": np.eye(D)}, "x"],
            "start": ["x"],
        },
    ),
}

EXEMPT = {}

# ---------------------------------------------------------------- kernel_transfer._moments
# Census names are the public ones: these entries take effect once kernel_transfer exports them.
KT = "dltheory.experiments.kernel_transfer."


def _flow_case():
    from dataclasses import replace

    from dltheory.config import get_scale
    from dltheory.experiments.kernel_transfer._moments import FlowSetup

    tiny = replace(get_scale("ci").kernel_transfer, gf_width=4, gf_seeds=2, gf_targets=2)
    quick = FlowSetup(D=4, P_s=4, P_t=3, time=0.1, dt=0.05)
    return Case(
        valid=lambda rng: {"setup": quick, "sizes": tiny, "rng": rng},
        domain={
            "setup": [object()],
            "sizes": [get_scale("ci").transfer, replace(tiny, gf_seeds=1)],
        },
        names={"sizes": ["gf_seeds"]},
    )


_FLOW = {
    KT + "FlowSetup": Case(
        valid=lambda rng: {"D": 40, "P_s": 80, "P_t": 10, "alpha": 0.8, "gamma": 1.0},
        domain={
            "D": [1, 0],
            "P_s": [0],
            "P_t": [2, 41],  # at least 3, at most D
            "alpha": [1.5, -1.5],
            "gamma": [0.0, -1.0],
        },
    ),
}


CASES |= _FLOW
CASES[KT + "run_flow_transfer"] = _flow_case()
EXEMPT[KT + "FlowTransferResult"] = "a result record returned by run_flow_transfer"
