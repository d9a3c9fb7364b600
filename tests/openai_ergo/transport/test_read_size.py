"""Read sizes: a response's first read is small, and reads grow to full size when data waits."""

from __future__ import annotations

import httpx

from openai_ergo._transport import HTTP11Transport
from openai_ergo._transport._connection import FIRST_READ_SIZE, READ_SIZE
from tests.openai_ergo.transport.loopback import Reply, serve

# One write well under a loopback segment (64 KiB): it lands in the client's socket at once.
BODY = bytes(range(256)) * 160
REPLY = Reply([b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%b" % (len(BODY), BODY)])


async def body_pieces(client: httpx.AsyncClient, url: str) -> list[bytes]:
    async with client.stream("GET", url) as response:
        return [piece async for piece in response.aiter_raw()]


async def test_the_first_read_is_small_and_the_rest_of_a_burst_comes_in_full_reads() -> None:
    assert FIRST_READ_SIZE < len(BODY) < READ_SIZE
    async with serve(REPLY) as server, httpx.AsyncClient(transport=HTTP11Transport()) as client:
        pieces = await body_pieces(client, server.url())
    assert b"".join(pieces) == BODY
    # The head shares the first read, so the first piece of body is smaller still.
    assert len(pieces[0]) < FIRST_READ_SIZE
    # A full first read means more is waiting: the reads after it are not capped at the first
    # size, so the rest of a burst does not cost one read per few KiB.
    assert max(len(piece) for piece in pieces[1:]) > FIRST_READ_SIZE


async def test_every_response_on_a_kept_alive_connection_starts_with_a_small_read() -> None:
    async with serve(REPLY) as server, httpx.AsyncClient(transport=HTTP11Transport()) as client:
        first = await body_pieces(client, server.url())
        second = await body_pieces(client, server.url())
    assert server.connections == 1
    assert b"".join(first) == b"".join(second) == BODY
    assert len(second[0]) < FIRST_READ_SIZE
