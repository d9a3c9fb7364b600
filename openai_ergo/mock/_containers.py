"""Containers and their files: kept in memory, idle expiry read off the mock's clock.

A container runs until it has been idle for its `expires_after.minutes` (20 by default, as on
the service), then it is expired; using its files (adding, listing, reading, deleting) marks it
active, and `last_active_at` is its creation time plus the clock seconds to its last use, so a
test that advances the clock sees both move:

    running ──(expires_after minutes idle on the clock)──▶ expired
       └──────────────────DELETE──────────────────▶ deleted (404 from then on)

A container file comes from a multipart upload (read as it arrives, spooled like a File) or is
copied from an uploaded File by `file_id`; its content downloads as a stream.
"""

from __future__ import annotations

import weakref
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import msgspec

from openai_ergo.mock._endpoints import BadRequest, invalid, missing_parameter, unsupported
from openai_ergo.mock._files import StoredFile, new_spool, receive_file, send_content
from openai_ergo.mock._multipart import FilePart, Form
from openai_ergo.mock._routes import Call
from openai_ergo.mock._store import Collection, MockClock, page
from openai_ergo.mock._wire import decode_json, new_id, now

if TYPE_CHECKING:
    from openai_ergo.mock._app import MockOpenAI

__all__ = ["ContainerStore"]

#: The service's default idle time before a container expires.
DEFAULT_MINUTES = 20
MEMORY_LIMITS = ("1g", "4g", "16g", "64g")
_NETWORK_POLICIES = ("allowlist", "disabled")
#: A JSON body sent to the streamed create route is small: read at most this much of it.
_MAX_JSON = 1024 * 1024


@dataclass
class ContainerFile:
    """One file in a container: its object fields and its spooled bytes."""

    id: str
    container_id: str
    path: str
    content: StoredFile
    source: str = "user"
    created_at: int = field(default_factory=now)

    def render(self) -> dict[str, Any]:
        """The container file object."""
        return {
            "id": self.id,
            "object": "container.file",
            "created_at": self.created_at,
            "bytes": self.content.size,
            "container_id": self.container_id,
            "path": self.path,
            "source": self.source,
        }


@dataclass
class StoredContainer:
    """One container and its files."""

    id: str
    name: str
    minutes: int
    memory_limit: str
    network_policy: dict[str, Any] | None
    #: On the clock: when it was made and when it was last used.
    started: float
    active: float
    created_at: int = field(default_factory=now)
    files: dict[str, ContainerFile] = field(default_factory=dict)

    def status(self, clock_now: float) -> str:
        """running, or expired once idle for its minutes."""
        return "expired" if clock_now - self.active >= self.minutes * 60 else "running"

    def render(self, clock_now: float) -> dict[str, Any]:
        """The container object."""
        answer: dict[str, Any] = {
            "id": self.id,
            "object": "container",
            "created_at": self.created_at,
            "status": self.status(clock_now),
            "expires_after": {"anchor": "last_active_at", "minutes": self.minutes},
            "last_active_at": self.created_at + round(self.active - self.started),
            "memory_limit": self.memory_limit,
            "name": self.name,
        }
        if self.network_policy is not None:
            answer["network_policy"] = self.network_policy
        return answer

    def file(self, file_id: str) -> ContainerFile:
        """A file of this container, or OpenAI's 404."""
        found = self.files.get(file_id)
        if found is None:
            raise BadRequest(
                f"No file found with id '{file_id}' in container '{self.id}'.",
                status=404,
                param="file_id",
            )
        return found


def _close(containers: Iterable[StoredContainer]) -> None:
    for container in containers:
        for stored in container.files.values():
            stored.content.content.close()


