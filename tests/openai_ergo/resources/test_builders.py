"""Builders are immutable values, encode the spec's request examples, reject bad input by name."""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any, Literal

import anyio
import msgspec
import pytest

from openai_ergo import (
    ChatBuilder,
    ChatHistory,
    Client,
    InvalidRequestError,
    ResponsesBuilder,
    file,
    image,
    tool,
)
from openai_ergo.types import ChatCompletion, ChatCompletionMessage
from tests.conftest import shared_path

SPEC_MODEL = "gpt-5.4"


@pytest.fixture
def client() -> Client:
    return Client(api_key="sk-test-secret-value", base_url="http://builders.test/v1")


@tool
def get_current_weather(location: str, unit: Literal["celsius", "fahrenheit"]) -> str:
    """Get the current weather in a given location

    Args:
        location: The city and state, e.g. San Francisco, CA
    """
    return f"{location}: 20 {unit}"


# -- immutability --------------------------------------------------------------------------------


def test_setters_return_new_builders_and_leave_the_template_alone(client: Client) -> None:
    base = client.responses("gpt-5").instructions("Be brief.").input("Hello")
    before = base.request_body()
    derived = base.input("Hi").temperature(0.5).metadata(team="a")
    assert derived is not base
    assert base.request_body() == before
    assert derived.request_body() == {
        "model": "gpt-5",
        "instructions": "Be brief.",
        "input": "Hi",
        "temperature": 0.5,
        "metadata": {"team": "a"},
    }


def test_chat_messages_append_without_touching_the_template(client: Client) -> None:
    base = client.chat("gpt-4o").system("Be terse.")
    one = base.user("One")
    two = base.user("Two")
    assert [m["content"] for m in one.request_body()["messages"]] == ["Be terse.", "One"]
    assert [m["content"] for m in two.request_body()["messages"]] == ["Be terse.", "Two"]
    assert len(base.history) == 1


async def test_a_template_is_safe_to_share_between_concurrent_tasks(client: Client) -> None:
    base = client.chat("gpt-4o").system("Shared")
    bodies: dict[int, dict[str, Any]] = {}

    async def derive(index: int) -> None:
        builder = base
        for step in range(20):
            builder = builder.user(f"{index}-{step}")
            await anyio.lowlevel.checkpoint()
        bodies[index] = builder.request_body()

    async with anyio.create_task_group() as group:
        for index in range(8):
            group.start_soon(derive, index)
    for index, body in bodies.items():
        contents = [m["content"] for m in body["messages"]]
        assert contents == ["Shared"] + [f"{index}-{step}" for step in range(20)]
    assert base.request_body()["messages"] == [{"role": "system", "content": "Shared"}]


def test_repr_shows_the_model_and_fields_but_never_a_secret(client: Client) -> None:
    builder = (
        client.responses("gpt-5")
        .input("Hi")
        .extra_headers({"Authorization": "Bearer sk-header-secret"})
    )
    text = repr(builder)
    assert "gpt-5" in text
    assert "'Hi'" in text
    assert "sk-test-secret-value" not in text
    assert "sk-header-secret" not in text
    assert "Authorization" in text


# -- the spec's request examples -------------------------------------------------------------------


@functools.cache
def _all_examples(spec_file: Path) -> dict[str, dict[str, str]]:
    """The curl bodies of the spec's examples per path; parsing 3 MB of YAML happens once."""
    import yaml  # type: ignore[import-untyped]

    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    spec = yaml.load(spec_file.read_text(encoding="utf-8"), Loader=loader)
    result: dict[str, dict[str, str]] = {}
    for path in ("/responses", "/chat/completions"):
        for example in spec["paths"][path]["post"]["x-oaiMeta"]["examples"]:
            found = re.search(r"-d '(.*)'", example["request"]["curl"], re.DOTALL)
            if found:
                result.setdefault(path, {})[example["title"]] = found.group(1)
    return result


