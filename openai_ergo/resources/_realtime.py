"""`client.realtime(model)`: the Realtime API's session settings as an immutable builder, and
`.connect()`, which opens the session's WebSocket.

The builder holds the GA session's fields (`RealtimeSessionCreateRequestGA` in the spec) as the
API takes them; `.connect()` opens `wss://.../realtime?model=...` (Azure: its realtime route,
with the deployment and `api-version` in the query) with the client's own headers and
credentials, and sends them as `session.update` once the socket is open. The session itself is
`RealtimeSession` (`_realtime_session.py`).
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from types import TracebackType
from typing import TYPE_CHECKING, Any, Literal, final
from urllib.parse import urlencode

from openai_ergo._errors import ConfigurationError, InvalidRequestError
from openai_ergo.resources._builder import ToolSpec, check_int, check_number, check_str
from openai_ergo.resources._tools import FunctionTool

if TYPE_CHECKING:
    from openai_ergo._client import Client
    from openai_ergo.resources._realtime_session import RealtimeSession

__all__ = ["RealtimeBuilder", "RealtimeConnection", "realtime_tool", "websocket_request"]

#: The formats a session's audio may take, by the names people use for them.
AudioFormat = Literal["pcm16", "g711_ulaw", "g711_alaw"]
_FORMATS: dict[str, dict[str, Any]] = {
    # PCM16 is 16-bit little-endian mono at 24 kHz: the only rate the API takes for it.
    "pcm16": {"type": "audio/pcm", "rate": 24000},
    "g711_ulaw": {"type": "audio/pcmu"},
    "g711_alaw": {"type": "audio/pcma"},
}
_TURN_DETECTION = ("server_vad", "semantic_vad")
#: Headers of an HTTP request that would break (or lie about) a WebSocket upgrade: the
#: handshake writes its own.
_HOP_HEADERS = frozenset(
    {
        "host",
        "connection",
        "upgrade",
        "content-length",
        "transfer-encoding",
        "accept-encoding",
        "keep-alive",
        "te",
        "proxy-connection",
    }
)
DEFAULT_MAX_TOOL_ROUNDS = 8


def realtime_tool(spec: ToolSpec) -> dict[str, Any]:
    """A tool as a Realtime session takes it: a `@tool` function's name, description and
    parameters (the Realtime API has no `strict`), or the JSON given."""
    if isinstance(spec, FunctionTool):
        tool: dict[str, Any] = {"type": "function", "name": spec.name}
        if spec.description:
            tool["description"] = spec.description
        tool["parameters"] = copy.deepcopy(spec.parameters)
        return tool
    return dict(spec)


def _merged(base: dict[str, Any], update: Mapping[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in update.items():
        if isinstance(value, Mapping) and isinstance(out.get(key), dict):
            out[key] = _merged(out[key], value)
        else:
            out[key] = copy.deepcopy(value) if isinstance(value, dict | list) else value
    return out


async def websocket_request(
    client: Client,
    path: str,
    query: Mapping[str, str],
    *,
    model: str | None,
    bearer: str | None = None,
) -> tuple[str, list[tuple[str, str]]]:
    """The URL and the headers that open the WebSocket at `path` (`/realtime`, `/responses`)
    for `client`: its base URL (or Azure route) with the query, its headers, and its
    credentials through its auth (a key, a pool's key, a token provider's token); `bearer`
    (an ephemeral client secret) replaces them."""
    import httpx

    azure = client._azure
    if azure is None:
        url = client.base_url + path
        params = dict(query)
    elif azure.v1:
        url = f"{azure.endpoint}/openai/v1{path}"
        params = dict(query)
        if azure.api_version:
            params["api-version"] = azure.api_version
    else:
        # The dated API names the deployment in the query: the route has no model in it.
        url = f"{azure.endpoint}/openai{path}"
        params = {k: v for k, v in query.items() if k != "model"}
        if path == "/realtime":
            if not model:
                raise ConfigurationError("Azure routes realtime sessions per deployment: name one")
            params["deployment"] = model
        if azure.api_version:
            params["api-version"] = azure.api_version
    for key, value in (client._default_query or {}).items():
        params.setdefault(str(key), str(value))
    if params:
        url = f"{url}?{urlencode(params)}"
    headers = httpx.Headers(client._headers.headers)
    request = httpx.Request("GET", url, headers=headers)
    if bearer is None:
        # The pipeline's own auth sets the header, so a key pool or a token provider works
        # here as on any request (one pass: a WebSocket handshake is not retried by auth).
        flow = client._pipeline.auth.async_auth_flow(request)
        try:
            request = await flow.__anext__()
        finally:
            await flow.aclose()
    else:
        request.headers.pop("api-key", None)
        request.headers["Authorization"] = f"Bearer {bearer}"
    pairs = [
        (name, value)
        for name, value in request.headers.items()
        if name.lower() not in _HOP_HEADERS and not name.lower().startswith("sec-websocket-")
    ]
    return url, pairs


@final
class RealtimeBuilder:
    """The settings of a Realtime session, as `client.realtime("gpt-realtime")` starts them.

    Every setter returns a new builder (a builder is a reusable template). `.connect()` opens
    the session: `async with client.realtime("gpt-realtime").instructions("Be brief.")
    .connect() as session: ...`. Unset fields keep the API's defaults (audio out, PCM16 at
    24 kHz, the server's turn detection).
    """

    __slots__ = ("_client", "_max_tool_rounds", "_model", "_settings", "_tools")

    def __init__(self, client: Client, model: str) -> None:
        self._client = client
        self._model = check_str("model", model)
        self._settings: dict[str, Any] = {}
        self._tools: tuple[ToolSpec, ...] = ()
        self._max_tool_rounds = DEFAULT_MAX_TOOL_ROUNDS

    def __repr__(self) -> str:
        return f"RealtimeBuilder({self._model!r}, {self.session_settings()!r})"

    @property
    def model(self) -> str:
        """The model (on Azure: the deployment) the session runs."""
        return self._model

    def _with(self, update: Mapping[str, Any]) -> RealtimeBuilder:
        other = RealtimeBuilder.__new__(RealtimeBuilder)
        other._client = self._client
        other._model = self._model
        other._settings = _merged(self._settings, update)
        other._tools = self._tools
        other._max_tool_rounds = self._max_tool_rounds
        return other

    # -- the settings ---------------------------------------------------------------------------

    def instructions(self, text: str) -> RealtimeBuilder:
        """The system instructions the model follows for the whole session."""
        return self._with({"instructions": check_str("instructions", text)})

    def voice(self, name: str) -> RealtimeBuilder:
        """The voice the model speaks with (`alloy`, `ash`, `marin`, `cedar`...)."""
        return self._with({"audio": {"output": {"voice": check_str("voice", name)}}})

    def modalities(self, kind: Literal["text", "audio"]) -> RealtimeBuilder:
        """What the model answers with: `"audio"` (speech, with its transcript) or `"text"`."""
        if kind not in ("text", "audio"):
            raise InvalidRequestError(
                f"modalities is 'text' or 'audio', not {kind!r}", param="output_modalities"
            )
        return self._with({"output_modalities": [kind]})

    def input_format(self, kind: AudioFormat = "pcm16") -> RealtimeBuilder:
        """The format of the audio the session is sent (`pcm16`: 16-bit mono at 24 kHz)."""
        return self._with({"audio": {"input": {"format": _format(kind, "input_format")}}})

    def output_format(self, kind: AudioFormat = "pcm16") -> RealtimeBuilder:
        """The format of the audio the model speaks (`pcm16`: 16-bit mono at 24 kHz)."""
        return self._with({"audio": {"output": {"format": _format(kind, "output_format")}}})

    def speed(self, value: float) -> RealtimeBuilder:
        """How fast the model speaks, 0.25 to 1.5 (1.0 by default)."""
        return self._with({"audio": {"output": {"speed": check_number("speed", value, 0.25, 1.5)}}})

    def turn_detection(
        self,
        kind: Literal["server_vad", "semantic_vad"] | Mapping[str, Any] | None,
    ) -> RealtimeBuilder:
        """How the server finds the end of a turn: `"server_vad"`, `"semantic_vad"`, their JSON
        with its settings, or `None` (the client commits the audio and asks for a response)."""
        if kind is None:
            value: Any = None
        elif isinstance(kind, str):
            if kind not in _TURN_DETECTION:
                raise InvalidRequestError(
                    f"turn_detection is 'server_vad', 'semantic_vad', a mapping or None, "
                    f"not {kind!r}",
                    param="turn_detection",
                )
            value = {"type": kind}
        elif isinstance(kind, Mapping):
            value = dict(kind)
        else:
            raise InvalidRequestError(
                f"turn_detection is a str, a mapping or None, not {type(kind).__name__}",
                param="turn_detection",
            )
        # Set, not merged: None must replace the server's default.
        builder = self._with({})
        audio = builder._settings.setdefault("audio", {})
        audio.setdefault("input", {})["turn_detection"] = value
        return builder

    def transcription(
        self,
        model: str = "gpt-4o-transcribe",
        *,
        language: str | None = None,
        prompt: str | None = None,
    ) -> RealtimeBuilder:
        """Transcribe the audio the session hears with `model`: the transcripts arrive as
        `conversation.item.input_audio_transcription.*` events, and in
        `session.input_transcripts`."""
        settings: dict[str, Any] = {"model": check_str("transcription model", model)}
        if language is not None:
            settings["language"] = check_str("language", language)
        if prompt is not None:
            settings["prompt"] = prompt
        return self._with({"audio": {"input": {"transcription": settings}}})

    def tools(self, *tools: ToolSpec) -> RealtimeBuilder:
        """Add tools the model may call: `@tool` functions (the session runs them and answers
        with their results) or a tool's JSON (your code answers its calls)."""
        from openai_ergo.resources._builder import checked_tools

        builder = self._with({})
        builder._tools = checked_tools(self._tools, tools)
        return builder

    def tool_choice(
        self, value: Literal["auto", "none", "required"] | FunctionTool[..., Any] | str
    ) -> RealtimeBuilder:
        """Whether and which tool to call: `"auto"`, `"none"`, `"required"`, or one tool (a
        `@tool` function or its name), always."""
        if isinstance(value, FunctionTool):
            choice: Any = {"type": "function", "name": value.name}
        elif value in ("auto", "none", "required"):
            choice = value
        elif isinstance(value, str) and value:
            choice = {"type": "function", "name": value}
        else:
            raise InvalidRequestError(
                f"tool_choice is 'auto', 'none', 'required', a tool or its name, not {value!r}",
                param="tool_choice",
            )
        return self._with({"tool_choice": choice})

    def max_output_tokens(self, value: int | Literal["inf"]) -> RealtimeBuilder:
        """The most tokens one response may have (1 to 4096), or `"inf"`."""
        if value != "inf":
            value = check_int("max_output_tokens", value, 1, 4096)
        return self._with({"max_output_tokens": value})

    def max_tool_rounds(self, value: int) -> RealtimeBuilder:
        """How many times one response may call `@tool` functions and be answered again
        before `ToolError` (8 by default)."""
        builder = self._with({})
        builder._max_tool_rounds = check_int("max_tool_rounds", value, 1)
        return builder

    def settings(self, fields: Mapping[str, Any]) -> RealtimeBuilder:
        """Any of the session's fields as the API takes them (nested objects merge), for the
        ones without a method here (`tracing`, `include`, `truncation`, `prompt`...)."""
        if not isinstance(fields, Mapping):
            raise InvalidRequestError(
                f"settings takes a mapping of the session's fields, not {type(fields).__name__}",
                param="session",
            )
        return self._with(fields)

    # -- what goes out --------------------------------------------------------------------------

    def session_settings(self) -> dict[str, Any]:
        """The `session` object that `session.update` sends on open (the API's JSON)."""
        settings = copy.deepcopy(self._settings)
        if self._tools:
            settings["tools"] = [realtime_tool(tool) for tool in self._tools]
        if settings:
            settings.setdefault("type", "realtime")
        return settings

    @property
    def function_tools(self) -> dict[str, FunctionTool[..., Any]]:
        """The `@tool` functions the session runs when the model calls them, by name."""
        return {t.name: t for t in self._tools if isinstance(t, FunctionTool)}

    def connect(
        self,
        *,
        client_secret: str | Any | None = None,
        idle_timeout: float | None = None,
        deadline: float | None = None,
        connect_timeout: float | None = 10.0,
        ping_interval: float | None = 20.0,
        max_message_size: int = 16 * 1024 * 1024,
    ) -> RealtimeConnection:
        """Open the session; `async with` it to get the `RealtimeSession`.

        `client_secret` authenticates with an ephemeral secret (its value, or what
        `client.realtime.client_secrets.create(...)` returned) instead of the client's key.
        `idle_timeout` bounds each wait for an event (`StreamIdleTimeoutError`), `deadline`
        the whole session; `ping_interval` pings a silent connection to find it dead.
        """
        from openai_ergo.resources._realtime_session import check_settings

        settings = self.session_settings()
        message = check_settings(settings) if settings else None
        secret: str | None
        if client_secret is None or isinstance(client_secret, str):
            secret = client_secret
        else:
            secret = getattr(client_secret, "value", None)
            if not isinstance(secret, str):
                raise InvalidRequestError(
                    "client_secret is the secret's value or the object "
                    "client.realtime.client_secrets.create() returned",
                    param="client_secret",
                )
        if secret is not None and not secret:
            raise InvalidRequestError("client_secret is empty", param="client_secret")
        return RealtimeConnection(
            self,
            message,
            secret,
            {
                "idle_timeout": idle_timeout,
                "deadline": deadline,
                "connect_timeout": connect_timeout,
                "ping_interval": ping_interval,
                "max_message_size": max_message_size,
            },
        )


