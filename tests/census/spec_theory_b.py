"""Census cases: theory.optimal_learner, theory.transfer, theory.jacobian_split and theory.kernels."""

import numpy as np

from census.harness import Case

OL = "dltheory.theory.optimal_learner."
TR = "dltheory.theory.transfer."
JS = "dltheory.theory.jacobian_split."
KT = "dltheory.theory.kernels."

# ---------------------------------------------------------------- optimal_learner
# aspect_ratio A = N3/N1 in (0, 1]; noise_std > 0; singular values >= 0.
_MP = {"aspect_ratio": [0.0, -0.5, 1.5], "noise_std": [0.0, -1.0]}
_SV = np.array([0.0, 0.5, 2.0])

CASES = {
    OL + "optimal_singular_value": Case(
        valid=lambda rng: {"s_bar": _SV, "aspect_ratio": 0.5, "noise_std": 1.0},
        domain={**_MP, "s_bar": [np.array([-1.0, 1.0])]},
    ),
    OL + "optimal_shrinkage": Case(
        valid=lambda rng: {"s_hat": _SV, "aspect_ratio": 0.5, "noise_std": 1.0},
        domain={**_MP, "s_hat": [np.array([-1.0, 1.0])]},
    ),
    OL + "gavish_donoho_hard_threshold": Case(
        valid=lambda rng: {"aspect_ratio": 0.5, "noise_std": 1.0}, domain=_MP
    ),
    OL + "predicted_optimal_error": Case(
        valid=lambda rng: {"s_bar": np.array([1.0, 3.0]), "aspect_ratio": 0.5, "noise_std": 1.0},
        domain={
            **_MP,
            # a negative value, no mode at all, and a teacher with ||W_bar|| = 0 (error 0/0)
            "s_bar": [np.array([-1.0, 1.0]), np.zeros(0), np.zeros(2)],
        },
    ),
    OL + "predicted_learner_error": Case(
        valid=lambda rng: {
            "s_bar": np.array([1.0, 3.0]),
            "learner": "optimal",
            "n_in": 40,
            "n_out": 20,
            "noise_std": 1.0,
        },
        domain={
            "s_bar": [np.array([-1.0, 1.0]), np.zeros(0), np.zeros(2), np.ones(21)],
            "learner": ["lasso", 3, None],
            "n_in": [0, -1, 10],  # 10 < n_out: the theory is written for N3 <= N1
            "n_out": [0, 80],
            "noise_std": [0.0, -1.0],
        },
    ),
}

# ---------------------------------------------------------------- transfer
_SIZES = {
    "n_in": 40,
    "n_out": 10,
    "hidden": 10,
    "eps": 1e-3,
    "tau": 1.0,
    "noise_std": 1.0,
    "n_nodes": 20,
}
_SIZES_DOMAIN = {
    "n_in": [0, -5, 15],  # 15 < 2 n_out: the joint data would be wider than tall
    "n_out": [0, 30],
    "hidden": [0, -1],
    "eps": [0.0, -1e-3],
    "tau": [0.0, -1.0],
    "noise_std": [0.0, -1.0],
    "n_nodes": [0, -1],
}
_TASK_DOMAIN = {
    "s_a": [0.0, -1.0, np.ones(4)],  # the last does not broadcast with s_b below
    "s_b": [-1.0],
    "q": [-0.1, 1.1],
}
_T = np.array([0.0, 1.0, 10.0])

CASES |= {
    TR + "joint_modes": Case(
        valid=lambda rng: {"s_a": 2.0, "s_b": np.array([0.0, 1.0, 3.0]), "q": 0.5},
        domain=_TASK_DOMAIN,
    ),
    TR + "predicted_joint_error": Case(
        valid=lambda rng: {
            "t": _T,
            "s_a": 2.0,
            "s_b": np.array([0.0, 1.0, 3.0]),
            "q": 0.5,
            **_SIZES,
        },
        domain={**_SIZES_DOMAIN, **_TASK_DOMAIN, "t": [np.array([-1.0, 1.0]), np.ones((2, 2))]},
        allow={"t": ["array(3,):inf"]},  # t = inf is the end of training, a valid limit
    ),
    TR + "predicted_alone_error": Case(
        valid=lambda rng: {"t": _T, "s_a": np.array([1.0, 2.0]), **_SIZES},
        domain={
            **_SIZES_DOMAIN,
            "n_in": [0, -5, 5],  # one task alone needs only n_out <= n_in
            "n_out": [0, 50],
            "s_a": [0.0, np.array([-1.0, 1.0])],
            "t": [np.array([-1.0, 1.0]), np.ones((2, 2))],
        },
        allow={"t": ["array(3,):inf"]},  # t = inf is the end of training, a valid limit
    ),
    TR + "predicted_transfer": Case(
        valid=lambda rng: {
            "s_a": 2.0,
            "s_b": np.array([0.0, 3.0]),
            "q": 0.5,
            **_SIZES,
            "t_max": 10.0,
        },
        domain={**_SIZES_DOMAIN, **_TASK_DOMAIN, "t_max": [0.0, -1.0]},
    ),
}

