"""Fixtures for running definitions against a real local server."""

from __future__ import annotations

from collections.abc import AsyncIterator

import aiohttp
import pytest

from connectorhub.kit.outbound import create_outbound_session
from connectorhub.kit.ssrf import AddressPolicy

# The tests' local server is on loopback, which only an operator allow-list opens.
TEST_POLICY = AddressPolicy(["127.0.0.1/32"])


@pytest.fixture
async def outbound() -> AsyncIterator[aiohttp.ClientSession]:
    session = create_outbound_session(TEST_POLICY)
    yield session
    await session.close()
