"""Loading an OpenAPI document: YAML (the official spec) or JSON."""

from __future__ import annotations

from pathlib import Path
from typing import Any, cast

import msgspec

__all__ = ["SpecError", "load_spec"]


class SpecError(Exception):
    """The spec could not be read: a missing file, bad YAML/JSON, or no `paths`/`components`."""


def load_spec(path: str | Path) -> dict[str, Any]:
    """Read the spec at `path` (`.json`, else YAML; YAML needs `openai-ergo[codegen]`)."""
    path = Path(path)
    try:
        text = path.read_bytes()
    except OSError as exc:
        raise SpecError(f"cannot read the spec {path}: {exc.strerror}") from None
    decode = msgspec.json.decode if path.suffix == ".json" else msgspec.yaml.decode
    try:
        # msgspec reads YAML through PyYAML's C loader where it is built (the 3 MB spec in ~3 s).
        document = decode(text)
    except ImportError:
        raise SpecError(
            "reading a YAML spec needs PyYAML: pip install 'openai-ergo[codegen]'"
        ) from None
    except msgspec.DecodeError as exc:
        raise SpecError(f"{path} is not valid YAML or JSON: {exc}") from None
    if not isinstance(document, dict) or "paths" not in document or "components" not in document:
        raise SpecError(f"{path} is no OpenAPI document: it has no `paths` and `components`")
    return cast("dict[str, Any]", document)
