"""A response's `network_stream` extension: the connection's details, as httpcore offers them."""

from __future__ import annotations

import socket

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


async def test_connections_by_address_and_by_host_name_send_small_writes_at_once() -> None:
    # An IP address is connected directly, a host name through anyio's happy eyeballs: either
    # way Nagle's algorithm is off, so a request head and each small write go out at once.
    async with serve(OK) as server, httpx.AsyncClient(transport=HTTP11Transport()) as http:
        for host in ("127.0.0.1", "localhost"):
            response = await http.get(server.url(host=host))
            assert response.text == "ok"
            sock = response.extensions["network_stream"].get_extra_info("socket")
            assert sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) != 0
            assert sock.getblocking() is False
