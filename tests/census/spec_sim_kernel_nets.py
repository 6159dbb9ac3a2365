"""Census cases: the two-layer networks of chapter 6 (kernel_nets, kernel_training) and its data sets.

Valid calls are tiny (5 hidden units, 8 samples of dimension 4, 3 steps). Data arguments are given as
numpy arrays where a function also takes them, so that the harness's NaN, inf and string variants
reach them; torch variants (a NaN tensor, a boolean tensor) are added as domain values.
"""

import numpy as np
import torch

from census.harness import Case

KN = "dltheory.kernel_nets."
KT = "dltheory.kernel_training."
DS = "dltheory.datasets."

D, P, WIDTH = 4, 8, 5


def _params(rng, batch=()):
    from dltheory.kernel_nets import init_params

    return init_params(D, WIDTH, batch=batch, rng=rng)


def _other_params(width=WIDTH, n_in=D, batch=()):
    """Weights of another size, for arguments that must match the networks'."""
    from dltheory.kernel_nets import init_params

    return init_params(n_in, width, batch=batch, rng=np.random.default_rng(1))


def _X(rng, p=P, d=D):
    return rng.standard_normal((p, d))


_NAN_TENSOR = torch.full((P, D), float("nan"), dtype=torch.float64)
_BOOL_TENSOR = torch.ones((P, D), dtype=torch.bool)
# inputs of the wrong dimension D, a single vector, an empty batch, batch dimensions that do not
# match the networks'
_BAD_X = [np.ones((P, D + 1)), np.ones(D), np.ones((0, D)), _NAN_TENSOR, _BOOL_TENSOR]
_BAD_X_BATCH = np.ones((3, P, D))
_BAD_Y = [np.ones(P - 1), np.ones(0), torch.full((P,), float("inf"), dtype=torch.float64)]
_BAD_PARAMS = [np.ones((WIDTH, D))]  # raw weights, not TwoLayerParams

_GAMMA = [0.0, -1.0]


