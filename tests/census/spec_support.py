"""Census cases: the support floor (config, glue, record, plotting, progress, threads, coursework)."""

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from census.harness import Case  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
CHAPTER_1 = sorted((ROOT / "book").glob("01_*.md"))[0]
_NAMES = ["", "..", "../x", "a/b", 3]


def _axes(rng):
    fig, ax = plt.subplots()
    plt.close(fig)
    return ax


def _curves(rng):
    t = np.linspace(0.0, 1.0, 5)
    return {
        "ax": _axes(rng),
        "t_theory": t,
        "y_theory": t**2,
        "t_sim": t,
        "y_sim": np.vstack([t**2, t**2 + 0.01]),
        "every": 1,
        "marker": "o",
    }


CASES = {
    "dltheory.config.get_scale": Case(
        valid=lambda rng: {"name": "ci"}, domain={"name": ["bogus", 3, ""]}
    ),
    "dltheory.config.default_scale_name": Case(valid=lambda rng: {}),
    "dltheory.glue.as_glue_value": Case(
        valid=lambda rng: {"name": "x", "value": 0.5},
        domain={"name": ["", 3], "value": [np.zeros(2), None, float("nan"), [1.0]]},
        allow={"value": ["True", "'1.0'"]},  # a bool or a string is a valid glue value
    ),
    "dltheory.glue.glue": Case(
        valid=lambda rng: {"name": "x", "value": 0.5},
        domain={"name": ["", 3], "value": [np.zeros(2), None, float("nan")]},
        allow={"value": ["True", "'1.0'"]},
    ),
    "dltheory.glue.glue_all": Case(
        valid=lambda rng: {"values": {"x": 0.5}},
        domain={"values": ["x", [("x", 0.5)], {"x": None}]},
        names={"values": ["value", "mapping"]},
    ),
    "dltheory.record.Record": Case(
        valid=lambda rng: {"chapter": "99_census", "scale": "ci", "seed": 0},
        domain={"chapter": _NAMES, "scale": ["", 3], "seed": [1.5, "0", True]},
    ),
    "dltheory.record.results_dir": Case(valid=lambda rng: {}),
    "dltheory.record.load_records": Case(
        valid=lambda rng: {"directory": ROOT / "tests"},  # a folder with no records: none
        domain={"directory": [CHAPTER_1]},
    ),
    "dltheory.record.records_table": Case(
        valid=lambda rng: {"records": []}, domain={"records": ["x", [{"chapter": "01"}], [3]]}
    ),
    "dltheory.record.verdict": Case(
        valid=lambda rng: {"tolerance": {"rel": 0.1}, "predicted": 1.0, "measured": 1.05},
        domain={"tolerance": [{"rel": 0.1, "abs": 0.1}, {"bogus": 1.0}, "x", {"exact": 1}]},
        # A non-finite number or a non-number is a failed claim (the verdict is False), not an error.
        allow={
            "predicted": ["nan", "inf", "-inf", "True", "'1.0'"],
            "measured": ["nan", "inf", "-inf", "True", "'1.0'"],
        },
    ),
    "dltheory.record.library_hash": Case(valid=lambda rng: {}),
    "dltheory.record.source_hash": Case(
        valid=lambda rng: {"chapter": CHAPTER_1.stem}, domain={"chapter": _NAMES}
    ),
    "dltheory.plotting.use_book_style": Case(valid=lambda rng: {}),
    "dltheory.plotting.theory_vs_sim": Case(
        valid=_curves,
        domain={
            "y_theory": [np.zeros(4)],
            "y_sim": [np.zeros((2, 4)), np.zeros((2, 2, 5))],
            "every": [0],
            "marker": [3],
            "ax": ["x"],
        },
        # A non-finite value in a curve is a gap (undefined or unbounded there, as the effective
        # ridge is below the weight-decay threshold); matplotlib draws around it.
        allow={
            "y_theory": ["array(5,):nan", "array(5,):inf"],
            "y_sim": ["array(2, 5):nan", "array(2, 5):inf"],
        },
        skip=("ax",),  # generic values are not Axes; the string in domain stands for them all
    ),
    "dltheory.progress.progress_enabled": Case(
        valid=lambda rng: {"progress": True}, domain={"progress": ["yes", 1]}
    ),
    "dltheory.progress.progress_bar": Case(
        valid=lambda rng: {"total": 3, "desc": "x", "progress": False},
        domain={"total": [-1], "desc": [3], "progress": ["yes"]},
    ),
    "dltheory.threads.policy_threads": Case(valid=lambda rng: {}),
    "dltheory.threads.apply_thread_policy": Case(valid=lambda rng: {}),
    "dltheory.coursework.parse_chapter": Case(
        valid=lambda rng: {"path": CHAPTER_1},
        domain={"path": [".", "", ROOT / "README.md", ROOT / "book" / "99_missing.md", 3]},
    ),
    "dltheory.coursework.master_notebook": Case(
        valid=lambda rng: {"path": CHAPTER_1, "scale": "ci", "points": 1},
        domain={"path": [".", ROOT / "README.md"], "scale": ["bogus"], "points": [0, -1]},
    ),
    "dltheory.coursework.assign": Case(
        # the valid call would run otter (minutes); every bad call fails before anything is written
        valid=lambda rng: {
            "chapter": CHAPTER_1,
            "out_dir": ROOT / "_build" / "census_never_written",
        },
        domain={"chapter": [".", "..", "", ROOT / "README.md", 3], "out_dir": ["", 3]},
    ),
    "dltheory.coursework.grade": Case(
        valid=lambda rng: {
            "chapter": "01",
            "submission": CHAPTER_1,
            "assignments": ROOT / "_build",
        },
        domain={"submission": [ROOT / "no_such.ipynb"]},
    ),
}

NOT_CALLED = {"dltheory.coursework.assign", "dltheory.coursework.grade"}

EXEMPT = {
    "dltheory.config.ScaleName": "a typing alias (Literal of the scale names), not a function",
    "dltheory.config.SVDDynamicsSizes": "a frozen size profile defined in config.SCALES",
    "dltheory.config.EarlyStoppingSizes": "a frozen size profile defined in config.SCALES",
    "dltheory.config.OptimalLearnerSizes": "a frozen size profile defined in config.SCALES",
    "dltheory.config.TransferSizes": "a frozen size profile defined in config.SCALES",
    "dltheory.config.JacobianSizes": "a frozen size profile defined in config.SCALES",
    "dltheory.config.KernelTransferSizes": "a frozen size profile defined in config.SCALES",
    "dltheory.config.SilentAlignmentSizes": "a frozen size profile defined in config.SCALES",
    "dltheory.config.Scale": "a frozen profile defined in config.SCALES, returned by config.get_scale",
    "dltheory.record.Claim": "a result record built by Record's check methods",
    "dltheory.record.ClaimFailed": "an exception type",
    "dltheory.coursework.Exercise": "a result record built by parse_chapter",
    "dltheory.coursework.GradeReport": "a result record built by grade",
    "dltheory.coursework.SubmissionError": "an exception type",
    "dltheory.coursework.main": "the command line: argparse reports bad arguments (tests/test_coursework.py)",
}
