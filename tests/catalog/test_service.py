"""Seeding is idempotent; an edited file updates its row; an operator directory adds entries."""

from __future__ import annotations

import pytest
import yaml

from connectorhub.catalog import service
from connectorhub.catalog.loader import ENTRIES_DIR
from connectorhub.catalog.repository import CatalogRepository


@pytest.mark.both_backends
async def test_reseeding_changes_nothing(hub):
    async with hub.sessionmaker() as session, session.begin():
        before = {
            k: (e.id, e.updated_at)
            for k, e in (await CatalogRepository(session).all_by_key()).items()
        }
        report = await service.seed(session)
    assert report.created == [] and report.updated == []
    # Every built-in entry is unchanged; the shared database may also hold entries other tests
    # seeded from their own directories (the slow tap), which this seed does not read.
    assert set(report.unchanged) <= set(before) and "twitter" in report.unchanged
    async with hub.sessionmaker() as session:
        after = {
            k: (e.id, e.updated_at)
            for k, e in (await CatalogRepository(session).all_by_key()).items()
        }
    assert after == before


@pytest.mark.both_backends
async def test_extra_directory_adds_and_edits_entries(hub, tmp_path):
    extra = yaml.safe_load((ENTRIES_DIR / "medium.yaml").read_text())
    extra.update(key="ghost", name="Ghost", description="Publish to a Ghost blog.")
    (tmp_path / "ghost.yaml").write_text(yaml.safe_dump(extra))
    try:
        async with hub.sessionmaker() as session, session.begin():
            assert (await service.seed(session, tmp_path)).created == ["ghost"]
        extra["description"] = "Publish posts to a Ghost site."
        (tmp_path / "ghost.yaml").write_text(yaml.safe_dump(extra))
        async with hub.sessionmaker() as session, session.begin():
            report = await service.seed(session, tmp_path)
            assert report.updated == ["ghost"] and report.created == []
            ghost = await CatalogRepository(session).by_key("ghost")
            assert ghost is not None and ghost.description == "Publish posts to a Ghost site."
    finally:
        async with hub.sessionmaker() as session, session.begin():
            ghost = await CatalogRepository(session).by_key("ghost")
            await session.delete(ghost)