CASES = {
    KN + "TwoLayerParams": Case(
        valid=lambda rng: {
            "w": torch.as_tensor(rng.standard_normal((WIDTH, D))),
            "z": torch.as_tensor(rng.standard_normal(WIDTH)),
        },
        domain={
            "w": [
                torch.ones(D, dtype=torch.float64),  # one dimension: no (N, D) matrix
                torch.ones(WIDTH, 0, dtype=torch.float64),  # D = 0
                torch.ones(WIDTH + 1, D, dtype=torch.float64),  # N does not match z
                torch.ones(WIDTH, D, dtype=torch.int64),
                torch.ones(WIDTH, D, dtype=torch.float32),  # dtype differs from z's
                torch.full((WIDTH, D), float("nan"), dtype=torch.float64),
                np.ones((WIDTH, D)),
            ],
            "z": [
                torch.ones(WIDTH + 1, dtype=torch.float64),
                torch.ones(2, WIDTH, dtype=torch.float64),
                torch.full((WIDTH,), float("inf"), dtype=torch.float64),
                np.ones(WIDTH),
            ],
        },
    ),
    KN + "init_params": Case(
        valid=lambda rng: {
            "n_in": D,
            "width": WIDTH,
            "batch": (2,),
            "rng": rng,
            "dtype": torch.float64,
        },
        domain={
            "n_in": [0, -1],
            "width": [0],
            "batch": [(0,), (-1,), (1.5,), 3, "2"],
            "dtype": [torch.int64, torch.bool, np.float64],
        },
    ),
    KN + "forward": Case(
        valid=lambda rng: {
            "params": _params(rng),
            "X": _X(rng),
            "gamma": 1.0,
            "activation": "relu",
        },
        domain={
            "params": _BAD_PARAMS,
            "X": _BAD_X,
            "gamma": _GAMMA,
            "activation": ["tanh", 1],
        },
    ),
    KN + "linear_map": Case(
        valid=lambda rng: {"params": _params(rng), "gamma": 1.0},
        domain={"params": _BAD_PARAMS, "gamma": _GAMMA},
    ),
    KN + "feature_kernels": Case(
        valid=lambda rng: {
            "params": _params(rng, batch=(2,)),
            "X1": _X(rng),
            "X2": _X(rng, p=3),
            "activation": "relu",
        },
        domain={
            "params": _BAD_PARAMS,
            "X1": [*_BAD_X, _BAD_X_BATCH],
            "X2": [*_BAD_X, _BAD_X_BATCH],
            "activation": ["tanh"],
        },
    ),
    KN + "empirical_ntk": Case(
        valid=lambda rng: {
            "params": _params(rng),
            "X1": _X(rng),
            "X2": _X(rng, p=3),
            "gamma": 1.0,
            "activation": "relu",
        },
        domain={
            "params": [*_BAD_PARAMS, _other_params(batch=(2,))],  # a batch, not one network
            "X1": [*_BAD_X, _BAD_X_BATCH],
            "X2": [*_BAD_X, _BAD_X_BATCH],
            "gamma": _GAMMA,
            "activation": ["tanh"],
        },
    ),
    KT + "elastic_penalty": Case(
        valid=lambda rng: {"params": _params(rng, batch=(2,)), "anchor": _params(rng)},
        domain={
            "params": _BAD_PARAMS,
            "anchor": [*_BAD_PARAMS, _other_params(width=WIDTH + 1), _other_params(batch=(3,))],
        },
    ),
    KT + "velocity": Case(
        valid=lambda rng: {
            "params": _params(rng),
            "X": _X(rng),
            "y": rng.standard_normal(P),
            "gamma": 1.0,
            "lam": 0.1,
            "activation": "relu",
            "anchor": _params(rng),
            "elastic": 0.5,
            "readout_only": False,
        },
        domain={
            "params": _BAD_PARAMS,
            "X": _BAD_X,
            "y": _BAD_Y,
            "gamma": _GAMMA,
            "lam": [-0.1],
            "activation": ["tanh"],
            "anchor": [
                None,
                *_BAD_PARAMS,
                _other_params(n_in=D + 1),
            ],  # None: elastic > 0 needs one
            "elastic": [-0.5],
            "readout_only": ["yes", None],
        },
    ),
    KT + "train": Case(
        valid=lambda rng: {
            "params": _params(rng),
            "X": _X(rng),
            "y": rng.standard_normal(P),
            "gamma": 1.0,
            "lam": 0.1,
            "lr": 0.05,
            "steps": 3,
            "activation": "relu",
            "anchor": _params(rng),
            "elastic": 0.5,
            "readout_only": False,
            "record_every": 1,
            "observe": lambda p: p.z,
            "desc": "census",
        },
        domain={
            "params": _BAD_PARAMS,
            # a batch of data for one network: training updates the network in place
            "X": [*_BAD_X, _BAD_X_BATCH],
            "y": [*_BAD_Y, np.ones((3, P))],
            "gamma": _GAMMA,
            "lam": [-0.1],
            # too large a step: the loss leaves the flow's bound by a factor 1e6 within 3 steps
            "lr": [0.0, -0.05, 100.0],
            "steps": [0, -1],
            "activation": ["tanh"],
            "anchor": [*_BAD_PARAMS, _other_params(width=WIDTH + 1), _other_params(batch=(2,))],
            "elastic": [-0.5],
            "readout_only": ["yes"],
            "record_every": [0],
            "desc": [3],
        },
    ),
    KN + "readout_predictions": Case(
        valid=lambda rng: {
            "params": _params(rng),
            "X_t": _X(rng),
            "y_t": rng.standard_normal(P),
            "X_test": _X(rng, p=3),
            "activation": "relu",
            "ridge": 0.1,
            "rcond": 1e-6,
        },
        domain={
            "params": _BAD_PARAMS,
            "X_t": _BAD_X,
            "y_t": _BAD_Y,
            "X_test": _BAD_X,
            "activation": ["tanh"],
            "ridge": [-0.1],
            "rcond": [0.0, 1.0, -1e-6],
        },
    ),
    DS + "aligned_teachers": Case(
        valid=lambda rng: {"D": D, "alpha": 0.5, "rng": rng, "source": np.ones(D)},
        domain={
            "D": [1, 0],
            "alpha": [1.5, -1.5, np.array([0.5, 2.0])],
            "source": [np.ones(D + 1), np.zeros(D), np.array(1.0), np.array([True] * D)],
        },
    ),
    DS + "gaussian_task": Case(
        valid=lambda rng: {"beta": np.ones(D), "P": P, "rng": rng},
        domain={"beta": [np.array(1.0), np.ones(0), np.array([True, False])], "P": [0, -1]},
    ),
    DS + "polynomial_task": Case(
        valid=lambda rng: {"beta": np.ones(D), "P": P, "rng": rng},
        domain={"beta": [np.array(1.0), np.ones(0)], "P": [0, -1]},
    ),
    DS + "digits_data": Case(valid=lambda rng: {}),
    DS + "binary_labels": Case(
        valid=lambda rng: {"digit": np.array([0, 5, 9, 3]), "positive": (0, 9)},
        domain={
            "digit": [np.array([0, 10]), np.array([-1, 2]), np.array([0.0, 5.0]), "5"],
            "positive": [(), (10,), tuple(range(10)), (1.5,), (True,), "09", 3],
        },
    ),
}


CASES[KN + "linearised_beta"] = Case(
    valid=lambda rng: {
        "params": _params(rng),
        "X_t": _X(rng, p=3),
        "y_t": rng.standard_normal(3),
        "beta0": rng.standard_normal(D),
    },
    domain={
        "params": _BAD_PARAMS,
        "X_t": [np.ones((3, D + 1)), np.ones(D), np.ones((0, D)), _NAN_TENSOR, _BOOL_TENSOR],
        "y_t": [np.ones(2), np.ones(0)],
        "beta0": [np.ones(D + 1), np.array(1.0)],
    },
)

EXEMPT = {
    KN + "Activation": "a type alias (typing.Literal) for annotations, not a function",
    KT + "TrainResult": "a result record returned by train, not built by readers",
}
