"""Census cases: the experiments of chapter 6 (lazy vs. adaptive kernels, transfer protocols).

Valid calls run at tiny sizes (width 4, 20 steps, two seeds), well under a second each; every bad call
fails in the argument checks, before any training.
"""

from dataclasses import replace

import numpy as np

from census.harness import Case
from dltheory.config import get_scale

KT = "dltheory.experiments.kernel_transfer."

TINY = replace(
    get_scale("ci").kernel_transfer,
    width=4, steps=20, n_seeds=2, n_targets=2, n_alpha=2, n_gamma=2, n_p_grid=2,
    digits_width=4, digits_source=30, digits_steps=20, digits_seeds=2,
    poly_seeds=2, poly_targets=2, poly_steps=20,
)  # fmt: skip
_OTHER_SIZES = get_scale("ci").transfer  # sizes of another chapter


def _kt():
    from dltheory.experiments import kernel_transfer

    return kernel_transfer


def _run(setup_name: str):
    def valid(rng):
        return {"setup": getattr(_kt(), setup_name)(), "sizes": TINY, "rng": rng}

    return valid


def _with_source(rng):
    kt = _kt()
    return {
        "setup": kt.SETUP,
        "sizes": TINY,
        "source": kt.train_source(kt.SETUP, TINY, rng=rng),
        "rng": rng,
    }


def _other_source():
    """Source networks of other sizes than TINY's (three of them)."""
    kt = _kt()
    return kt.train_source(kt.SETUP, replace(TINY, n_seeds=3), rng=np.random.default_rng(1))


def _wrong_setup():
    return _kt().DigitsSetup()


_LINEAR = {"setup": [_wrong_setup()], "sizes": [_OTHER_SIZES]}

CASES = {
    KT + "KernelTransferSetup": Case(
        valid=lambda rng: {"D": 40, "gamma": 1.0, "lam": 0.5, "lr": 0.01, "P_s": 200, "P_t": 10},
        domain={
            "D": [1, 0],
            "gamma": [0.0, -1.0],
            "lam": [0.0, -0.5],
            "lr": [0.0],
            "P_s": [0],
            "P_t": [2, 41],  # at least 3 (the readout's variance), at most D
        },
    ),
    KT + "DigitsSetup": Case(
        valid=lambda rng: {
            "gamma": 1.0,
            "lam": 0.5,
            "lr_source": 0.005,
            "lr_target": 0.01,
            "n_test": 500,
            "P_t": (10, 20),
            "source_task": (0, 1, 2, 3, 4),
            "targets": (("even", (0, 2, 4, 6, 8)), ("odd", (1, 3, 5, 7, 9))),
        },
        domain={
            "gamma": [0.0],
            "lam": [-0.5],
            "lr_source": [0.0],
            "lr_target": [-0.01],
            "n_test": [0],
            "P_t": [(), (0,), (1.5,), [10]],
            "source_task": [(), tuple(range(10)), (10,), (1.5,), (True,), [0, 1]],
            "targets": [
                (),
                (("a", (1,)), ("a", (2,))),  # names must differ
                (("a", ()),),
                ("a",),
                (("a", (11,)),),
                ((1, (1,)),),
            ],
        },
        skip=("targets",),  # pairs of a name and digits: no array to perturb
    ),
    KT + "PolynomialSetup": Case(
        valid=lambda rng: {
            "D": 20,
            "P_s": 200,
            "P_t": 20,
            "gamma": 1.0,
            "lam": 0.5,
            "lr_source": 0.005,
            "lr_target": 0.01,
            "n_test": 300,
            "alphas": (0.0, 0.5, 0.9),
        },
        domain={
            "D": [1],
            "P_s": [0],
            "P_t": [0],
            "gamma": [0.0],
            "lam": [0.0],
            "lr_source": [-0.005],
            "lr_target": [0.0],
            "n_test": [0],
            "alphas": [(), (1.5,), (0.0, -2.0), ("a",), [0.5]],
        },
    ),
    KT + "run_fixed_point": Case(valid=_run("KernelTransferSetup"), domain=_LINEAR),
    KT + "run_gamma_sweep": Case(valid=_run("KernelTransferSetup"), domain=_LINEAR),
    KT + "run_adaptive_vs_lazy": Case(valid=_run("KernelTransferSetup"), domain=_LINEAR),
    KT + "train_source": Case(valid=_run("KernelTransferSetup"), domain=_LINEAR),
    KT + "run_readout_transfer": Case(
        valid=_with_source, domain={**_LINEAR, "source": [_other_source()]}
    ),
    KT + "run_digits": Case(
        valid=_run("DigitsSetup"),
        domain={
            "setup": [_kt().SETUP],
            "sizes": [_OTHER_SIZES, replace(TINY, digits_source=1500)],  # too few images left
        },
    ),
    KT + "run_polynomial": Case(
        valid=_run("PolynomialSetup"), domain={"setup": [_kt().SETUP], "sizes": [_OTHER_SIZES]}
    ),
}

EXEMPT = {
    KT + name: f"a result record returned by {fn}, not built by readers"
    for name, fn in (
        ("FixedPointResult", "run_fixed_point"),
        ("GammaSweepResult", "run_gamma_sweep"),
        ("AdaptiveVsLazyResult", "run_adaptive_vs_lazy"),
        ("LinearSource", "train_source"),
        ("ReadoutTransferResult", "run_readout_transfer"),
        ("DigitsResult", "run_digits"),
        ("PolynomialResult", "run_polynomial"),
    )
}
