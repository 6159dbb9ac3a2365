"""Sphinx extension: what a reader of the built site needs without a network.

* MathJax is served from the site itself (``_static/mathjax``), copied from the MathJax 3 build that
  the ``django-static-mathjax`` wheel ships, instead of being fetched from a CDN by every reader.
* Inline scripts registered twice (sphinx-thebe's configuration, ``const THEBE_JS_URL = ...``, is
  added once per read phase) are written once: the second copy is a JavaScript error on every page.
* Every chapter (a MyST notebook) can be downloaded as ``.ipynb`` (``_sources/<page>.ipynb``, offered
  by sphinx-book-theme's download button next to the ``.md`` source) that runs in any Jupyter:
  :func:`download_notebook` writes its prose as plain Markdown (``dltheory.grading_markdown``, as for
  the student notebooks; glued numbers from this build), leaves no outputs, sets the parameters cell
  to the quick ``ci`` scale, and starts with a cell that installs the library from the repository
  (``repository: url:`` in ``_config.yml``) when it is missing and sends the chapter's record to a
  temporary folder.
* A build whose repository URL is still the placeholder says so: the repository and launch buttons
  and the downloads' install cell would point at it.
* The slider figures of :mod:`dltheory.interactive` draw with the global ``Plotly``: the site serves
  the ``plotly.min.js`` that the installed plotly package ships (``_static/plotly.min.js``, copied at
  the end of the build) and loads it, deferred, on the pages that hold such a figure, and only there
  (it is some megabytes; the browser caches it across pages).
"""

from __future__ import annotations

import ast
import json
import re
import shutil
from importlib.util import find_spec
from pathlib import Path

MATHJAX_ENTRY = "tex-mml-chtml.js"  # the bundle Sphinx would otherwise load from the CDN
PLACEHOLDER_URL = (
    "https://github.com/dltheory/dltheory-book"  # _config.yml until a copy is published
)
DOWNLOAD_SCALE = "ci"

_SETUP_NOTE = """\
*Downloaded from the book.* This notebook runs in any Jupyter with Python 3.11: the first cell \
installs the book's library from its repository if it is missing, and writes the chapter's \
reproduction record to a temporary folder (set `DLTHEORY_RESULTS_DIR` to keep it). It runs at the \
quick `ci` scale; set `scale = "book"` in the parameters cell for the sizes of the book's pages \
(minutes), whose numbers the text quotes, so numbers at `ci` differ a little."""

_SETUP_CODE = """\
import os
import tempfile

try:
    import dltheory  # noqa: F401
except ImportError:  # outside the book's environment: install the library from its repository
    %pip install --quiet "dltheory @ git+{url}"
os.environ.setdefault("DLTHEORY_RESULTS_DIR", tempfile.mkdtemp(prefix="dltheory-"))"""

_SCALE_LINE = re.compile(r"^scale\s*=.*$", re.M)

PLOTLY_JS = "plotly.min.js"  # in the plotly package's package_data, and in the site's _static
SLIDER_MARK = 'class="dlt-slider-figure"'  # dltheory.interactive.CSS_CLASS, as written in the html


def _mathjax_dir() -> Path | None:
    found = find_spec("mathjax")
    if found is None or not found.submodule_search_locations:
        return None
    es5 = Path(next(iter(found.submodule_search_locations))) / "static" / "mathjax" / "es5"
    return es5 if (es5 / MATHJAX_ENTRY).is_file() else None


def _use_local_mathjax(app, config) -> None:
    if _mathjax_dir() is None:
        from sphinx.util import logging

        logging.getLogger(__name__).warning(
            "django-static-mathjax is not installed; the site will load MathJax from a CDN"
        )
        return
    config.mathjax_path = f"mathjax/{MATHJAX_ENTRY}"  # relative to _static


def _copy_mathjax(app, exception) -> None:
    src = _mathjax_dir()
    if exception is not None or src is None or app.builder.format != "html":
        return
    shutil.copytree(src, Path(app.outdir) / "_static" / "mathjax", dirs_exist_ok=True)


def _plotly_js() -> Path | None:
    found = find_spec("plotly")
    if found is None or not found.submodule_search_locations:
        return None
    path = Path(next(iter(found.submodule_search_locations))) / "package_data" / PLOTLY_JS
    return path if path.is_file() else None


def _load_plotly(app, pagename, templatename, context, doctree) -> None:
    """Add plotly.js (deferred) to a page that holds a slider figure."""
    if app.builder.format != "html" or SLIDER_MARK not in (context.get("body") or ""):
        return
    if _plotly_js() is None:
        from sphinx.util import logging

        logging.getLogger(__name__).warning(
            f"{pagename} has an interactive figure but plotly is not installed: it will not draw"
        )
        return
    app.add_js_file(PLOTLY_JS, loading_method="defer")  # this page only (html-page-context)


def _copy_plotly(app, exception) -> None:
    src = _plotly_js()
    if exception is not None or src is None or app.builder.format != "html":
        return
    dest = Path(app.outdir) / "_static" / PLOTLY_JS
    dest.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(src, dest)


def _is_notebook(app, docname: str) -> bool:
    path = Path(app.srcdir) / f"{docname}.md"
    if not path.is_file():
        return False
    head = path.read_text(encoding="utf-8")[:2000]
    return head.startswith("---") and "kernelspec:" in head.split("\n---", 1)[0]