class ContainerStore:
    """The containers of one mock server (their files' spools closed on reset and with it)."""

    def __init__(self, clock: MockClock, owner: object) -> None:
        self.clock = clock
        self.containers: Collection[StoredContainer] = Collection("Container")
        # Spools that rolled to disk warn when collected open: close them when the owner goes.
        weakref.finalize(owner, _close, self.containers)

    def clear(self) -> None:
        """Forget (and close) every container and file."""
        _close(self.containers)
        self.containers.clear()

    def get(self, container_id: str) -> StoredContainer:
        """A container, or OpenAI's 404."""
        return self.containers.get(container_id)

    def usable(self, container_id: str) -> StoredContainer:
        """A running container, now marked active (an expired one is a 400 saying so)."""
        container = self.get(container_id)
        clock_now = self.clock.time()
        if container.status(clock_now) == "expired":
            raise BadRequest(
                f"Container '{container_id}' is expired: it was idle for more than "
                f"{container.minutes} minutes.",
                param="container_id",
            )
        container.active = clock_now
        return container


# -- parameters -----------------------------------------------------------------------------------


def _minutes(value: Any) -> int:
    if value is None:
        return DEFAULT_MINUTES
    if not isinstance(value, dict):
        raise invalid(
            "expires_after", "Invalid type for 'expires_after': expected an object.", "invalid_type"
        )
    if value.get("anchor") != "last_active_at":
        raise unsupported("expires_after.anchor", value.get("anchor"), ["last_active_at"])
    minutes = value.get("minutes")
    if not isinstance(minutes, int) or isinstance(minutes, bool) or minutes < 1:
        raise invalid(
            "expires_after.minutes",
            f"Invalid 'expires_after.minutes': expected a positive integer, got {minutes!r}.",
        )
    return minutes


def _network_policy(value: Any) -> dict[str, Any] | None:
    if value is None:
        return None
    kind = value.get("type") if isinstance(value, dict) else None
    if kind not in _NETWORK_POLICIES:
        raise unsupported("network_policy.type", kind, _NETWORK_POLICIES)
    assert isinstance(value, dict)
    if kind == "disabled":
        return {"type": "disabled"}
    domains = value.get("allowed_domains")
    if not isinstance(domains, list) or not all(isinstance(d, str) for d in domains):
        raise invalid(
            "network_policy.allowed_domains",
            "Invalid type for 'network_policy.allowed_domains': expected an array of strings.",
            "invalid_type",
        )
    return {"type": "allowlist", "allowed_domains": domains}


def _copy(stored: StoredFile) -> StoredFile:
    """A File's bytes, copied: the container keeps them after the File is deleted."""
    content = new_spool()
    for chunk in stored.chunks():
        content.write(chunk)
    return StoredFile(new_id("file-"), stored.filename, stored.purpose, content, stored.size)


def _add(container: StoredContainer, content: StoredFile) -> ContainerFile:
    added = ContainerFile(new_id("cfile_"), container.id, f"/mnt/data/{content.filename}", content)
    container.files[added.id] = added
    return added


# -- containers -----------------------------------------------------------------------------------


async def create_container(app: MockOpenAI, call: Call) -> dict[str, Any]:
    """`POST /v1/containers`: a name, files copied in, expiry, memory and network policy."""
    body = call.request.json
    name = body.get("name")
    if name is None:
        raise missing_parameter("name")
    if not isinstance(name, str):
        raise invalid("name", "Invalid type for 'name': expected a string.", "invalid_type")
    minutes = _minutes(body.get("expires_after"))
    memory = body.get("memory_limit", "1g")
    if memory not in MEMORY_LIMITS:
        raise unsupported("memory_limit", memory, MEMORY_LIMITS)
    policy = _network_policy(body.get("network_policy"))
    file_ids = body.get("file_ids") or []
    if not isinstance(file_ids, list) or not all(isinstance(i, str) for i in file_ids):
        raise invalid(
            "file_ids", "Invalid type for 'file_ids': expected an array of strings.", "invalid_type"
        )
    sources = [app.files.files.get(file_id) for file_id in file_ids]  # all checked first
    clock_now = app.clock.time()
    container = StoredContainer(
        new_id("cntr_"), name, minutes, str(memory), policy, clock_now, clock_now
    )
    for stored in sources:
        _add(container, _copy(stored))
    app.containers.containers.put(container.id, container)
    return container.render(clock_now)


