from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any

from pydantic import BaseModel, Field, StringConstraints

from connectorhub.credential.models import CredentialKind

CredentialName = Annotated[
    str,
    StringConstraints(strip_whitespace=True, pattern=r"^[a-z][a-z0-9_]{0,62}$"),
    Field(
        description="Lower-case letters, digits and `_`, starting with a letter: definitions use "
        "it as `{{workspace.<name>}}`.",
        examples=["github"],
    ),
]
# A host name, or `*.example.com` for its subdomains (never a scheme, port or path).
Host = Annotated[
    str,
    StringConstraints(
        strip_whitespace=True,
        to_lower=True,
        max_length=253,
        # Checked before to_lower applies, hence both cases.
        pattern=r"^(\*\.)?([a-zA-Z0-9]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?\.)*"
        r"[a-zA-Z0-9]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?$",
    ),
]
HOSTS_DESCRIPTION = (
    "Where the credential may be sent: host names, or `*.example.com` for any subdomain. "
    "A step sending it anywhere else fails before connecting."
)
VALUES_DESCRIPTION = (
    "The secret fields: `token` (bearer), `key` (api_key), `username` + `password` (basic), "
    "`access_token` and optionally `refresh_token` (oauth2). Never returned. On update, the mask "
    "`********` (or a field left out) keeps the stored value."
)
SecretText = Annotated[str, StringConstraints(max_length=8192)]


class CredentialCreate(BaseModel):
    name: CredentialName
    kind: CredentialKind
    description: str = Field("", max_length=500)
    allowed_hosts: list[Host] = Field(min_length=1, max_length=20, description=HOSTS_DESCRIPTION)
    values: dict[str, SecretText] = Field(description=VALUES_DESCRIPTION)
    provider: str | None = Field(
        None, max_length=64,
        description="oauth2 only: the catalog key of a provider with an OAuth block "
        "(`twitter`, `linkedin`, `salesforce`, or one an operator added). ConnectorHub then "
        "renews the token and it can be connected with `POST /api/credentials/{id}/oauth/start`; "
        "`values` may be empty until then.",
    )  # fmt: skip


class CredentialPatch(BaseModel):
    """Name and kind stay (definitions refer to the name); the rest may change."""

    description: str | None = Field(None, max_length=500)
    allowed_hosts: list[Host] | None = Field(
        None, min_length=1, max_length=20, description=HOSTS_DESCRIPTION
    )
    values: dict[str, SecretText | None] | None = Field(None, description=VALUES_DESCRIPTION)


class CredentialRead(BaseModel):
    id: uuid.UUID
    name: str
    kind: CredentialKind
    description: str
    allowed_hosts: list[str]
    values: dict[str, str] = Field(description="Which fields are set, masked.")
    reference: str = Field(
        description="How a definition uses it.", examples=["{{workspace.github}}"]
    )
    provider: str | None = None
    oauth: dict[str, Any] | None = Field(
        None, description="A connected grant's facts (never its tokens): scopes, expires_at, state."
    )
    last_used_at: datetime | None
    created_at: datetime
    updated_at: datetime


class CredentialList(BaseModel):
    items: list[CredentialRead]
    total: int