def _spec_examples(path: str) -> dict[str, dict[str, Any]]:
    pytest.importorskip("yaml")
    examples = _all_examples(shared_path("openapi", "openai-openapi.yaml"))[path]
    return {title: json.loads(body) for title, body in examples.items()}


RESPONSES_EXAMPLES: dict[str, Callable[[ResponsesBuilder], Any]] = {
    "Text input": lambda b: b.input("Tell me a three sentence bedtime story about a unicorn."),
    "Image input": lambda b: b.input(
        "what is in this image?",
        image(
            "https://upload.wikimedia.org/wikipedia/commons/thumb/d/dd/"
            "Gfp-wisconsin-madison-the-nature-boardwalk.jpg/"
            "2560px-Gfp-wisconsin-madison-the-nature-boardwalk.jpg"
        ),
    ),
    "Web search": lambda b: b.tools({"type": "web_search_preview"}).input(
        "What was a positive news story from today?"
    ),
    "File search": lambda b: b.tools(
        {"type": "file_search", "vector_store_ids": ["vs_1234567890"], "max_num_results": 20}
    ).input("What are the attributes of an ancient brown dragon?"),
    "Streaming": lambda b: (
        b.instructions("You are a helpful assistant.").input("Hello!").request_body(stream=True)
    ),
    "Reasoning": lambda b: (
        b.with_model("o3-mini").input("How much wood would a woodchuck chuck?").reasoning("high")
    ),
}


@pytest.mark.parametrize("title", sorted(RESPONSES_EXAMPLES))
def test_responses_bodies_equal_the_spec_examples(client: Client, title: str) -> None:
    expected = _spec_examples("/responses")[title]
    built = RESPONSES_EXAMPLES[title](client.responses(expected["model"]))
    body = built if isinstance(built, dict) else built.request_body()
    if title == "Image input":
        # The spec's example omits `detail`, which the schema marks required; we send "auto".
        expected["input"][0]["content"][1]["detail"] = "auto"
    assert body == expected


def test_the_responses_function_example_has_the_same_tool(client: Client) -> None:
    expected = _spec_examples("/responses")["Functions"]
    body = (
        client.responses(SPEC_MODEL)
        .input("What is the weather like in Boston today?")
        .tools(get_current_weather)
        .tool_choice("auto")
        .request_body()
    )
    ours, theirs = body["tools"][0], expected["tools"][0]
    assert (ours["name"], ours["description"]) == (theirs["name"], theirs["description"])
    assert ours["parameters"]["required"] == theirs["parameters"]["required"]
    assert ours["parameters"]["properties"]["unit"]["enum"] == ["celsius", "fahrenheit"]
    assert (
        ours["parameters"]["properties"]["location"]["description"]
        == (theirs["parameters"]["properties"]["location"]["description"])
    )
    assert ours["strict"] is True
    assert ours["parameters"]["additionalProperties"] is False
    assert {k: v for k, v in body.items() if k != "tools"} == {
        k: v for k, v in expected.items() if k != "tools"
    }


CHAT_EXAMPLES: dict[str, Callable[[ChatBuilder], dict[str, Any]]] = {
    "Default": lambda b: b.developer("You are a helpful assistant.").user("Hello!").request_body(),
    "Streaming": lambda b: (
        b.developer("You are a helpful assistant.").user("Hello!").request_body(stream=True)
    ),
    "Image input": lambda b: (
        b.user(
            "What is in this image?",
            image(
                "https://upload.wikimedia.org/wikipedia/commons/thumb/d/dd/"
                "Gfp-wisconsin-madison-the-nature-boardwalk.jpg/"
                "2560px-Gfp-wisconsin-madison-the-nature-boardwalk.jpg"
            ),
        )
        .max_tokens(300)
        .request_body()
    ),
    "Logprobs": lambda b: b.user("Hello!").logprobs(top=2).request_body(),
}


