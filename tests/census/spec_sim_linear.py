"""Census cases: the linear-network simulators (linear_nets, teachers, task_pairs, shrinkage)."""

from dataclasses import replace

import numpy as np

from census.harness import Case
from dltheory.task_pairs import aligned_task_pair, task_pair_data
from dltheory.teachers import low_rank_teacher, noisy_data

LN = "dltheory.linear_nets."
TE = "dltheory.teachers."
TP = "dltheory.task_pairs."
SH = "dltheory.shrinkage."

# Tiny problems: a rank-2 teacher from 6 inputs to 4 outputs, 2 runs. Built once (module level), so every perturbed call
# gets the same valid objects and only the argument under test changes.
_RNG = np.random.default_rng(0)
_TEACHER = low_rank_teacher(6, 4, np.tile([3.0, 1.0], (2, 1)), rng=_RNG.spawn(1)[0])
_DATA = noisy_data(_TEACHER, noise_std=1.0, rng=_RNG.spawn(1)[0])
_PAIR = aligned_task_pair(8, 2, 3.0, np.array([1.0, 2.0]), 0.5, rng=_RNG.spawn(1)[0])
_ALONE, _JOINT = task_pair_data(_PAIR, noise_std=1.0, rng=_RNG.spawn(1)[0])
_EPOCHS = np.array([0.0, 10.0, 20.0])
_TRAJ = np.array([[0.1, 0.2], [1.0, 0.5], [2.0, 0.9]])  # (T, runs)
# A batch of two (4, 6) data matrices and their teachers, for the shrinkage rules.
_X = _DATA.sigma31
_W = _TEACHER.W
_X_VAL = noisy_data(_TEACHER, noise_std=1.0, rng=_RNG.spawn(1)[0]).sigma31
_NAN_DATA = replace(_DATA, sigma31=np.where(_X > 0, np.nan, _X))