async def list_containers(app: MockOpenAI, call: Call) -> dict[str, Any]:
    """`GET /v1/containers`: newest first, filtered by `name`."""
    query = call.queried()
    name = query.get("name")
    clock_now = app.clock.time()
    chosen = [c for c in app.containers.containers if name is None or c.name == name]
    return page(chosen, query, render=lambda c: c.render(clock_now), key=lambda c: c.id)


async def retrieve_container(app: MockOpenAI, call: Call) -> dict[str, Any]:
    """`GET /v1/containers/{container_id}` (reading it does not mark it active)."""
    return app.containers.get(call.params["container_id"]).render(app.clock.time())


async def delete_container(app: MockOpenAI, call: Call) -> dict[str, Any]:
    """`DELETE /v1/containers/{container_id}`, its files with it."""
    container = app.containers.containers.delete(call.params["container_id"])
    _close([container])
    return {"id": container.id, "object": "container.deleted", "deleted": True}


# -- container files ------------------------------------------------------------------------------


async def create_file(app: MockOpenAI, call: Call) -> dict[str, Any]:
    """`POST /v1/containers/{container_id}/files`: a multipart `file`, read as it arrives, or a
    JSON `file_id` of an uploaded File."""
    container = app.containers.usable(call.params["container_id"])
    content_type = call.request.headers.get("content-type", "")
    if content_type.lower().startswith("multipart/"):
        _, part, spool = await receive_file(call, max_file_bytes=app.max_file_bytes, check=_named)
        content = StoredFile(new_id("file-"), part.filename, "container", spool, part.size)
    else:
        body = await _json_body(call)
        file_id = body.get("file_id")
        if file_id is None:
            raise missing_parameter("file_id")
        if not isinstance(file_id, str):
            raise invalid(
                "file_id", "Invalid type for 'file_id': expected a string.", "invalid_type"
            )
        content = _copy(app.files.files.get(file_id))
    # Checked again now: the container may have gone while the upload arrived.
    if app.containers.containers.find(container.id) is not container:
        content.content.close()
        raise app.containers.containers.missing(container.id)
    return _add(container, content).render()


def _named(_form: Form, part: FilePart) -> None:
    if not part.filename:
        raise invalid("file", "The 'file' part needs a filename.")


async def _json_body(call: Call) -> dict[str, Any]:
    raw = bytearray()
    async for chunk in call.body_chunks():
        raw += chunk
        if len(raw) > _MAX_JSON:
            await call.body_chunks().drain()
            raise BadRequest("Request body too large.", status=413)
    try:
        body = decode_json(bytes(raw)) if raw else None
    except msgspec.DecodeError:
        body = None
    if not isinstance(body, dict):
        raise BadRequest(
            "Send either a multipart/form-data body with a 'file' or a JSON object with a "
            "'file_id'.",
        )
    return body


async def list_files(app: MockOpenAI, call: Call) -> dict[str, Any]:
    """`GET /v1/containers/{container_id}/files`: newest first."""
    container = app.containers.usable(call.params["container_id"])
    return page(
        list(container.files.values()),
        call.queried(),
        render=ContainerFile.render,
        key=lambda f: f.id,
    )


async def retrieve_file(app: MockOpenAI, call: Call) -> dict[str, Any]:
    """`GET /v1/containers/{container_id}/files/{file_id}`."""
    container = app.containers.usable(call.params["container_id"])
    return container.file(call.params["file_id"]).render()


async def delete_file(app: MockOpenAI, call: Call) -> dict[str, Any]:
    """`DELETE /v1/containers/{container_id}/files/{file_id}`."""
    container = app.containers.usable(call.params["container_id"])
    found = container.file(call.params["file_id"])
    del container.files[found.id]
    found.content.content.close()
    return {"id": found.id, "object": "container.file.deleted", "deleted": True}


async def file_content(app: MockOpenAI, call: Call) -> None:
    """`GET /v1/containers/{container_id}/files/{file_id}/content`: streamed."""
    container = app.containers.usable(call.params["container_id"])
    await send_content(call, container.file(call.params["file_id"]).content)
