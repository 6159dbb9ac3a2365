"""Real-browser tests of the built book: pages load offline and clean, figures show, citations
resolve, solutions toggle, search finds chapters, the reproduction report passes, links work.

Fixtures (local server, Chromium, per-test context) are in conftest.py.
"""

from __future__ import annotations

import re
import urllib.error
import urllib.request
from collections import deque
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import unquote, urldefrag, urljoin, urlsplit

import pytest
from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import expect

if TYPE_CHECKING:  # the fixtures' types; conftest is not imported at run time
    from conftest import Probe, Site

EXPECTED_CHAPTERS = ("01", "02", "03", "04", "05", "06", "07")  # chapter numbers the book must have
NAMED_PAGES = (
    "intro",
    "further_reading",
    "references",
    "reproduction",
    "performance",
    "teaching",
)

ARTICLE = "article.bd-article"  # the page's main content (sphinx-book-theme / pydata theme)
FIGURES = f"{ARTICLE} img:not(.logo__image)"
BIB_ENTRIES = 'div.citation[role="doc-biblioentry"]'  # sphinxcontrib-bibtex entries
CITATION_LINKS = f'{ARTICLE} .bibtex-citation a[href], {ARTICLE} a[href*="references.html#"]'
# sphinx-exercise solutions with :class: dropdown, collapsed by sphinx-togglebutton
SOLUTIONS = f"{ARTICLE} div.solution.dropdown"


def _list(items: list[str], limit: int = 20) -> str:
    shown = "\n  ".join(items[:limit])
    more = f"\n  ... and {len(items) - limit} more" if len(items) > limit else ""
    return f"\n  {shown}{more}"


# --------------------------------------------------------------------------- static HTML parsing


@dataclass
class ParsedPage:
    ids: set[str] = field(default_factory=set)
    bib_ids: set[str] = field(default_factory=set)  # ids of bibliography entries
    links: list[str] = field(default_factory=list)  # a[href] and <meta http-equiv=refresh> targets


class _Parser(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.out = ParsedPage()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: (v or "") for k, v in attrs}
        if "id" in a:
            self.out.ids.add(a["id"])
            if "citation" in a.get("class", "").split() or a.get("role") == "doc-biblioentry":
                self.out.bib_ids.add(a["id"])
        if tag == "a" and a.get("href"):
            self.out.links.append(a["href"])
        if tag == "meta" and a.get("http-equiv", "").lower() == "refresh":
            m = re.search(r"url\s*=\s*['\"]?([^'\";]+)", a.get("content", ""), re.IGNORECASE)
            if m:
                self.out.links.append(m.group(1).strip())


def _fetch(url: str) -> tuple[int, str, bytes]:
    """(status, content type, body) of a local URL; status 0 if the server could not be reached."""
    try:
        with urllib.request.urlopen(url, timeout=15) as r:
            return r.status, r.headers.get_content_type(), r.read()
    except urllib.error.HTTPError as e:
        return e.code, "", b""
    except OSError as e:
        return 0, str(e), b""


def _parse(body: bytes) -> ParsedPage:
    parser = _Parser()
    parser.feed(body.decode("utf-8", errors="replace"))
    parser.close()
    return parser.out


@pytest.fixture(scope="session")
def parsed(site: Site):
    """parsed(url) -> ParsedPage of a local HTML page (cached); fails the test if it is not 200."""
    cache: dict[str, ParsedPage] = {}

    def get(url: str) -> ParsedPage:
        url = urldefrag(url).url
        if url not in cache:
            status, _, body = _fetch(url)
            assert status == 200, f"{site.relative(url)} returned HTTP {status}"
            cache[url] = _parse(body)
        return cache[url]

    return get


# --------------------------------------------------------------------------- the page set


def test_site_has_the_expected_pages(site: Site) -> None:
    pages = site.book_pages()
    missing = [f"book/{n}.html" for n in NAMED_PAGES if n not in pages]
    missing += [
        f"book/{num}_*.html"
        for num in EXPECTED_CHAPTERS
        if not any(p.startswith(f"{num}_") for p in pages)
    ]
    assert not missing, f"pages missing from {site.root}:{_list(missing)}"


# --------------------------------------------------------------------------- a + h: clean loads


