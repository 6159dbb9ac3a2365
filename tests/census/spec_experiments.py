"""Census cases: the experiments floor's shared parts (grid, seed statistics, L&G setup) and trajectories."""

import numpy as np

from census.harness import Case

CASES = {
    "dltheory.experiments.Grid": Case(
        valid=lambda rng: {"axes": {"snr": np.array([1.0, 2.0]), "q": [0.0, 1.0]}, "n_seeds": 3},
        domain={
            "axes": [{}, {"snr": []}, {"not an id": [1]}, {3: [1]}, [1, 2]],
            "n_seeds": [0, 1.5],
        },
    ),
    "dltheory.experiments.seed_stats": Case(
        valid=lambda rng: {"x": rng.normal(size=(2, 4)), "axis": -1},
        domain={"x": [np.zeros((2, 1))], "axis": [2, -3, 1.5]},
    ),
    "dltheory.experiments.lampinen_ganguli.LGSetup": Case(
        valid=lambda rng: {"noise_std": 1.0, "lr": 1e-3, "eps": 1e-5},
        domain={"noise_std": [0.0, -1.0], "lr": [0.0, -1e-3], "eps": [0.0, -1e-5]},
    ),
}
EXEMPT = {}

CASES |= {
    "dltheory.trajectory.Trajectory": Case(valid=lambda rng: {"steps": np.arange(3), "lr": 0.1}),
    "dltheory.trajectory.recorded_steps": Case(
        valid=lambda rng: {"total": 10, "record_steps": [0, 3, 10]},
        domain={"total": [-1, 1.5], "record_steps": [3, [3, 2], [0, 11], [], [2.5]]},
        names={"total": ["record_steps"]},
    ),
}
