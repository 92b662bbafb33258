"""An attempt cut short (its worker killed after counting the attempt, before or after the post
went out) is resolved by finding its post at WordPress by marker, never by posting blindly."""

from __future__ import annotations

import socket
import uuid

import pytest

from connectorhub.publish import service
from connectorhub.publish.drivers.wordpress import WordPress
from connectorhub.publish.schemas import PublishRequest
from connectorhub.publish.tasks import publish_publication, resume_publications
from tests.fixtures.wordpress import add_wordpress

pytestmark = [pytest.mark.slow, pytest.mark.wordpress]


async def _cut_short(
    hub, workspace, connector_id: str, *, posted: bool, claimant: str = "job:7#1"
) -> uuid.UUID:
    """A publication whose first attempt (job 7, attempt 1) was counted and then died —
    after its post reached WordPress when `posted`."""
    async with hub.work.workspace(workspace.slug, "test") as scope:
        publication, _ = await service.start(
            scope, uuid.UUID(connector_id), PublishRequest(text="Once only", title="Recovered"),
            idempotency_key=None,
        )  # fmt: skip
    async with hub.work.workspace(workspace.slug, "test") as scope:
        claimed = await service.claim(scope, hub.box, publication.id, claimant=claimant)
    assert claimed is not None and not claimed.resolve
    if posted:
        driver = WordPress(hub.http, claimed.config, claimed.secrets, hub.settings)
        await driver.publish(claimed.content, claimed.marker)
    return publication.id


def _posts_with(wordpress, publication_id: uuid.UUID) -> list[dict]:
    return wordpress.get(
        "wp/v2/posts", search=service.marker(publication_id), context="edit",
        status="publish,draft",
    ).json()  # fmt: skip


@pytest.mark.parametrize("posted", [True, False], ids=["post-went-out", "post-never-sent"])
async def test_a_retried_job_finds_the_post_instead_of_posting_again(
    hub, client, workspace, wordpress, posted
):
    connector = await add_wordpress(client, workspace, wordpress)
    publication_id = await _cut_short(hub, workspace, connector["id"], posted=posted)
    # A duplicate of the same attempt while it may still be in flight does nothing at all.
    await publish_publication(
        hub.context.as_claimant("job:7#1"), workspace.slug, str(publication_id)
    )
    assert (await service.read_now(hub.work, workspace.slug, publication_id)).status == "sending"
    # The queue's retry of that job (its worker taken for dead) resolves it.
    await publish_publication(
        hub.context.as_claimant("job:7#2"), workspace.slug, str(publication_id)
    )
    shown = await service.read_now(hub.work, workspace.slug, publication_id)
    posts = _posts_with(wordpress, publication_id)
    assert shown.status == "published" and len(posts) == 1
    assert shown.provider_post_id == str(posts[0]["id"]) and shown.attempts == 1


async def test_the_embedded_worker_resolves_half_sent_ones_at_start(
    hub, client, workspace, wordpress
):
    connector = await add_wordpress(client, workspace, wordpress)
    # The embedded default's claimant: a process on this machine, since killed.
    dead = f"process:{socket.gethostname()[:40]}:{2**22 + 12345}:deadbeef"
    publication_id = await _cut_short(hub, workspace, connector["id"], posted=True, claimant=dead)
    assert await resume_publications(hub.context) >= 1
    await hub.jobs.drain()
    shown = await service.read_now(hub.work, workspace.slug, publication_id)
    assert shown.status == "published" and len(_posts_with(wordpress, publication_id)) == 1
