"""Real-browser test of the slider figures (dltheory.interactive) on chapters 1-4: each draws offline
from the site's own plotly.js, and dragging its slider changes the plotted curves.

Fixtures (local server, Chromium, per-test context that blocks and records external requests) are in
conftest.py.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from conftest import Probe, Site

SLIDER_CHAPTERS = ("01", "02", "03", "04")
FIGURE = "article.bd-article .dlt-slider-figure"
RAIL = ".slider-rail-touch-rect"  # plotly.js's slider: the rail that takes clicks and drags
GRIP = ".slider-grip-rect"

# What the reader sees of the first figure: its traces' data, the slider's position and the drawn
# SVG path of the first line.
STATE = """el => ({
    y: el.data.map(t => Array.from(t.y)),
    active: el.layout.sliders[0].active,
    steps: el.layout.sliders[0].steps.length,
    path: el.querySelector('.scatterlayer .trace path.js-line').getAttribute('d'),
})"""


def _chapter(site: Site, number: str) -> str:
    pages = [p for p in site.chapter_pages() if p.startswith(f"{number}_")]
    if not pages:
        pytest.fail(f"no chapter {number} in {site.root}/book", pytrace=False)
    return f"book/{pages[0]}.html"


@pytest.mark.parametrize("number", SLIDER_CHAPTERS)
def test_dragging_the_slider_changes_the_curve(probe: Probe, site: Site, number: str) -> None:
    rel = _chapter(site, number)
    probe.goto(rel)
    figures = probe.page.locator(FIGURE)
    assert figures.count() >= 1, f"{rel}: no slider figure (`{FIGURE}`)"
    fig = figures.first
    fig.scroll_into_view_if_needed()
    # drawn: plotly.js (the site's copy, loaded with defer) has run newPlot on the div
    fig.locator(RAIL).wait_for(state="visible")
    before = fig.evaluate(STATE)
    assert before["steps"] >= 2, f"{rel}: the slider has {before['steps']} step(s)"

    # drag the grip to the end of the rail farther from where it starts
    rail, grip = fig.locator(RAIL).bounding_box(), fig.locator(GRIP).bounding_box()
    to_right = before["active"] < before["steps"] / 2
    x_end = rail["x"] + (rail["width"] - 2 if to_right else 2)
    y = grip["y"] + grip["height"] / 2
    mouse = probe.page.mouse
    mouse.move(grip["x"] + grip["width"] / 2, y)
    mouse.down()
    mouse.move(x_end, y, steps=10)
    mouse.up()
    probe.page.wait_for_function(
        "([el, old]) => el.layout.sliders[0].active !== old",
        arg=[fig.element_handle(), before["active"]],
    )
    after = fig.evaluate(STATE)

    assert after["active"] == (before["steps"] - 1 if to_right else 0), (
        f"{rel}: the slider went to step {after['active']}"
    )
    assert after["y"] != before["y"], f"{rel}: moving the slider left the traces' data unchanged"
    assert after["path"] != before["path"], (
        f"{rel}: moving the slider left the drawn line unchanged"
    )
    problems = probe.blocked + probe.bad_responses + probe.page_errors + probe.console_errors
    assert not problems, f"{rel}: {problems}"


def test_plotly_is_served_by_the_site_and_only_where_needed(probe: Probe, site: Site) -> None:
    assert (site.root / "_static" / "plotly.min.js").is_file()
    probe.goto("book/intro.html")
    assert probe.page.evaluate("typeof window.Plotly") == "undefined"
    assert probe.page.locator('script[src*="plotly"]').count() == 0
    probe.goto(_chapter(site, "01"))
    probe.page.wait_for_function("typeof window.Plotly !== 'undefined'")
    srcs = probe.page.locator('script[src*="plotly"]').evaluate_all("els => els.map(e => e.src)")
    assert srcs and all(s.startswith(site.base_url) for s in srcs), srcs
    assert not probe.blocked, probe.blocked
