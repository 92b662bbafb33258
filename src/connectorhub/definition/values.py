"""What a run's placeholders may reach: input, config, the connector's secrets and the
workspace credentials a definition names."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class WorkspaceCredential:
    """A workspace credential as a run sees it: its value and where it may be sent."""

    value: Any
    allowed_hosts: list[str]
    # oauth2 credentials naming a provider: oauth/tokens.py renews them (ahead, and on a 401).
    credential_id: Any = None
    renewable: bool = False


@dataclass
class RunValues:
    input: dict[str, Any]
    config: dict[str, Any]
    secrets: dict[str, Any] = field(default_factory=dict)
    workspace: dict[str, WorkspaceCredential] = field(default_factory=dict)
    # Input fields the input schema marks secret: redacted in records like secrets are.
    secret_inputs: set[str] = field(default_factory=set)