CASES = {
    LN + "simulate_gd": Case(
        # init="random" so that rng is exercised; method="full" is the only route random init allows.
        valid=lambda rng: {
            "data": _DATA,
            "hidden": 4,
            "hidden_layers": 1,
            "init": "random",
            "eps": 1e-2,
            "lr": 0.05,
            "epochs": 20,
            "record_every": 5,
            "method": "full",
            "rng": rng,
            "progress": False,
            "dtype": "float64",
        },
        domain={
            "data": [_TEACHER, _NAN_DATA],
            "hidden": [0, 1],  # 1 < teacher rank 2
            "hidden_layers": [0, -1],
            "init": ["orthogonal", None],
            "eps": [0.0, -1e-2],
            # 0.0 and -0.05 are out of domain; 10.0 diverges within 20 epochs on these data
            "lr": [0.0, -0.05, 10.0],
            "epochs": [0, -1],
            "record_every": [0],
            "method": ["fast", "modes"],  # "modes" needs init="aligned"
            "rng": [None],  # init="random" needs one
            "dtype": ["float16", np.float64],
            "record_svd": [-1, 99, 1.5],  # 99 > min(N3, N1) singular vectors
        },
        skip=("progress",),
    ),
    LN + "empirical_half_time": Case(
        valid=lambda rng: {"epochs": _EPOCHS, "strength": _TRAJ, "target": np.array([3.0, 2.0])},
        domain={
            "epochs": [
                np.array([0.0, 20.0, 10.0]),  # not increasing
                np.array([-10.0, 0.0, 10.0]),
                _EPOCHS[:, None],
                np.array([0.0, 10.0]),  # one row short of strength
            ],
            "strength": [_TRAJ[:2], np.array(1.0)],
            "target": [np.array([-1.0, 2.0]), np.array([1.0, 2.0, 3.0])],
        },
    ),
    LN + "empirical_optimal_stopping": Case(
        valid=lambda rng: {"epochs": _EPOCHS, "test_error": _TRAJ},
        domain={
            "epochs": [np.array([0.0, 20.0, 10.0]), np.array([]), _EPOCHS[:, None]],
            "test_error": [_TRAJ[:2], np.array(1.0)],
        },
    ),
    # --- teachers -------------------------------------------------------------------------------
    TE + "haar_stiefel": Case(
        valid=lambda rng: {"n": 5, "k": 3, "rng": rng},
        domain={"n": [0, -1], "k": [0, 6]},
    ),
    TE + "snr_singular_values": Case(
        valid=lambda rng: {"rank": 3, "multiplier": 2.0},
        domain={"rank": [0, -1], "multiplier": [0.0, -1.0]},
    ),
    TE + "low_rank_teacher": Case(
        valid=lambda rng: {
            "n_in": 6,
            "n_out": 4,
            "singular_values": np.array([3.0, 1.0]),
            "rng": rng,
        },
        domain={
            "n_in": [0, 3],  # 3 < n_out: aspect ratio above 1
            "n_out": [0, 8],
            "singular_values": [
                np.array([3.0, -1.0]),
                np.array([3.0, 0.0]),
                np.array([]),
                np.ones((2, 2, 2)),
                np.ones(5),  # rank 5 > n_out 4
            ],
        },
    ),
    TE + "noisy_data": Case(
        valid=lambda rng: {"teacher": _TEACHER, "noise_std": 1.0, "rng": rng},
        domain={"noise_std": [-1.0], "teacher": [_DATA]},
    ),
    TE + "data_from_targets": Case(
        valid=lambda rng: {"teacher": _TEACHER, "sigma31": _W + 0.1, "noise_std": 1.0},
        domain={
            "teacher": [_DATA],
            "sigma31": [_W[0], _W[:, :3], _W[:1]],
            "noise_std": [-1.0],
        },
    ),
    TE + "noisy_data_examples": Case(
        valid=lambda rng: {
            "teacher": _TEACHER,
            "n_examples": 5,
            "inputs": "gaussian",
            "noise_std": 1.0,
            "rng": rng,
        },
        domain={
            "teacher": [_DATA],
            "n_examples": [0, -1],
            "inputs": ["uniform", None],
            "noise_std": [-1.0],
        },
    ),
    TP + "aligned_task_pair": Case(
        valid=lambda rng: {
            "n_in": 8,
            "n_out": 2,
            "s_a": 3.0,
            "s_b": np.array([1.0, 2.0]),
            "q": 0.5,
            "rng": rng,
        },
        domain={
            "n_in": [0, 3],  # 2 n_out = 4 > 3
            "n_out": [0, 5],
            "s_a": [0.0, -1.0, np.ones((2, 2))],
            "s_b": [np.array([-1.0, 2.0]), np.ones((2, 2))],
            "q": [-0.1, 1.5],
        },
    ),
    TP + "task_pair_data": Case(
        valid=lambda rng: {"pair": _PAIR, "noise_std": 1.0, "rng": rng},
        domain={"pair": [_TEACHER], "noise_std": [-1.0]},
    ),
    TP + "rotate_output_blocks": Case(
        valid=lambda rng: {"pair": _PAIR, "alone": _ALONE, "joint": _JOINT, "rng": rng},
        domain={"pair": [_TEACHER], "alone": [_JOINT, _DATA], "joint": [_ALONE]},
    ),
    TP + "empirical_block_error": Case(
        valid=lambda rng: {
            "data": _JOINT,
            "mode_strength": np.full((3, 2, 2), 0.5),
            "block": _PAIR.task_a,
            "first_row": 0,
        },
        domain={
            "data": [_TEACHER, _DATA],
            "mode_strength": [
                np.full((3, 2), 0.5),
                np.full((3, 1, 2), 0.5),
                np.full((3, 2, 9), 0.5),
            ],
            "block": [_JOINT, _TEACHER],
            "first_row": [-1, 3],  # rows 3..4 of a 4-row joint output: past the end
        },
    ),
    TE + "select_runs": Case(
        valid=lambda rng: {"batch": _DATA, "runs": np.array([1])},
        domain={
            "batch": [_X],
            "runs": [
                np.array([2]),
                np.array([-3]),
                np.array([True]),  # a mask of the wrong length
                np.array([0.5]),
                0,  # a lone index would drop the run axis
                np.zeros((1, 1), dtype=int),
            ],
        },
    ),
    # --- shrinkage ------------------------------------------------------------------------------
    SH + "estimate_noise_std": Case(
        valid=lambda rng: {"sigma31": _X},
        domain={"sigma31": [_X[0, 0], _X[:, :1], np.ones((0, 4, 6)), np.ones((2, 2, 4, 6))]},
    ),
}

