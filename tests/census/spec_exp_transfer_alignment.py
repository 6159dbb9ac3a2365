"""Census cases: the transfer experiment of chapter 4 (dltheory.experiments.transfer_alignment)."""

import dataclasses

import numpy as np

from census.harness import Case
from dltheory.config import get_scale
from dltheory.experiments import Grid
from dltheory.experiments.lampinen_ganguli import SETUP
from dltheory.experiments.transfer_alignment import TransferResult
from dltheory.task_pairs import aligned_task_pair, task_pair_data

M = "dltheory.experiments.transfer_alignment"
TINY = dataclasses.replace(
    get_scale("ci").transfer,
    n_in=8, n_out=4, hidden=4, n_seeds=2, epochs=200, record_every=100, n_q_grid=1,
    finite_size_n_in=(8,), finite_size_seeds=2, weak_seeds=2,
)  # fmt: skip
OTHER_SIZES = get_scale("ci").optimal_learner  # the sizes of another chapter


def _base(q) -> TransferResult:
    """Untrained runs of the rotated conditions (s_a = 3, s_b in {3, 10}) at alignments ``q``: all
    that run_output_rotation reads, built without training or theory (cheap at import)."""
    grid = Grid(axes={"s_a": np.array([3.0]), "s_b": np.array([3.0, 10.0]), "q": q}, n_seeds=2)
    rng = np.random.default_rng(0)
    s_a, s_b, q_run = (grid.per_run(n) for n in grid.axes)
    pair = aligned_task_pair(TINY.n_in, TINY.n_out, s_a, s_b, q_run, rng=rng)
    alone, joint = task_pair_data(pair, rng=rng)
    zeros = np.zeros(grid.shape)
    return TransferResult(
        grid=grid, epochs=np.zeros(1), err_alone=zeros[None], err_joint=zeros[None],
        measured=zeros, predicted=zeros[..., 0], prediction=None, pair=pair, alone=alone,
        joint=joint,
    )  # fmt: skip


BASE = _base(np.array([0.0, 0.5, 1.0]))
BAD_SETUP_SIZES = {"setup": [{"noise_std": 1.0}, 3], "sizes": [OTHER_SIZES, 3]}

CASES = {
    f"{M}.theory_setting": Case(
        valid=lambda rng: {"setup": SETUP, "sizes": TINY}, domain=BAD_SETUP_SIZES
    ),
    f"{M}.run_transfer": Case(
        valid=lambda rng: {"setup": SETUP, "sizes": TINY, "rng": rng}, domain=BAD_SETUP_SIZES
    ),
    f"{M}.run_grid": Case(
        valid=lambda rng: {
            "setup": SETUP,
            "sizes": TINY,
            "s_a": [3.0],
            "s_b": [3.0],
            "q": [0.0, 1.0],
            "n_seeds": 2,
            "rng": rng,
        },
        domain={
            **BAD_SETUP_SIZES,
            "s_a": [[], [-1.0], [np.nan]],
            "s_b": [[0.0]],
            "q": [[1.5], [[0.0]]],
            "n_seeds": [0, 1.5, True],
        },
    ),
    f"{M}.run_claims": Case(
        valid=lambda rng: {"setup": SETUP, "sizes": TINY, "rng": rng}, domain=BAD_SETUP_SIZES
    ),
    f"{M}.run_strong": Case(
        valid=lambda rng: {"setup": SETUP, "sizes": TINY, "rng": rng}, domain=BAD_SETUP_SIZES
    ),
    f"{M}.required_alignment": Case(
        valid=lambda rng: {"q": np.array([0.0, 0.5, 1.0]), "benefit": np.array([-1.0, 0.5, 1.0])},
        domain={
            "q": [[0.0], [1.0, 0.5, 0.0], [0.0, np.nan, 1.0]],
            "benefit": [[1.0], [np.inf, 1.0, 1.0]],
        },
    ),
    f"{M}.run_output_rotation": Case(
        valid=lambda rng: {"setup": SETUP, "sizes": TINY, "base": BASE, "rng": rng},
        domain={
            "setup": BAD_SETUP_SIZES["setup"],
            # sizes of another chapter, and sizes other than the base's (N1 = 10)
            "sizes": [OTHER_SIZES, dataclasses.replace(TINY, n_in=10)],
            # not a result; a result without the rotated alignment q = 0.5
            "base": [3, _base(np.array([0.0, 1.0]))],
        },
    ),
    f"{M}.run_finite_size": Case(
        valid=lambda rng: {"setup": SETUP, "sizes": TINY, "rng": rng}, domain=BAD_SETUP_SIZES
    ),
}
EXEMPT = {
    f"{M}.TransferResult": "a frozen result that run_transfer builds, not called by users",
    f"{M}.RotationResult": "a frozen result that run_output_rotation builds, not called by users",
    f"{M}.FiniteSizeResult": "a frozen result that run_finite_size builds, not called by users",
}
