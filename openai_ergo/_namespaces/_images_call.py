"""`client.images`: the generated typed methods with `ImagesCall`'s `__call__` (the builder).

The generator derives a namespace from a hand-written base only for `responses` and `chat`
(its `_CALLABLE` table); until it lists `images` too, this class combines the generated
namespace with `ImagesCall` and the `Client` overrides its `images` property. Both go away when
the generator takes the base.
"""

from __future__ import annotations

from openai_ergo._namespaces._builders import ImagesCall
from openai_ergo._namespaces._generated.images import ImagesNamespace

__all__ = ["CallableImagesNamespace"]


class CallableImagesNamespace(ImagesCall, ImagesNamespace):
    """`client.images("gpt-image-1")` builds a request; `client.images.generate(...)`,
    `.edit(...)` and `.create_variation(...)` are the typed methods."""

    __slots__ = ()
