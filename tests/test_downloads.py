"""The chapters' downloadable notebooks run anywhere; the library builds as a wheel; Binder takes CPU torch.

The downloads are made by ``book/_ext/book_assets.py`` at build time (one per chapter page); here the
same function converts the chapter sources directly.
"""

import importlib.util
import json
import re
import sys
import tomllib
from pathlib import Path

import nbformat
import pytest
import yaml

from dltheory import grading_markdown as gm

ROOT = Path(__file__).resolve().parents[1]
CHAPTERS = sorted((ROOT / "book").glob("[0-9][0-9]_*.md"))
ROLE = re.compile(r"\{[a-z][\w:-]*\}`")
DIRECTIVE = re.compile(r"^[`:]{3,}\{", re.M)
TARGET = re.compile(r"^\([^()\s]+\)=", re.M)


def _assets():
    found = importlib.util.spec_from_file_location("book_assets", ROOT / "book/_ext/book_assets.py")
    module = importlib.util.module_from_spec(found)
    found.loader.exec_module(module)
    return module


ASSETS = _assets()


def _repository_url() -> str:
    return yaml.safe_load((ROOT / "_config.yml").read_text())["repository"]["url"]


@pytest.fixture(scope="module", params=CHAPTERS, ids=lambda p: p.stem)
def download(request):
    nb = ASSETS.download_notebook(request.param, repository_url=_repository_url())
    nbformat.validate(nb)
    return nb


def test_download_is_plain_jupyter(download):
    text = "\n".join(c.source for c in download.cells if c.cell_type == "markdown")
    assert not ROLE.findall(text), "a MyST role is left"
    assert not DIRECTIVE.findall(text), "a MyST directive is left"
    assert not TARGET.findall(text), "a MyST target is left"
    assert not re.findall(r"\(fig-[\w-]+\)", text), "a figure reference is left unresolved"
    assert not re.findall(r"\$\$\s*\([A-Za-z0-9_:-]+\)", text), "an equation label is left"
    assert all(not c.get("outputs") and c.get("execution_count") is None
               for c in download.cells if c.cell_type == "code")  # fmt: skip
    assert "jupytext" not in download.metadata
    assert download.metadata.kernelspec.name == "python3"


def test_download_installs_the_library_and_keeps_records_out_of_the_way(download):
    first = next(c for c in download.cells if c.cell_type == "code")
    assert "import dltheory" in first.source and "except ImportError" in first.source
    assert f'%pip install --quiet "dltheory @ git+{_repository_url().rstrip("/")}"' in first.source
    assert 'os.environ.setdefault("DLTHEORY_RESULTS_DIR", tempfile.mkdtemp(' in first.source
    # the %pip line magic inside try/except is turned into Python by IPython
    from IPython.core.inputtransformer2 import TransformerManager

    compile(TransformerManager().transform_cell(first.source), "first-cell", "exec")
    params = [c for c in download.cells if "parameters" in c.metadata.get("tags", [])]
    assert len(params) == 1 and re.search(r'^scale = "ci"', params[0].source, re.M)


def test_download_runs_at_ci_and_writes_records_to_a_temporary_folder(tmp_path, monkeypatch):
    """A tiny chapter, downloaded and executed away from the repository."""
    chapter = tmp_path / "book" / "01_tiny.md"
    chapter.parent.mkdir()
    chapter.write_text(
        "---\njupytext:\n  text_representation:\n    format_name: myst\nkernelspec:\n"
        "  display_name: Python 3\n  language: python\n  name: python3\n---\n\n# Tiny\n\nSee {cite:t}`saxe2014exact` and {glue:text}`x:.2f`.\n\n"
        "```{code-cell} ipython3\n:tags: [parameters]\n\nscale = 'book'\n```\n\n"
        "```{code-cell} ipython3\nfrom dltheory.record import results_dir\n\n"
        "print(scale, results_dir())\n```\n"
    )
    nb = ASSETS.download_notebook(chapter, repository_url="https://example.org/x", glued={"x": 0.5})
    assert "0.50" in nb.cells[2].source and "saxe2014exact (" in nb.cells[2].source  # no .bib here
    from nbclient import NotebookClient

    work = tmp_path / "elsewhere"
    work.mkdir()
    monkeypatch.delenv("DLTHEORY_RESULTS_DIR", raising=False)
    monkeypatch.setenv("TMPDIR", str(tmp_path))  # the kernel's temporary folder, cleaned by pytest
    NotebookClient(
        nb, timeout=120, kernel_name="python3", resources={"metadata": {"path": work}}
    ).execute()
    scale, folder = nb.cells[-1].outputs[0]["text"].split()
    assert (
        scale == "ci"
        and Path(folder).parent == tmp_path
        and Path(folder).name.startswith("dltheory-")
    )
    assert not (work / "_build").exists() and list(work.iterdir()) == []


