"""The official `openai` SDK talks to the mock over loopback: the proof the wire format is right.

Its Responses stream helpers, compared with our builders, are in test_sdk_parity.py.
"""

from __future__ import annotations

import pytest
from openai import AsyncOpenAI
from openai.types.chat import ChatCompletionMessageParam

from openai_ergo import count_tokens
from openai_ergo.mock import MockServer, Reply, ToolCall

USER: list[ChatCompletionMessageParam] = [{"role": "user", "content": "Tell me about rivers."}]

# The SDK's chat streams stop at `data: [DONE]` and leave their event generator unexhausted;
# under trio that generator's collection warns (ResourceWarning, an error here), whatever the
# server. Its Responses streams and plain calls run on trio fine; chat streams run on asyncio.
asyncio_only = pytest.mark.parametrize("anyio_backend", ["asyncio"])


@asyncio_only
async def test_chat_completion_and_its_stream_helper_agree(
    sdk: AsyncOpenAI, anyio_backend: str
) -> None:
    completion = await sdk.chat.completions.create(model="gpt-4o-mini", messages=USER, seed=3)
    text = completion.choices[0].message.content
    assert text
    assert completion.usage is not None
    assert completion.usage.completion_tokens == count_tokens(text, "gpt-4o-mini")
    async with sdk.chat.completions.stream(
        model="gpt-4o-mini", messages=USER, seed=3, stream_options={"include_usage": True}
    ) as stream:
        deltas = [event.delta async for event in stream if event.type == "content.delta"]
        final = await stream.get_final_completion()
    assert "".join(deltas) == text
    assert final.choices[0].message.content == text
    assert final.usage == completion.usage


@asyncio_only
async def test_raw_chat_stream_with_tool_calls(
    mock_openai: MockServer, sdk: AsyncOpenAI, anyio_backend: str
) -> None:
    mock_openai.reply_with(Reply(tool_calls=(ToolCall(name="lookup", arguments={"q": "Nile"}),)))
    stream = await sdk.chat.completions.create(model="gpt-4o", messages=USER, stream=True)
    arguments = ""
    finish = None
    async with stream:
        async for chunk in stream:
            for choice in chunk.choices:
                for call in choice.delta.tool_calls or []:
                    assert call.function is not None
                    arguments += call.function.arguments or ""
                finish = choice.finish_reason or finish
    assert arguments == '{"q":"Nile"}'
    assert finish == "tool_calls"


async def test_embeddings_in_the_sdk_default_base64_encoding(sdk: AsyncOpenAI) -> None:
    result = await sdk.embeddings.create(
        model="text-embedding-3-small", input=["a", "b"], dimensions=8
    )
    assert [len(item.embedding) for item in result.data] == [8, 8]
    again = await sdk.embeddings.create(
        model="text-embedding-3-small", input=["a"], dimensions=8, encoding_format="float"
    )
    assert again.data[0].embedding == pytest.approx(result.data[0].embedding, rel=1e-6)


async def test_models_and_moderations(sdk: AsyncOpenAI) -> None:
    ids = [model.id async for model in sdk.models.list()]
    assert "gpt-5-mini" in ids
    model = await sdk.models.retrieve("gpt-4o")
    assert model.id == "gpt-4o"
    moderation = await sdk.moderations.create(input="I will attack")
    assert moderation.results[0].flagged


async def test_the_sdk_sees_mock_errors_as_its_own_typed_errors(
    mock_openai: MockServer, sdk: AsyncOpenAI
) -> None:
    import openai

    mock_openai.app.strict_models = True
    with pytest.raises(openai.NotFoundError) as missing:
        await sdk.chat.completions.create(model="gpt-0", messages=USER)
    assert missing.value.code == "model_not_found"
    with pytest.raises(openai.RateLimitError):
        await sdk.chat.completions.create(
            model="gpt-4o", messages=USER, extra_headers={"x-mock-fault": "rate_limit"}
        )
