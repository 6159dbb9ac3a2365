"""Census cases: the jointly rich target phase and the elastic coupling of chapter 6.

Valid calls run at tiny sizes (width 4, a few steps, two sources of two targets), well under a second
each; every bad call fails in the argument checks, before any training. The names are public once
:mod:`dltheory.experiments.kernel_transfer` exports them; until then the census has no entry for them
(an entry for a name that is not public would be stale).
"""

from dataclasses import replace

import numpy as np

from census.harness import Case
from dltheory.config import get_scale

KT = "dltheory.experiments.kernel_transfer."

TINY = replace(get_scale("ci").kernel_transfer, gf_width=4, gf_seeds=2, gf_targets=2)
_OTHER_SIZES = get_scale("ci").transfer  # sizes of another chapter


def _kj():
    from dltheory.experiments.kernel_transfer import _joint

    return _joint


def _quick():
    return _kj().JointSetup(
        D=6, P_s=8, source_time=0.2, P_t=3, target_time=0.2, forget_time=0.2, elastic_P_t=3,
        elastic=(0.0, 1.0), lr=0.05,
    )  # fmt: skip


def _source(sizes, seed: int):
    return _kj().train_gf_source(_quick(), sizes, rng=np.random.default_rng(seed))


def _with_source(rng):
    return {"setup": _quick(), "sizes": TINY, "source": _source(TINY, 7), "rng": rng}


def _wrong_setup():
    from dltheory.experiments import kernel_transfer

    return kernel_transfer.SETUP  # the weight-decay experiments' setup


_RUN = {"setup": [_wrong_setup()], "sizes": [_OTHER_SIZES, replace(TINY, gf_seeds=1)]}
_TARGETS = {**_RUN, "source": [_source(replace(TINY, gf_targets=3), 1)]}

_CASES = {
    KT + "JointSetup": Case(
        valid=lambda rng: {
            "D": 40,
            "gamma": 1.0,
            "lr": 0.02,
            "P_s": 80,
            "source_time": 40.0,
            "P_t": 20,
            "alpha": 0.0,
            "target_time": 10.0,
            "lam_forget": 0.5,
            "forget_time": 30.0,
            "elastic_P_t": 20,
            "elastic_alpha": 0.9,
            "elastic": (0.0, 0.1, 1.0),
        },  # fmt: skip
        domain={
            "D": [1],
            "gamma": [0.0],
            "lr": [0.0, -0.01],
            "P_s": [0],
            "source_time": [0.0, 0.001],  # at least one step
            "P_t": [0],
            "alpha": [1.5],
            "target_time": [-1.0],
            "lam_forget": [0.0],
            "forget_time": [0.0],
            "elastic_P_t": [0],
            "elastic_alpha": [-2.0],
            "elastic": [(), (0.0,), (0.1, 1.0), (0.0, 1.0, 0.5), (0.0, -1.0), [0.0, 1.0]],
        },
    ),
    KT + "train_gf_source": Case(
        valid=lambda rng: {"setup": _quick(), "sizes": TINY, "rng": rng}, domain=_RUN
    ),
    KT + "run_jointly_rich": Case(valid=_with_source, domain=_TARGETS),
    KT + "run_elastic_coupling": Case(valid=_with_source, domain=_TARGETS),
}

_EXEMPT = {
    KT + name: f"a result record returned by {fn}, not built by readers"
    for name, fn in (
        ("GFSource", "train_gf_source"),
        ("JointResult", "run_jointly_rich"),
        ("ElasticResult", "run_elastic_coupling"),
    )
}


CASES = _CASES
EXEMPT = _EXEMPT
