"""The chapters' MyST Markdown as plain Jupyter Markdown, for the student notebooks.

Glued numbers become their values (from the reference run), citations "Saxe et al. (2014)" from
``book/references.bib``, equation references "(1)" with the equations tagged to match, theorem
directives Markdown with their math, and any other role its plain text.
"""

from __future__ import annotations

import re
from pathlib import Path

_GLUE = re.compile(r"\{glue(?::text)?\}`([^`:]+)(?::([^`]*))?`")
_CITE = re.compile(r"\{cite(?::(t|p))?\}`([^`]*)`")
_EQ = re.compile(r"\{eq\}`([^`]*)`")
_PRF_REF = re.compile(r"\{prf:ref\}`([^`]*)`")
_ROLE = re.compile(r"\{[a-z:-]+\}`([^`]*)`")
_LABELLED_MATH = re.compile(r"\$\$(?P<body>.*?)\$\$[ \t]*\((?P<label>[A-Za-z0-9_:-]+)\)", re.S)
_DIRECTIVE = re.compile(
    r"^(?P<fence>`{3,}|:{3,})\{(?P<name>prf:[a-z]+|admonition|note|warning|tip)\}[ \t]*(?P<title>[^\n]*)\n"
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


def theorem_titles(folder: str | Path) -> dict[str, str]:
    """label -> title of every theorem-like directive in the chapters of ``folder``."""
    out = {}
    for path in sorted(Path(folder).glob("[0-9][0-9]_*.md")):
        for m in _DIRECTIVE.finditer(path.read_text()):
            label = re.search(r"^:label:\s*(\S+)", m["body"], re.M)
            if label:
                out[label[1]] = f"{m['name'].split(':')[-1].capitalize()} ({m['title'].strip()})"
    return out


def equation_numbers(text: str) -> dict[str, int]:
    """label -> number of the chapter's labelled display equations, in order."""
    return {m["label"]: i + 1 for i, m in enumerate(_LABELLED_MATH.finditer(text))}


def _format(value, spec: str | None) -> str:
    if spec:
        try:
            return format(value, spec)
        except (TypeError, ValueError):
            pass
    return str(value)


def _cite(kind: str | None, keys: str, bib: dict) -> str:
    parts = []
    for key in (k.strip() for k in keys.split(",")):
        names, year = bib.get(key, (key, ""))
        parts.append(f"{names} ({year})" if kind == "t" else f"{names} {year}".strip())
    return "; ".join(parts) if kind == "t" else "(" + "; ".join(parts) + ")"


def plain(text: str, *, glued: dict, bib: dict, equations: dict, theorems: dict) -> str:
    """``text`` (MyST Markdown) as plain Jupyter Markdown."""

    def directive(m):
        body = "\n".join(
            line for line in m["body"].strip("\n").split("\n") if not re.match(r"^:[\w-]+:", line)
        )
        kind = m["name"].split(":")[-1].capitalize()
        title = m["title"].strip()
        head = f"**{kind}** ({title})." if m["name"].startswith("prf:") else f"**{title or kind}.**"
        return f"---\n\n{head}\n{body.strip()}\n\n---"

    text = _DIRECTIVE.sub(directive, text)
    text = _LABELLED_MATH.sub(
        lambda m: f"$${m['body'].rstrip()}\n\\tag{{{equations.get(m['label'], '?')}}}\n$$", text
    )
    text = _GLUE.sub(lambda m: _format(glued[m[1]], m[2]) if m[1] in glued else f"`{m[1]}`", text)
    text = _CITE.sub(lambda m: _cite(m[1], m[2], bib), text)
    text = _EQ.sub(lambda m: f"({equations.get(m[1], m[1])})", text)
    text = _PRF_REF.sub(lambda m: theorems.get(m[1], m[1]), text)
    return _ROLE.sub(r"\1", text)
