"""Which response header names the request, on OpenAI and on the servers that speak its API."""

from __future__ import annotations

from collections.abc import Mapping

__all__ = ["REQUEST_ID_HEADERS", "request_id_of"]

#: The headers that may carry a request id, in the order they are tried: OpenAI's own
#: (`x-request-id`, also sent by vLLM and by llama-cpp-python's server), the bare `request-id`
#: some gateways send, LiteLLM's `x-litellm-call-id` (the id its proxy logs under), and Azure
#: API Management's `apim-request-id`.
REQUEST_ID_HEADERS = ("x-request-id", "request-id", "x-litellm-call-id", "apim-request-id")


def request_id_of(headers: Mapping[str, str]) -> str | None:
    """The request id a response carries: the first of `REQUEST_ID_HEADERS` present."""
    for name in REQUEST_ID_HEADERS:
        value = headers.get(name)
        if value:
            return value
    return None
