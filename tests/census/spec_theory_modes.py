"""Census cases: theory.mode_dynamics."""

import numpy as np

from census.harness import Case

MD = "dltheory.theory.mode_dynamics."

# n_weights = 3 in the valid calls, so that the deep (N_W > 2) branch is the one perturbed.
_COMMON = {"eps": 1e-3, "tau": 1.0, "n_weights": 3}
_DOMAIN = {
    "eps": [0.0, -1e-3, 1e-320],  # 1e-320 is subnormal: too few significant digits
    "tau": [0.0, -1.0],
    "n_weights": [1, 0, -2],
}

CASES = {
    MD + "predicted_mode_strength": Case(
        valid=lambda rng: {
            "t": np.array([0.0, 1.0, 10.0]),
            "s_hat": np.array([0.5, 2.0]),
            **_COMMON,
        },
        domain={
            **_DOMAIN,
            "t": [np.array([-1.0, 1.0])],
            # negative; and at or below eps, which the deep branch cannot grow from
            "s_hat": [np.array([-1.0, 2.0]), np.array([1e-3, 2.0]), np.array([1e-4, 2.0])],
        },
        allow={"t": ["array(3,):inf"]},  # t = inf is the end of training: s = s_hat
    ),
    MD + "predicted_time_to_strength": Case(
        valid=lambda rng: {"s": np.array([0.5, 1.0]), "s_hat": np.array([2.0, 2.0]), **_COMMON},
        domain={
            **_DOMAIN,
            # below eps, at s_hat, and a shape that does not broadcast with s_hat
            "s": [np.array([1e-4, 1.0]), np.array([2.0, 1.0]), np.array([0.5, 1.0, 1.5])],
            "s_hat": [np.array([0.4, 2.0]), np.array([-1.0, 2.0])],
        },
    ),
    MD + "predicted_half_time": Case(
        valid=lambda rng: {"s_hat": np.array([0.5, 2.0]), **_COMMON},
        domain={**_DOMAIN, "s_hat": [np.array([2e-3, 2.0]), np.array([-1.0, 2.0])]},
    ),
    MD + "mode_ode_rhs": Case(
        valid=lambda rng: {
            "s": np.array([0.1, 0.5]),
            "s_hat": np.array([1.0, 2.0]),
            "tau": 1.0,
            "n_weights": 2,
        },
        domain={
            "s": [np.array([-0.1, 0.5]), np.array([0.1, 0.2, 0.3])],
            "s_hat": [np.array([-1.0, 1.0])],
            "tau": [0.0, -1.0],
            "n_weights": [1, 0],
        },
    ),
}

EXEMPT: dict[str, str] = {}
