"""The `openai-ergo` command (and `python -m openai_ergo`): chat, ask, files, batches, doctor...

Only the entry points import this package, so `import openai_ergo` never pays for Typer or Rich.
Without the `cli` extra, `main()` says how to install it and exits with status 2.
"""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import Sequence

__all__ = ["main"]

#: What the command needs beyond the library: the `cli` extra.
_REQUIRED = ("typer", "rich")
INSTALL_HINT = "openai-ergo: the command line needs its extra: pip install 'openai-ergo[cli]'"


def _missing() -> list[str]:
    missing = []
    for name in _REQUIRED:
        try:
            found = importlib.util.find_spec(name) is not None
        except (ImportError, ValueError):
            found = False
        if not found:
            missing.append(name)
    return missing


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line with `argv` (default: `sys.argv[1:]`); returns the exit status:
    0 success, 1 an API error, 2 a usage error (130 when interrupted)."""
    if _missing():
        print(INSTALL_HINT, file=sys.stderr)
        return 2
    from openai_ergo.cli._app import run_app

    return run_app(list(sys.argv[1:] if argv is None else argv))
