"""Builders and handles for the Responses and Chat Completions APIs, tools and structured output.

`client.responses(model)` and `client.chat(model)` return immutable builders; awaiting one sends
the request, `.stream()` streams it, `.parse(MyStruct)` asks for typed output, `.run()` runs the
tool loop over `@tool` functions. The same stream handles (and `TypedEventStream` for the other
event streams) are what the typed methods return for `stream=True`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from openai_ergo._errors import WaitTimeoutError
from openai_ergo.resources._aggregate import (
    ChatCompletionAccumulator,
    ResponseAccumulator,
    StreamFailure,
)
from openai_ergo.resources._assistants import AssistantRunBuilder, RunStream
from openai_ergo.resources._audio import (
    SpeechBuilder,
    SpeechStream,
    Transcript,
    TranscriptionBuilder,
    TranscriptStream,
)
from openai_ergo.resources._batch import (
    BatchBuilder,
    BatchFailedError,
    BatchJob,
    BatchLineError,
    BatchProgress,
    BatchRequest,
    BatchResult,
    BatchResults,
    register_batch_endpoint,
)
from openai_ergo.resources._builder import BodyBuilder, RequestBuilder
from openai_ergo.resources._chat import ChatBuilder, ChatParse
from openai_ergo.resources._conversations import Conversation
from openai_ergo.resources._embeddings import Embeddings, EmbeddingsBuilder
from openai_ergo.resources._event_streams import TypedEventStream
from openai_ergo.resources._fine_tuning import (
    FineTuningError,
    FineTuningJobBuilder,
    TuningEvents,
    TuningJob,
)
from openai_ergo.resources._history import ChatHistory
from openai_ergo.resources._images import GeneratedImage, Images, ImagesBuilder, ImageStream
from openai_ergo.resources._inputs import AudioInput, FileInput, ImageInput, audio, file, image
from openai_ergo.resources._moderations import Moderation, ModerationsBuilder
from openai_ergo.resources._realtime import RealtimeBuilder, RealtimeConnection

# Not imported here: a session decodes into the generated Realtime events, a module that costs
# more than the rest of this package; it loads when a session opens (or the name is read).
if TYPE_CHECKING:
    from openai_ergo.resources._realtime_session import (
        RealtimeResponse,
        RealtimeSession,
        RealtimeToolCall,
    )
from openai_ergo.resources._responses import ResponsesBuilder, ResponsesParse
from openai_ergo.resources._responses_socket import ResponsesSocket, ResponsesSocketConnection
from openai_ergo.resources._run import ToolCallRecord, ToolRun, ToolRunStream, ToolStep
from openai_ergo.resources._streams import (
    ChatStream,
    ParsedStream,
    ResponseStream,
    StreamNotFinishedError,
    TextDeltas,
)
from openai_ergo.resources._structured import OutputFormat, Parsed
from openai_ergo.resources._tools import FunctionTool, ToolArgumentsError, tool
from openai_ergo.resources._uploads import UploadHandle, UploadPartError
from openai_ergo.resources._vector_stores import (
    VectorStore,
    VectorStoreBuilder,
    VectorStoreSearch,
    file_search,
)

__all__ = [
    "AssistantRunBuilder",
    "AudioInput",
    "BatchBuilder",
    "BatchFailedError",
    "BatchJob",
    "BatchLineError",
    "BatchProgress",
    "BatchRequest",
    "BatchResult",
    "BatchResults",
    "BodyBuilder",
    "ChatBuilder",
    "ChatCompletionAccumulator",
    "ChatHistory",
    "ChatParse",
    "ChatStream",
    "Conversation",
    "Embeddings",
    "EmbeddingsBuilder",
    "FileInput",
    "FineTuningError",
    "FineTuningJobBuilder",
    "FunctionTool",
    "GeneratedImage",
    "ImageInput",
    "ImageStream",
    "Images",
    "ImagesBuilder",
    "Moderation",
    "ModerationsBuilder",
    "OutputFormat",
    "Parsed",
    "ParsedStream",
    "RealtimeBuilder",
    "RealtimeConnection",
    "RealtimeResponse",
    "RealtimeSession",
    "RealtimeToolCall",
    "RequestBuilder",
    "ResponseAccumulator",
    "ResponseStream",
    "ResponsesBuilder",
    "ResponsesParse",
    "ResponsesSocket",
    "ResponsesSocketConnection",
    "RunStream",
    "SpeechBuilder",
    "SpeechStream",
    "StreamFailure",
    "StreamNotFinishedError",
    "TextDeltas",
    "ToolArgumentsError",
    "ToolCallRecord",
    "ToolRun",
    "ToolRunStream",
    "ToolStep",
    "Transcript",
    "TranscriptStream",
    "TranscriptionBuilder",
    "TuningEvents",
    "TuningJob",
    "TypedEventStream",
    "UploadHandle",
    "UploadPartError",
    "VectorStore",
    "VectorStoreBuilder",
    "VectorStoreSearch",
    "WaitTimeoutError",
    "audio",
    "file",
    "file_search",
    "image",
    "register_batch_endpoint",
    "tool",
]


_REALTIME_SESSION = frozenset({"RealtimeResponse", "RealtimeSession", "RealtimeToolCall"})


def __getattr__(name: str) -> Any:
    if name in _REALTIME_SESSION:
        from openai_ergo.resources import _realtime_session

        value = getattr(_realtime_session, name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'openai_ergo.resources' has no attribute {name!r}")
