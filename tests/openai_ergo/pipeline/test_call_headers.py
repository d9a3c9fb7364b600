"""A call's headers kept apart from the client's (`CallHeaders`) merge as httpx would have
merged them on a copy: the same list when built, the same head on the plain send, the same
answers to `in`, and the same errors, whatever sequence of sets and updates a call makes."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from openai_ergo import Client, RequestOptions
from openai_ergo._pipeline._call import Call, CallHeaders

SECRET = "sk-test-SECRET"
#: Names the client already has (Accept, User-Agent, X-App), ones it has not, case variants.
NAMES = [
    "Accept",
    "accept",
    "Content-Type",
    "X-App",
    "x-app",
    "X-New",
    "Idempotency-Key",
    "User-Agent",
]
#: "café" is not ASCII: httpx refuses it on a copy of ASCII headers, and so must a call.
VALUES = ["a", "b", "application/json", "café"]
OPERATIONS = st.lists(
    st.one_of(
        st.tuples(st.just("set"), st.sampled_from(NAMES), st.sampled_from(VALUES)),
        st.tuples(
            st.just("update"),
            st.dictionaries(st.sampled_from(NAMES), st.sampled_from(VALUES), max_size=3),
        ),
        st.tuples(st.just("contains"), st.sampled_from(NAMES)),
    ),
    max_size=6,
)


def apply(target: Any, operation: tuple[Any, ...]) -> Any:
    """Run one operation on `target` (`httpx.Headers` or `CallHeaders`): what it returned or
    the class of what it raised."""
    kind, *arguments = operation
    try:
        if kind == "set":
            name, value = arguments
            if isinstance(target, CallHeaders):
                target.set(name, value)
            else:
                target[name] = value
            return None
        if kind == "update":
            target.update(arguments[0])
            return None
        return arguments[0] in target
    except Exception as exc:  # the class is compared, whichever it is
        return type(exc)


@pytest.fixture(scope="module")
def client() -> Client:
    return Client(SECRET, base_url="http://127.0.0.1:1/v1", headers={"X-App": "app"})


@settings(max_examples=300, deadline=None)
@given(operations=OPERATIONS)
def test_a_calls_headers_merge_as_httpx_merges_them_on_a_copy(
    client: Client, operations: list[tuple[Any, ...]]
) -> None:
    base = client._headers
    expected = base.headers.copy()
    headers = CallHeaders(base)
    for operation in operations:
        assert apply(headers, operation) == apply(expected, operation), operation
    call = Call(
        method="POST",
        path="/v1/x",
        url="http://127.0.0.1:1/v1/x",
        target=httpx.URL("http://127.0.0.1:1/v1/x"),
        content=b"{}",
        headers=headers,
        query=None,
        stream=False,
        body=None,
        options=RequestOptions(),
    )
    plain: Any = client._pipeline.plain
    prepared = plain.prepare(call, {})
    assert prepared is not None
    lines = b"".join(b"%b: %b\r\n" % pair for pair in expected.raw)
    assert prepared.head == (
        b"POST /v1/x HTTP/1.1\r\nHost: 127.0.0.1:1\r\n"
        + lines
        + b"Content-Length: 2\r\nAuthorization: Bearer "
        + SECRET.encode()
        + b"\r\n\r\n"
    )
    assert headers.httpx().raw == expected.raw
    assert headers.httpx().encoding == expected.encoding


def test_the_calls_own_headers_build_no_httpx_headers_until_asked(client: Client) -> None:
    headers = CallHeaders(client._headers)
    headers.set("Content-Type", "application/json")
    headers.set("Accept", "application/json")
    headers.update({"X-Trace": "t-1"})
    assert "idempotency-key" not in headers
    headers.set("Idempotency-Key", "k-1")
    assert "IDEMPOTENCY-KEY" in headers
    assert headers.built is None
    built = headers.httpx()
    assert built["accept"] == "application/json"
    assert list(built.keys())[-3:] == ["content-type", "x-trace", "idempotency-key"]
