"""Sphinx extension: what a reader of the built site needs without a network.

* MathJax is served from the site itself (``_static/mathjax``), copied from the MathJax 3 build that
  the ``django-static-mathjax`` wheel ships, instead of being fetched from a CDN by every reader.
* Inline scripts registered twice (sphinx-thebe's configuration, ``const THEBE_JS_URL = ...``, is
  added once per read phase) are written once: the second copy is a JavaScript error on every page.
* Every chapter (a MyST notebook) can be downloaded as ``.ipynb``: the source is converted with
  jupytext into ``_sources/<page>.ipynb`` and offered by sphinx-book-theme's download button
  next to the ``.md`` source.
"""

from __future__ import annotations

import shutil
from importlib.util import find_spec
from pathlib import Path

MATHJAX_ENTRY = "tex-mml-chtml.js"  # the bundle Sphinx would otherwise load from the CDN


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


def _is_notebook(app, docname: str) -> bool:
    path = Path(app.srcdir) / f"{docname}.md"
    if not path.is_file():
        return False
    head = path.read_text(encoding="utf-8")[:2000]
    return head.startswith("---") and "kernelspec:" in head.split("\n---", 1)[0]


def _offer_ipynb(app, pagename, templatename, context, doctree) -> None:
    """Write the page's notebook next to its source and tell the theme's download button."""
    if app.builder.format != "html" or doctree is None or not _is_notebook(app, pagename):
        return
    import jupytext

    nb = jupytext.read(Path(app.srcdir) / f"{pagename}.md", fmt="md:myst")
    out = Path(app.outdir) / "_sources" / f"{pagename}.ipynb"
    out.parent.mkdir(parents=True, exist_ok=True)
    jupytext.write(nb, out, fmt="ipynb")
    context["ipynb_source"] = f"{pagename}.ipynb"


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
    # before sphinx-book-theme builds its header buttons (priority 501)
    app.connect("html-page-context", _offer_ipynb, priority=400)
    app.connect("build-finished", _copy_mathjax)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
