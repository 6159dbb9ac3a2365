"""Fixtures for the real-browser tests of the built site.

Run after ``make book`` has built ``_build/html``::

    .venv/bin/pytest tests/site -q

The site is served by Python's ``http.server`` on 127.0.0.1 and a free port; one headless Chromium
(Debian's, driven by Playwright) serves the whole session, with a fresh context per test. Every
request is routed: only the local server (and ``data:``/``blob:`` URLs) may be reached, everything
else is aborted and recorded, so a page that needs the internet fails its test.

Environment:

* ``DLTHEORY_SITE_DIR``: the built site (default ``<repo>/_build/html``).
* ``DLTHEORY_CHROMIUM``: the Chromium executable (default ``/usr/bin/chromium``).
"""

from __future__ import annotations

import functools
import os
import re
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from playwright.sync_api import Browser, ConsoleMessage, Page, Response, Route, sync_playwright

REPO = Path(__file__).resolve().parents[2]
SITE_DIR = Path(os.environ.get("DLTHEORY_SITE_DIR", REPO / "_build" / "html")).resolve()
CHROMIUM = os.environ.get("DLTHEORY_CHROMIUM", "/usr/bin/chromium")
SCREENSHOT_DIR = REPO / "_build" / "screenshots"
VIEWPORT = {"width": 1280, "height": 900}
SETTLE_TIMEOUT_S = 60  # a loaded 2-core machine takes 6-10 s to load a slider page, alone under 6
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-default-apps",
    "--disable-extensions",
]
CHAPTER_RE = re.compile(r"^\d\d_")
NOT_BUILT = "<site not built>"  # the parameter used when there is no site to discover pages from

# Resolves once MathJax (if the page loaded it) has typeset the page; at once otherwise. When the
# MathJax script could not load, window.MathJax is just the configuration object, with no startup.
MATHJAX_READY = """() => {
    const mj = window.MathJax;
    return mj && mj.startup && mj.startup.promise ? mj.startup.promise.then(() => true) : true;
}"""


# --------------------------------------------------------------------------- page discovery


def book_pages() -> list[str]:
    """Names (stems) of the book's pages, ``<site>/book/*.html``, in order."""
    return sorted(p.stem for p in (SITE_DIR / "book").glob("*.html"))


def chapter_pages() -> list[str]:
    """Names of the chapter pages, ``<site>/book/NN_*.html``."""
    return [name for name in book_pages() if CHAPTER_RE.match(name)]


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    # Without a built site there is nothing to discover: one placeholder parameter lets the
    # `site` fixture fail with its "run `make book` first" message instead of silently skipping.
    if "page_name" in metafunc.fixturenames:
        metafunc.parametrize("page_name", book_pages() or [NOT_BUILT])
    if "chapter_name" in metafunc.fixturenames:
        metafunc.parametrize("chapter_name", chapter_pages() or [NOT_BUILT])


# --------------------------------------------------------------------------- the local server


class _QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


@dataclass(frozen=True)
class Site:
    root: Path
    base_url: str  # "http://127.0.0.1:<port>/"

    def url(self, relative: str) -> str:
        return self.base_url + relative.lstrip("/")

    def book_pages(self) -> list[str]:
        return book_pages()

    def chapter_pages(self) -> list[str]:
        return chapter_pages()

    def relative(self, url: str) -> str:
        """``url`` relative to the site root (for messages), or ``url`` itself if external."""
        return url[len(self.base_url) :] if url.startswith(self.base_url) else url


@pytest.fixture(scope="session")
def site() -> Iterator[Site]:
    if not (SITE_DIR / "index.html").is_file():
        pytest.fail(
            f"no built site at {SITE_DIR} (index.html is missing): run `make book` first, "
            "or point DLTHEORY_SITE_DIR at a built Jupyter Book html directory",
            pytrace=False,
        )
    handler = functools.partial(_QuietHandler, directory=str(SITE_DIR))
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, name="site-server", daemon=True)
    thread.start()
    try:
        yield Site(root=SITE_DIR, base_url=f"http://127.0.0.1:{port}/")
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


# --------------------------------------------------------------------------- the browser


