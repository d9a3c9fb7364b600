"""A response's `network_stream` extension: the connection's details, as httpcore offers them."""

from __future__ import annotations

import httpx

from openai_ergo import HTTP11Transport
from tests.openai_ergo.transport.loopback import Reply, serve

OK = Reply([b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"])


async def test_a_response_offers_its_connection_details_as_httpcore_does() -> None:
    async with serve(OK) as server:
        for transport in (HTTP11Transport(), httpx.AsyncHTTPTransport()):
            async with httpx.AsyncClient(transport=transport) as http:
                response = await http.get(server.url())
                stream = response.extensions["network_stream"]
                server_host, server_port = stream.get_extra_info("server_addr")[:2]
                client_host, _ = stream.get_extra_info("client_addr")[:2]
                assert (server_host, client_host) == ("127.0.0.1", "127.0.0.1")
                assert f":{server_port}/" in server.url()
                assert stream.get_extra_info("ssl_object") is None
                assert stream.get_extra_info("socket") is not None
