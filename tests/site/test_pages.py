"""Real-browser tests of how the chapter pages read: every figure is numbered, captioned and
described in words, nothing is wider than the page on a phone or a desktop, and the text has no
leftover word "spec".

Run after ``make book`` (fixtures in conftest.py)::

    .venv/bin/pytest tests/site/test_pages.py -q
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:  # the fixtures' types; conftest is not imported at run time
    from conftest import Probe

ARTICLE = "article.bd-article"  # the page's main content (sphinx-book-theme / pydata theme)
FIGURES = f"{ARTICLE} img:not(.logo__image)"
# alt text that only names a file: a hash, a path, or an image file name
FILENAME_ALT = re.compile(r"^[\w./-]*\.(png|jpe?g|svg|gif|webp)$|^[0-9a-f]{16,}$", re.IGNORECASE)
MIN_ALT_WORDS = 5

READ_IMAGES = """els => els.map(img => {
    const figure = img.closest('figure');
    const caption = figure ? figure.querySelector('figcaption') : null;
    return {
        src: img.getAttribute('src') || '',
        alt: (img.getAttribute('alt') || '').trim(),
        // textContent, not innerText: a figure in a collapsed solution is not rendered
        caption: caption ? caption.textContent.replace(/\\s+/g, ' ').trim() : null,
        figureId: figure ? figure.id : '',
    };
})"""

# Resolves once MathJax (if the page loaded it) has typeset the page (as conftest.MATHJAX_READY;
# no wait for the network to go idle, which a busy machine can make slow).
MATHJAX_TYPESET = """() => {
    const mj = window.MathJax;
    return mj && mj.startup && mj.startup.promise ? mj.startup.promise.then(() => true) : true;
}"""

# Elements of the article that stick out of the viewport, unless a box that scrolls sideways
# keeps them inside the page; plus how far the whole page scrolls sideways. A box that only cuts
# them off (overflow hidden) does not count: the reader loses what is cut. Not shown, so not
# counted: MathJax's copy of each formula for screen readers (mjx-assistive-mml, clipped to
# nothing) and the content of a collapsed dropdown (visibility hidden).
WIDER_THAN_PAGE = """article => {
    const width = window.innerWidth, out = [];
    const inside = r => r.left >= -1 && r.right <= width + 1;
    const contained = el => {
        for (let a = el; a && a !== document.body; a = a.parentElement) {
            const style = getComputedStyle(a);
            if (style.clip && style.clip !== 'auto') return true;
            if (a === el) continue;
            if (['auto', 'scroll'].includes(style.overflowX)) return inside(a.getBoundingClientRect());
        }
        return false;
    };
    for (const el of article.querySelectorAll('*')) {
        const r = el.getBoundingClientRect();
        if (r.width === 0 || r.height === 0 || inside(r)) continue;
        if (getComputedStyle(el).visibility !== 'visible' || contained(el)) continue;
        const cls = typeof el.className === 'string' && el.className ? '.' + el.className.trim().split(/\\s+/).join('.') : '';
        out.push(`<${el.tagName.toLowerCase()}${cls}> from ${r.left.toFixed(0)} to ${r.right.toFixed(0)} px`);
        if (out.length >= 20) break;
    }
    const scroll = document.documentElement.scrollWidth - width;
    if (scroll > 1) out.push(`the page scrolls sideways by ${scroll} px`);
    return out;
}"""


def _list(items: list[str], limit: int = 20) -> str:
    shown = "\n  ".join(items[:limit])
    more = f"\n  ... and {len(items) - limit} more" if len(items) > limit else ""
    return f"\n  {shown}{more}"


def test_every_figure_is_numbered_captioned_and_described(probe: Probe, chapter_name: str) -> None:
    rel = f"book/{chapter_name}.html"
    probe.goto(rel)
    images = probe.page.locator(FIGURES).evaluate_all(READ_IMAGES)
    assert images, f"{rel}: no figure (`{FIGURES}`) in the chapter's content"
    problems = []
    for i, img in enumerate(images):
        where = f"image #{i} ({img['src'].rsplit('/', 1)[-1]})"
        if img["caption"] is None:
            problems.append(f"{where}: not inside a <figure> with a <figcaption>")
        elif not re.match(r"Fig\. \d+\b", img["caption"]):
            problems.append(f"{where}: caption is not numbered ('Fig. N'): {img['caption'][:60]!r}")
        elif len(img["caption"].split()) < 6:
            problems.append(f"{where}: caption says almost nothing: {img['caption']!r}")
        if not img["figureId"] and img["caption"] is not None:
            problems.append(f"{where}: the figure has no id, so prose cannot refer to it")
        alt = img["alt"]
        if not alt:
            problems.append(f"{where}: no alt text")
        elif FILENAME_ALT.match(alt) or len(alt.split()) < MIN_ALT_WORDS:
            problems.append(f"{where}: alt text does not describe the figure: {alt!r}")
    assert not problems, f"{rel}: {len(images)} figures:{_list(problems)}"


@pytest.mark.parametrize("width", [390, 1400])
def test_nothing_is_wider_than_the_page(probe: Probe, chapter_name: str, width: int) -> None:
    rel = f"book/{chapter_name}.html"
    probe.page.set_viewport_size({"width": width, "height": 900})
    probe.goto(rel)
    probe.page.evaluate(MATHJAX_TYPESET)  # typeset math has its final width
    wide = probe.page.locator(ARTICLE).evaluate(WIDER_THAN_PAGE)
    assert not wide, f"{rel} at {width} px, wider than the page:{_list(wide)}"


def test_text_has_no_word_spec(probe: Probe, chapter_name: str) -> None:
    rel = f"book/{chapter_name}.html"
    probe.goto(rel)
    text = probe.page.locator("body").inner_text()
    hits = [
        text[max(0, m.start() - 40) : m.end() + 40].replace("\n", " ")
        for m in re.finditer(r"\bspecs?\b", text, re.IGNORECASE)
    ]
    assert not hits, f"{rel}: the visible text says 'spec':{_list(hits)}"


def test_claims_show_as_table_rows_not_reprs(probe: Probe, chapter_name: str) -> None:
    """A claim cell's output is the claim's row (dltheory.record), never ``Claim(id=...)``, and
    the chapter's record ends as a table of its claims."""
    rel = f"book/{chapter_name}.html"
    probe.goto(rel)
    article = probe.page.locator(ARTICLE)
    text = article.inner_text()
    reprs = [text[m.start() : m.start() + 60] for m in re.finditer(r"Claim\(id=", text)]
    assert not reprs, f"{rel}: raw claim reprs on the page:{_list(reprs)}"
    headers = article.locator("table.dltheory-claims-table").evaluate_all(
        "ts => ts.map(t => [...t.querySelectorAll('th')].map(c => c.textContent.trim()).join(','))"
    )
    summary = "statement,prediction,measurement,tolerance,verdict"
    assert summary in headers, f"{rel}: no table of the record's claims ({summary})"
