"""The chapters' MyST Markdown as plain Jupyter Markdown, for the student notebooks.

Glued numbers become their values (from the reference run), citations "Saxe et al. (2014)" from
``book/references.bib``, equation references "(1)" with the equations tagged to match, theorem,
exercise, admonition and figure directives Markdown with a bold heading, references to a labelled
directive its title, ``(label)=`` targets and ``%`` comments nothing, and any other role its plain
text. The chapters' downloadable notebooks (``book/_ext/book_assets.py``) use the same conversion.
"""

from __future__ import annotations

import re
from pathlib import Path

_GLUE = re.compile(r"\{glue(?::text|:md|:any)?\}`([^`:]+)(?::([^`]*))?`")
_CITE = re.compile(r"\{cite(?::(t|p))?\}`([^`]*)`")
_EQ = re.compile(r"\{eq\}`([^`]*)`")
_PRF_REF = re.compile(r"\{prf:ref\}`([^`]*)`")
_REF = re.compile(r"\{(?:ref|numref)\}`([^`<]*?)\s*(?:<([^`>]*)>)?`")
_MATH_ROLE = re.compile(r"\{math\}`([^`]*)`")
_ROLE = re.compile(r"\{[a-z:-]+\}`([^`]*)`")
_EXPLICIT = re.compile(r"^(.*?)\s*<[^<>]*>$", re.S)  # {doc}`text <target>` -> text
_TARGET = re.compile(r"^\(([^()\s]+)\)=[ \t]*\n?", re.M)
_COMMENT = re.compile(r"^%[^\n]*\n?", re.M)
# Directives rendered as their body under a bold heading (the rest: see _directive).
_START, _END = ("exercise-start", "solution-start"), ("exercise-end", "solution-end")
_LABELLED_MATH = re.compile(r"\$\$(?P<body>.*?)\$\$[ \t]*\((?P<label>[A-Za-z0-9_:-]+)\)", re.S)
_DIRECTIVE = re.compile(
    r"^(?P<fence>`{3,}|:{3,})\{(?P<name>[a-z][a-z:-]*)\}[ \t]*(?P<title>[^\n]*)\n"
    r"(?P<body>.*?)^(?P=fence)[ \t]*$",
    re.S | re.M,
)
_FIELD = re.compile(r"^\s*(author|year)\s*=\s*[{\"](.*?)[}\"]\s*,?\s*$", re.M | re.I)


def bibliography(path: str | Path) -> dict[str, str]:
    """key -> "Saxe et al." / "Lampinen & Ganguli" and year, as ``(names, year)``, from a .bib file."""
    out = {}
    text = Path(path).read_text()
    for entry in re.split(r"(?m)^@", text)[1:]:
        head = re.match(r"\w+\s*\{\s*([^,\s]+)\s*,", entry)
        if not head:
            continue
        fields = {k.lower(): v for k, v in _FIELD.findall(entry)}
        authors = [a.strip() for a in re.split(r"\s+and\s+", fields.get("author", "")) if a.strip()]
        last = [a.split(",")[0].strip() if "," in a else a.split()[-1] for a in authors]
        last = [re.sub(r"[{}\\]", "", n) for n in last]
        names = (
            last[0] if len(last) == 1 else " & ".join(last) if len(last) == 2 else f"{last[0]} et al."
        ) if last else head[1]  # fmt: skip
        out[head[1]] = (names, fields.get("year", "n.d."))
    return out


def _kind(name: str) -> str:
    """``prf:theorem`` -> "Theorem", ``exercise-start`` -> "Exercise", ``glue:figure`` -> "Figure"."""
    return name.split(":")[-1].removesuffix("-start").replace("-", " ").capitalize()


_CELL_FIGURE = re.compile(
    r"^```\{code-cell\}[^\n]*\n---\n(?:(?!^---$).*\n)*?\s+figure:\s*\n(?:(?!^---$).*\n)*?\s+name:\s*(\S+)",
    re.M,
)


def theorem_titles(folder: str | Path) -> dict[str, str]:
    """label -> title of every labelled directive (theorem, exercise, figure...) in the chapters of
    ``folder``, of every ``(label)=`` section target (its heading), and of every figure a code cell
    names in its ``mystnb`` metadata ("Figure k of chapter N", in the chapter's order)."""
    out = {}
    for path in sorted(Path(folder).glob("[0-9][0-9]_*.md")):
        text = path.read_text()
        for m in _DIRECTIVE.finditer(text):
            label = re.search(r"^:(?:label|name):\s*(\S+)", m["body"], re.M)
            if label:
                out[label[1]] = f"{_kind(m['name'])} ({m['title'].strip()})"
        for m in re.finditer(r"^\(([^()\s]+)\)=[ \t]*\n\s*#+[ \t]+([^\n]+)", text, re.M):
            out.setdefault(m[1], f"the section \u201c{m[2].strip()}\u201d")
        # figures made by code cells: named in the cell's mystnb metadata, numbered in order
        for k, name in enumerate(_CELL_FIGURE.findall(text), start=1):
            out.setdefault(name, f"Figure {k} of chapter {int(path.name[:2])}")
    return out


