"""What a background job is given: a narrow context, never the whole service."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from connectorhub.config import Settings
from connectorhub.db import UnitOfWork
from connectorhub.kit.crypto import SecretBox
from connectorhub.kit.outbound import Outbound
from connectorhub.kit.plugins import PluginManager


@dataclass(frozen=True)
class JobContext:
    """`work` opens its transactions (jobs deferred in them are queued after their commit),
    `box` opens and seals secrets, `outbound` is the SSRF-guarded HTTP client, `plugins` the
    Singer tap installs, `claimant` who is running this job (worker/claimants.py)."""

    settings: Settings
    work: UnitOfWork
    box: SecretBox
    outbound: Outbound
    plugins: PluginManager
    claimant: str

    def as_claimant(self, claimant: str) -> JobContext:
        return dataclasses.replace(self, claimant=claimant)
