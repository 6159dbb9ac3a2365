"""Census cases: theory.random_matrix and theory.generalization."""

import numpy as np

from census.harness import Case

RM = "dltheory.theory.random_matrix."
GEN = "dltheory.theory.generalization."

# aspect_ratio A = N3/N1 in (0, 1] (the book orders the matrix so that A <= 1); noise_std > 0.
_MP_DOMAIN = {"aspect_ratio": [0.0, -0.5, 1.5], "noise_std": [0.0, -1.0]}
_S = np.linspace(0.0, 3.0, 7)


def _mp(**extra):
    return Case(
        valid=lambda rng: {"aspect_ratio": 0.5, "noise_std": 1.0, **extra}, domain=_MP_DOMAIN
    )


CASES = {
    RM + "mp_edges": _mp(),
    RM + "detection_threshold": _mp(),
    RM + "mp_density": Case(
        valid=lambda rng: {"s": _S, "aspect_ratio": 0.5, "noise_std": 1.0},
        domain={**_MP_DOMAIN, "s": [np.array([-1.0, 1.0])]},
    ),
    RM + "mp_cdf": Case(
        valid=lambda rng: {"s": _S, "aspect_ratio": 0.5, "noise_std": 1.0},
        domain={**_MP_DOMAIN, "s": [np.array([-1.0, 1.0])]},
        allow={"s": ["array(7,):inf"]},  # cdf(inf) = 1
    ),
    RM + "mp_quantile": Case(
        valid=lambda rng: {"q": np.linspace(0.0, 1.0, 5), "aspect_ratio": 0.5, "noise_std": 1.0},
        domain={**_MP_DOMAIN, "q": [np.array([-0.1, 0.5]), np.array([0.5, 1.1])]},
    ),
    RM + "mp_quadrature": Case(
        # q_lo = q_hi is valid (an empty region, used for a student that fits no noise mode), so the
        # valid call leaves room on both sides to test q_lo > q_hi.
        valid=lambda rng: {
            "aspect_ratio": 0.5,
            "noise_std": 1.0,
            "q_lo": 0.25,
            "q_hi": 0.75,
            "n": 20,
        },
        domain={
            **_MP_DOMAIN,
            "q_lo": [-0.1, 1.1, 0.9],
            "q_hi": [1.1, -0.1, 0.1],
            "n": [0, -3],
        },
    ),
    **{
        RM + name: Case(
            valid=lambda rng, a=arg: {
                a: np.array([0.0, 0.5, 2.0]),
                "aspect_ratio": 0.5,
                "noise_std": 1.0,
            },
            domain={**_MP_DOMAIN, arg: [np.array([-1.0, 1.0])]},
        )
        for name, arg in [
            ("outlier_singular_value", "s_bar"),
            ("overlap_factors", "s_bar"),
            ("overlap", "s_bar"),
            ("signal_from_outlier", "s_hat"),
        ]
    },
}

_NET = {
    "n_in": 40,
    "n_out": 20,
    "hidden": 30,
    "eps": 1e-3,
    "tau": 1.0,
    "noise_std": 1.0,
    "n_nodes": 50,
}
_NET_DOMAIN = {
    "n_in": [0, -5],
    "n_out": [0, 80],  # n_out > n_in: the theory is written for N3 <= N1
    "hidden": [0],
    "eps": [0.0, -1e-3, 1e-320],  # 1e-320 is subnormal: too few significant digits
    "tau": [0.0, -1.0],
    "noise_std": [0.0, -1.0],
    "n_nodes": [0],  # one node is a coarse but valid midpoint rule over the bulk
}
# A zero teacher: the test error is normalised by sum s_bar^2, so it is undefined.
_ZERO_TEACHER = [np.array([0.0, 0.0]), np.array([[0.0, 0.0], [1.0, 2.0]])]
_BAD_T = [np.array([-1.0, 2.0]), np.zeros((2, 2))]

CASES |= {
    GEN + "predicted_error_curves": Case(
        valid=lambda rng: {"t": np.array([0.0, 5.0, 50.0]), "s_bar": np.array([0.0, 3.0]), **_NET},
        domain={**_NET_DOMAIN, "t": _BAD_T, "s_bar": [np.array([-1.0]), *_ZERO_TEACHER]},
        allow={"t": ["array(3,):inf"]},  # t = inf is the end of training, a valid limit
    ),
    GEN + "predicted_error_curves_examples": Case(
        valid=lambda rng: {
            "t": np.array([0.0, 5.0, 50.0]),
            "s_bar": np.array([0.0, 3.0]),
            "n_examples": 60,
            **_NET,
        },
        domain={
            **_NET_DOMAIN,
            "t": _BAD_T,
            "s_bar": [np.array([-1.0]), *_ZERO_TEACHER],
            "n_examples": [0, -1],
        },
        allow={"t": ["array(3,):inf"]},  # the end of training, as above
    ),
    GEN + "predicted_optimal_stopping": Case(
        valid=lambda rng: {"s_bar": np.array([1.0, 3.0]), **_NET, "t_max": 1e4},
        domain={
            **_NET_DOMAIN,
            "s_bar": [np.array([-1.0]), np.array([0.0]), *_ZERO_TEACHER],
            "t_max": [0.0, -1.0],
        },
    ),
}

EXEMPT = {
    GEN + "ErrorCurves": "a result record returned by the library, not called by readers",
}
