"""Census cases: chapter 7 (silent alignment; Atanasov, Bordelon & Pehlevan 2022), theory and experiments."""

from dataclasses import replace
from functools import lru_cache

import numpy as np

from census.harness import Case
from dltheory.config import SilentAlignmentSizes

TH = "dltheory.theory.silent_alignment."
EX = "dltheory.experiments.silent_alignment."


def _whitened(rng, D=8, P=4):
    Q, _ = np.linalg.qr(rng.standard_normal((D, P)))
    X = np.sqrt(P) * Q.T
    y = X @ rng.standard_normal(D)
    return X, y / (np.linalg.norm(X.T @ y) / P)


def _init(rng, N=6, D=8, sigma=0.05):
    return sigma / np.sqrt(N) * rng.standard_normal((N, D)), sigma / np.sqrt(
        N
    ) * rng.standard_normal(N)


def _tiny():
    from dltheory.experiments import silent_alignment as sa

    setup = replace(
        sa.SETUP, D=8, P=4, N=6, t_end=6.0, dt=0.05, deep_t_end=8.0, deep_width=6, depths=(2, 3),
        deep_sigma=0.1, relu_D=4, relu_P=8, relu_N=6, relu_t_end=1.0,
    )  # fmt: skip
    sizes = SilentAlignmentSizes(n_seeds=2, n_seeds_deep=2, n_seeds_relu=2, record_every=2)
    return setup, sizes


@lru_cache(maxsize=1)
def _runs():
    from dltheory.experiments import silent_alignment as sa

    setup, sizes = _tiny()
    rng = np.random.default_rng(0)
    return (
        sa.run_two_layer(setup, sizes, rng=rng),
        sa.run_anisotropic(setup, sizes, rng=rng),
        sa.run_depth(setup, sizes, rng=rng),
    )


def _data_kwargs(rng):
    X, y = _whitened(rng)
    return {"X": X, "y": y}


BAD_X = [np.ones((4,)), np.zeros((3, 8))]  # one dimension; rows that do not match y
BAD_Y = [np.zeros(4), np.ones(3)]  # all zero (no target kernel); wrong length

COMMON = {"setup": ["x", 1.0], "sizes": ["x", _tiny], "rng": [None]}

