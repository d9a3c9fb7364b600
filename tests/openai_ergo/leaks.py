"""Running a whole event loop and collecting every warning it leaves, for the tests of what a
handle dropped unclosed says."""

from __future__ import annotations

import gc
import warnings
from collections.abc import Awaitable, Callable

import anyio

__all__ = ["warnings_of_run"]


def warnings_of_run(
    main: Callable[[], Awaitable[None]], backend: str
) -> list[tuple[type[Warning], str]]:
    """Run `main` in its own event loop on `backend`; every warning raised meanwhile, or by the
    collection of what it leaked, as (category, message)."""
    # A dropped handle leaks its socket until it is collected, and under trio httpx's own byte
    # generators warn when they are collected too, possibly as the loop ends: a whole loop
    # here, so that every warning lands inside the caller's test and none escapes into another.
    seen: list[tuple[type[Warning], str]] = []
    with warnings.catch_warnings(record=True) as warned:
        warnings.simplefilter("always")
        anyio.run(main, backend=backend)
        while warned:
            # A record keeps its `source` (a leaked object) alive: let each go in here, so
            # the warnings their collection brings land here too.
            seen += [(w.category, str(w.message)) for w in warned]
            warned.clear()
            gc.collect()
    return seen