def _format(kind: str, param: str) -> dict[str, Any]:
    found = _FORMATS.get(kind)
    if found is None:
        raise InvalidRequestError(
            f"{param} is one of {', '.join(_FORMATS)}, not {kind!r}", param=param
        )
    return dict(found)


@final
class RealtimeConnection:
    """What `RealtimeBuilder.connect()` returns: `async with` it for the session."""

    def __init__(
        self,
        builder: RealtimeBuilder,
        message: str | None,
        secret: str | None,
        options: dict[str, Any],
    ) -> None:
        self._builder = builder
        self._message = message
        self._secret = secret
        self._options = options
        self._session: RealtimeSession | None = None

    def __repr__(self) -> str:
        return f"RealtimeConnection({self._builder.model!r})"

    async def __aenter__(self) -> RealtimeSession:
        from openai_ergo.resources._realtime_session import RealtimeSession, open_socket

        builder = self._builder
        url, headers = await websocket_request(
            builder._client,
            "/realtime",
            {"model": builder.model},
            model=builder.model,
            bearer=self._secret,
        )
        stream = await open_socket(url, headers, self._options)
        session = RealtimeSession(
            stream,
            tools=builder.function_tools,
            max_tool_rounds=builder._max_tool_rounds,
        )
        self._session = session
        try:
            if self._message is not None:
                await session._send(self._message)
        except BaseException:
            await session.aclose()
            raise
        return session

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if self._session is not None:
            await self._session._close(going_away=exc_type is not None)
