"""Where a WebSocket connection goes: the handshake's checks (path, key, faults), then the
Realtime session or the Responses WebSocket mode; and the ephemeral client secrets that let a
browser connect without the API key.

The paths are the official SDK's: `client.realtime.connect(model=...)` opens
`/v1/realtime?model=...`, `client.responses.connect()` opens `/v1/responses` (Azure's
`/openai/realtime` and `/openai/v1/...` forms route the same way). The handshake is checked like
an HTTP request, and refused with the same JSON error and status: 401 without a valid key, 404
for another path, a status fault's answer (`x-mock-fault` or `fail_next(path=...)`).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs

from openai_ergo.mock._endpoints import BadRequest
from openai_ergo.mock._faults import MID_STREAM, fault_error, html_page
from openai_ergo.mock._realtime_model import default_session, merged
from openai_ergo.mock._replies import RecordedRequest
from openai_ergo.mock._routes import Call, openai_path
from openai_ergo.mock._sockets import Socket, key_from_subprotocols
from openai_ergo.mock._wire import (
    Headers,
    decode_json,
    encode_json,
    error_body,
    header_float,
    lower_headers,
)
from openai_ergo.mock._wire import new_id as _new_id

if TYPE_CHECKING:
    from openai_ergo.mock._app import MockOpenAI
    from openai_ergo.mock._exchange import Receive, Scope, Send

__all__ = ["client_event", "create_client_secret", "serve"]

#: How a connection answers a message it cannot take: its `error` event, with this message
#: and code (`session.error(message, code=...)`).
ErrorAnswer = Callable[..., Awaitable[None]]


async def client_event(message: str | bytes, error: ErrorAnswer) -> dict[str, Any] | None:
    """A client message as the JSON object every client event is, or None once `error` has
    answered it: a binary message, one that is not JSON, or JSON that is not an object (the
    Realtime and Responses WebSocket APIs answer these alike)."""
    if isinstance(message, bytes):
        await error("The server expects JSON text messages, not binary ones.", code="invalid_event")
        return None
    try:
        event = decode_json(message.encode())
    except ValueError:
        await error("The message is not valid JSON.", code="invalid_json")
        return None
    if not isinstance(event, dict):
        await error("A client event is a JSON object.", code="invalid_event")
        return None
    return event


#: How long a client secret lives unless the request says otherwise (as on the API).
_SECRET_SECONDS = 600
_SECRET_RANGE = (10, 7200)
_PATHS = ("/v1/realtime", "/v1/responses")


async def serve(app: MockOpenAI, scope: Scope, receive: Receive, send: Send) -> None:
    """Serve one ASGI `websocket` connection."""
    headers = lower_headers(scope.get("headers") or [])
    pace = header_float(headers, "x-mock-tokens-per-second")
    socket = Socket(
        scope,
        receive,
        send,
        headers,
        app._closing,
        fault=None,
        pace=app.tokens_per_second if pace is None else pace,
        latency=app.latency,
    )
    if not await socket.connected():
        return
    client = scope.get("client")
    request = RecordedRequest(
        method="GET",
        path=scope["path"],
        headers=headers,
        body=None,
        query=(scope.get("query_string") or b"").decode("latin-1"),
        peer=(str(client[0]), int(client[1])) if client else None,
    )
    with app._lock:
        app.requests.append(request)
    path = openai_path(request.path)
    if path == "/openai/realtime":  # Azure's (dated) realtime path
        path = "/v1/realtime"
    try:
        if path not in _PATHS:
            raise BadRequest(f"Invalid URL (GET {request.path})", status=404)
        settings = _authorize(app, socket)
        fault = app._fault_for(request)
        query = parse_qs(request.query)
        named = query.get("model") or query.get("deployment")
        model: str | None = named[0] if named else None
        if path == "/v1/realtime":
            model = model or _text(settings.get("model"))
            if not model:
                raise BadRequest(
                    "Missing required parameter: 'model'.",
                    param="model",
                    code="missing_required_parameter",
                )
            if app.strict_models and model not in app.models:
                raise BadRequest(
                    f"The model '{model}' does not exist.",
                    status=404,
                    code="model_not_found",
                    param="model",
                )
        seed, reply_tokens = app._limits(headers)
    except BadRequest as exc:
        body = error_body(exc.message, type=exc.type, param=exc.param, code=exc.code)
        await socket.refuse(exc.status, encode_json(body))
        return
    if fault is not None and fault.kind == "hang":
        if not await socket.hang(fault.seconds):
            if app._closing.is_set():
                message = "The server is shutting down."
                await socket.refuse(503, encode_json(error_body(message, type="server_error")))
            return
        fault = None  # a bounded hang only delays the handshake
    if fault is not None and fault.kind not in MID_STREAM:
        await _refuse_with(socket, fault, model)
        return
    socket.fault = fault
    await socket.accept()
    # Imported here: both import `client_event` from this module.
    from openai_ergo.mock._realtime import RealtimeSession
    from openai_ergo.mock._responses_ws import ResponsesConnection

    if path == "/v1/realtime":
        assert model is not None
        session = RealtimeSession(app, socket, request, model, seed, reply_tokens)
        session.session = merged(session.session, settings)
        session.session["model"] = model
        await session.run()
    else:
        from openai_ergo.mock._app import _ROUTES  # the module that imports this one

        route = _ROUTES.match("/v1/responses")
        schema = route.methods["POST"].schema if route is not None else None
        await ResponsesConnection(app, socket, request, schema).run()


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def _authorize(app: MockOpenAI, socket: Socket) -> dict[str, Any]:
    """Check the handshake's key like an HTTP request's; an ephemeral client secret the mock
    issued is good until it expires, and its session settings are returned."""
    headers = socket.headers
    bearer = headers.get("authorization", "")
    key = bearer[7:] if bearer.startswith("Bearer ") else headers.get("api-key")
    key = key or key_from_subprotocols(socket.subprotocols)
    issued = app.client_secrets.get(key) if key else None
    if issued is not None:
        expires_at, settings = issued
        if app.clock.time() >= expires_at:
            raise BadRequest(
                "The client secret has expired: create a new one.",
                status=401,
                code="invalid_api_key",
            )
        return settings
    app._check_key(key)
    return {}


async def _refuse_with(socket: Socket, fault: Any, model: str | None) -> None:
    status = fault.status_code
    if fault.kind == "html":
        await socket.refuse(status, html_page(status), content_type=b"text/html; charset=utf-8")
        return
    message, kind, code = fault_error(fault, model)
    extra: Headers = []
    if fault.retry_after is not None:
        extra.append((b"retry-after", f"{max(0, round(fault.retry_after))}".encode()))
        extra.append((b"retry-after-ms", f"{round(fault.retry_after * 1000)}".encode()))
    await socket.refuse(status, encode_json(error_body(message, type=kind, code=code)), extra=extra)


async def create_client_secret(app: MockOpenAI, call: Call) -> dict[str, Any]:
    """`POST /v1/realtime/client_secrets`: an ephemeral key (`ek_...`) that opens Realtime
    sessions until it expires, starting from the session settings given here."""
    body = call.request.json
    expires = body.get("expires_after") or {}
    seconds = expires.get("seconds", _SECRET_SECONDS) if isinstance(expires, dict) else None
    if not isinstance(seconds, int) or not _SECRET_RANGE[0] <= seconds <= _SECRET_RANGE[1]:
        raise BadRequest(
            f"Invalid 'expires_after.seconds': expected an integer from {_SECRET_RANGE[0]} to "
            f"{_SECRET_RANGE[1]}.",
            param="expires_after.seconds",
            code="invalid_value",
        )
    settings = body.get("session") or {}
    if not isinstance(settings, dict):
        raise BadRequest(
            "Invalid type for 'session': expected an object.", param="session", code="invalid_type"
        )
    if settings.get("type", "realtime") != "realtime":
        raise BadRequest(
            "The mock serves realtime sessions only: 'session.type' must be 'realtime'.",
            param="session.type",
            code="invalid_value",
        )
    value = _new_id("ek_")
    expires_at = app.clock.time() + seconds
    app.client_secrets[value] = (expires_at, settings)
    model = settings.get("model") or "gpt-realtime"
    session = merged(default_session(model), settings)
    return {"value": value, "expires_at": int(expires_at), "session": session}