# ---------------------------------------------------------------- jacobian_split
_LAM = np.array([2.0, 1.0, 0.5, 0.0])
_LABELS = np.array([0, 1, 2, 0, 1, 2])
_U = np.linalg.qr(np.random.default_rng(0).standard_normal((18, 4)))[0]

CASES |= {
    JS + "predicted_direction_decay": Case(
        valid=lambda rng: {"t": np.array([0.0, 1.0, 3.0]), "lam": _LAM, "lr": 0.25},
        domain={
            "t": [np.array([-1.0, 1.0]), np.ones((2, 2))],
            "lam": [np.array([-1.0, 1.0]), np.ones((2, 2))],
            "lr": [0.0, -1.0],
        },
    ),
    JS + "predicted_split_residual": Case(
        valid=lambda rng: {
            "t": np.array([0.0, 1.0, 3.0]),
            "lam": _LAM,
            "coeffs0": np.array([1.0, -1.0, 0.5, 2.0]),
            "lr": 0.25,
            "rank": 2,
        },
        domain={
            "t": [np.array([-1.0, 1.0]), np.ones((2, 2))],
            "lam": [
                np.array([-1.0, 1.0, 0.5, 0.0]),
                np.array([0.5, 1.0, 2.0, 0.0]),
                np.ones((2, 2)),
            ],
            "coeffs0": [np.ones(3), np.ones((2, 2))],
            "lr": [0.0, -1.0],
            "rank": [0, 4, 5],
        },
    ),
    JS + "random_baseline": Case(
        valid=lambda rng: {"r": np.array([0.0, 5.0, 10.0]), "dim": 10},
        domain={"r": [np.array([-1.0, 1.0]), np.array([11.0])], "dim": [0, -1]},
    ),
    JS + "class_mean_energy": Case(
        valid=lambda rng: {"labels": _LABELS, "num_classes": 3},
        domain={
            # out of range, not integers, not a vector, empty
            "labels": [
                np.array([0, 1, 3]),
                np.array([-1, 0, 1]),
                np.array([0.5, 1.0]),
                _LABELS.reshape(2, 3),
                np.zeros(0, dtype=int),
                ["a", "b"],
            ],
            "num_classes": [0, -1],
        },
    ),
    JS + "predicted_label_energy": Case(
        valid=lambda rng: {"U": _U, "labels": _LABELS, "rho": 0.5, "num_classes": 3},
        domain={
            "U": [_U[:5], _U[:, 0]],
            "labels": [
                np.array([0, 1, 3, 0, 1, 2]),
                np.array([-1, 1, 2, 0, 1, 2]),
                _LABELS + 0.5,
                _LABELS.reshape(2, 3),
                np.zeros(0, dtype=int),
            ],
            "rho": [-0.1, 1.5],
            "num_classes": [1, 0],
            "exact_count": ["yes", 1],
        },
    ),
    JS + "expected_gram": Case(
        valid=lambda rng: {"X1": np.eye(3)[:2] + 0.5, "X2": np.eye(3) + 0.1},
        domain={
            "X1": [np.zeros((2, 3)), np.ones(3), np.ones((2, 4)), np.full((2, 3), np.nan)],
            "X2": [np.zeros((2, 3)), np.ones((2, 4))],
        },
    ),
    JS + "expected_label_energy": Case(
        valid=lambda rng: {"Sigma": np.eye(6) + 0.1, "labels": _LABELS, "num_classes": 3},
        domain={
            "Sigma": [np.eye(5), np.ones(6), np.full((6, 6), np.nan)],
            "labels": [np.array([0, 1, 3, 0, 1, 2]), _LABELS + 0.5, np.zeros(0, dtype=int)],
            "num_classes": [1, 0],
        },
    ),
    JS + "fit_time": Case(
        valid=lambda rng: {"beta": 2.0, "alpha": 1.0, "eps": 0.1},
        domain={
            "beta": [0.0, -1.0],
            "alpha": [0.0, -1.0, 3.0],  # alpha = lambda_r cannot exceed beta = lambda_1
            "eps": [0.0, 1.0, 2.0],
        },
    ),
    JS + "distance_bound": Case(
        valid=lambda rng: {
            "info_norm": np.array([1.0, 2.0]),
            "nuisance_norm": 2.0,
            "alpha": np.array([0.5, 1.0]),
            "gamma": 2.0,
        },
        domain={
            "info_norm": [-1.0, np.ones(3)],
            "nuisance_norm": [-1.0, np.ones(3)],
            "alpha": [0.0, -1.0, np.ones(3)],
            "gamma": [0.0, -1.0],
        },
    ),
    JS + "bias_term": Case(
        valid=lambda rng: {"nuisance_label_norm": np.array([0.0, 3.0]), "n": 100},
        domain={"nuisance_label_norm": [np.array([-1.0])], "n": [0, -1]},
    ),
    JS + "variance_shape": Case(
        valid=lambda rng: {"alpha": np.array([1.0, 2.0]), "n": 4, "gamma": 1.0},
        domain={
            "alpha": [np.array([0.0, 1.0]), np.array([-1.0])],
            "n": [0, -1],
            "gamma": [0.0, -1.0],
        },
    ),
}