def test_glued_values_read_back_as_python(tmp_path):
    path = tmp_path / "ch.glue.json"
    out = {"output_type": "display_data", "metadata": {}, "data": {"text/plain": None}}
    data = {k: {**out, "data": {"text/plain": v}} for k, v in
            {"f": "0.125", "i": "3", "s": "'abc'", "b": "True", "odd": "np.float64(1.0)"}.items()}  # fmt: skip
    path.write_text(json.dumps(data))
    assert ASSETS.glued_values(path) == {"f": 0.125, "i": 3, "s": "abc", "b": True,
                                         "odd": "np.float64(1.0)"}  # fmt: skip
    assert ASSETS.glued_values(tmp_path / "missing.json") == {}


def test_plain_markdown_of_exercises_figures_and_references():
    text = (
        "(sec-a)=\n## Section A\n\n% a comment\nSee {doc}`chapter 1 <01_x>`, {ref}`sec-a`, "
        "{ref}`the text <sec-a>`, {numref}`fig-a`, {prf:ref}`thm-unknown` and {math}`x^2`.\n\n"
        "```{exercise} Title\n:label: ex-a\n\nDo it.\n```\n\n"
        "```{solution} ex-a\n:class: dropdown\n\nDone.\n```\n\n"
        "```{exercise-start} Gated\n:label: ex-b\n```\n\nPrompt.\n\n```{exercise-end}\n```\n\n"
        "```{glue:figure} fig_a\n:name: fig-a\n\nThe caption.\n```\n\n"
        "````{margin}\n```{note}\nInner.\n```\n````\n"
    )
    targets = {"sec-a": "the section “Section A”", "fig-a": "Figure (fig_a)"}
    out = gm.plain(text, glued={}, bib={}, equations={}, theorems=targets)
    assert not ROLE.findall(out) and not DIRECTIVE.findall(out) and not TARGET.findall(out)
    assert "% a comment" not in out and "See chapter 1, the section “Section A”, the text," in out
    assert "Figure (fig_a), the theorem above and $x^2$." in out
    assert "**Exercise** (Title).\nDo it." in out and "**Solution.**\nDone." in out
    assert "**Exercise** (Gated)." in out and "Prompt." in out and "*Figure.* The caption." in out
    assert "Inner." in out


def test_theorem_titles_cover_exercises_and_section_targets():
    titles = gm.theorem_titles(ROOT / "book")
    assert titles["thm-svd-dynamics"].startswith("Theorem (Mode-by-mode learning")
    assert titles["ex-saxe-derive"] == "Exercise (Derive the solution)"
    assert titles["fig-ch1-modes"] == "Figure 1 of chapter 1"  # named in a code cell's metadata


def test_placeholder_repository_url_is_announced(monkeypatch):
    said = []

    class Logger:
        def info(self, message, **kw):
            said.append(message)

    import sphinx.util.logging

    monkeypatch.setattr(sphinx.util.logging, "getLogger", lambda name: Logger())
    for url, loud in [
        (ASSETS.PLACEHOLDER_URL + "/", True),
        ("", True),
        ("https://x.org/a/b", False),
    ]:
        said.clear()
        config = type("Config", (), {"html_theme_options": {"repository_url": url}})()
        ASSETS._warn_placeholder(None, config)
        assert bool(said) == loud and all("placeholder" in m for m in said)


def test_wheel_carries_the_package_data():
    """Every non-Python file of the package is package data, so ``pip install .`` ships it."""
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    globs = pyproject["tool"]["setuptools"]["package-data"]["dltheory"]
    pkg = ROOT / "src" / "dltheory"
    data = [p for p in pkg.rglob("*") if p.is_file() and p.suffix not in (".py", ".pyc")]
    assert any(p.name == "book.mplstyle" for p in data)
    for path in data:
        rel = path.relative_to(pkg)
        assert any(rel.match(g) for g in globs), f"{rel} is not package data"


def test_binder_takes_cpu_torch_with_the_same_pins():
    sys.path.insert(0, str(ROOT / "tests"))
    from test_environment import _norm

    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    wanted = {_norm(r) for r in project["dependencies"] + project["optional-dependencies"]["book"]}
    env = yaml.safe_load((ROOT / "binder" / "environment.yml").read_text())
    assert "python=3.11" in env["dependencies"]
    pip = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict) and "pip" in d)
    assert "--extra-index-url https://download.pytorch.org/whl/cpu" in pip
    pins = {_norm(r) for r in pip if not r.startswith("-")}
    assert "torch==2.13.0+cpu" in pins
    assert {p.replace("+cpu", "") for p in pins} == wanted
    assert "pip install --no-deps -e ." in (ROOT / "binder" / "postBuild").read_text()


