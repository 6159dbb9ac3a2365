"""Census cases: the torch simulators (nets, jacobian) and the data sets of chapter 5.

Valid calls are tiny (8 samples of dimension 4, 3 steps). Data arguments are given as
numpy arrays where a function also takes them, so that the harness's NaN, inf and string variants
reach them; torch variants (a NaN tensor, a boolean tensor) are added as domain values.
"""

import numpy as np
import torch

from census.harness import Case

N = "dltheory.nets."
J = "dltheory.jacobian."
DS = "dltheory.datasets."

D, P = 4, 8


def _X(rng, p=P, d=D):
    return rng.standard_normal((p, d))


_NAN_TENSOR = torch.full((P, D), float("nan"), dtype=torch.float64)
_BOOL_TENSOR = torch.ones((P, D), dtype=torch.bool)
# inputs of the wrong dimension D, a single vector, an empty batch
_BAD_X = [np.ones((P, D + 1)), np.ones(D), np.ones((0, D)), _NAN_TENSOR, _BOOL_TENSOR]

CASES = {}

# ------------------------------------------------------------------------------------------- nets


def _net(rng):
    from dltheory.nets import two_layer_net

    return two_layer_net(D, 6, 3, rng=rng)


def _sizes_case():
    return Case(
        valid=lambda rng: {
            "d": D,
            "width": 6,
            "num_classes": 3,
            "rng": rng,
            "dtype": torch.float64,
        },
        domain={
            "d": [0, -1],
            "width": [5, 0, 1],  # even: two symmetric copies
            "num_classes": [0],
            "dtype": [torch.int64, np.float64],
        },
    )


def _train_gd_valid(rng):
    X = _X(rng)
    X /= np.linalg.norm(X, axis=1, keepdims=True)
    # lr comes last: its bad values include one that diverges, which leaves the shared model trained
    return {
        "model": _net(rng),
        "X": X,
        "Y": np.eye(3)[rng.integers(0, 3, P)],
        "steps": 3,
        "record_steps": [0, 2, 3],
        "X_test": _X(rng, p=5),
        "labels_test": np.array([0, 1, 2, 0, 1]),
        "progress": None,
        "lr": 0.1,
    }


CASES |= {
    N + "torch_generator": Case(valid=lambda rng: {"rng": rng}),
    N + "two_layer_net": _sizes_case(),
    N + "three_layer_net": _sizes_case(),
    N + "linearised": Case(
        valid=lambda rng: {"net": _net(rng)},
        domain={"net": [None, torch.nn.Linear(2, 2), np.ones((2, 2))]},
    ),
    N + "train_gd": Case(
        valid=_train_gd_valid,
        domain={
            "model": [torch.nn.ReLU(), np.ones((D, 6))],  # no trainable parameters; not a module
            "X": [np.ones((P, D + 1)), np.ones(P), np.ones((0, D)), _NAN_TENSOR, _BOOL_TENSOR],
            "Y": [np.ones((P - 1, 3)), np.ones((P, 2)), np.ones(P)],
            # too large a step: the loss passes a million times its start within 3 steps
            "lr": [0.0, -0.1, 100.0],
            "steps": [-1],
            "record_steps": [[3, 1], [0, 4], [-1, 2], [], [0.5, 2.0]],
            "X_test": [np.ones((5, D + 1)), np.ones(5), None],  # None: labels_test without X_test
            "labels_test": [np.array([0, 1, 3, 0, 1]), np.array([0, 1]), np.ones(5), None],
            "progress": [3],
        },
    ),
}

# --------------------------------------------------------------------------------------- jacobian


def _jac(rng):
    from dltheory.jacobian import JacobianOperator

    net = _net(rng)
    return JacobianOperator(net, _X(rng)), net


def _top_valid(rng):
    jac, net = _jac(rng)
    X = jac._X.numpy()
    return {
        "jac": jac,
        "k": 2,
        "method": "gram",
        "model": net,
        "X": X,
        "frobenius": True,
        "tol": 0.0,
        "rng": rng,
    }


def _orthonormal(rng, m=6, r=3):
    Q, _ = np.linalg.qr(rng.standard_normal((m, r)))
    return Q


def _spectrum(rng):
    from dltheory.jacobian import Spectrum

    U, s, _ = np.linalg.svd(rng.standard_normal((6, 9)), full_matrices=False)
    return Spectrum(s=s, U=U, frobenius_sq=float(np.sum(s**2)))


_NOT_ORTHONORMAL = 2 * np.eye(6)[:, :3]

