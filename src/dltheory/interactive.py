"""Interactive figures for the book's site: closed-form curves with a slider over one parameter.

The curves are evaluated by the library's theory functions on a grid of the parameter *before* the
figure is made; the figure only switches between the precomputed arrays. So it works in a static
page, with no kernel and no network: each step of the slider is a plotly.js ``restyle`` of the
traces' ``y`` arrays.

:func:`slider_figure` returns a :class:`SliderFigure`, which a notebook displays through
``_repr_mimebundle_``:

* ``text/html``: a ``<div>``, the figure as JSON, and a short script that draws it with the page's
  global ``Plotly``. No plotly.js is inlined and nothing is fetched from a CDN: the book's site serves
  the ``plotly.min.js`` that the plotly package ships (``book/_ext/book_assets.py``). Where no
  ``Plotly`` turns up (a notebook viewer without it), the div says so instead of staying blank.
* ``application/vnd.plotly.v1+json``: the same figure for JupyterLab, whose plotly renderer
  (installed with the plotly package) draws it, slider included.

Numbers are rounded to a few significant digits before they are written, which keeps a figure of a
few thousand points at some tens of kilobytes of page.
"""

from __future__ import annotations

import hashlib
import html
import json
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from dltheory._checks import ArgumentTypeError, as_float_array, check_int

__all__ = ["SliderFigure", "slider_figure", "PLOTLY_MIME"]

PLOTLY_MIME = "application/vnd.plotly.v1+json"
"""The MIME type of a plotly figure in a notebook's output (JupyterLab's plotly renderer)."""

CSS_CLASS = "dlt-slider-figure"  # marks the pages that need plotly.js (book_assets.py)
_WAIT_MS = 15_000  # how long the drawing script waits for window.Plotly before saying it is missing

# Waits for the global Plotly (the site loads it with `defer`), draws the figure from its JSON, and
# leaves a note in the div if Plotly never comes (a viewer that does not load it).
_SCRIPT = """(function () {
  var id = "%(id)s", waited = 0;
  function draw() {
    var el = document.getElementById(id);
    if (!el || el.dataset.drawn) return;
    if (!window.Plotly) {
      if ((waited += 50) < %(wait)d) { setTimeout(draw, 50); return; }
      el.style.height = "auto";
      el.textContent = "This interactive figure needs plotly.js: open the page on the book's site "
        + "or the notebook in JupyterLab.";
      return;
    }
    el.dataset.drawn = "1";
    var plot = JSON.parse(document.getElementById(id + "-json").textContent);
    window.Plotly.newPlot(el, plot.data, plot.layout, plot.config);
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", draw);
  else draw();
})();"""


@dataclass(frozen=True, repr=False)
class SliderFigure:
    """A plotly figure whose slider switches between precomputed curves.

    Attributes:
        plot: the figure as plotly.js takes it: ``{"data": [...], "layout": {...}, "config": {...}}``,
            plain JSON-ready Python objects; ``layout["sliders"][0]["steps"]`` holds one step per
            parameter value, each a ``restyle`` of every trace's ``y``.
    """

    plot: dict

    def __repr__(self) -> str:  # short: a notebook stores it as the output's text/plain
        slider = self.plot["layout"]["sliders"][0]
        return (
            f"SliderFigure({slider['currentvalue']['prefix'].removesuffix(' = ')!r}: "
            f"{len(slider['steps'])} steps, {len(self.plot['data'])} curves)"
        )

    @property
    def figure(self):
        """The figure as a ``plotly.graph_objects.Figure`` (checked by plotly's own validators)."""
        import plotly.graph_objects as go

        return go.Figure(data=self.plot["data"], layout=self.plot["layout"])

    @property
    def element_id(self) -> str:
        """The id of the figure's div: derived from its content, so a rebuild writes the same page."""
        digest = hashlib.sha1(self._json().encode("utf-8")).hexdigest()[:12]
        return f"dlt-slider-{digest}"

    def _json(self) -> str:
        return json.dumps(self.plot, separators=(",", ":"), allow_nan=False)

    def to_html(self) -> str:
        """A div, the figure's JSON and the script that draws it with the page's global ``Plotly``."""
        uid = self.element_id
        height = int(self.plot["layout"]["height"])
        # "</" inside a <script> element would end it early; "<\\/" is the same string in JSON
        payload = self._json().replace("</", "<\\/")
        layout = self.plot["layout"]
        param = layout["sliders"][0]["currentvalue"]["prefix"].removesuffix(" = ")
        label = html.escape(
            f"Interactive figure: {layout['yaxis']['title']['text'] or 'curves'} against "
            f"{layout['xaxis']['title']['text'] or 'x'}, with a slider over {param}",
            quote=True,
        )
        return (
            f'<div class="{CSS_CLASS}" id="{uid}" role="figure" aria-label="{label}" '
            f'style="width:100%;height:{height}px;"></div>\n'
            f'<script type="application/json" id="{uid}-json">{payload}</script>\n'
            f"<script>{_SCRIPT % {'id': uid, 'wait': _WAIT_MS}}</script>"
        )

    def _repr_mimebundle_(self, include=None, exclude=None) -> dict:
        return {"text/html": self.to_html(), PLOTLY_MIME: json.loads(self._json())}


def _rounded(a: np.ndarray, digits: int) -> list:
    """Nested lists of floats rounded to ``digits`` significant digits (short JSON numbers)."""
    flat = [float(f"{v:.{digits}g}") for v in np.asarray(a, dtype=float).ravel()]
    return np.reshape(np.array(flat, dtype=object), a.shape).tolist()