@pytest.mark.parametrize("title", sorted(CHAT_EXAMPLES))
def test_chat_bodies_equal_the_spec_examples(client: Client, title: str) -> None:
    expected = _spec_examples("/chat/completions")[title]
    assert CHAT_EXAMPLES[title](client.chat(expected["model"])) == expected


def test_the_chat_function_example_has_the_same_tool_shape(client: Client) -> None:
    expected = _spec_examples("/chat/completions")["Functions"]
    body = (
        client.chat(SPEC_MODEL)
        .user("What is the weather like in Boston today?")
        .tools(get_current_weather)
        .tool_choice("auto")
        .request_body()
    )
    ours, theirs = body["tools"][0], expected["tools"][0]
    assert ours["type"] == theirs["type"] == "function"
    assert ours["function"]["name"] == theirs["function"]["name"]
    assert ours["function"]["description"] == theirs["function"]["description"]
    assert body["messages"] == expected["messages"]
    assert body["tool_choice"] == expected["tool_choice"]


# -- validation -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("make", "param"),
    [
        (lambda c: c.responses("m").temperature(2.5), "temperature"),
        (lambda c: c.responses("m").temperature(True), "temperature"),
        (lambda c: c.responses("m").top_p(-0.1), "top_p"),
        (lambda c: c.responses("m").top_logprobs(21), "top_logprobs"),
        (lambda c: c.responses("m").max_output_tokens(8), "max_output_tokens"),
        (lambda c: c.responses("m").metadata({f"k{i}": "v" for i in range(17)}), "metadata"),
        (lambda c: c.responses("m").metadata({"k" * 65: "v"}), "metadata"),
        (lambda c: c.responses("m").metadata(k="v" * 513), "metadata"),
        (lambda c: c.responses("m").safety_identifier("x" * 65), "safety_identifier"),
        (lambda c: c.responses("m").truncation("sometimes"), "truncation"),
        (lambda c: c.responses("m").tool_choice("always"), "tool_choice"),
        (lambda c: c.responses("m").tools(get_current_weather, get_current_weather), "tools"),
        (lambda c: c.responses(""), "model"),
        (lambda c: c.chat("m").n(0), "n"),
        (lambda c: c.chat("m").n(129), "n"),
        (lambda c: c.chat("m").stop("a", "b", "c", "d", "e"), "stop"),
        (lambda c: c.chat("m").logit_bias({"50256": 101}), "logit_bias"),
        (lambda c: c.chat("m").logit_bias({"word": 1}), "logit_bias"),
        (lambda c: c.chat("m").frequency_penalty(-2.5), "frequency_penalty"),
        (lambda c: c.chat("m").presence_penalty(3), "presence_penalty"),
        (lambda c: c.chat("m").response_format({"schema": {}}), "response_format"),
        (lambda c: c.chat("m").seed(2**64), "seed"),
    ],
)
def test_bad_values_are_rejected_naming_the_parameter(
    client: Client, make: Callable[[Client], Any], param: str
) -> None:
    with pytest.raises(InvalidRequestError) as caught:
        make(client)
    assert caught.value.param == param
    assert param.split(".")[0] in str(caught.value)


@pytest.mark.parametrize(
    ("make", "param"),
    [
        (lambda c: c.responses("m").instructions("x"), "input"),
        (
            lambda c: c.responses("m").input("x").previous_response("r").conversation("c"),
            "previous_response_id",
        ),
        (lambda c: c.responses("m").input("x").background().store(False), "background"),
        (lambda c: c.chat("m"), "messages"),
        (lambda c: c.chat("m").user("x").top_logprobs(3), "top_logprobs"),
        (lambda c: c.chat("m").user("x").modalities("text", "audio"), "audio"),
        (lambda c: c.chat("m").user("x").max_tokens(5).max_completion_tokens(5), "max_tokens"),
    ],
)
def test_rules_across_fields_are_checked_before_sending(
    client: Client, make: Callable[[Client], Any], param: str
) -> None:
    builder = make(client)
    with pytest.raises(InvalidRequestError) as caught:
        builder.request_body()
    assert caught.value.param == param


