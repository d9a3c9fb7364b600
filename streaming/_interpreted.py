"""The SSE decoder as the interpreter runs it, beside the compiled build `make` installs.

`streaming/_decoder.py` is compiled with mypyc when a C compiler is at hand (docs/performance.md)
and imported from its extension module; the source stays the one definition of its behaviour.
The tests hold both forms to the same conformance vectors and properties, and the benchmarks
report both, so this loads the source under the interpreter even where the build exists.
"""

from __future__ import annotations

import importlib.util
import sys
from functools import cache
from pathlib import Path
from typing import cast

from ._decoder import ServerSentEvent, SSEDecoder

__all__ = ["interpreted_decoder"]

_NAME = "streaming._decoder_interpreted"


@cache
def interpreted_decoder() -> type[SSEDecoder]:
    """`SSEDecoder` defined by running `_decoder.py` in the interpreter, compiled build or not."""
    spec = importlib.util.spec_from_file_location(_NAME, Path(__file__).with_name("_decoder.py"))
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[_NAME] = module
    spec.loader.exec_module(module)
    # The source defines the event class beside the decoder; the interpreted decoder builds the
    # one public class all the same, so its events are `streaming.ServerSentEvent`s.
    vars(module)["ServerSentEvent"] = ServerSentEvent
    return cast("type[SSEDecoder]", module.SSEDecoder)
