"""Numbers for a chapter's prose: ``glue`` them from the computation, as plain Python values.

myst-nb (the Jupyter Book extension that executes the chapters) stores a glued value as its ``repr``
and formats it at build time with the format string written in the prose, e.g.
``{glue:text}`name:.3f```. numpy 2's scalars print as ``np.float64(0.25)``, which the build cannot
parse back into a number, so the text would be missing from the page. Every glued value goes through
:func:`as_glue_value`: numpy scalars become Python ones, anything else that is not a number, a bool
or a string is refused where it is glued, in the chapter's own run, not at the site's build.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import numpy as np

from dltheory._checks import ArgumentTypeError

__all__ = ["as_glue_value", "glue", "glue_all"]


def as_glue_value(name: str, value):
    """``value`` as a Python bool, int, float or str, ready to glue under ``name``.

    Args:
        name: the glue key, a non-empty string (used in error messages).
        value: a Python or numpy scalar, or a string; a size-1 array is not accepted, so that a
            shape mistake in the computation is not hidden.

    Returns:
        the Python value.

    Raises:
        ArgumentTypeError: ``name`` is not a non-empty string, or ``value`` is not a scalar.
        ValueError: ``value`` is a NaN or infinite (the page would show "nan" or "inf").
    """
    if not isinstance(name, str) or not name:
        raise ArgumentTypeError(f"glue name must be a non-empty string, got {name!r}")
    if isinstance(value, np.generic):
        value = value.item()
    if not isinstance(value, bool | int | float | str):
        raise ArgumentTypeError(
            f"glue {name!r}: value must be a number, bool or string, got {type(value).__name__}"
        )
    if isinstance(value, float) and not math.isfinite(value):
        raise ValueError(f"glue {name!r}: value must be finite, got {value}")
    return value


def glue(name: str, value) -> None:
    """Glue one value for the prose, without displaying it (see :func:`as_glue_value`)."""
    # What myst_nb.glue(name, value, display=False) sends, written here so that a chapter also runs
    # where only the library is installed (a downloaded notebook): a display of the value's
    # mimebundle under the papermill-record prefix, which the book's build reads back.
    from IPython.core.formatters import format_display_data
    from IPython.display import display

    prefix = "application/papermill.record/"
    bundle, metadata = format_display_data(as_glue_value(name, value))
    metadata["scrapbook"] = dict(name=name, mime_prefix=prefix)
    display({prefix + k: v for k, v in bundle.items()}, raw=True, metadata=metadata)


def glue_all(values: Mapping | None = None, **more) -> None:
    """Glue every ``name: value`` of ``values`` and of the keyword arguments, without displaying them.

    Args:
        values: a mapping of glue names to values (e.g. a result's ``glue()``), or None.
        **more: further names and values.
    """
    if values is not None and not isinstance(values, Mapping):
        raise ArgumentTypeError(f"values must be a mapping of names to values, got {values!r}")
    items = {**(values or {}), **more}
    checked = {name: as_glue_value(name, value) for name, value in items.items()}
    for name, value in checked.items():
        glue(name, value)