CASES |= {
    J + "JacobianOperator": Case(
        valid=lambda rng: {"model": _net(rng), "X": _X(rng)},
        domain={
            "model": [torch.nn.ReLU()],  # no trainable parameters
            "X": _BAD_X,
        },
    ),
    J + "top_singular": Case(
        valid=_top_valid,
        domain={
            "k": [0, 25],  # K n = 24
            "method": ["svd"],
            "model": [None, torch.nn.Linear(D, 3)],
            "X": [None, np.ones((P, D + 1)), np.ones((P - 1, D))],  # a Gram of another size
            "tol": [-1.0],
            "frobenius": ["yes"],
        },
    ),
    J + "two_layer_gram": Case(
        valid=lambda rng: {"model": _net(rng), "X": _X(rng)},
        domain={
            "model": [torch.nn.Linear(D, 3)],
            "X": [np.ones((P, D + 1)), np.ones(D)],
        },
    ),
    J + "label_energy": Case(
        valid=lambda rng: {"U": _orthonormal(rng), "y": rng.standard_normal(6)},
        domain={
            "U": [_NOT_ORTHONORMAL, np.ones(6), np.zeros((6, 0)), np.eye(3, 6)],
            "y": [np.zeros(6), np.ones(5), np.ones((6, 1))],
        },
    ),
    J + "split_residual": Case(
        valid=lambda rng: {"U_info": _orthonormal(rng), "residuals": rng.standard_normal((3, 6))},
        domain={
            "U_info": [_NOT_ORTHONORMAL, np.ones(6)],
            "residuals": [np.ones(5), np.ones((3, 5)), np.ones((2, 3, 6))],
        },
    ),
    J + "linearised_residual": Case(
        valid=lambda rng: {
            "t": np.arange(4.0),
            "spectrum": _spectrum(rng),
            "r0": rng.standard_normal(6),
            "lr": 0.01,
        },
        domain={
            "t": [np.array([-1.0, 2.0])],
            "spectrum": [np.eye(6)],
            "r0": [np.ones(5), np.ones((6, 1))],
            "lr": [0.0, -0.01],
        },
    ),
}

# --------------------------------------------------------------------------------------- datasets

CASES |= {
    DS + "load_digits_data": Case(
        valid=lambda rng: {"per_class": 2, "center": False, "rng": rng},
        domain={"per_class": [0, 1000], "center": ["yes"]},
    ),
    DS + "split_by_class": Case(
        valid=lambda rng: {"labels": np.repeat(np.arange(3), 4), "per_class": 2, "rng": rng},
        domain={
            "labels": [
                np.array([0.0, 1.0, 1.0]),
                np.ones((2, 6), dtype=int),
                np.array([], dtype=int),
            ],
            "per_class": [0, 5],  # 5 exceeds the 4 samples of each class
        },
    ),
    DS + "corrupt_labels": Case(
        valid=lambda rng: {
            "labels": np.repeat(np.arange(3), 4),
            "rho": 0.5,
            "num_classes": 3,
            "rng": rng,
        },
        domain={
            "labels": [
                np.array([0, 3]),
                np.array([-1, 0]),
                np.array([0.0, 1.0]),
                np.ones((2, 2), dtype=int),
            ],
            "rho": [-0.1, 1.5],
            "num_classes": [1, 2],  # 2: the labels hold class 2
        },
    ),
    DS + "one_hot": Case(
        valid=lambda rng: {"labels": np.array([0, 2, 1]), "num_classes": 3},
        domain={
            "labels": [
                np.array([0, 3]),
                np.array([-1]),
                np.array([0.0, 1.0]),
                np.ones((2, 2), dtype=int),
            ],
            "num_classes": [0, 2],
        },
    ),
    DS + "stack_classes": Case(
        valid=lambda rng: {"Y": rng.standard_normal((P, 3))},
        domain={"Y": [np.ones(3), np.ones((2, 3, 4)), np.array([[True, False]])]},
    ),
}

EXEMPT = {
    N + "TwoLayerNet": "built by two_layer_net (which has a case), never by readers directly",
    N + "ThreeLayerNet": "built by three_layer_net (which has a case), never by readers directly",
    N
    + "LinearisedTwoLayerNet": "built by linearised (which has a case), never by readers directly",
    N + "TrainRecord": "a result record returned by train_gd, not built by readers",
    J + "Spectrum": "a result record returned by top_singular, not built by readers",
    DS + "Digits": "a result record returned by load_digits_data, not built by readers",
}
