"""`python -m openai_ergo`: the `openai-ergo` command."""

from __future__ import annotations

import sys

from openai_ergo.cli import main

if __name__ == "__main__":
    sys.exit(main())
