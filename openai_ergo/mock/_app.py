"""The mock as a pure ASGI application: routing, recording, faults, pacing and streaming.

It runs on anyio, so it serves in-process from asyncio or trio (`httpx.ASGITransport`) and over a
loopback socket under uvicorn. Note that `httpx.ASGITransport` buffers whole responses: pacing,
idle gaps and disconnects only mean something over a real socket.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Awaitable, Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any, final

import anyio
import msgspec

from openai_ergo.mock import _assistants as assistants
from openai_ergo.mock import _audio as audio
from openai_ergo.mock import _batches as batches
from openai_ergo.mock import _containers as containers
from openai_ergo.mock import _conversations as conversations
from openai_ergo.mock import _file_search as file_search
from openai_ergo.mock import _files as files
from openai_ergo.mock import _fine_tuning as fine_tuning
from openai_ergo.mock import _images as images
from openai_ergo.mock import _runs as runs
from openai_ergo.mock import _vector_stores as vector_stores
from openai_ergo.mock import _voices as voices
from openai_ergo.mock import _websockets as websockets
from openai_ergo.mock._catalog import DEFAULT_MODELS, known_model, model_list, model_object
from openai_ergo.mock._chat import chat_body, chat_error_frames, chat_frames
from openai_ergo.mock._endpoints import (
    BadRequest,
    ReplyPolicy,
    chat_turn,
    embeddings_answer,
    missing_parameter,
    moderations_answer,
    require_model,
    responses_input_tokens,
    responses_turn,
)
from openai_ergo.mock._exchange import (
    ConnectionDropped,
    Disconnected,
    Exchange,
    Frame,
    Receive,
    Scope,
    Send,
)
from openai_ergo.mock._faults import MID_STREAM, Fault, FaultQueue, fault_error, html_page
from openai_ergo.mock._files import FILE_LIMIT, FileStore
from openai_ergo.mock._generated.operations import OPERATIONS
from openai_ergo.mock._generic import GenericOperation, object_parameter
from openai_ergo.mock._operations import SpecOperation
from openai_ergo.mock._replies import RecordedRequest, Reply, Responder
from openai_ergo.mock._responses import (
    ResponseTurn,
    response_body,
    response_error_frames,
    response_frames,
)
from openai_ergo.mock._routes import Call, Match, RouteTable, openai_path
from openai_ergo.mock._store import MockClock, Query
from openai_ergo.mock._stored import Store, StoredResponse
from openai_ergo.mock._validation import RequestSchema
from openai_ergo.mock._wire import (
    SSE_CONTENT_TYPE,
    Headers,
    RateLimitWindow,
    decode_json,
    encode_json,
    error_body,
    header_float,
    lower_headers,
)

__all__ = ["MockOpenAI"]

_log = logging.getLogger("openai_ergo.mock")


_MAX_BODY = 32 * 1024 * 1024


@final
class MockOpenAI:
    """An OpenAI-compatible ASGI application with deterministic replies and injectable faults.

    `seed` fixes the generated text (a request's own `seed` or an `x-mock-seed` header wins);
    `reply_tokens` is the generated length (a number, or a (low, high) range picked per request),
    in tokens as `openai_ergo.count_tokens` counts them (with tiktoken; words without it);
    `tokens_per_second` paces streamed deltas (None: as fast as possible) after `latency` seconds;
    `responder` answers requests in code; `require_api_key` answers 401 without a bearer token,
    and `api_keys`, when given, accepts only those keys (others get 401 `invalid_api_key`).

    Any model name is served (deployment names, fine-tuned ids, models newer than the mock);
    `models` is the catalog `GET /v1/models` lists, and with `strict_models=True` the only
    models served.

    Per-request control headers: `x-mock-fault` (see `Fault.parse`), `x-mock-seed`,
    `x-mock-tokens-per-second`, `x-mock-reply-tokens`.

    Over WebSocket it serves the Realtime API (`/v1/realtime?model=...`) and the Responses
    WebSocket mode (`/v1/responses`), with the same key checks, replies, pace and faults.
    """

    def __init__(
        self,
        *,
        seed: int = 0,
        models: Iterable[str] = DEFAULT_MODELS,
        strict_models: bool = False,
        reply_tokens: int | tuple[int, int] = (16, 48),
        tokens_per_second: float | None = None,
        latency: float = 0.0,
        responder: Responder | None = None,
        require_api_key: bool = False,
        api_keys: Iterable[str] | None = None,
        background_seconds: float = 2.0,
        max_file_bytes: int = FILE_LIMIT,
        batch_seconds: float = 10.0,
        indexing_seconds: float = 1.0,
        fine_tuning_seconds: float = 10.0,
        requests_per_minute: int = 5_000,
        tokens_per_minute: int = 2_000_000,
    ) -> None:
        self.seed = seed
        self.models: list[str] = list(models)
        self.strict_models = strict_models
        self.reply_tokens = reply_tokens
        self.tokens_per_second = tokens_per_second
        self.latency = latency
        self.responder = responder
        self.require_api_key = require_api_key
        #: The only API keys accepted, or None to accept any.
        self.api_keys: frozenset[str] | None = None if api_keys is None else frozenset(api_keys)
        self._deleted_models: set[str] = set()
        #: The clock background work runs on: `clock.advance(s)` or `clock.speed` move it on.
        self.clock = MockClock()
        #: How long, on `clock`, a background response is queued and then in progress (half
        #: each) before it completes.
        self.background_seconds = background_seconds
        #: Stored objects (responses, chat completions, ...); `reset()` clears them.
        self.store = Store(self.clock)
        #: Files and uploads, their bytes spooled (memory, then a temporary file).
        self.files = FileStore(self.clock, self)
        #: The largest file part an upload may carry (the service's 512 MB by default).
        self.max_file_bytes = max_file_bytes
        #: Batches, and how long on `clock` one takes from validating to completed.
        self.batches = batches.new_batches()
        self.batch_seconds = batch_seconds
        #: Vector stores, and how long on `clock` indexing a file added to one takes.
        self.vector_stores = vector_stores.new_vector_stores()
        self.indexing_seconds = indexing_seconds
        #: Assistants and threads (their messages and runs; runs move on `background_seconds`).
        self.assistants = assistants.AssistantStore()
        #: Containers and their files (idle expiry on `clock`).
        self.containers = containers.ContainerStore(self.clock, self)
        #: Fine-tuning jobs, and how long on `clock` one takes from validating to succeeded.
        self.fine_tuning_jobs = fine_tuning.new_jobs()
        self.fine_tuning_seconds = fine_tuning_seconds
        #: The images behind `url` answers, served for an hour on `clock`.
        self.images = images.new_images()
        #: Voice consent recordings and custom voices.
        self.voices = voices.Voices()
        #: Ephemeral client secrets issued for the Realtime API: value -> (expiry on `clock`,
        #: the session settings a connection made with it starts from).
        self.client_secrets: dict[str, tuple[float, dict[str, Any]]] = {}
        #: Every request received, oldest first.
        self.requests: list[RecordedRequest] = []
        self._faults = FaultQueue()
        self._replies: deque[Reply | str] = deque()
        self._lock = threading.Lock()
        self._closing = threading.Event()
        self._window = RateLimitWindow(requests_per_minute, tokens_per_minute, self.clock.time)

    def __repr__(self) -> str:
        shown = f"seed={self.seed}, models={len(self.models)}, requests={len(self.requests)}"
        return f"MockOpenAI({shown})"

    # -- control --------------------------------------------------------------------------------

    def reply_with(self, *replies: Reply | str) -> None:
        """Queue canned replies: each chat or Responses request takes the next one."""
        for reply in replies:
            if not isinstance(reply, (Reply, str)):
                raise TypeError(f"a reply is a Reply or a str, not {type(reply).__name__}")
        with self._lock:
            self._replies.extend(replies)

    def fail_next(self, fault: Fault | str, *, times: int = 1, path: str | None = None) -> None:
        """Fail the next `times` requests (to `path`, e.g. "/v1/responses", or to any path).

        `fault` is a `Fault` or its header form, e.g. "rate_limit; retry_after=0.5".
        """
        if isinstance(fault, str):
            fault = Fault.parse(fault)
        if path is not None and not path.startswith("/v1/"):
            path = "/v1/" + path.lstrip("/")
        self._faults.add(fault, times, path)

    def add_model(self, model: str) -> None:
        """Add a model to the catalog, as a finished fine-tuning job does (`ft:...` ids can
        then be deleted through `DELETE /v1/models/{model}`)."""
        with self._lock:
            self._deleted_models.discard(model)
            if model not in self.models:
                self.models.append(model)

    def reset(self) -> None:
        """Forget recorded requests, queued replies, armed faults, deleted models and every
        stored object."""
        with self._lock:
            self.requests.clear()
            self._replies.clear()
            self._deleted_models.clear()
        self.store.clear()
        self.files.clear()
        self.batches.clear()
        self.vector_stores.clear()
        self.assistants.clear()
        self.containers.clear()
        self.fine_tuning_jobs.clear()
        self.images.clear()
        self.voices.clear()
        self.client_secrets.clear()
        self._faults.clear()

    def close(self) -> None:
        """Release requests that are hanging on purpose (safe to call from any thread)."""
        self._closing.set()

    @property
    def _policy(self) -> ReplyPolicy:
        # Built per request, so changes to the settings above apply to the next request.
        return ReplyPolicy(
            models=self.models,
            strict_models=self.strict_models,
            seed=self.seed,
            reply_tokens=self.reply_tokens,
            next_scripted=self._next_scripted,
        )

    def _next_scripted(self, request: RecordedRequest) -> Reply | str | None:
        with self._lock:
            if self._replies:
                return self._replies.popleft()
        if self.responder is None:
            return None
        # A bug in a test's responder answers 500 saying what went wrong: over a socket the
        # client would otherwise get the server's bare "Internal Server Error".
        try:
            reply = self.responder(request)
        except Exception as exc:
            _log.exception("the mock's responder raised")
            raise BadRequest(
                f"The mock's responder raised {type(exc).__name__}: {exc}",
                status=500,
                type="server_error",
            ) from exc
        if reply is not None and not isinstance(reply, (Reply, str)):
            raise BadRequest(
                "The mock's responder must return a Reply, a str or None, "
                f"not {type(reply).__name__}.",
                status=500,
                type="server_error",
            )
        return reply

    # -- ASGI -----------------------------------------------------------------------------------

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Serve one ASGI connection scope."""
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
            return
        if scope["type"] == "websocket":
            await websockets.serve(self, scope, receive, send)
            return
        if scope["type"] != "http":
            return
        started = time.perf_counter()
        method: str = scope["method"]
        path: str = scope["path"]
        match = _ROUTES.match(openai_path(path))
        route = match.methods.get(method) if match is not None else None
        raw = b""
        # An upload's handler reads its own body as it arrives; every other body is read here.
        if route is None or not route.streamed_body:
            try:
                raw = await self._read_body(receive)
            except Disconnected:
                return  # the client left before its request was whole: nothing to answer
        headers = lower_headers(scope.get("headers") or [])
        body: Any = None
        if raw:
            try:
                body = decode_json(raw)
            except msgspec.DecodeError:
                body = raw.decode("utf-8", "replace")
        query = (scope.get("query_string") or b"").decode("latin-1")
        client = scope.get("client")
        peer = (str(client[0]), int(client[1])) if client else None
        request = RecordedRequest(
            method=method, path=path, headers=headers, body=body, query=query, peer=peer
        )
        with self._lock:
            self.requests.append(request)
        reply = Exchange(send, receive, started, headers, self._window, self._closing)
        try:
            await self._dispatch(request, raw, reply, match)
        except BadRequest as exc:
            await reply.json(
                exc.status,
                error_body(exc.message, type=exc.type, param=exc.param, code=exc.code),
            )
        except Disconnected:
            pass

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await send({"type": "lifespan.shutdown.complete"})
                return

    async def _read_body(self, receive: Receive) -> bytes:
        chunks = bytearray()
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                raise Disconnected
            chunks += message.get("body", b"")
            if len(chunks) > _MAX_BODY:
                # Keep reading nothing more; the answer is a 413 below.
                return bytes(chunks)
            if not message.get("more_body", False):
                return bytes(chunks)

    async def _dispatch(
        self, request: RecordedRequest, raw: bytes, reply: Exchange, match: Match[Route] | None
    ) -> None:
        method, path, headers = request.method, request.path, request.headers
        if match is None:
            raise BadRequest(f"Invalid URL ({method} {path})", status=404)
        route = match.methods.get(method)
        if route is None:
            raise BadRequest(f"Invalid method for URL ({method} {path})", status=405)
        self._authorize(headers)
        fault = self._fault_for(request)
        if len(raw) > _MAX_BODY:
            raise BadRequest("Request body too large.", status=413)
        body = request.body
        if isinstance(body, dict):
            if route.schema is not None:
                # Before the handler: a refused request changes no state.
                route.schema.check(raw, body)
        elif method == "POST" and route.json_body and (raw or not route.bodyless):
            raise BadRequest(
                "We could not parse the JSON body of your request. (HINT: This likely means you "
                "aren't using your HTTP library correctly. The OpenAI API expects a JSON payload, "
                "but what was sent was not valid JSON.)"
            )
        if fault is not None and fault.kind == "hang":
            # An upload's body is still unread: watching for the client's disconnect would eat
            # it, so an upload's hang ends only with its time or the server.
            watch = not route.streamed_body
            if not await reply.hang(fault.seconds, watch_client=watch):
                if not self._closing.is_set():
                    raise Disconnected  # the client gave up: nobody to answer
                # Without an answer the ASGI server would invent a 500 and log an error.
                message = "The server is shutting down."
                await reply.json(503, error_body(message, type="server_error"))
                return
            fault = None  # a bounded hang only delays the answer
        if fault is not None and fault.kind not in MID_STREAM:
            await self._fail(fault, request, reply)
            return
        query = Query(request.query) if request.query else None
        answer = await route.handler(self, Call(request, reply, fault, match.params, query))
        if answer is not None:
            await reply.raw(200, encode_json(answer), fault)

    def _authorize(self, headers: Mapping[str, str]) -> None:
        bearer = headers.get("authorization", "")
        self._check_key(bearer[7:] if bearer.startswith("Bearer ") else headers.get("api-key"))

    def _check_key(self, key: str | None) -> None:
        if not key and (self.require_api_key or self.api_keys is not None):
            raise BadRequest(
                "You didn't provide an API key. You need to provide your API key in an "
                "Authorization header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY).",
                status=401,
            )
        if self.api_keys is not None and key not in self.api_keys:
            # The service echoes a masked key; the mock names none of it, so no log or test
            # snapshot ever holds part of a secret.
            raise BadRequest(
                "Incorrect API key provided. You can find your API key at "
                "https://platform.openai.com/account/api-keys.",
                status=401,
                code="invalid_api_key",
            )

    def _limits(self, headers: Mapping[str, str]) -> tuple[int, int | None]:
        seed = _int_header(headers, "x-mock-seed", self.seed)
        reply_tokens = _int_header(headers, "x-mock-reply-tokens", None)
        if reply_tokens is not None and reply_tokens < 0:
            raise BadRequest(f"Invalid x-mock-reply-tokens header: {reply_tokens} is negative.")
        return seed, reply_tokens

    # -- handlers: each answers one route; a returned value is sent as the JSON body ------------

    async def _responses(self, call: Call) -> Any:
        body = call.request.json
        if body.get("background") is True and body.get("store", True) is False:
            raise BadRequest(
                "Background mode requires store=true.", param="background", code="invalid_value"
            )
        turn, stream, record = self._plan_response(call.request)
        if record.background and not stream:
            return record.render(self.clock.time(), self.background_seconds)
        await self._send_response(call, turn, stream)
        return None

    def _plan_response(self, request: RecordedRequest) -> tuple[ResponseTurn, bool, StoredResponse]:
        """A Responses request's answer (kept in the store) and whether it streams: what
        `POST /v1/responses` and the Responses WebSocket mode share."""
        seed, reply_tokens = self._limits(request.headers)
        body = request.json
        stored = body.get("store", True) is not False
        # Only a follow-up pays for the store lookup.
        history = (
            self.store.history(body)
            if body.get("previous_response_id") or body.get("conversation")
            else None
        )
        # Only a request offering tools pays for looking for a file_search among them.
        searcher = file_search.searcher(self, body) if body.get("tools") else None
        turn, stream = responses_turn(
            self._policy,
            request,
            seed=seed,
            reply_tokens=reply_tokens,
            history=history,
            searcher=searcher,
        )
        return turn, stream, self.store.keep_response(turn, history, stored=stored)

    async def _send_response(self, call: Call, turn: ResponseTurn, stream: bool) -> None:
        if stream:
            starting_after = call.query.integer("starting_after") if call.query else None
            frames = response_frames(turn)
            if starting_after is not None:
                frames = (f for i, f in enumerate(frames) if i > starting_after)
            await self._stream(
                call.reply,
                frames,
                call.fault,
                lambda seq, code, msg: response_error_frames(turn, seq, code, msg),
                tokens=turn.input_tokens,
            )
        else:
            await call.reply.raw(200, response_body(turn), call.fault, tokens=turn.input_tokens)

    async def _retrieve_response(self, call: Call) -> Any:
        record = self.store.responses.get(call.params["response_id"])
        if call.query is not None and call.query.flag("stream"):
            # A replay of the stream as it was sent (`starting_after` skips what was seen).
            await self._send_response(call, record.turn, True)
            return None
        return record.render(self.clock.time(), self.background_seconds)

    async def _delete_response(self, call: Call) -> dict[str, Any]:
        record = self.store.responses.delete(call.params["response_id"])
        return {"id": record.id, "object": "response.deleted", "deleted": True}

    async def _cancel_response(self, call: Call) -> dict[str, Any]:
        return self.store.cancel(call.params["response_id"], self.background_seconds)

    async def _response_input_items(self, call: Call) -> dict[str, Any]:
        return self.store.input_items(call.params["response_id"], call.queried())

    async def _compact_response(self, call: Call) -> dict[str, Any]:
        body = call.request.json
        model = require_model(body, self.models, strict=self.strict_models)
        if body.get("input") is None and not body.get("previous_response_id"):
            raise missing_parameter("input")
        return self.store.compact(body, model)

    async def _count_input_tokens(self, call: Call) -> dict[str, Any]:
        body = call.request.json
        if body.get("model") is not None:
            require_model(body, self.models, strict=self.strict_models, responses=True)
        return {"object": "response.input_tokens", "input_tokens": responses_input_tokens(body)}

    async def _chat(self, call: Call) -> None:
        seed, reply_tokens = self._limits(call.request.headers)
        chat, stream = chat_turn(self._policy, call.request, seed=seed, reply_tokens=reply_tokens)
        if chat.body.get("store") is True:
            self.store.keep_chat(chat)
        if stream:
            await self._stream(
                call.reply,
                chat_frames(chat),
                call.fault,
                lambda _seq, code, msg: chat_error_frames(code, msg),
                tokens=chat.input_tokens,
            )
        else:
            await call.reply.raw(200, chat_body(chat), call.fault, tokens=chat.input_tokens)

    async def _list_chats(self, call: Call) -> dict[str, Any]:
        return self.store.list_chats(call.queried())

    async def _retrieve_chat(self, call: Call) -> dict[str, Any]:
        return self.store.chat_completions.get(call.params["completion_id"]).completion

    async def _update_chat(self, call: Call) -> dict[str, Any]:
        return self.store.update_chat(call.params["completion_id"], call.request.json)

    async def _delete_chat(self, call: Call) -> dict[str, Any]:
        chat = self.store.chat_completions.delete(call.params["completion_id"])
        return {"id": chat.id, "object": "chat.completion.deleted", "deleted": True}

    async def _chat_messages(self, call: Call) -> dict[str, Any]:
        return self.store.chat_messages(call.params["completion_id"], call.queried())

    async def _embeddings(self, call: Call) -> dict[str, Any]:
        return embeddings_answer(self._policy, call.request)

    async def _moderations(self, call: Call) -> dict[str, Any]:
        return moderations_answer(self._policy, call.request)

    async def _list_models(self, call: Call) -> dict[str, Any]:
        fine_tuning.settle_all(self)
        return model_list(self.models)

    async def _retrieve_model(self, call: Call) -> dict[str, Any]:
        fine_tuning.settle_all(self)
        model = call.params["model"]
        if model in self._deleted_models or (
            self.strict_models and not known_model(model, self.models)
        ):
            raise _no_model(model)
        return model_object(model)

    async def _delete_model(self, call: Call) -> dict[str, Any]:
        fine_tuning.settle_all(self)
        model = call.params["model"]
        with self._lock:
            if model in self._deleted_models or model not in self.models:
                raise _no_model(model)
            if not model.startswith("ft:"):
                raise BadRequest(
                    f"You have insufficient permissions to delete the model '{model}': only "
                    "fine-tuned models your organization created can be deleted.",
                    status=403,
                    type="invalid_request_error",
                )
            self.models.remove(model)
            self._deleted_models.add(model)
        return {"id": model, "object": "model", "deleted": True}

    def _fault_for(self, request: RecordedRequest) -> Fault | None:
        header = request.headers.get("x-mock-fault")
        if header:
            try:
                return Fault.parse(header)
            except ValueError as exc:
                raise BadRequest(f"Invalid x-mock-fault header: {exc}.") from None
        return self._faults.take(request.path)

    async def _fail(self, fault: Fault, request: RecordedRequest, reply: Exchange) -> None:
        status = fault.status_code
        if fault.kind == "html":
            await reply.raw(status, html_page(status), content_type=b"text/html; charset=utf-8")
            return
        message, kind, code = fault_error(fault, request.json.get("model"))
        extra: Headers = []
        if fault.retry_after is not None:
            extra.append((b"retry-after", f"{max(0, round(fault.retry_after))}".encode()))
            extra.append((b"retry-after-ms", f"{round(fault.retry_after * 1000)}".encode()))
        if fault.kind == "rate_limit":
            window = self._window.headers()
            extra.extend(
                (name, b"0") if name.startswith(b"x-ratelimit-remaining-requests") else (name, v)
                for name, v in window
            )
        await reply.json(status, error_body(message, type=kind, code=code), extra=extra)

    async def _stream(
        self,
        reply: Exchange,
        frames: Iterator[Frame],
        fault: Fault | None,
        error_frames: Callable[[int, str, str], list[bytes]],
        *,
        tokens: int,
    ) -> None:
        headers = reply.headers(SSE_CONTENT_TYPE, self._window.record(tokens))
        pace = header_float(reply.request_headers, "x-mock-tokens-per-second")
        if pace is None:
            pace = self.tokens_per_second
        await reply.start(200, headers)
        dropped = False
        async with anyio.create_task_group() as group:
            group.start_soon(reply.cancel_on_disconnect, group.cancel_scope)
            dropped = await reply.frames(frames, fault, error_frames, pace, self.latency)
            group.cancel_scope.cancel()
        if dropped:
            raise ConnectionDropped("the mock dropped the connection mid-stream, as asked")


_Handler = Callable[[MockOpenAI, Call], Awaitable[Any]]
#: Handlers whose POST takes no body (the SDK sends none for a cancel).
_BODYLESS: frozenset[_Handler] = frozenset(
    {
        MockOpenAI._cancel_response,
        files.cancel_upload,
        batches.cancel_batch,
        vector_stores.cancel_file_batch,
        runs.cancel_run,
        fine_tuning.cancel_job,
        fine_tuning.pause_job,
        fine_tuning.resume_job,
    }
)
#: Handlers that read their own (multipart) body as it arrives.
_STREAMED_BODY: frozenset[_Handler] = frozenset(
    {
        files.create_file,
        files.add_upload_part,
        containers.create_file,
        images.edit,
        images.create_variation,
        audio.transcription,
        audio.translation,
        voices.create_consent,
        voices.create_voice,
    }
)
#: The hand-written handlers, which take precedence over the generic one (each its spec's
#: method and template). Every other operation of the spec is answered by `GenericOperation`.
_HANDWRITTEN: tuple[tuple[str, str, _Handler], ...] = (
    ("POST", "/v1/responses", MockOpenAI._responses),
    ("GET", "/v1/responses/{response_id}", MockOpenAI._retrieve_response),
    ("DELETE", "/v1/responses/{response_id}", MockOpenAI._delete_response),
    ("POST", "/v1/responses/{response_id}/cancel", MockOpenAI._cancel_response),
    ("GET", "/v1/responses/{response_id}/input_items", MockOpenAI._response_input_items),
    ("POST", "/v1/responses/compact", MockOpenAI._compact_response),
    ("POST", "/v1/responses/input_tokens", MockOpenAI._count_input_tokens),
    ("POST", "/v1/chat/completions", MockOpenAI._chat),
    ("GET", "/v1/chat/completions", MockOpenAI._list_chats),
    ("GET", "/v1/chat/completions/{completion_id}", MockOpenAI._retrieve_chat),
    ("POST", "/v1/chat/completions/{completion_id}", MockOpenAI._update_chat),
    ("DELETE", "/v1/chat/completions/{completion_id}", MockOpenAI._delete_chat),
    ("GET", "/v1/chat/completions/{completion_id}/messages", MockOpenAI._chat_messages),
    ("POST", "/v1/embeddings", MockOpenAI._embeddings),
    ("POST", "/v1/moderations", MockOpenAI._moderations),
    ("GET", "/v1/models", MockOpenAI._list_models),
    ("GET", "/v1/models/{model}", MockOpenAI._retrieve_model),
    ("DELETE", "/v1/models/{model}", MockOpenAI._delete_model),
    ("POST", "/v1/files", files.create_file),
    ("GET", "/v1/files", files.list_files),
    ("GET", "/v1/files/{file_id}", files.retrieve_file),
    ("DELETE", "/v1/files/{file_id}", files.delete_file),
    ("GET", "/v1/files/{file_id}/content", files.file_content),
    ("POST", "/v1/uploads", files.create_upload),
    ("POST", "/v1/uploads/{upload_id}/parts", files.add_upload_part),
    ("POST", "/v1/uploads/{upload_id}/complete", files.complete_upload),
    ("POST", "/v1/uploads/{upload_id}/cancel", files.cancel_upload),
    ("POST", "/v1/batches", batches.create_batch),
    ("GET", "/v1/batches", batches.list_batches),
    ("GET", "/v1/batches/{batch_id}", batches.retrieve_batch),
    ("POST", "/v1/batches/{batch_id}/cancel", batches.cancel_batch),
    ("POST", "/v1/conversations", conversations.create_conversation),
    ("GET", "/v1/conversations/{conversation_id}", conversations.retrieve_conversation),
    ("POST", "/v1/conversations/{conversation_id}", conversations.update_conversation),
    ("DELETE", "/v1/conversations/{conversation_id}", conversations.delete_conversation),
    ("GET", "/v1/conversations/{conversation_id}/items", conversations.list_items),
    ("POST", "/v1/conversations/{conversation_id}/items", conversations.create_items),
    ("GET", "/v1/conversations/{conversation_id}/items/{item_id}", conversations.retrieve_item),
    ("DELETE", "/v1/conversations/{conversation_id}/items/{item_id}", conversations.delete_item),
    ("POST", "/v1/vector_stores", vector_stores.create_vector_store),
    ("GET", "/v1/vector_stores", vector_stores.list_vector_stores),
    ("GET", "/v1/vector_stores/{vector_store_id}", vector_stores.retrieve_vector_store),
    ("POST", "/v1/vector_stores/{vector_store_id}", vector_stores.update_vector_store),
    ("DELETE", "/v1/vector_stores/{vector_store_id}", vector_stores.delete_vector_store),
    ("POST", "/v1/vector_stores/{vector_store_id}/files", vector_stores.create_file),
    ("GET", "/v1/vector_stores/{vector_store_id}/files", vector_stores.list_files),
    ("GET", "/v1/vector_stores/{vector_store_id}/files/{file_id}", vector_stores.retrieve_file),
    ("POST", "/v1/vector_stores/{vector_store_id}/files/{file_id}", vector_stores.update_file),
    ("DELETE", "/v1/vector_stores/{vector_store_id}/files/{file_id}", vector_stores.delete_file),
    (
        "GET",
        "/v1/vector_stores/{vector_store_id}/files/{file_id}/content",
        vector_stores.file_content,
    ),
    ("POST", "/v1/vector_stores/{vector_store_id}/file_batches", vector_stores.create_file_batch),
    (
        "GET",
        "/v1/vector_stores/{vector_store_id}/file_batches/{batch_id}",
        vector_stores.retrieve_file_batch,
    ),
    (
        "POST",
        "/v1/vector_stores/{vector_store_id}/file_batches/{batch_id}/cancel",
        vector_stores.cancel_file_batch,
    ),
    (
        "GET",
        "/v1/vector_stores/{vector_store_id}/file_batches/{batch_id}/files",
        vector_stores.list_file_batch_files,
    ),
    ("POST", "/v1/vector_stores/{vector_store_id}/search", vector_stores.search),
    ("POST", "/v1/assistants", assistants.create_assistant),
    ("GET", "/v1/assistants", assistants.list_assistants),
    ("GET", "/v1/assistants/{assistant_id}", assistants.retrieve_assistant),
    ("POST", "/v1/assistants/{assistant_id}", assistants.update_assistant),
    ("DELETE", "/v1/assistants/{assistant_id}", assistants.delete_assistant),
    ("POST", "/v1/threads", assistants.create_thread),
    ("GET", "/v1/threads/{thread_id}", assistants.retrieve_thread),
    ("POST", "/v1/threads/{thread_id}", assistants.update_thread),
    ("DELETE", "/v1/threads/{thread_id}", assistants.delete_thread),
    ("GET", "/v1/threads/{thread_id}/messages", assistants.list_messages),
    ("POST", "/v1/threads/{thread_id}/messages", assistants.create_message),
    ("GET", "/v1/threads/{thread_id}/messages/{message_id}", assistants.retrieve_message),
    ("POST", "/v1/threads/{thread_id}/messages/{message_id}", assistants.update_message),
    ("DELETE", "/v1/threads/{thread_id}/messages/{message_id}", assistants.delete_message),
    ("POST", "/v1/threads/runs", runs.create_thread_and_run),
    ("GET", "/v1/threads/{thread_id}/runs", runs.list_runs),
    ("POST", "/v1/threads/{thread_id}/runs", runs.create_run),
    ("GET", "/v1/threads/{thread_id}/runs/{run_id}", runs.retrieve_run),
    ("POST", "/v1/threads/{thread_id}/runs/{run_id}", runs.update_run),
    ("POST", "/v1/threads/{thread_id}/runs/{run_id}/cancel", runs.cancel_run),
    (
        "POST",
        "/v1/threads/{thread_id}/runs/{run_id}/submit_tool_outputs",
        runs.submit_tool_outputs,
    ),
    ("GET", "/v1/threads/{thread_id}/runs/{run_id}/steps", runs.list_steps),
    ("GET", "/v1/threads/{thread_id}/runs/{run_id}/steps/{step_id}", runs.retrieve_step),
    ("POST", "/v1/containers", containers.create_container),
    ("GET", "/v1/containers", containers.list_containers),
    ("GET", "/v1/containers/{container_id}", containers.retrieve_container),
    ("DELETE", "/v1/containers/{container_id}", containers.delete_container),
    ("POST", "/v1/containers/{container_id}/files", containers.create_file),
    ("GET", "/v1/containers/{container_id}/files", containers.list_files),
    ("GET", "/v1/containers/{container_id}/files/{file_id}", containers.retrieve_file),
    ("DELETE", "/v1/containers/{container_id}/files/{file_id}", containers.delete_file),
    ("GET", "/v1/containers/{container_id}/files/{file_id}/content", containers.file_content),
    ("POST", "/v1/fine_tuning/jobs", fine_tuning.create_job),
    ("GET", "/v1/fine_tuning/jobs", fine_tuning.list_jobs),
    ("GET", "/v1/fine_tuning/jobs/{fine_tuning_job_id}", fine_tuning.retrieve_job),
    ("POST", "/v1/fine_tuning/jobs/{fine_tuning_job_id}/cancel", fine_tuning.cancel_job),
    ("POST", "/v1/fine_tuning/jobs/{fine_tuning_job_id}/pause", fine_tuning.pause_job),
    ("POST", "/v1/fine_tuning/jobs/{fine_tuning_job_id}/resume", fine_tuning.resume_job),
    ("GET", "/v1/fine_tuning/jobs/{fine_tuning_job_id}/events", fine_tuning.list_events),
    ("GET", "/v1/fine_tuning/jobs/{fine_tuning_job_id}/checkpoints", fine_tuning.list_checkpoints),
    (
        "POST",
        "/v1/fine_tuning/checkpoints/{fine_tuned_model_checkpoint}/permissions",
        fine_tuning.create_permissions,
    ),
    (
        "GET",
        "/v1/fine_tuning/checkpoints/{fine_tuned_model_checkpoint}/permissions",
        fine_tuning.list_permissions,
    ),
    (
        "DELETE",
        "/v1/fine_tuning/checkpoints/{fine_tuned_model_checkpoint}/permissions/{permission_id}",
        fine_tuning.delete_permission,
    ),
    ("POST", "/v1/images/generations", images.generate),
    ("POST", "/v1/images/edits", images.edit),
    ("POST", "/v1/images/variations", images.create_variation),
    ("GET", "/v1/mock/images/{image}", images.image_content),
    ("POST", "/v1/audio/speech", audio.speech),
    ("POST", "/v1/audio/transcriptions", audio.transcription),
    ("POST", "/v1/audio/translations", audio.translation),
    ("POST", "/v1/audio/voice_consents", voices.create_consent),
    ("GET", "/v1/audio/voice_consents", voices.list_consents),
    ("GET", "/v1/audio/voice_consents/{consent_id}", voices.retrieve_consent),
    ("POST", "/v1/audio/voice_consents/{consent_id}", voices.update_consent),
    ("DELETE", "/v1/audio/voice_consents/{consent_id}", voices.delete_consent),
    ("POST", "/v1/audio/voices", voices.create_voice),
    ("POST", "/v1/realtime/client_secrets", websockets.create_client_secret),
)


@dataclass(frozen=True, slots=True)
class Route:
    """What a method and template route to: the handler and what `_dispatch` checks first."""

    handler: _Handler
    #: The operation's request schema (None: no JSON body to check).
    schema: RequestSchema | None
    #: Whether a POST body must be JSON (not for multipart operations and streamed uploads).
    json_body: bool
    #: Whether a POST may come without a body (the SDK sends none for a cancel).
    bodyless: bool
    #: Whether the handler reads its own body as it arrives.
    streamed_body: bool


def _route(handler: _Handler, operation: SpecOperation | None) -> Route:
    content_type = operation.content_type if operation is not None else "application/json"
    multipart = content_type.startswith("multipart/")
    streamed = handler in _STREAMED_BODY
    schema = None
    if operation is not None and operation.body_type and not multipart:
        schema = RequestSchema(operation.operation_id, operation.request_type, operation.enums)
    return Route(
        handler=handler,
        schema=schema,
        json_body=not multipart and not streamed,
        bodyless=handler in _BODYLESS or not content_type,
        streamed_body=streamed,
    )


def _routes() -> RouteTable[Route]:
    # The spec's first operation of a method and template (`/responses?beta=true` repeats one).
    operations: dict[tuple[str, str], SpecOperation] = {}
    for operation in OPERATIONS:
        operations.setdefault((operation.method, operation.template), operation)
    table: RouteTable[Route] = RouteTable()
    for method, template, handler in _HANDWRITTEN:
        table.add(method, template, _route(handler, operations.pop((method, template), None)))
    templates = frozenset(template for _, template in operations)
    for (method, template), operation in operations.items():
        generic = GenericOperation(operation, object_parameter(template, templates))
        table.add(method, template, _route(generic, operation))
    return table


_ROUTES = _routes()


def _no_model(model: str) -> BadRequest:
    return BadRequest(
        f"The model '{model}' does not exist", status=404, code="model_not_found", param="model"
    )


def _int_header(headers: dict[str, str] | Any, name: str, default: Any) -> Any:
    value = headers.get(name)
    if value is None:
        return default
    try:
        return int(value)
    except ValueError:
        raise BadRequest(f"Invalid {name} header: {value!r} is not an integer.") from None
