"""Census cases: the torch simulators (kernels, nets, jacobian) and the data sets.

Valid calls are tiny (5 hidden units, 8 samples of dimension 4, 3 steps). Data arguments are given as
numpy arrays where a function also takes them, so that the harness's NaN, inf and string variants
reach them; torch variants (a NaN tensor, a boolean tensor) are added as domain values.
"""

import numpy as np
import torch

from census.harness import Case

K = "dltheory.kernels."
N = "dltheory.nets."
J = "dltheory.jacobian."
DS = "dltheory.datasets."

D, P, WIDTH = 4, 8, 5


def _params(rng, batch=()):
    from dltheory.kernels import init_params

    return init_params(D, WIDTH, batch=batch, rng=rng)


def _other_params(width=WIDTH, n_in=D, batch=()):
    """Weights of another size, for arguments that must match the networks'."""
    from dltheory.kernels import init_params

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

_W = torch.ones(WIDTH, D, dtype=torch.float64)
_Z = torch.ones(WIDTH, dtype=torch.float64)

CASES = {
    K + "TwoLayerParams": Case(
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
    K + "torch_generator": Case(valid=lambda rng: {"rng": rng}),
    K + "init_params": Case(
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
    K + "forward": Case(
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
    K + "linear_map": Case(
        valid=lambda rng: {"params": _params(rng), "gamma": 1.0},
        domain={"params": _BAD_PARAMS, "gamma": _GAMMA},
    ),
    K + "feature_kernels": Case(
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
    K + "empirical_ntk": Case(
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
    K + "elastic_penalty": Case(
        valid=lambda rng: {"params": _params(rng, batch=(2,)), "anchor": _params(rng)},
        domain={
            "params": _BAD_PARAMS,
            "anchor": [*_BAD_PARAMS, _other_params(width=WIDTH + 1), _other_params(batch=(3,))],
        },
    ),
    K + "velocity": Case(
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
    K + "train": Case(
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
    K + "readout_predictions": Case(
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
    K + "aligned_teachers": Case(
        valid=lambda rng: {"D": D, "alpha": 0.5, "rng": rng, "source": np.ones(D)},
        domain={
            "D": [1, 0],
            "alpha": [1.5, -1.5, np.array([0.5, 2.0])],
            "source": [np.ones(D + 1), np.zeros(D), np.array(1.0), np.array([True] * D)],
        },
    ),
    K + "gaussian_task": Case(
        valid=lambda rng: {"beta": np.ones(D), "P": P, "rng": rng},
        domain={"beta": [np.array(1.0), np.ones(0), np.array([True, False])], "P": [0, -1]},
    ),
    K + "polynomial_task": Case(
        valid=lambda rng: {"beta": np.ones(D), "P": P, "rng": rng},
        domain={"beta": [np.array(1.0), np.ones(0)], "P": [0, -1]},
    ),
    K + "digits_data": Case(valid=lambda rng: {}),
    K + "binary_labels": Case(
        valid=lambda rng: {"digit": np.array([0, 5, 9, 3]), "positive": (0, 9)},
        domain={
            "digit": [np.array([0, 10]), np.array([-1, 2]), np.array([0.0, 5.0]), "5"],
            "positive": [(), (10,), tuple(range(10)), (1.5,), (True,), "09", 3],
        },
    ),
}

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
    K + "Activation": "a type alias (typing.Literal) for annotations, not a function",
    K + "TrainResult": "a result record returned by train, not built by readers",
    N + "TwoLayerNet": "built by two_layer_net (which has a case), never by readers directly",
    N + "ThreeLayerNet": "built by three_layer_net (which has a case), never by readers directly",
    N + "TrainRecord": "a result record returned by train_gd, not built by readers",
    J + "Spectrum": "a result record returned by top_singular, not built by readers",
    DS + "Digits": "a result record returned by load_digits_data, not built by readers",
}
