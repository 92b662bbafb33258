"""What a run's placeholders may reach: input, config, the connector's secrets and the
workspace credentials a definition names; and the mask of every secret among them."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from connectorhub.kit.masking import SecretMask


@dataclass
class WorkspaceCredential:
    """A workspace credential as a run sees it: its value and where it may be sent."""

    value: Any
    allowed_hosts: list[str]
    # oauth2 credentials naming a provider: oauth/tokens.py renews them (ahead, and on a 401).
    credential_id: Any = None
    renewable: bool = False


InputPath = tuple[str | int, ...]


@dataclass
class RunValues:
    input: dict[str, Any]
    config: dict[str, Any]
    secrets: dict[str, Any] = field(default_factory=dict)
    workspace: dict[str, WorkspaceCredential] = field(default_factory=dict)
    # Where the input schema marks input values secret, at any depth (`("nested", "otp")`; a
    # plain name is a top-level field): redacted in records like secrets are.
    secret_inputs: set[InputPath] | set[str] = field(default_factory=set)

    def secret_input_paths(self) -> set[InputPath]:
        return {(path,) if isinstance(path, str) else tuple(path) for path in self.secret_inputs}

    def is_secret_input(self, segments: tuple[str | int, ...]) -> bool:
        """Whether `input.<segments>` reaches a secret: it is one, lies inside one, or holds one."""
        return any(
            segments[: len(path)] == path or path[: len(segments)] == segments
            for path in self.secret_input_paths()
        )

    def secret_mask(self) -> SecretMask:
        """A mask of every secret this run knows before its first step: the connector's auth,
        the workspace credentials, the secret inputs (tokens from steps are added as they come)."""
        mask = SecretMask(self.secrets)
        for credential in self.workspace.values():
            mask.add(credential.value)
            if isinstance(credential.value, dict) and {"username", "password"} <= set(
                credential.value
            ):
                mask.add_basic_auth(
                    str(credential.value["username"]), str(credential.value["password"])
                )
        for path in self.secret_input_paths():
            mask.add(_at(self.input, path))
        return mask


def _at(value: Any, path: InputPath) -> Any:
    for part in path:
        inside_list = isinstance(value, list) and isinstance(part, int) and part < len(value)
        if not (inside_list or (isinstance(value, dict) and part in value)):
            return None
        value = value[part]
    return value