_DATA_DOMAIN = [_X[0, 0], _X[:, :1], np.ones((2, 2, 4, 6))]

for _name in ("plugin_estimate", "hard_threshold_estimate", "soft_threshold_estimate"):
    CASES[SH + _name] = Case(
        valid=lambda rng: {"sigma31": _X, "noise_std": np.array([1.0, 1.0])},
        domain={"sigma31": _DATA_DOMAIN, "noise_std": [-1.0, np.ones(3)]},
    )

CASES |= {
    SH + "oracle_estimate": Case(
        valid=lambda rng: {"sigma31": _X, "s_bar": np.array([3.0, 1.0]), "noise_std": 1.0},
        domain={
            "sigma31": _DATA_DOMAIN,
            "s_bar": [np.array([-1.0]), np.ones(5), np.array([]), np.ones((3, 2))],
            "noise_std": [0.0, -1.0],
        },
    ),
    SH + "truncated_svd": Case(
        valid=lambda rng: {"sigma31": _X, "rank": 2},
        domain={"sigma31": _DATA_DOMAIN, "rank": [0, 5]},
    ),
    SH + "ridge_estimate": Case(
        valid=lambda rng: {"sigma31": _X, "sigma31_val": _X_VAL},
        domain={"sigma31": _DATA_DOMAIN, "sigma31_val": [_X_VAL[0], _X_VAL[:, :3]]},
    ),
    SH + "empirical_test_error": Case(
        valid=lambda rng: {"W_est": _X, "W_bar": _W},
        domain={
            "W_est": [_X[0], _X[:, :3], _X[0, 0]],
            "W_bar": [_W[0], np.zeros_like(_W)],
        },
    ),
    SH + "empirical_best_strengths": Case(
        valid=lambda rng: {"sigma31": _X, "W_bar": _W},
        domain={"sigma31": _DATA_DOMAIN, "W_bar": [_W[0], _W[:, :3]]},
    ),
    SH + "empirical_learner_errors": Case(
        valid=lambda rng: {
            "sigma31": _X,
            "W_bar": _W,
            "s_bar": np.array([3.0, 1.0]),
            "noise_std": 1.0,
            "sigma31_val": _X_VAL,
        },
        domain={
            "sigma31": _DATA_DOMAIN,
            "W_bar": [_W[0], np.zeros_like(_W), _W[:, :3]],
            "s_bar": [np.array([-1.0]), np.ones(5)],
            "noise_std": [0.0, -1.0],
            "sigma31_val": [_X_VAL[0]],
        },
    ),
}

EXEMPT = {
    LN + "GDRecord": "a result record returned by simulate_gd, not called by readers",
    LN + "Init": "a typing alias (Literal) naming the init choices, not a function",
    LN + "Method": "a typing alias (Literal) naming the method choices, not a function",
    TE + "Teacher": "a batch record returned by low_rank_teacher, not called by readers",
    TE + "NoisyData": "a data record returned by noisy_data and its kin, not called by readers",
    TP + "TaskPair": "a record returned by aligned_task_pair, not called by readers",
    SH + "Estimate": "a result record returned by the estimators, not called by readers",
}
