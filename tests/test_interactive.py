"""Slider figures of precomputed theory curves (dltheory.interactive) and how the site serves them."""

from __future__ import annotations

import importlib.util
import json
import re
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from dltheory.interactive import CSS_CLASS, PLOTLY_MIME, SliderFigure, slider_figure
from dltheory.theory.mode_dynamics import predicted_mode_strength

ROOT = Path(__file__).resolve().parents[1]
TAU = 1000.0
S_HAT = np.array([6.0, 4.0, 2.0])
EPS = np.logspace(-8, -1, 8)
T = np.linspace(0.0, 6 * TAU, 121)


def _theory() -> np.ndarray:
    """(eps, mode, time): the closed form s(t)/s_hat the figure must show at each slider step."""
    return np.array(
        [[predicted_mode_strength(T, s, eps=e, tau=TAU) / s for s in S_HAT] for e in EPS]
    )


@pytest.fixture(scope="module")
def figure() -> SliderFigure:
    return slider_figure(
        T / TAU,
        _theory(),
        param="initial strength ε",
        values=EPS,
        value_format=".0e",
        active=5,
        names=[f"mode {b + 1}" for b in range(S_HAT.size)],
        xlabel="t/τ",
        ylabel="s/ŝ",
        title="modes",
    )


def test_one_slider_step_per_value_each_showing_the_theory(figure):
    theory = _theory()
    (slider,) = figure.plot["layout"]["sliders"]
    steps = slider["steps"]
    assert len(steps) == EPS.size
    assert [s["label"] for s in steps] == [format(e, ".0e") for e in EPS]
    for k, step in enumerate(steps):
        assert step["method"] == "restyle"
        update, traces = step["args"]
        assert traces == list(range(S_HAT.size))
        # written to 4 significant digits
        np.testing.assert_allclose(np.array(update["y"]), theory[k], rtol=1e-3, atol=1e-12)
    assert slider["active"] == 5
    np.testing.assert_allclose([tr["y"] for tr in figure.plot["data"]], theory[5], rtol=1e-3)
    np.testing.assert_allclose(figure.plot["data"][0]["x"], T / TAU, rtol=1e-5)
    # the steps differ: a slider that changes nothing would pass the checks above with EPS of one value
    assert not np.allclose(steps[0]["args"][0]["y"], steps[-1]["args"][0]["y"])


def test_axes_hold_every_step(figure):
    lo, hi = figure.plot["layout"]["yaxis"]["range"]
    assert lo < _theory().min() and hi > _theory().max()
    assert figure.plot["layout"]["yaxis"]["type"] == "linear"


def test_plotly_accepts_the_figure(figure):
    fig = figure.figure  # plotly's validators reject any unknown property or bad value
    assert len(fig.data) == S_HAT.size
    assert len(fig.layout.sliders[0].steps) == EPS.size


def test_html_draws_with_the_page_plotly_and_fetches_nothing(figure):
    html = figure.to_html()
    assert f'class="{CSS_CLASS}"' in html
    assert "window.Plotly.newPlot" in html
    assert not re.search(r"https?://|//cdn|cdn\.plot\.ly|<script[^>]+src=", html)
    assert "plotly.js v" not in html and len(html) < 100_000  # not the library, only the figure
    payload = re.search(r'<script type="application/json" id="[^"]+">(.*?)</script>', html, re.S)
    assert json.loads(payload.group(1)) == json.loads(json.dumps(figure.plot))
    assert figure.element_id in html
    assert html == figure.to_html()  # the same page on every build


def test_closing_tag_in_a_label_cannot_end_the_script():
    fig = slider_figure([0, 1], [[0, 1], [1, 0]], param="</script><b>", values=[1, 2])
    payload = fig.to_html().split('-json">', 1)[1].split("</script>", 1)[0]
    assert "</" not in payload
    assert json.loads(payload)["layout"]["sliders"][0]["currentvalue"]["prefix"].startswith("</")


def test_mimebundle_has_html_and_the_plotly_json(figure):
    bundle = figure._repr_mimebundle_()
    assert set(bundle) == {"text/html", PLOTLY_MIME}
    assert bundle[PLOTLY_MIME]["data"] == figure.plot["data"]
    assert bundle[PLOTLY_MIME]["layout"]["sliders"] == figure.plot["layout"]["sliders"]


def test_one_curve_and_log_axes():
    x = np.geomspace(0.5, 10, 30)
    values = np.array([0.1, 0.5, 1.0])
    fig = slider_figure(x, values[:, None] / x, param="A", values=values, xlog=True, ylog=True)
    assert len(fig.plot["data"]) == 1 and not fig.plot["layout"]["showlegend"]
    lo, hi = fig.plot["layout"]["yaxis"]["range"]  # log10 units on a log axis
    assert lo < np.log10(0.01) and hi > np.log10(2.0)
    with pytest.raises(ValueError, match="curves"):
        slider_figure(x, -values[:, None] / x, param="A", values=values, ylog=True)


def _assets():
    found = importlib.util.spec_from_file_location("book_assets", ROOT / "book/_ext/book_assets.py")
    module = importlib.util.module_from_spec(found)
    found.loader.exec_module(module)
    return module


def test_site_loads_the_packaged_plotly_only_where_a_figure_is(figure, tmp_path):
    assets = _assets()
    assert assets.SLIDER_MARK == f'class="{CSS_CLASS}"'
    src = assets._plotly_js()
    assert src is not None and src.stat().st_size > 1_000_000  # plotly.js itself, shipped by plotly
    added = []
    app = SimpleNamespace(
        builder=SimpleNamespace(format="html"),
        add_js_file=lambda name, **kw: added.append((name, kw)),
        outdir=str(tmp_path),
    )
    assets._load_plotly(app, "book/x", "page.html", {"body": "<p>no figure</p>"}, None)
    assert added == []
    assets._load_plotly(app, "book/x", "page.html", {"body": figure.to_html()}, None)
    assert added == [(assets.PLOTLY_JS, {"loading_method": "defer"})]
    assets._copy_plotly(app, None)
    assert (tmp_path / "_static" / assets.PLOTLY_JS).read_bytes() == src.read_bytes()


def test_repr_is_short(figure):
    assert repr(figure) == "SliderFigure('initial strength ε': 8 steps, 3 curves)"
