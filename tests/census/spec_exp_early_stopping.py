"""Census cases: chapter 2's experiments (generalisation dynamics with noisy teachers, Lampinen &
Ganguli 2019, arXiv:1809.10374)."""

from dataclasses import replace

from census.harness import Case
from dltheory.config import get_scale
from dltheory.experiments.lampinen_ganguli import SETUP

ES = "dltheory.experiments.early_stopping."
VAR = "dltheory.experiments.early_stopping_variants."
CL = "dltheory.experiments.early_stopping_claims."
# Tiny sizes: every valid call below runs in well under a second or two.
TINY = replace(
    get_scale("ci").early_stopping,
    n_in=20,
    n_out=10,
    hidden=10,
    n_seeds=2,
    n_seeds_random=2,
    random_all_snrs=False,
    epochs=200,
    record_every=10,
    rmt_n_in=40,
    rmt_n_out=20,
    rmt_seeds=2,
    rmt_claim_seeds=2,
    n_sbar_grid=3,
    n_snr_grid=1,
    examples_n=10,
    examples_grid=(5, 10, 20),
    examples_snrs=(3.0,),
    examples_seeds=2,
    examples_epochs=100,
    bias_draws=3,
)
COMMON = {
    "setup": [get_scale("ci").early_stopping],
    "sizes": [get_scale("ci").svd_dynamics, get_scale("ci")],
}


def _base(rng):
    return {"setup": SETUP, "sizes": TINY, "rng": rng}


CASES = {
    ES + "snr_grid": Case(
        valid=lambda rng: {"setup": SETUP, "sizes": TINY, "multipliers": (2.0, 4.0)},
        domain={**COMMON, "multipliers": [(), (0.0,), (-2.0, 4.0), [[2.0]]]},
    ),
    ES + "curve_pair": Case(
        valid=lambda rng: {"result": _curves(rng), "which": "test", "index": (0, 1)},
        domain={
            "result": [None, 1.0],
            "which": ["val", 1],
            "index": [(0,), (0, 1, 0), (0, 5), (0.5, 1), [0, 1], (True, 1)],
        },
    ),
    ES + "run_noise_bulk": Case(valid=_base, domain=COMMON),
    ES + "run_outliers": Case(valid=_base, domain=COMMON),
    ES + "run_error_curves": Case(
        valid=lambda rng: {**_base(rng), "ranks": (1,), "multipliers": (2.0,)},
        domain={
            **COMMON,
            "ranks": [(), (0,), (11,), (1.5,), 1],
            "multipliers": [(), (0.0,), (-2.0,)],
        },
    ),
    ES + "run_optimal_stopping": Case(
        valid=lambda rng: {**_base(rng), "s_bar": [3.0, 2.0, 1.0]},
        domain={**COMMON, "s_bar": [[], [0.0], [-1.0, 2.0], [1.0] * 11, [[[1.0]]]]},
    ),
    VAR + "run_random_init": Case(valid=_base, domain=COMMON),
    VAR + "run_hidden_width": Case(
        valid=lambda rng: {**_base(rng), "widths": (1, 2), "s_bar": 3.0},
        domain={
            **COMMON,
            "widths": [(), (0,), (1.5,), 2],
            "s_bar": [0.0, -3.0],
            "init": ["haar", 1],
        },
    ),
    VAR + "run_examples": Case(valid=_base, domain=COMMON),
    VAR + "run_randomised": Case(
        valid=lambda rng: {**_base(rng), "multiplier": 10.0, "half": 0.5},
        domain={**COMMON, "multiplier": [0.0, -1.0], "half": [0.0, 1.0, 1.5]},
    ),
    CL + "curve_deviation": Case(
        valid=lambda rng: {
            "curves": _curves(rng),
            "sizes": TINY,
            "which": "test",
            "rank": 1,
            "snr": 2.0,
        },
        domain={"curves": [None, 1.0], "sizes": [get_scale("ci")], "which": ["val", 1]},
    ),
    CL + "three_se_claim": Case(
        valid=lambda rng: {"predicted": 1.0, "samples": [0.9, 1.1, 1.0], "bias": 0.05},
        domain={
            "predicted": [[1.0, 2.0]],
            "samples": [[1.0], [[1.0, 2.0]], []],
            "bias": [[0.1, 0.2]],
        },
    ),
    CL + "predicted_spectra": Case(
        valid=lambda rng: {"setup": SETUP, "sizes": TINY, "s_bar": [30.0, 20.0, 10.0]},
        domain={**COMMON, "s_bar": [[], [0.0], [-1.0]]},
    ),
    CL + "predicted_shuffled_edge": Case(
        valid=lambda rng: {"setup": SETUP, "sizes": TINY, "s_bar": [30.0, 20.0, 10.0]},
        domain={**COMMON, "s_bar": [[], [0.0], [-1.0]]},
    ),
    CL + "run_shuffled_edge": Case(
        valid=lambda rng: {**_base(rng), "multiplier": 10.0},
        domain={**COMMON, "multiplier": [0.0, -1.0]},
    ),
    CL + "run_deep_stopping": Case(
        valid=lambda rng: {**_base(rng), "snr": 4.0, "n_weights": 3},
        domain={**COMMON, "snr": [0.0, -1.0, 0.5], "n_weights": [2, 1.5]},
    ),
}


def _curves(rng):
    from dltheory.experiments.early_stopping import run_error_curves

    return run_error_curves(SETUP, TINY, rng=rng, ranks=(1,), multipliers=(2.0,))


_RESULT = "a frozen result record returned by a run_* function, not built by readers"
EXEMPT = {
    ES + "BulkResult": _RESULT,
    ES + "OutlierResult": _RESULT,
    ES + "CurvesResult": _RESULT,
    ES + "StoppingResult": _RESULT,
    VAR + "RandomInitResult": _RESULT,
    VAR + "WidthResult": _RESULT,
    VAR + "ExamplesResult": _RESULT,
    VAR + "RandomisedResult": _RESULT,
    CL + "CurveDeviation": _RESULT,
    CL + "EdgeResult": _RESULT,
    CL + "DeepResult": _RESULT,
}
