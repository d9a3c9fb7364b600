"""Each operation's typed method is named as the official SDK names it, uniquely."""

from __future__ import annotations

import pytest

from openai_ergo.codegen._names import path_name
from tests.openai_ergo.codegen.specs import generated_model


def _names() -> dict[tuple[str, str], str]:
    return {(op.method, op.path): op.sdk_name for op in generated_model().operations}


@pytest.mark.parametrize(
    ("method", "path", "name"),
    [
        ("post", "/files", "files.create"),
        ("get", "/files/{file_id}/content", "files.content"),
        ("get", "/batches/{batch_id}", "batches.retrieve"),
        ("get", "/vector_stores/{vector_store_id}/files", "vector_stores.files.list"),
        (
            "get",
            "/fine_tuning/jobs/{fine_tuning_job_id}/checkpoints",
            "fine_tuning.jobs.checkpoints.list",
        ),
        ("post", "/audio/speech", "audio.speech.create"),
        ("get", "/conversations/{conversation_id}/items", "conversations.items.list"),
        ("post", "/chat/completions", "chat.completions.create"),
        ("get", "/responses/{response_id}/input_items", "responses.input_items.list"),
        # Names only the SDK's examples know.
        ("get", "/assistants", "beta.assistants.list"),
        ("get", "/fine_tuning/jobs/{fine_tuning_job_id}/events", "fine_tuning.jobs.list_events"),
        ("get", "/videos/{video_id}/content", "videos.download_content"),
        ("post", "/threads/runs", "beta.threads.create_and_run"),
        # An example that misspells its namespace is corrected.
        ("delete", "/chatkit/threads/{thread_id}", "beta.chatkit.threads.delete"),
    ],
)
def test_operations_port_by_the_sdk_s_names(method: str, path: str, name: str) -> None:
    assert _names()[(method, path)] == name


def test_every_operation_has_one_name_and_no_name_is_also_a_namespace() -> None:
    names = list(_names().values())
    assert len(names) == len(set(names)) == 288
    namespaces = {n.rsplit(".", i)[0] for n in names for i in range(1, n.count(".") + 1)}
    assert set(names) & namespaces == set()


def test_the_beta_twins_of_an_operation_go_under_beta() -> None:
    assert _names()[("post", "/responses?beta=true")] == "beta.responses.create"


@pytest.mark.parametrize(
    ("method", "path", "name"),
    [
        ("get", "/things", "things.list"),
        ("post", "/things", "things.create"),
        ("get", "/things/{id}", "things.retrieve"),
        ("post", "/things/{id}", "things.update"),
        ("delete", "/things/{id}", "things.delete"),
        ("post", "/things/{id}/cancel", "things.cancel"),
        ("post", "/things/{id}/messages", "things.messages.create"),
        ("get", "/things/{id}/content", "things.content"),
        ("post", "/org/certificates/activate", "org.certificates.activate"),
        ("get", "/org/data_retention", "org.data_retention.retrieve"),
        ("post", "/org/spend_limit", "org.spend_limit.update"),
    ],
)
def test_the_path_names_what_the_examples_do_not(method: str, path: str, name: str) -> None:
    assert path_name(method, path) == name