def glued_values(path: str | Path) -> dict:
    """name -> value of a myst-nb ``<page>.glue.json`` (the numbers a chapter's build glued)."""
    out = {}
    path = Path(path)
    if not path.is_file():
        return out
    for name, output in json.loads(path.read_text(encoding="utf-8")).items():
        text = output.get("data", {}).get("text/plain")
        if text is None:
            continue
        try:
            out[name] = ast.literal_eval(text)  # dltheory.glue stores Python scalars: their repr
        except (ValueError, SyntaxError):
            out[name] = text
    return out


def download_notebook(source: str | Path, *, repository_url: str, glued: dict | None = None):
    """The chapter ``source`` (a MyST notebook) as a plain Jupyter notebook that runs anywhere.

    Markdown cells become plain Markdown (``glued``: name -> value fills in the numbers; a missing
    one shows as its name in code font), code cells lose any output, the parameters cell sets
    ``scale = "ci"``, and a first cell installs the library from ``repository_url`` when it is
    missing and points ``DLTHEORY_RESULTS_DIR`` at a temporary folder unless it is set. A page
    without a parameters cell setting ``scale`` (a reference page) gets only the first two changes.
    """
    import jupytext
    from nbformat.v4 import new_code_cell, new_markdown_cell

    from dltheory import grading_markdown as gm

    source = Path(source)
    text = source.read_text(encoding="utf-8")
    bib = source.parent / "references.bib"
    context = {
        "glued": dict(glued or {}),
        "bib": gm.bibliography(bib) if bib.is_file() else {},
        "equations": gm.equation_numbers(text),
        "theorems": gm.theorem_titles(source.parent),
    }
    nb = jupytext.reads(text, fmt="md:myst")
    cells, scaled = [], False
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            cell.source = re.sub(r"\n{3,}", "\n\n", gm.plain(cell.source, **context)).strip()
            if not cell.source:
                continue
        elif cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
            if "parameters" in cell.metadata.get("tags", []) and _SCALE_LINE.search(cell.source):
                cell.source = _SCALE_LINE.sub(
                    f'scale = "{DOWNLOAD_SCALE}"  # the quick scale; "book" for the pages\' sizes',
                    cell.source,
                )
                scaled = True
        cells.append(cell)
    if scaled:  # a chapter; a reference page (no parameters) reads the book's own build folder
        url = repository_url.rstrip("/")
        cells = [new_markdown_cell(_SETUP_NOTE), new_code_cell(_SETUP_CODE.format(url=url)), *cells]
    nb.cells = cells
    gm.plain_python_metadata(nb)
    return nb


def _repository_url(config) -> str:
    return (getattr(config, "html_theme_options", None) or {}).get("repository_url") or ""


def _warn_placeholder(app, config) -> None:
    url = _repository_url(config)
    if url.rstrip("/") in ("", PLACEHOLDER_URL):
        from sphinx.util import logging

        # info, not warning: make book turns warnings into errors, and a local build is fine
        logging.getLogger(__name__).info(
            f"NOTE: _config.yml repository: url: is still the placeholder {PLACEHOLDER_URL!r}; the "
            "repository and Binder buttons and the install cell of every downloadable notebook "
            "point there. Set it to your copy of the repository before publishing (README).",
            color="red",
        )


def _offer_ipynb(app, pagename, templatename, context, doctree) -> None:
    """Write the page's notebook next to its source and tell the theme's download button."""
    if app.builder.format != "html" or doctree is None or not _is_notebook(app, pagename):
        return
    import nbformat

    # myst-nb writes the numbers each executed page glued next to its executed notebook
    glue_json = Path(app.outdir).parent / "jupyter_execute" / f"{pagename}.glue.json"
    nb = download_notebook(
        Path(app.srcdir) / f"{pagename}.md",
        repository_url=_repository_url(app.config) or PLACEHOLDER_URL,
        glued=glued_values(glue_json),
    )
    # Written again at build-finished: Sphinx copies the executed notebook to the same path after
    # this event, which would replace the plain download with outputs and MyST roles.
    _DOWNLOADS[pagename] = nb
    out = Path(app.outdir) / "_sources" / f"{pagename}.ipynb"
    out.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, out)
    context["ipynb_source"] = f"{pagename}.ipynb"


_DOWNLOADS: dict = {}


def _write_downloads(app, exception) -> None:
    if exception is not None or app.builder.format != "html":
        return
    import nbformat

    for pagename, nb in _DOWNLOADS.items():
        nbformat.write(nb, Path(app.outdir) / "_sources" / f"{pagename}.ipynb")


def _dedupe_scripts(app, pagename, templatename, context, doctree) -> None:
    seen, unique = set(), []
    for js in context.get("script_files", []):
        attrs = getattr(js, "attributes", {}) or {}
        key = (
            getattr(js, "filename", str(js)) or "",  # the same inline script comes as None and ""
            tuple(sorted((k, str(v)) for k, v in attrs.items())),
        )
        if key not in seen:
            seen.add(key)
            unique.append(js)
    context["script_files"][:] = unique


def setup(app):
    app.connect("html-page-context", _dedupe_scripts, priority=900)  # after every other handler
    app.connect("config-inited", _use_local_mathjax)
    app.connect("config-inited", _warn_placeholder)
    # before sphinx-book-theme builds its header buttons (priority 501)
    app.connect("html-page-context", _offer_ipynb, priority=400)
    app.connect("html-page-context", _load_plotly)
    app.connect("build-finished", _copy_mathjax)
    app.connect("build-finished", _copy_plotly)
    app.connect("build-finished", _write_downloads)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
