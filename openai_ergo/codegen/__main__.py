"""`python -m openai_ergo.codegen SPEC OUT_DIR`: regenerate the typed tier from a spec."""

from __future__ import annotations

import sys

from openai_ergo.codegen import main

if __name__ == "__main__":
    sys.exit(main())
