"""What a builder hands out is the caller's own: editing it changes no builder and no tool."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from openai_ergo import Client, tool
from openai_ergo.mock import MockServer


@tool
async def lookup(word: str) -> str:
    """Look a word up."""
    return word


def _client(server: MockServer) -> Client:
    return Client(api_key="sk-mock", base_url=server.url, rate_limiter=False)


def _edit_everything(body: dict[str, Any]) -> None:
    """Edit every nested value a caller could reach in a body."""
    for value in body.values():
        if isinstance(value, dict):
            value.clear()
            value["edited"] = True
        elif isinstance(value, list):
            for entry in value:
                if isinstance(entry, dict):
                    entry.clear()
            value.append("edited")


BUILDERS = {
    "responses": lambda c: (
        c.responses("gpt-5")
        .input([{"role": "user", "content": "Hi"}])
        .metadata(team="a")
        .reasoning("low")
        .include("reasoning.encrypted_content")
        .tools(lookup)
    ),
    "chat": lambda c: (
        c.chat("gpt-4o").system("Be brief.").user("Hi").metadata(team="a").tools(lookup)
    ),
}


@pytest.mark.parametrize("endpoint", sorted(BUILDERS))
async def test_editing_request_body_changes_neither_the_builder_nor_the_tool(
    mock_openai: MockServer, endpoint: str
) -> None:
    schema = copy.deepcopy(lookup.parameters)
    async with _client(mock_openai) as client:
        builder = BUILDERS[endpoint](client)
        pristine = copy.deepcopy(builder.request_body())
        _edit_everything(builder.request_body())
        _edit_everything(lookup.for_responses())
        _edit_everything(lookup.for_chat()["function"])
        assert builder.request_body() == pristine
        await builder
    assert lookup.parameters == schema
    sent = mock_openai.requests[0].json
    assert {key: sent[key] for key in pristine} == pristine