def plain_python_metadata(nb) -> None:
    """Give a converted notebook the plain metadata of a Python 3 notebook, in place: the kernel any
    Jupyter has, and no jupytext pairing (a student's or reader's copy stands alone)."""
    nb.metadata.pop("jupytext", None)
    nb.metadata["kernelspec"] = {
        "display_name": "Python 3",
        "language": "python",
        "name": "python3",
    }
    nb.metadata["language_info"] = {"name": "python"}


def equation_numbers(text: str) -> dict[str, int]:
    """label -> number of the chapter's labelled display equations, in order."""
    return {m["label"]: i + 1 for i, m in enumerate(_LABELLED_MATH.finditer(text))}


def _format(value, fmt: str | None) -> str:
    if fmt:
        try:
            return format(value, fmt)
        except (TypeError, ValueError):
            pass
    return str(value)


def _cite(kind: str | None, keys: str, bib: dict) -> str:
    parts = []
    for key in (k.strip() for k in keys.split(",")):
        names, year = bib.get(key, (key, ""))
        parts.append(f"{names} ({year})" if kind == "t" else f"{names} {year}".strip())
    return "; ".join(parts) if kind == "t" else "(" + "; ".join(parts) + ")"


def _directive(m: re.Match) -> str:
    """One MyST directive as plain Markdown: its body under a bold heading, options dropped."""
    name, title = m["name"], m["title"].strip()
    body = "\n".join(
        line for line in m["body"].strip("\n").split("\n") if not re.match(r"^:[\w-]+:", line)
    ).strip()
    if name in _END:
        return ""
    if name in ("code-block", "code", "sourcecode"):
        return f"```{title}\n{body}\n```"
    if name == "math":
        return f"$$\n{body}\n$$"
    if name in ("figure", "glue:figure", "image"):
        return f"*Figure.* {body}" if body else ""  # the image is the output of a code cell
    if name.startswith("prf:") or name in ("exercise", "exercise-start"):
        head = f"**{_kind(name)}** ({title})." if title else f"**{_kind(name)}.**"
    elif name in ("solution", "solution-start"):
        head = "**Solution.**"  # its argument is the exercise's label, not a title
    else:
        head = f"**{title or _kind(name)}.**"
    return f"---\n\n{head}\n{body}\n\n---" if body else f"---\n\n{head}"


def _ref(m: re.Match, targets: dict) -> str:
    text, label = (m[1], m[2]) if m[2] else ("", m[1])
    return text or targets.get(label.strip(), label.strip())


def plain(text: str, *, glued: dict, bib: dict, equations: dict, theorems: dict) -> str:
    """``text`` (MyST Markdown) as plain Jupyter Markdown.

    ``theorems`` maps labels to titles (:func:`theorem_titles`) for ``{prf:ref}``, ``{ref}`` and
    ``{numref}``; a theorem not found there is "the theorem above".
    """
    for _ in range(4):  # a directive nested in another (longer fence) is converted on the next pass
        text, n = _DIRECTIVE.subn(_directive, text)
        if not n:
            break
    text = _TARGET.sub("", _COMMENT.sub("", text))
    text = _LABELLED_MATH.sub(
        lambda m: f"$${m['body'].rstrip()}\n\\tag{{{equations.get(m['label'], '?')}}}\n$$", text
    )
    text = _GLUE.sub(lambda m: _format(glued[m[1]], m[2]) if m[1] in glued else f"`{m[1]}`", text)
    text = _CITE.sub(lambda m: _cite(m[1], m[2], bib), text)
    text = _EQ.sub(lambda m: f"({equations.get(m[1], m[1])})", text)
    text = _PRF_REF.sub(lambda m: theorems.get(m[1], "the theorem above"), text)
    text = _REF.sub(lambda m: _ref(m, theorems), text)
    text = _MATH_ROLE.sub(r"$\1$", text)
    return _ROLE.sub(lambda m: _EXPLICIT.sub(r"\1", m[1]), text)
