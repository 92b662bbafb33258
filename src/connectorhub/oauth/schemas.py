from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field


class OAuthStart(BaseModel):
    authorize_url: str = Field(description="Send the user's browser here.")
    callback_url: str = Field(description="Where the provider sends the browser back.")
    expires_at: datetime = Field(description="The attempt's state is refused after this.")


class ProviderRead(BaseModel):
    key: str
    name: str
    configured: bool
    client_id: str | None
    client_secret_set: bool
    callback_url: str
    callback_source: str = Field(description="public_url, forwarded (a trusted proxy) or request")
    scopes: list[str]
    pkce: bool
    refreshable: bool
    app_setup_url: str
    app_setup_notes: str
