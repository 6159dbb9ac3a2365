"""Census cases: the Gaussian-mixture case study of chapter 5 (theory and experiment).

The valid calls share one tiny mixture (2 classes, 2 clusters each, 4 samples per cluster, width 8).
"""

import dataclasses

import numpy as np

from census.harness import Case

M = "dltheory.experiments.jacobian_mixture."
GM = "dltheory.theory.gaussian_mixture."

_TINY = {
    "num_classes": 2,
    "clusters_per_class": 2,
    "dim": 6,
    "per_cluster": 4,
    "sigma": 0.05,
    "rho": 0.5,
    "top": 9,
    "test_per_cluster": 3,
    "train_widths": (4, 8),
    "train_steps": 3,
    "train_lr": 0.1,
}


def _setup():
    from dltheory.experiments.jacobian_mixture import MixtureSetup

    return MixtureSetup(**_TINY)


def _sizes(**kw):
    from dltheory.config import get_scale

    return dataclasses.replace(
        get_scale("ci").jacobian, **({"mixture_seeds": 2, "mixture_width": 8} | kw)
    )


def _wrong_sizes():
    from dltheory.config import get_scale

    return get_scale("ci").early_stopping


_M = np.array([[0.5, 1 / 6], [1 / 6, 0.5]])

CASES = {
    GM + "arccos_kernel": Case(
        valid=lambda rng: {"cos": np.array([-1.0, 0.0, 0.5, 1.0])},
        domain={"cos": [np.array([1.5]), np.array([-1.01, 0.0])]},
    ),
    GM + "centre_kernel": Case(
        valid=lambda rng: {"num_classes": 3, "clusters_per_class": 2, "rho": 0.5},
        domain={"num_classes": [1, 0], "clusters_per_class": [0], "rho": [1.0, -0.1, 1.5]},
    ),
    GM + "predicted_singular_values": Case(
        valid=lambda rng: {"M": _M, "per_cluster": 10, "num_outputs": 3},
        domain={
            "M": [
                np.ones(3),
                np.ones((2, 3)),
                np.zeros((0, 0)),
                np.array([[0.5, 1.0], [0.0, 0.5]]),
                np.array([[0.5, 1.0], [1.0, 0.5]]),
            ],
            "per_cluster": [0, -1],
            "num_outputs": [0],
        },
    ),
    GM + "predicted_levels": Case(
        valid=lambda rng: {
            "num_classes": 3,
            "clusters_per_class": 2,
            "rho": 0.5,
            "per_cluster": 10,
        },
        domain={
            "num_classes": [1],
            "clusters_per_class": [0],
            "rho": [0.0, 1.0, -0.5],
            "per_cluster": [0],
        },
    ),
    M + "MixtureSetup": Case(
        valid=lambda rng: dict(_TINY),
        domain={
            "num_classes": [1, 0],
            "clusters_per_class": [0],
            "dim": [5],  # < K + m = 6: no room for the centres' frame
            "per_cluster": [0],
            "sigma": [0.0, -0.1],
            "rho": [0.0, 1.0, -0.5],
            "top": [8, 33],  # top must exceed K m = 8 and fit in K n = 32
            "test_per_cluster": [0],
            "train_widths": [(), [4, 8], (5,), (0,), (4.0,)],
            "train_steps": [0],
            "train_lr": [0.0, 1.0, -0.1],
        },
    ),
    M + "draw_mixture": Case(
        valid=lambda rng: {"setup": _setup(), "rng": rng},
        domain={"setup": [None, dict(_TINY)]},
    ),
    M + "run_mixture": Case(
        valid=lambda rng: {"setup": _setup(), "sizes": _sizes(), "rng": rng},
        domain={
            "setup": [None],
            "sizes": [
                _wrong_sizes(),
                None,
                _sizes(mixture_seeds=1),
                _sizes(mixture_width=9),
                _sizes(mixture_width=0),
            ],
        },
    ),
    M + "run_training": Case(
        valid=lambda rng: {"setup": _setup(), "sizes": _sizes(), "rng": rng},
        domain={"setup": [None], "sizes": [_wrong_sizes(), None, _sizes(mixture_seeds=1)]},
    ),
}
_RESULT = "a result record returned by {}, not built by readers"
EXEMPT = {
    M + "MixtureData": _RESULT.format("draw_mixture"),
    M + "MixtureResult": _RESULT.format("run_mixture"),
    M + "TrainingResult": _RESULT.format("run_training"),
}