@pytest.fixture(scope="session")
def chromium() -> Iterator[Browser]:
    if not (os.path.isfile(CHROMIUM) and os.access(CHROMIUM, os.X_OK)):
        pytest.fail(
            f"no Chromium executable at {CHROMIUM}: install Debian's Chromium "
            "(`apt-get install -y chromium`, as root) or set DLTHEORY_CHROMIUM to a "
            "Chromium/Chrome executable",
            pytrace=False,
        )
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


@dataclass
class Probe:
    """A page in a fresh browser context, with what went wrong while it was used."""

    page: Page
    site: Site
    blocked: list[str] = field(default_factory=list)  # requests to anything but the local site
    console_errors: list[str] = field(default_factory=list)
    page_errors: list[str] = field(default_factory=list)  # uncaught exceptions in the page
    bad_responses: list[str] = field(default_factory=list)  # local responses with status >= 400
    in_flight: dict = field(default_factory=dict)  # request -> url, until it finishes or fails

    def goto(self, relative: str, settle: bool = False) -> Response | None:
        """Open a site page and wait for its load event. With ``settle``, also wait for the
        network to go quiet and for MathJax (if present) to typeset: slower (~0.5 s a page), needed
        to see every request and console message a page makes."""
        response = self.page.goto(self.site.url(relative), wait_until="load")
        if settle:
            self.wait_quiet()
            self.page.evaluate(MATHJAX_READY)
        return response

    def wait_quiet(self, quiet_s: float = 0.5, timeout_s: float = SETTLE_TIMEOUT_S) -> None:
        """Wait until no request has been in flight for ``quiet_s``; on timeout, fail naming the
        requests still open. Playwright's own "networkidle" wait says only that it timed out, and
        a pair of slider pages (4.8 MB of plotly.js beside MathJax) once hit it on a loaded
        machine with no way to tell what was pending."""
        start = quiet_since = time.monotonic()
        while time.monotonic() - start < timeout_s:
            self.page.wait_for_timeout(100)  # lets Playwright deliver the request events
            now = time.monotonic()
            if self.in_flight:
                quiet_since = now
            elif now - quiet_since >= quiet_s:
                return
        pending = sorted(self.site.relative(url) for url in self.in_flight.values())
        listed = "".join(f"\n  {url}" for url in pending)
        pytest.fail(f"requests still open after {timeout_s:g} s:{listed}", pytrace=False)


@pytest.fixture
def probe(site: Site, chromium: Browser) -> Iterator[Probe]:
    context = chromium.new_context(
        viewport=VIEWPORT,
        color_scheme="light",
        service_workers="block",  # so that every request goes through the route below
    )
    context.set_default_timeout(15_000)
    context.set_default_navigation_timeout(30_000)
    page = context.new_page()
    probe = Probe(page=page, site=site)

    def route(route: Route) -> None:
        url = route.request.url
        if url.startswith(site.base_url) or url.startswith(("data:", "blob:")):
            route.continue_()
        else:
            probe.blocked.append(url)
            route.abort("blockedbyclient")

    def on_console(msg: ConsoleMessage) -> None:
        if msg.type == "error":
            loc = msg.location or {}
            where = (
                f" (at {site.relative(loc['url'])}:{loc.get('lineNumber')})"
                if loc.get("url")
                else ""
            )
            probe.console_errors.append(f"{msg.text}{where}")

    def on_response(response: Response) -> None:
        if response.status >= 400:
            probe.bad_responses.append(f"HTTP {response.status} {site.relative(response.url)}")

    context.route("**/*", route)
    page.on("console", on_console)
    page.on("pageerror", lambda err: probe.page_errors.append(str(err)))
    page.on("response", on_response)
    page.on("request", lambda request: probe.in_flight.__setitem__(request, request.url))
    page.on("requestfinished", lambda request: probe.in_flight.pop(request, None))
    page.on("requestfailed", lambda request: probe.in_flight.pop(request, None))
    try:
        yield probe
    finally:
        context.close()


@pytest.fixture(scope="session")
def screenshot_dir() -> Path:
    SCREENSHOT_DIR.mkdir(parents=True, exist_ok=True)
    return SCREENSHOT_DIR
