"""Progress bars for long simulations: shown to a person at a terminal, silent in CI and in the built site.

``DLTHEORY_PROGRESS=0`` silences them (the Makefile sets it for ``make book`` and ``make test``);
``DLTHEORY_PROGRESS=1`` forces them on. Otherwise they are off when ``CI`` is set.
"""

from __future__ import annotations

import os

from tqdm import tqdm

__all__ = ["progress_enabled", "progress_bar"]


def progress_enabled(progress: bool | None = None) -> bool:
    """Resolve whether to draw a progress bar: an explicit ``progress`` wins, then the environment."""
    if progress is not None:
        if not isinstance(progress, bool):
            raise TypeError(f"progress must be True, False or None, got {progress!r}")
        return progress
    flag = os.environ.get("DLTHEORY_PROGRESS", "").strip().lower()
    if flag in {"0", "false", "no", "off"}:
        return False
    if flag in {"1", "true", "yes", "on"}:
        return True
    return not os.environ.get("CI")


def progress_bar(*, total: int, desc: str, progress: bool | None = None) -> tqdm:
    """A ``tqdm`` bar over ``total`` steps (use as a context manager and call ``update``)."""
    if isinstance(total, bool) or not isinstance(total, int) or total < 0:
        raise ValueError(f"total must be an integer >= 0, got {total!r}")
    if not isinstance(desc, str):
        raise TypeError(f"desc must be a string, got {desc!r}")
    return tqdm(total=total, desc=desc, disable=not progress_enabled(progress), leave=False)