def _closure(names: list[str]) -> set[str]:
    """The installed distributions that ``names`` need, their own requirements included (no extras)."""
    from importlib import metadata

    from packaging.requirements import Requirement

    seen, todo = set(), list(names)
    while todo:
        dist = metadata.distribution(todo.pop())
        name = dist.metadata["Name"].lower().replace("_", "-")
        if name in seen:
            continue
        seen.add(name)
        for line in dist.requires or []:
            req = Requirement(line)
            if req.marker is None or req.marker.evaluate({"extra": ""}):
                todo.append(req.name)
    return seen


def _link_distributions(names: set[str], site: Path) -> None:
    """Make ``names`` importable in ``site`` by linking their installed files' top-level entries."""
    from importlib import metadata

    for name in names:
        dist = metadata.distribution(name)
        for top in {Path(f).parts[0] for f in dist.files or [] if not str(f).startswith("..")}:
            src = Path(dist.locate_file(top))
            if src.exists() and not (site / top).exists() and top != "__pycache__":
                (site / top).symlink_to(src)


def test_download_runs_in_a_fresh_venv_with_only_the_wheel(tmp_path, monkeypatch):
    """Chapter 1's download, run by papermill at its default (ci) scale, in a venv holding the book's
    wheel and its dependencies.

    The wheel is built from this checkout; the dependencies (and ipykernel, for the kernel) are the
    ones installed here, linked into the fresh venv, because the tests run offline.
    """
    import subprocess
    import sysconfig

    import papermill

    wheels, fresh = tmp_path / "wheels", tmp_path / "fresh"
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check", "--quiet"]
    subprocess.run([*pip, "wheel", "--no-deps", "--no-build-isolation", "-w", wheels, ROOT],
                   check=True, cwd=tmp_path)  # fmt: skip
    (wheel,) = wheels.glob("dltheory-*.whl")
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", fresh], check=True)
    python = fresh / "bin" / "python"
    purelib = subprocess.run(
        [python, "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
        check=True, capture_output=True, text=True,
    ).stdout.strip()  # fmt: skip
    site = Path(purelib)
    subprocess.run([*pip, "--python", python, "install", "--no-deps", "--no-index", wheel],
                   check=True)  # fmt: skip
    deps = _closure(
        [r.split(";")[0].split("=")[0] for r in _project_dependencies()] + ["ipykernel"]
    )
    _link_distributions(deps - {"dltheory"}, site)
    assert Path(sysconfig.get_path("purelib")) != site
    where = subprocess.run(
        [python, "-c", "import dltheory; print(dltheory.__file__)"],
        check=True, capture_output=True, text=True, cwd=tmp_path,
    ).stdout  # fmt: skip
    assert where.startswith(str(site)), "the fresh venv must import the wheel, not the checkout"

    kernels = tmp_path / "share" / "jupyter" / "kernels" / "fresh"
    kernels.mkdir(parents=True)
    kernel = {"argv": [str(python), "-m", "ipykernel_launcher", "-f", "{connection_file}"],
            "display_name": "fresh", "language": "python"}  # fmt: skip
    (kernels / "kernel.json").write_text(json.dumps(kernel))
    monkeypatch.setenv("JUPYTER_PATH", str(tmp_path / "share" / "jupyter"))
    monkeypatch.delenv("DLTHEORY_RESULTS_DIR", raising=False)
    monkeypatch.setenv("TMPDIR", str(tmp_path))
    chapter = CHAPTERS[0]
    nb = ASSETS.download_notebook(chapter, repository_url=_repository_url())
    work = tmp_path / "reader"
    work.mkdir()
    downloaded, executed = tmp_path / f"{chapter.stem}.ipynb", tmp_path / "executed.ipynb"
    nbformat.write(nb, downloaded)
    papermill.execute_notebook(downloaded, executed, kernel_name="fresh", cwd=work,
                               progress_bar=False, execution_timeout=600)  # fmt: skip
    records = list(tmp_path.glob(f"dltheory-*/**/{chapter.stem}.json"))
    assert len(records) == 1 and json.loads(records[0].read_text())["scale"] == "ci"
    assert list(work.iterdir()) == []


def _project_dependencies() -> list[str]:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
