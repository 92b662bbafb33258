"""The running service's shared parts: settings, database engine, sessions and the secret box."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from sqlalchemy.exc import OperationalError, ProgrammingError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from connectorhub.config import Environment, Settings
from connectorhub.credential.keys import load_keyring, verify_keys
from connectorhub.db import create_engine, create_sessionmaker, privileged_role_problems
from connectorhub.exceptions import StartupRefused
from connectorhub.kit.crypto import SecretBox

log = logging.getLogger(__name__)


class Hub:
    def __init__(self, settings: Settings):
        self.settings = settings
        self.box = SecretBox(load_keyring(settings))
        self.engine: AsyncEngine = create_engine(settings)
        self.sessionmaker: async_sessionmaker[AsyncSession] = create_sessionmaker(self.engine)

    async def start(self) -> None:
        """Check the keys and the database role. Raises StartupRefused."""
        try:
            async with self.sessionmaker() as session, session.begin():
                await verify_keys(session, self.box)
                problems = await privileged_role_problems(session)
        except (OperationalError, ProgrammingError) as exc:
            if "secret_key_checks" in str(exc):
                raise StartupRefused(
                    "the database is not migrated: run `connectorhub db upgrade`"
                ) from exc
            raise StartupRefused(f"cannot reach the database: {exc.orig}") from exc
        if problems:
            message = (
                f"{' and '.join(problems)}: row-level security does not apply to it. "
                "Run the service as a role without SUPERUSER or BYPASSRLS."
            )
            if (
                self.settings.env == Environment.production
                and not self.settings.allow_privileged_db_role
            ):
                raise StartupRefused(message)
            log.warning(message)

    async def stop(self) -> None:
        await self.engine.dispose()

    @asynccontextmanager
    async def running(self) -> AsyncIterator[None]:
        await self.start()
        try:
            yield
        finally:
            await self.stop()