def test_page_loads_cleanly(probe: Probe, page_name: str, screenshot_dir: Path) -> None:
    """HTTP 200, no console errors, no page errors, nothing fetched from outside; screenshot."""
    rel = f"book/{page_name}.html"
    response = probe.goto(rel, settle=True)
    probe.page.screenshot(path=str(screenshot_dir / f"{page_name}.png"), full_page=True)

    problems = []
    status = response.status if response is not None else None
    if status != 200:
        problems.append(f"HTTP status {status} (expected 200)")
    if probe.blocked:
        problems.append(f"requests to external hosts (blocked):{_list(probe.blocked)}")
    if probe.bad_responses:
        problems.append(f"failed local requests:{_list(probe.bad_responses)}")
    if probe.console_errors:
        problems.append(f"console errors:{_list(probe.console_errors)}")
    if probe.page_errors:
        problems.append(f"uncaught page errors:{_list(probe.page_errors)}")
    assert not problems, f"{rel}:\n" + "\n".join(problems)


# --------------------------------------------------------------------------- b: figures


def test_chapter_figures_render(probe: Probe, chapter_name: str) -> None:
    rel = f"book/{chapter_name}.html"
    probe.goto(rel)
    images = probe.page.locator(FIGURES)
    n = images.count()
    assert n > 0, f"{rel}: no figure (`{FIGURES}`) in the chapter's content"

    broken = []
    for i in range(n):
        img = images.nth(i)
        src = img.get_attribute("src")
        img.scroll_into_view_if_needed()
        # Wait for the image to finish (it may be lazy and only start loading now).
        img.evaluate(
            """el => el.complete ? null : new Promise(done => {
                el.addEventListener('load', done, {once: true});
                el.addEventListener('error', done, {once: true});
            })"""
        )
        natural_width = img.evaluate("el => el.naturalWidth")
        box = img.bounding_box()
        if not natural_width:
            broken.append(f"image #{i} {src}: not loaded (naturalWidth 0)")
        elif box is None or box["width"] <= 0 or box["height"] <= 0:
            broken.append(f"image #{i} {src}: not displayed (bounding box {box})")
    assert not broken, f"{rel}: {len(broken)} of {n} figures do not show:{_list(broken)}"


# --------------------------------------------------------------------------- c: bibliography


def test_references_page_lists_entries(probe: Probe) -> None:
    rel = "book/references.html"
    probe.goto(rel)
    entries = probe.page.locator(f"{ARTICLE} {BIB_ENTRIES}")
    n = entries.count()
    assert n > 0, f"{rel}: no bibliography entries (`{BIB_ENTRIES}`)"
    expect(entries.first, f"{rel}: the first bibliography entry is not visible").to_be_visible()
    texts = entries.evaluate_all("els => els.map(e => [e.id, e.innerText.trim()])")
    empty = [entry_id or "(no id)" for entry_id, text in texts if not entry_id or len(text) < 10]
    assert not empty, f"{rel}: bibliography entries without an id or text:{_list(empty)}"


def test_citations_resolve(probe: Probe, page_name: str, parsed) -> None:
    rel = f"book/{page_name}.html"
    probe.goto(rel)
    links = probe.page.locator(CITATION_LINKS).evaluate_all(
        "els => els.map(a => [a.getAttribute('href'), a.href, a.innerText.trim()])"
    )
    if page_name in probe.site.chapter_pages():
        assert links, f"{rel}: no citation links (`{CITATION_LINKS}`) in a chapter"

    unresolved = []
    for href, absolute, text in sorted(set(map(tuple, links))):
        target, fragment = urldefrag(absolute)
        fragment = unquote(fragment)
        if not fragment:
            unresolved.append(f"[{text}] -> {href}: no fragment naming a bibliography entry")
            continue
        target_page = parsed(target)
        if fragment not in target_page.ids:
            unresolved.append(f"[{text}] -> {href}: no element with id {fragment!r} on the target")
        elif fragment not in target_page.bib_ids:
            unresolved.append(f"[{text}] -> {href}: id {fragment!r} is not a bibliography entry")
    assert not unresolved, f"{rel}: citation links that do not resolve:{_list(unresolved)}"


# --------------------------------------------------------------------------- d: solutions


def test_solution_hidden_until_toggled(probe: Probe) -> None:
    rel = "book/01_svd_dynamics.html"
    probe.goto(rel)
    solutions = probe.page.locator(SOLUTIONS)
    assert solutions.count() > 0, f"{rel}: no solution (`{SOLUTIONS}`)"
    solution = solutions.first
    sol_id = solution.get_attribute("id")
    title = solution.locator(":scope > .admonition-title")
    body = solution.locator(":scope > :not(.admonition-title)")
    button = title.locator("button.toggle-button")
    where = f"{rel}: solution #{sol_id}"

    assert body.count() > 0, f"{where} has no content besides its title"
    expect(button, f"{where}: togglebutton added no toggle button").to_have_count(1)
    expect(title, f"{where}: the title should show while collapsed").to_be_visible()
    solution.scroll_into_view_if_needed()
    for i in range(body.count()):
        expect(body.nth(i), f"{where}: content is visible before the toggle").to_be_hidden()

    button.click()
    expect(button).to_have_attribute("aria-expanded", "true")
    for i in range(body.count()):
        expect(body.nth(i), f"{where}: content still hidden after the toggle").to_be_visible()


