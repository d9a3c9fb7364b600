"""Reading the mock's JSON answers in tests: a 200 whose body is an object, or a failure that
shows the body."""

from __future__ import annotations

from collections.abc import Awaitable
from typing import Any

import httpx


async def ok(answer: Awaitable[httpx.Response]) -> dict[str, Any]:
    """The JSON object of a 200 answer (the test fails with the body otherwise)."""
    response = await answer
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json()
    return result
