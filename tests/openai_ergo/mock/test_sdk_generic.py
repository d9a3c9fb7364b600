"""The official SDK as judge of the generic handler: its own calls for evals, administration,
usage and costs, videos, skills, graders, realtime client secrets and chatkit work against the
mock over loopback, and its typed objects carry the mock's fresh ids and echoed path values."""

from __future__ import annotations

from collections.abc import AsyncIterator

import openai
import pytest
from openai import AsyncOpenAI

from openai_ergo.mock import MockServer

_GRADER = {"type": "string_check", "name": "g", "input": "a", "reference": "a", "operation": "eq"}


async def test_evals_and_their_runs(sdk: AsyncOpenAI) -> None:
    created = await sdk.evals.create(
        name="Sentiment",
        data_source_config={"type": "custom", "item_schema": {"type": "object"}},
        testing_criteria=[_GRADER],  # type: ignore[list-item]
    )
    assert created.object == "eval"
    assert created.id.startswith("eval_")
    fetched = await sdk.evals.retrieve("eval_42")
    assert fetched.id == "eval_42"
    listed = [e async for e in sdk.evals.list(limit=1)]
    assert len(listed) == 1
    run = await sdk.evals.runs.create(
        "eval_42",
        data_source={"type": "jsonl", "source": {"type": "file_id", "id": "file-1"}},
    )
    assert run.eval_id == "eval_42"
    assert run.id.startswith("evalrun_")
    deleted = await sdk.evals.delete("eval_42")
    assert deleted.deleted is True


@pytest.fixture
async def admin(mock_openai: MockServer) -> AsyncIterator[AsyncOpenAI]:
    """The SDK with an admin key, which the administration endpoints need."""
    client = AsyncOpenAI(admin_api_key="sk-admin-mock", base_url=mock_openai.url, max_retries=0)
    async with client:
        yield client


async def test_admin_projects_and_costs(admin: AsyncOpenAI) -> None:
    organization = admin.admin.organization
    project = await organization.projects.create(name="Project X")
    assert project.id.startswith("proj_")
    archived = await organization.projects.archive("proj_9")
    assert (archived.id, archived.status) == ("proj_9", "archived")
    costs = await organization.usage.costs(start_time=1730419200)
    assert costs.data


async def test_videos_skills_graders_secrets_and_chatkit(sdk: AsyncOpenAI) -> None:
    with pytest.warns(DeprecationWarning, match="Sora"):
        video = await sdk.videos.retrieve("video_7")
    with pytest.warns(DeprecationWarning, match="Sora"):
        content = await sdk.videos.download_content("video_7")
    assert video.id == "video_7"
    assert content.content
    skills = [s async for s in sdk.skills.list()]
    assert all(s.id for s in skills)
    validated = await sdk.fine_tuning.alpha.graders.validate(grader=_GRADER)  # type: ignore[arg-type]
    assert validated.grader is not None
    secret = await sdk.realtime.client_secrets.create(session={"type": "realtime"})
    assert secret.value
    threads = [t async for t in sdk.beta.chatkit.threads.list()]
    assert [t.id[:5] for t in threads] == ["cthr_", "cthr_"]


async def test_a_request_its_schema_refuses_is_the_sdks_bad_request_error(
    admin: AsyncOpenAI, mock_openai: MockServer
) -> None:
    with pytest.raises(openai.BadRequestError) as refused:
        await admin.admin.organization.projects.create(name=5)  # type: ignore[arg-type]
    assert refused.value.param == "name"
    assert refused.value.code == "invalid_type"
    assert mock_openai.requests[-1].path == "/v1/organization/projects"