# --------------------------------------------------------------------------- e: search


def test_search_finds_chapter_one(probe: Probe) -> None:
    rel = "book/01_svd_dynamics.html"
    probe.goto(rel)
    heading = probe.page.locator(f"{ARTICLE} h1").first.inner_text()
    words = [w.lower() for w in re.findall(r"[^\W\d_]+", heading) if len(w) > 4]
    assert words, f"{rel}: no word longer than 4 letters in the title {heading!r}"
    word = words[0]

    probe.goto(f"search.html?q={word}")
    results = probe.page.locator("#search-results")
    hit = results.locator('a[href*="book/01_svd_dynamics.html"]')
    try:
        hit.first.wait_for(state="visible", timeout=15_000)
    except PlaywrightError:
        text = results.inner_text() if results.count() else "(no #search-results element)"
        pytest.fail(
            f"search.html?q={word}: no result links to {rel}; results read:\n{text[:2000]}",
            pytrace=False,
        )


# --------------------------------------------------------------------------- f: reproduction


READ_TABLES = """els => els.map(t => ({
    headers: [...t.querySelectorAll('thead tr:last-child > *')].map(c => c.textContent.trim()),
    rows: [...t.querySelectorAll('tbody tr[data-chapter]')].map(tr => ({
        chapter: tr.dataset.chapter,
        cells: [...tr.children].map(c => c.innerText.trim()),
        links: [...tr.querySelectorAll('a[href]')].map(a => a.getAttribute('href')),
    })),
}))"""
CLAIM_COLUMNS = ("claim", "predicted", "measured", "tolerance", "verdict")
CHAPTER_COLUMNS = ("chapter", "scale", "claims passed", "run time (s)")


def _report_table(tables: list[dict], columns: tuple[str, ...]) -> dict | None:
    return next((t for t in tables if tuple(t["headers"]) == columns), None)


def test_reproduction_report_passes(probe: Probe) -> None:
    """Every chapter has claim rows, every claim passes and links to its chapter, and each
    chapter's run time is shown once, in the per-chapter table."""
    rel = "book/reproduction.html"
    probe.goto(rel)
    tables = probe.page.locator(f"{ARTICLE} table").evaluate_all(READ_TABLES)
    claims = _report_table(tables, CLAIM_COLUMNS)
    chapters = _report_table(tables, CHAPTER_COLUMNS)
    assert claims and chapters, (
        f"{rel}: expected a claims table {CLAIM_COLUMNS} and a chapters table {CHAPTER_COLUMNS}; "
        f"tables found: {[t['headers'] for t in tables]}"
    )
    rows = claims["rows"]
    assert rows, f"{rel}: the claims table has no rows"

    problems = []
    chapters_in_site = set(probe.site.chapter_pages())
    chapters_in_table = {r["chapter"] for r in rows}
    for num in EXPECTED_CHAPTERS:
        if not any(c.startswith(f"{num}_") for c in chapters_in_table):
            problems.append(f"no claim row for chapter {num}")
    for name in sorted(chapters_in_site - chapters_in_table):
        problems.append(f"no claim row for chapter page {name}")
    verdict = CLAIM_COLUMNS.index("verdict")
    failed = [
        f"{r['chapter']} / {r['cells'][0].splitlines()[0]}"
        for r in rows
        if r["cells"][verdict] != "pass"
    ]
    if failed:
        problems.append(f"claims not passing:{_list(failed)}")
    unlinked = [
        f"{r['chapter']} / {r['cells'][0].splitlines()[0]}"
        for r in rows
        if not any(urlsplit(h).path == f"{r['chapter']}.html" for h in r["links"])
    ]
    if unlinked:
        problems.append(f"claims without a link to their chapter:{_list(unlinked)}")
    if {r["chapter"] for r in chapters["rows"]} != chapters_in_table:
        problems.append(
            f"the chapters table lists {sorted(r['chapter'] for r in chapters['rows'])}, "
            f"the claims table {sorted(chapters_in_table)}"
        )

    summary = probe.page.locator(ARTICLE).inner_text()
    m = re.search(r"(\d+) of (\d+) claims pass", summary)
    if m is None:
        problems.append("no 'N of M claims pass' summary")
    elif not (int(m.group(1)) == int(m.group(2)) == len(rows)):
        problems.append(f"summary says {m.group(0)!r} but the table has {len(rows)} rows")
    assert not problems, f"{rel}:\n" + "\n".join(problems)