# ---------------------------------------------------------------- kernels
_D = 6
_X = np.random.default_rng(1).standard_normal((4, _D))
_Y = _X @ np.ones(_D) / np.sqrt(_D)
_BETA = np.linspace(-1.0, 1.0, _D)
_DATA_DOMAIN = {
    "X": [_X[0], _X[:, :0], _X[:0], np.ones((4, _D, 1))],
    "y": [_Y[:-1], _Y[:, None]],
}
_K = _X @ _X.T / _D

CASES |= {
    KT + "weight_decay_threshold": Case(
        valid=lambda rng: {"X": _X, "y": _Y, "gamma": 1.0},
        domain={**_DATA_DOMAIN, "gamma": [0.0, -1.0]},
    ),
    KT + "predicted_fixed_point": Case(
        valid=lambda rng: {"X": _X, "y": _Y, "gamma": 1.0, "lam": 0.1},
        domain={**_DATA_DOMAIN, "gamma": [0.0, -1.0], "lam": [0.0, -1.0]},
    ),
    KT + "predicted_adaptive_kernel": Case(
        valid=lambda rng: {"X1": _X, "X2": _X[:2], "beta": _BETA, "gamma": 1.0},
        domain={
            "X1": [_X[0], _X[:, :3]],
            "X2": [_X[0], _X[:, :3]],
            "beta": [_BETA[:3], _BETA[None], np.zeros(0)],
            "gamma": [0.0, -1.0],
        },
    ),
    KT + "predicted_lazy_ntk": Case(
        valid=lambda rng: {"X1": _X, "X2": _X[:2]},
        domain={"X1": [_X[0], _X[:, :3], _X[:, :0]], "X2": [_X[0], _X[:, :3]]},
    ),
    KT + "kernel_predictor": Case(
        valid=lambda rng: {"K_train": _K, "K_test_train": _K[:2], "y": _Y, "ridge": 1.0},
        domain={
            "K_train": [
                _K[:3],
                _K[0],
                _K + np.triu(np.ones((4, 4)), 1),
            ],  # the last is not symmetric
            "K_test_train": [_K[:, :3], _K[0]],
            "y": [_Y[:3], _Y[:, None]],
            "ridge": [-1.0, np.ones(2)],
        },
    ),
    KT + "predicted_lazy_beta": Case(
        valid=lambda rng: {"X": _X, "y": _Y, "lam": 0.5},
        domain={**_DATA_DOMAIN, "lam": [0.0, -1.0]},
    ),
    KT + "predicted_test_mse": Case(
        valid=lambda rng: {"beta": np.stack([_BETA, -_BETA]), "beta_star": _BETA},
        domain={
            "beta": [np.array(1.0), _BETA[:3], np.ones((3, _D, 1))],
            "beta_star": [np.array(1.0), _BETA[:3], np.ones((3, _D))],  # (3, D) vs (2, D)
        },
    ),
    KT + "predicted_readout_mse": Case(
        valid=lambda rng: {"rho": np.array([0.0, 0.5, -1.0]), "P_t": 10},
        domain={"rho": [np.array([1.5]), np.array([-1.5])], "P_t": [2, 0]},
    ),
    KT + "predicted_scratch_mse": Case(
        valid=lambda rng: {"P_t": 10, "D": 40},
        domain={"P_t": [0, -1], "D": [0, -1]},
    ),
    KT + "expected_rho_squared": Case(
        valid=lambda rng: {"alpha": np.array([0.0, 0.5, 1.0]), "cos_source": 0.9, "D": 40},
        domain={
            "alpha": [np.array([2.0]), np.array([-1.5])],
            "cos_source": [2.0, -1.5, np.ones(2)],
            "D": [1, 0],
        },
    ),
    KT + "predicted_readout_mse_alpha": Case(
        valid=lambda rng: {
            "alpha": np.array([0.0, 0.5, 1.0]),
            "cos_source": 0.9,
            "P_t": 10,
            "D": 40,
        },
        domain={
            "alpha": [np.array([2.0]), np.array([-1.5])],
            "cos_source": [2.0, -1.5],
            "P_t": [2, 0],
            "D": [1, 0],
        },
    ),
    KT + "predicted_transfer_boundary": Case(
        valid=lambda rng: {"P_t": 10, "D": 40, "cos_source": 0.9},
        domain={"P_t": [2, 0], "D": [1, 0], "cos_source": [2.0, -1.5, np.ones(2)]},
    ),
    KT + "predicted_lazy_finetune_beta": Case(
        valid=lambda rng: {"X": _X, "y": _Y, "beta_s": _BETA},
        domain={**_DATA_DOMAIN, "beta_s": [np.zeros(_D), _BETA[:3], _BETA[None]]},
    ),
}

EXEMPT = {
    OL + "Learner": "a Literal type alias naming the learners, not a function",
    TR + "JointModes": "a result record returned by joint_modes, not called by readers",
    TR
    + "TransferPrediction": "a result record returned by predicted_transfer, not called by readers",
    KT
    + "LinearFixedPoint": "a result record returned by predicted_fixed_point, not called by readers",
}