def test_parse_refuses_a_format_that_is_already_set(client: Client) -> None:
    class Answer(msgspec.Struct):
        value: int

    chat = client.chat("m").user("x").response_format({"type": "json_object"})
    with pytest.raises(InvalidRequestError) as caught:
        chat.parse(Answer)
    assert caught.value.param == "response_format"
    responses = client.responses("m").input("x").text_format({"type": "json_object"})
    with pytest.raises(InvalidRequestError) as caught:
        responses.parse(Answer)
    assert caught.value.param == "text.format"


async def test_invalid_requests_fail_before_anything_is_sent(client: Client) -> None:
    with pytest.raises(InvalidRequestError):
        await client.chat("m")  # nothing was set up: no network involved
    with pytest.raises(InvalidRequestError):
        client.responses("m").stream()


def test_escape_hatches_reach_the_body(client: Client) -> None:
    body = client.chat("m").user("x").seed(7).extra_body({"seed": 8, "custom": True}).request_body()
    assert body["seed"] == 8
    assert body["custom"] is True


# -- inputs ---------------------------------------------------------------------------------------

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 16


def test_images_from_bytes_and_paths_become_data_urls(client: Client, tmp_path: Path) -> None:
    path = tmp_path / "photo.jpg"
    path.write_bytes(b"\xff\xd8\xff" + b"\x00" * 8)
    body = (
        client.responses("m").input("What?", image(PNG), image(path, detail="low")).request_body()
    )
    parts = body["input"][0]["content"]
    assert parts[0] == {"type": "input_text", "text": "What?"}
    assert parts[1]["image_url"].startswith("data:image/png;base64,")
    assert parts[2] == {
        "type": "input_image",
        "detail": "low",
        "image_url": "data:image/jpeg;base64,/9j/AAAAAAAAAAA=",
    }
    chat = client.chat("m").user("What?", image(PNG)).request_body()["messages"][0]["content"]
    assert chat[1]["type"] == "image_url"
    assert chat[1]["image_url"]["url"].startswith("data:image/png;base64,")


def test_files_carry_their_name_and_media_type(client: Client, tmp_path: Path) -> None:
    path = tmp_path / "report.pdf"
    path.write_bytes(b"%PDF-1.7 ...")
    part = client.responses("m").input(file(path)).request_body()["input"][0]["content"][0]
    assert part["filename"] == "report.pdf"
    assert part["file_data"].startswith("data:application/pdf;base64,")
    chat_part = client.chat("m").user(file(b"%PDF-1.4")).request_body()["messages"][0]["content"]
    assert chat_part[0]["type"] == "file"
    assert chat_part[0]["file"]["filename"] == "file.pdf"


def test_unreadable_or_unknown_inputs_fail_clearly(tmp_path: Path) -> None:
    with pytest.raises(InvalidRequestError) as caught:
        image(tmp_path / "missing.png")
    assert caught.value.param == "image"
    with pytest.raises(InvalidRequestError) as caught:
        image(b"not an image")
    assert "media_type" in str(caught.value)
    with pytest.raises(InvalidRequestError):
        file("https://example.com/a.pdf").for_chat()


# -- chat history ---------------------------------------------------------------------------------


def test_chat_history_grows_by_value_and_takes_replies() -> None:
    start = ChatHistory().system("Be terse.").user("Name a colour.")
    reply = ChatCompletion(choices=[])
    with pytest.raises(InvalidRequestError):
        start.reply(reply)
    longer = start.reply(ChatCompletionMessage(content="Blue.")).user("Another.")
    assert len(start) == 2
    assert len(longer) == 4
    assert longer[2] == {"role": "assistant", "content": "Blue."}
    assert longer[:2] == start
    assert "Blue" not in repr(longer)  # the repr names roles, not contents


def test_decoded_bodies_are_plain_json(client: Client) -> None:
    body = client.chat("m").user("x").tools(get_current_weather).request_body()
    assert json.loads(msgspec.json.encode(body)) == body