TABLES_WIDER_THAN_PAGE = """article => {
    const limit = Math.min(article.getBoundingClientRect().right, window.innerWidth) + 1;
    return [...article.querySelectorAll('table')]
        .map(t => [t.querySelector('th') ? t.querySelector('th').textContent.trim() : '?',
                   t.getBoundingClientRect().right, t.scrollWidth, t.clientWidth])
        .filter(([, right, scroll, client]) => right > limit || scroll > client + 1)
        .map(([head, right, scroll, client]) =>
            `table starting '${head}': right edge ${right.toFixed(0)} px, limit ${limit.toFixed(0)} px`
            + (scroll > client + 1 ? `, content ${scroll} px in ${client} px` : ''));
}"""


@pytest.mark.parametrize("width", [390, 1400])
@pytest.mark.parametrize("name", ["reproduction", "performance"])
def test_report_tables_fit_the_page(probe: Probe, name: str, width: int) -> None:
    rel = f"book/{name}.html"
    probe.page.set_viewport_size({"width": width, "height": 900})
    probe.goto(rel)
    article = probe.page.locator(ARTICLE)
    assert article.locator("table").count(), f"{rel}: no table"
    wide = article.evaluate(TABLES_WIDER_THAN_PAGE)
    overflow = probe.page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    if overflow > 1:
        wide.append(f"the page scrolls sideways by {overflow} px")
    assert not wide, f"{rel} at {width} px:{_list(wide)}"


def test_performance_page_shows_a_benchmark(probe: Probe) -> None:
    """Never empty: a benchmark with its date and machine, every section filled, math typeset."""
    rel = "book/performance.html"
    probe.goto(rel, settle=True)
    article = probe.page.locator(ARTICLE)
    text = article.inner_text()
    problems = []
    m = re.search(r"a (full|quick) run on (\d{4}-\d\d-\d\d[^,]*), on ([^(]+)\((\d+) CPUs", text)
    if m is None:
        problems.append("no 'a full run on DATE, on MACHINE (N CPUs' line")
    if "Not measured" in text or "Filled in by" in text or "No benchmark results" in text:
        problems.append("a section says the benchmark did not measure it")
    if article.locator("table").count() < 4:
        problems.append(f"{article.locator('table').count()} tables, expected at least 4")
    if article.locator("img").count() < 1:
        problems.append("no figure (cost against problem size)")
    if not article.locator("mjx-container").count():
        problems.append("no typeset math")
    raw = re.findall(r"\$[^$\n]{1,40}\$", text)
    if raw:
        problems.append(f"math left as text: {raw[:5]}")
    assert not problems, f"{rel}:\n" + "\n".join(problems)


# --------------------------------------------------------------------------- g: internal links


def test_no_broken_internal_links(site: Site) -> None:
    """Crawl from index.html over same-origin links: targets return 200, fragments exist."""
    start = site.url("index.html")
    pages: dict[str, ParsedPage | None] = {}  # URL (no fragment) -> parsed HTML (None: not HTML)
    status: dict[str, int] = {}
    links: list[tuple[str, str, str]] = []  # (source page, href as written, absolute URL)
    queue = deque([start])

    def visit(url: str) -> None:
        code, ctype, body = _fetch(url)
        status[url] = code
        is_html = code == 200 and ctype == "text/html" and "/_sources/" not in url
        pages[url] = _parse(body) if is_html else None
        if is_html:
            for href in pages[url].links:
                absolute = urljoin(url, href)
                if urlsplit(absolute).scheme not in ("http", "https"):
                    continue  # mailto:, javascript:, data:, ...
                if not absolute.startswith(site.base_url):
                    continue  # external: not checked here (no network in tests)
                links.append((url, href, absolute))
                target = urldefrag(absolute).url
                if target not in status and target not in queue:
                    queue.append(target)

    while queue:
        visit(queue.popleft())

    broken = []
    for source, href, absolute in links:
        target, fragment = urldefrag(absolute)
        where = f"{site.relative(source)}: {href}"
        if status[target] != 200:
            broken.append(f"{where} -> HTTP {status[target]}")
            continue
        fragment = unquote(fragment)
        parsed_target = pages[target]
        if fragment and parsed_target is not None and fragment not in parsed_target.ids:
            broken.append(f"{where} -> no element with id {fragment!r} on {site.relative(target)}")
    n_pages = sum(p is not None for p in pages.values())
    assert n_pages > 1, f"the crawl from index.html reached only {n_pages} page(s)"
    broken = sorted(set(broken))
    assert not broken, (
        f"{len(broken)} broken internal links (crawled {n_pages} pages, {len(status)} URLs):"
        f"{_list(broken, limit=40)}"
    )