CASES = {
    TH + "kernel_alignment": Case(
        valid=lambda rng: {"K": np.eye(4) + 0.1, "y": np.arange(1.0, 5.0)},
        domain={
            "K": [np.eye(3), np.zeros((4, 4)), np.ones(4)],
            "y": [np.zeros(4), np.ones((4, 1))],
        },
    ),
    TH + "linear_ntk": Case(
        valid=lambda rng: {"s": np.array([0.0, 0.5]), "v": np.ones(3), "n_weights": 3, "m0": 0.1},
        domain={
            "s": [np.array([-1.0])],
            "v": [np.zeros(3), np.ones((3, 1))],
            "n_weights": [1, 0],
            "m0": [-0.1, np.ones((2, 2)), np.array([[1.0, 2.0, 0], [0, 1, 0], [0, 0, 1]])],
        },
    ),  # fmt: skip
    TH + "alignment_from_strength": Case(
        valid=lambda rng: {
            "s": np.array([0.0, 0.1, 1.0]),
            **_data_kwargs(rng),
            "n_weights": 2,
            "m0": 1e-3,
        },
        domain={"s": [np.array([-0.1])], "X": BAD_X, "y": BAD_Y, "n_weights": [1], "m0": [-1.0]},
    ),  # fmt: skip
    TH + "predicted_alignment": Case(
        valid=lambda rng: {
            "t": np.array([0.0, 1.0, 5.0]),
            **_data_kwargs(rng),
            "eps": 1e-4,
            "tau": 1.0,
            "n_weights": 2,
            "m0": 1e-3,
        },
        domain={
            "t": [np.array([-1.0])],
            "X": [np.ones((4, 8))],
            "y": BAD_Y,
            "eps": [0.0, -1.0],
            "tau": [0.0],
            "n_weights": [1],
            "m0": [-1.0],
        },
        allow={"t": ["array(3,):inf"]},  # t = inf is the end of training
    ),  # fmt: skip
    TH + "predicted_silent_times": Case(
        valid=lambda rng: {
            **_data_kwargs(rng),
            "eps": 1e-5,
            "tau": 1.0,
            "n_weights": 2,
            "m0": 1e-3,
            "fraction": 0.9,
            "loss_drop": 0.1,
        },
        domain={
            "X": [np.ones((4, 8))],
            "y": BAD_Y,
            "eps": [0.0, 0.5],
            "tau": [0.0, -1.0],
            "n_weights": [1],
            "m0": [-1.0],
            "fraction": [0.0, 1.0, 2.0],
            "loss_drop": [0.0, 1.5],
        },
    ),  # fmt: skip
    TH + "first_crossing": Case(
        valid=lambda rng: {
            "t": np.arange(5.0),
            "x": np.arange(5.0),
            "level": 2.5,
            "falling": False,
        },
        domain={"t": [np.array([0.0, 0.0, 1.0, 2.0, 3.0]), np.arange(4.0)], "x": [np.arange(3.0)]},
    ),
    TH + "two_layer_theory": Case(
        valid=lambda rng: {
            "t": np.array([0.0, 1.0]),
            "W0": (i := _init(rng))[0],
            "a0": i[1],
            **_data_kwargs(rng),
            "tau": 1.0,
        },
        domain={
            "t": [np.array([-1.0])],
            "W0": [np.ones((5, 8)), 10.0 * np.ones((6, 8))],
            "a0": [np.ones((6, 1))],
            "X": [np.ones((4, 8))],
            "y": BAD_Y,
            "tau": [0.0],
        },
    ),  # fmt: skip
    TH + "reduced_flow": Case(
        valid=lambda rng: {
            "t": np.array([0.0, 1.0, 3.0]),
            **_data_kwargs(rng),
            "eps": 1e-3,
            "tau": 1.0,
            "n_weights": 2,
        },
        domain={
            "t": [np.array([1.0, 0.5]), np.array([])],
            "X": BAD_X,
            "y": BAD_Y,
            "eps": [0.0],
            "tau": [-1.0],
            "n_weights": [1],
        },
    ),  # fmt: skip
    TH + "reduced_alignment": Case(
        valid=lambda rng: {
            "t": np.array([0.0, 1.0, 3.0]),
            **_data_kwargs(rng),
            "eps": 1e-3,
            "tau": 1.0,
            "n_weights": 2,
            "m0": 1e-3,
        },
        domain={
            "t": [np.array([1.0, 0.5])],
            "X": BAD_X,
            "y": BAD_Y,
            "eps": [0.0],
            "tau": [-1.0],
            "n_weights": [1],
            "m0": [-1.0, np.eye(3)],
        },
    ),  # fmt: skip
    TH + "kernel_regression": Case(
        valid=lambda rng: {"K_test": np.ones((2, 3)), "K_train": np.eye(3), "y": np.ones(3)},
        domain={"K_test": [np.ones((2, 4))], "K_train": [np.eye(2)], "y": [np.ones((3, 1))]},
    ),
    TH + "kr_gap_from_init": Case(
        valid=lambda rng: {"W0": (i := _init(rng))[0], "a0": i[1], **_data_kwargs(rng)},
        domain={"W0": [np.ones((5, 8))], "a0": [np.ones((6, 1))], "X": BAD_X, "y": BAD_Y},
    ),
    TH + "predicted_kr_gap": Case(
        valid=lambda rng: {"sigma": 0.01, "D": 40, "P": 20, "N": 100, "b": 1.0},
        domain={"sigma": [0.0], "D": [0, 10], "P": [0], "N": [-1], "b": [0.0]},
    ),
    EX + "run_two_layer": Case(
        valid=lambda rng: {"setup": _tiny()[0], "sizes": _tiny()[1], "rng": rng},
        domain={**COMMON, "sizes": ["x", replace(_tiny()[1], n_seeds=1)]},
    ),
    EX + "run_anisotropic": Case(
        valid=lambda rng: {"setup": _tiny()[0], "sizes": _tiny()[1], "rng": rng},
        domain={**COMMON, "setup": ["x", replace(_tiny()[0], spread=-1.0)]},
    ),
    EX + "run_depth": Case(
        valid=lambda rng: {"setup": _tiny()[0], "sizes": _tiny()[1], "rng": rng},
        domain={**COMMON, "setup": ["x", replace(_tiny()[0], depths=(1, 2))]},
    ),
    EX + "run_relu": Case(
        valid=lambda rng: {"setup": _tiny()[0], "sizes": _tiny()[1], "rng": rng},
        domain={**COMMON, "sizes": ["x", replace(_tiny()[1], record_every=0)]},
    ),
    EX + "claim_numbers": Case(
        valid=lambda rng: {"two": _runs()[0], "aniso": _runs()[1], "depth": _runs()[2]},
        domain={"two": [_runs, (1, 2, 3)], "aniso": [_runs], "depth": [_runs]},
    ),
}
EXEMPT = {
    EX + "SilentAlignmentSetup": "a frozen record of the chapter's physical parameters",
    EX + "SilentRun": "a result record returned by the run_* functions, not called by readers",
    EX + "DepthResult": "a result record returned by run_depth, not called by readers",
    EX + "ReluResult": "a result record returned by run_relu, not called by readers",
    EX + "ClaimNumbers": "a result record returned by claim_numbers, not called by readers",
}
