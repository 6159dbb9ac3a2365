"""Progress bars for long simulations: shown to a person at a terminal, silent in CI and in the built site.

``DLTHEORY_PROGRESS=0`` silences them (the Makefile sets it for ``make book`` and ``make test``);
``DLTHEORY_PROGRESS=1`` forces them on. Otherwise they are off when ``CI`` is set.
"""

from __future__ import annotations

import os

from tqdm import tqdm

__all__ = ["progress_enabled", "progress_bar"]


def progress_enabled(enable: bool | None = None) -> bool:
    """Resolve whether to draw a progress bar: an explicit ``enable`` wins, then the environment."""
    if enable is not None:
        if not isinstance(enable, bool):
            raise TypeError(f"enable must be True, False or None, got {enable!r}")
        return enable
    flag = os.environ.get("DLTHEORY_PROGRESS", "").strip().lower()
    if flag in {"0", "false", "no", "off"}:
        return False
    if flag in {"1", "true", "yes", "on"}:
        return True
    return not os.environ.get("CI")


def progress_bar(*, total: int, desc: str, enable: bool | None = None) -> tqdm:
    """A ``tqdm`` bar over ``total`` steps (use as a context manager and call ``update``)."""
    if isinstance(total, bool) or not isinstance(total, int) or total < 0:
        raise ValueError(f"total must be an integer >= 0, got {total!r}")
    if not isinstance(desc, str):
        raise TypeError(f"desc must be a string, got {desc!r}")
    if enable is not None and not isinstance(enable, bool):
        raise TypeError(f"enable must be True, False or None, got {enable!r}")
    return tqdm(total=total, desc=desc, disable=not progress_enabled(enable), leave=False)
