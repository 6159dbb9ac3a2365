"""Census cases: interactive (slider figures of precomputed theory curves)."""

import numpy as np

from census.harness import Case

IN = "dltheory.interactive."


def _valid(rng):
    x = np.linspace(0.1, 1.0, 5)
    values = np.array([1.0, 2.0, 3.0])
    return {
        "x": x,
        "curves": values[:, None, None] * np.stack([x, x**2])[None],
        "param": "p",
        "values": values,
        "names": ["line", "square"],
        "xlabel": "x",
        "ylabel": "y",
        "title": "t",
        "value_format": ".2f",
        "active": 1,
        "xlog": True,  # so that x <= 0 is out of domain
        "ylog": False,
        "height": 300,
        "digits": 4,
    }


CASES = {
    IN + "slider_figure": Case(
        valid=_valid,
        domain={
            # too short, not 1-d, and <= 0 on the logarithmic axis
            "x": [np.array([0.5]), np.ones((2, 5)), np.linspace(0.0, 1.0, 5)],
            # wrong number of values, of points, and of dimensions
            "curves": [np.ones((2, 2, 5)), np.ones((3, 2, 4)), np.ones((3, 2, 5, 1)), np.ones(5)],
            "param": ["", "  ", 3, None],
            # one value only (no slider), not 1-d, and a count that does not match the curves
            "values": [np.array([1.0]), np.ones((3, 1)), np.array([1.0, 2.0])],
            "names": [["one"], "ab", [1, 2], ["a", "b", "c"]],
            "xlabel": [3, None],
            "ylabel": [3, None],
            "title": [3, None],
            "value_format": ["q", 3, None],
            "active": [-1, 3],
            "xlog": ["yes", 1, None],
            "ylog": ["yes", 1, None],
            "height": [100, 0],
            "digits": [1, 16],
        },
    ),
}

EXEMPT = {
    IN + "SliderFigure": "the result of slider_figure: a frozen holder of the figure's JSON",
}