def _axis_range(lo: float, hi: float, log: bool) -> list[float]:
    if log:
        lo, hi = np.log10(lo), np.log10(hi)
    pad = 0.04 * (hi - lo) if hi > lo else 0.5 * max(abs(lo), 1.0)
    return [float(lo - pad), float(hi + pad)]


def _check_labels(name: str, value) -> str:
    if not isinstance(value, str):
        raise ArgumentTypeError(f"{name} must be a string, got {value!r}")
    return value


def slider_figure(
    x,
    curves,
    *,
    param: str,
    values,
    names: Sequence[str] | None = None,
    xlabel: str = "",
    ylabel: str = "",
    title: str = "",
    value_format: str = ".3g",
    active: int = 0,
    xlog: bool = False,
    ylog: bool = False,
    height: int = 460,
    digits: int = 4,
) -> SliderFigure:
    """Curves ``y(x)`` that change with one parameter, drawn with a slider over its values.

    Args:
        x: abscissae shared by every curve, ``(X,)`` finite, at least two.
        curves: the curves at each parameter value, ``(V, X)`` (one curve) or ``(V, C, X)`` (C
            curves, e.g. one per mode), finite; ``V`` = ``len(values)``. Computed beforehand, by the
            theory functions, on the grid ``values``.
        param: the parameter's name, shown beside the slider ("initial strength ε").
        values: the parameter's values, ``(V,)`` finite, at least two: one slider step each.
        names: legend entries of the C curves (default: none, and no legend).
        xlabel, ylabel, title: axis labels and title (plain text; plotly.js does not typeset TeX
            without MathJax 2).
        value_format: Python format string of the values in the slider's labels.
        active: index of the value shown first, ``0 <= active < V``.
        xlog, ylog: logarithmic axes (then ``x`` or every curve must be > 0).
        height: figure height in pixels, >= 200.
        digits: significant digits written for each number (x gets two more), 2 to 15.

    Returns:
        A :class:`SliderFigure`. The axes' ranges cover every step, so moving the slider moves the
        curves, not the axes.
    """
    for name, value in (("xlog", xlog), ("ylog", ylog)):
        if not isinstance(value, bool):
            raise ArgumentTypeError(f"{name} must be True or False, got {value!r}")
    param = _check_labels("param", param)
    if not param.strip():
        raise ValueError("param must name the slider's parameter, got an empty string")
    for name, label in (("xlabel", xlabel), ("ylabel", ylabel), ("title", title)):
        _check_labels(name, label)
    value_format = _check_labels("value_format", value_format)
    x = as_float_array("x", x, ndim=1)
    values = as_float_array("values", values, ndim=1)
    y = as_float_array("curves", curves)
    if x.size < 2:
        raise ValueError(f"x must hold at least two points, got {x.size}")
    if values.size < 2:
        raise ValueError(f"values must hold at least two parameter values, got {values.size}")
    if y.ndim == 2:
        y = y[:, None, :]
    if y.ndim != 3 or y.shape[0] != values.size or y.shape[2] != x.size:
        raise ValueError(
            f"curves must have shape (len(values), len(x)) = ({values.size}, {x.size}) or "
            f"(len(values), n_curves, len(x)), got {np.shape(curves)}"
        )
    n_curves = y.shape[1]
    if names is not None:
        if isinstance(names, str) or len(names) != n_curves:
            raise ValueError(f"names must be a sequence of {n_curves} strings, got {names!r}")
        names = [_check_labels("names", n) for n in names]
    active = check_int("active", active, minimum=0)
    if active >= values.size:
        raise ValueError(f"active must be an index into values (< {values.size}), got {active}")
    height = check_int("height", height, minimum=200)
    digits = check_int("digits", digits, minimum=2)
    if digits > 15:
        raise ValueError(f"digits must be at most 15, got {digits}")
    if xlog and np.any(x <= 0):
        raise ValueError("x must be > 0 on a logarithmic axis (xlog=True)")
    if ylog and np.any(y <= 0):
        raise ValueError("curves must be > 0 on a logarithmic axis (ylog=True)")
    try:
        labels = [format(float(v), value_format) for v in values]
    except ValueError:
        raise ValueError(
            f"value_format must be a format string for floats, got {value_format!r}"
        ) from None

    xs, ys = _rounded(x, digits + 2), _rounded(y, digits)
    data = [
        {
            "type": "scatter",
            "mode": "lines",
            "x": xs,
            "y": ys[active][c],
            "line": {"width": 2.5},
            **({"name": names[c]} if names else {}),
        }
        for c in range(n_curves)
    ]
    steps = [
        {
            "label": labels[k],
            "method": "restyle",
            "args": [{"y": ys[k]}, list(range(n_curves))],
        }
        for k in range(values.size)
    ]
    axis = dict(showline=True, linecolor="#444", ticks="outside", mirror=True, zeroline=False)
    layout = {
        "title": {"text": title},
        "height": height,
        "margin": {"l": 70, "r": 20, "t": 50 if title else 20, "b": 10},
        "xaxis": {
            **axis,
            "title": {"text": xlabel},
            "type": "log" if xlog else "linear",
            "range": _axis_range(float(x.min()), float(x.max()), xlog),
        },
        "yaxis": {
            **axis,
            "title": {"text": ylabel},
            "type": "log" if ylog else "linear",
            "range": _axis_range(float(y.min()), float(y.max()), ylog),
        },
        "showlegend": bool(names),
        "legend": {"x": 1.0, "xanchor": "right", "y": 1.0, "bgcolor": "rgba(255,255,255,0.7)"},
        "sliders": [
            {
                "active": active,
                "currentvalue": {"prefix": f"{param} = "},
                "pad": {"t": 50},
                "steps": steps,
            }
        ],
    }
    config = {"responsive": True, "displaylogo": False}
    return SliderFigure(plot={"data": data, "layout": layout, "config": config})
