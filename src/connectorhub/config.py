"""Settings, read from `CONNECTORHUB_*` environment variables and an optional `.env` file."""

from __future__ import annotations

import ipaddress
import os
import re
from enum import StrEnum
from functools import cached_property, lru_cache
from pathlib import Path
from typing import Any, Literal

from dotenv import dotenv_values
from pydantic import BaseModel, Field, field_validator, model_validator
from pydantic.fields import FieldInfo
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
)


class Environment(StrEnum):
    development = "development"
    production = "production"


@lru_cache(maxsize=8)
def _networks_of(listing: str) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
    return tuple(
        ipaddress.ip_network(n.strip(), strict=False) for n in listing.split(",") if n.strip()
    )


class OAuthApp(BaseModel):
    """An operator's OAuth app at one provider (a catalog key), and, for a provider's sandbox
    or a self-hosted authorization server, other endpoints than the catalog entry's."""

    client_id: str | None = None
    client_secret: str | None = None
    authorize_url: str | None = None
    token_url: str | None = None


_OAUTH_VARIABLE = re.compile(
    r"^CONNECTORHUB_OAUTH_(?P<provider>[A-Z0-9_-]+?)_(?P<field>CLIENT_ID|CLIENT_SECRET|AUTHORIZE_URL|TOKEN_URL)$"
)

_PLUGIN_NAME = re.compile(r"^[a-z][a-z0-9_.-]*$")  # as entry.schema.json has it


class OAuthAppsSource(PydanticBaseSettingsSource):
    """`CONNECTORHUB_OAUTH_<PROVIDER>_CLIENT_ID` and friends, from the environment and the `.env`
    file: the providers are catalog data, so the variable names cannot be fields."""

    def get_field_value(self, field: FieldInfo, field_name: str) -> tuple[Any, str, bool]:
        return None, field_name, False

    def __call__(self) -> dict[str, Any]:
        env_file = self.config.get("env_file")
        variables = {**dotenv_values(env_file)} if env_file and Path(env_file).is_file() else {}
        variables.update(os.environ)
        apps: dict[str, dict[str, str]] = {}
        for name, value in variables.items():
            match = _OAUTH_VARIABLE.match(name.upper())
            if match and value:
                provider = match["provider"].lower()
                apps.setdefault(provider, {})[match["field"].lower()] = value
        return {"oauth_apps": apps} if apps else {}


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="CONNECTORHUB_", env_file=".env", env_file_encoding="utf-8", extra="ignore"
    )

    env: Environment = Field(
        Environment.development,
        description="`development` (embedded default) or `production` (strict checks).",
    )
    data_dir: Path = Field(
        Path(".connectorhub"), description="Where the SQLite file and generated key file live."
    )
    database_url: str | None = Field(
        None,
        description="SQLAlchemy URL. Default: SQLite in the data dir. "
        "PostgreSQL: postgresql+psycopg://user:pass@host/db",
    )
    secret_keys: str | None = Field(
        None,
        description="Encryption keys, `id:base64key` comma-separated, oldest first; the last one "
        "encrypts. Required in production. Generate one with `connectorhub keys generate`.",
    )
    host: str = Field("127.0.0.1", description="Address `serve` binds to.")
    port: int = Field(8000, description="Port `serve` binds to.")
    catalog_extra_dir: Path | None = Field(
        None,
        description="A directory of extra catalog entry YAML files seeded beside the built-in ones.",
    )
    bootstrap_email: str = Field(
        "admin@example.com", description="Email of the first owner created on an empty database."
    )
    bootstrap_workspace: str = Field(
        "default", description="Slug of the first workspace created on an empty database."
    )
    db_pool_size: int = Field(10, description="Connection pool size (PostgreSQL).")
    allow_privileged_db_role: bool = Field(
        False,
        description="Production only: start even if the database role is a superuser or bypasses "
        "row-level security (not recommended).",
    )
    cookie_secure: bool | None = Field(
        None,
        description="Mark the session cookie Secure. Default: on in production, else only for "
        "requests that arrive over https (set true behind a TLS-terminating proxy).",
    )
    log_level: str = Field("INFO", description="Log level.")
    outbound_allow_networks: str = Field(
        "",
        description="Networks connector requests may reach although they are not public, "
        "comma-separated CIDRs such as `10.20.0.0/16` (default: none; loopback, private, "
        "link-local and CGNAT addresses are refused).",
    )

    publish_media_max_bytes: int = Field(
        15 * 1024 * 1024, ge=1024, description="The largest media file a publication may fetch."
    )
    publish_max_attempts: int = Field(
        5, ge=1, le=50, description="Attempts at a publication before a retriable failure fails it."
    )

    webhook_max_attempts: int = Field(
        8, ge=1, le=50, description="Attempts at a webhook delivery before it is logged as failed."
    )
    webhook_retry_seconds: float = Field(
        30.0, gt=0, le=3600,
        description="A webhook's first retry waits about this long; each later one twice as "
        "long (with jitter), at most an hour. A `Retry-After` on 429/503 is honoured instead.",
    )  # fmt: skip

    x_api_url: str = Field(
        "https://api.x.com", description="X API v2 base URL (tests point it at a local server)."
    )
    linkedin_api_url: str = Field("https://api.linkedin.com", description="LinkedIn API base URL.")
    linkedin_version: str = Field(
        "202611",
        pattern=r"^\d{6}$",
        description="The `LinkedIn-Version` header (YYYYMM) of the Posts API.",
    )
    medium_api_url: str = Field("https://api.medium.com", description="Medium API base URL.")

    public_url: str | None = Field(
        None,
        pattern=r"^https?://[^/?#]+(/[^?#]*)?$",
        description="The address users reach the service at, e.g. `https://hub.example.com`; "
        "OAuth callbacks are `{public_url}/oauth/callback`. Unset: derived from each request "
        "(`X-Forwarded-Proto`/`-Host` honoured only from `CONNECTORHUB_TRUSTED_PROXIES`).",
    )
    trusted_proxies: str = Field(
        "127.0.0.1,::1",
        description="Proxies whose `X-Forwarded-For`/`-Proto`/`-Host` are believed, "
        "comma-separated addresses or CIDRs (default: a proxy on this machine; empty: none).",
    )
    oauth_apps: dict[str, OAuthApp] = Field(
        default_factory=dict,
        description="OAuth apps per provider, read from `CONNECTORHUB_OAUTH_<PROVIDER>_CLIENT_ID`, "
        "`_CLIENT_SECRET` and optionally `_AUTHORIZE_URL` / `_TOKEN_URL` (`<PROVIDER>` is the "
        'catalog key in capitals: `TWITTER`, `LINKEDIN`, `SALESFORCE`). See "OAuth apps".',
    )
    oauth_refresh_ahead_seconds: int = Field(
        300, ge=0, le=86400,
        description="Refresh a token this long before it expires (or when 10% of its "
        "lifetime is left, whichever comes first).",
    )  # fmt: skip
    oauth_expiry_warning_days: int = Field(
        7, ge=1, le=60,
        description="Warn this many days before a token that cannot be refreshed expires.",
    )  # fmt: skip

    request_header_max_bytes: int = Field(
        64 * 1024, ge=4096, le=1024 * 1024,
        description="The most bytes of request line and headers one request may send "
        "(more: 431, or 400 from `serve`'s HTTP parser before it buffers them).",
    )  # fmt: skip
    request_header_max_count: int = Field(
        100, ge=16, le=10_000, description="The most headers one request may send (more: 431)."
    )
    request_body_timeout_seconds: float = Field(
        30, gt=0, le=3600,
        description="How long the server waits for the next part of a request body before it "
        "answers 408 and closes the connection.",
    )  # fmt: skip
    request_body_deadline_seconds: float = Field(
        120, gt=0, le=86_400,
        description="How long a whole request body may take to arrive, however steadily it "
        "trickles in, before the server answers 408 and closes the connection.",
    )  # fmt: skip

    max_concurrent_requests: int = Field(
        64, ge=1, le=100_000,
        description="How many requests one server process works on at once; more wait in "
        "its queue (health checks, static files and started event streams do not count).",
    )  # fmt: skip
    request_queue_size: int = Field(
        1000, ge=0, le=1_000_000,
        description="How many requests may wait for their turn; one more is answered 503 "
        "with `Retry-After` at once.",
    )  # fmt: skip
    request_queue_timeout_seconds: float = Field(
        10, gt=0, le=600,
        description="How long a request waits for its turn before it is answered 503 with "
        "`Retry-After`.",
    )  # fmt: skip

    worker_concurrency: int = Field(
        10, ge=1, le=1000, description="How many executions one process runs at once."
    )
    plugins_dir: Path | None = Field(
        None,
        description="Where Singer taps get their own virtual environments "
        "(default: `<data_dir>/plugins`).",
    )
    plugin_pins: dict[str, str] = Field(
        default_factory=dict,
        description="Overrides of the catalog's plugin pins, JSON: plugin name → pip_url, e.g. "
        '`{"meltanolabs-tap-postgres": "meltanolabs-tap-postgres==0.9.0"}` (see "Plugins and '
        'pins").',
    )
    meltano_custom_taps: bool = Field(
        False,
        description="Let a meltano.yml import install taps the catalog lacks (from the "
        "file's `pip_url`). Off by default: pip runs that package's code on this host.",
    )
    warehouse_url: str | None = Field(
        None,
        description="Where source syncs load: a PostgreSQL URL (a schema per workspace and "
        "source). Default: a file per workspace under `<data_dir>/warehouse/` (see `warehouse`).",
    )
    warehouse: Literal["duckdb", "sqlite"] | None = Field(
        None,
        description="The embedded warehouse when no `warehouse_url` is set: `duckdb` (a "
        "`<workspace>.duckdb` file) or `sqlite` (a `<workspace>.sqlite` file). Unset: DuckDB, "
        "except for a workspace that already has a SQLite warehouse and no DuckDB one.",
    )
    tap_discovery_timeout_seconds: float = Field(
        120, gt=0, le=3600, description="How long a connection test (tap discovery) may take."
    )
    scheduler_interval_seconds: float = Field(
        30, ge=0, le=3600,
        description="Embedded default: how often `serve` looks for due scheduled syncs (0: "
        "never). PostgreSQL deployments have the workers look every minute.",
    )  # fmt: skip
    sync_timeout_seconds: float = Field(
        6 * 3600,
        gt=0,
        le=7 * 24 * 3600,
        description="How long one sync may run before it is killed.",
    )
    worker_stalled_after_seconds: int = Field(
        30,
        ge=2,
        le=3600,
        description="PostgreSQL: a worker silent this long is taken for dead and its running "
        "jobs are retried by another worker (workers send a heartbeat every third of it).",
    )

    @classmethod
    def settings_customise_sources(
        cls, settings_cls: type[BaseSettings], init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource, dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:  # fmt: skip
        return (init_settings, env_settings, dotenv_settings, OAuthAppsSource(settings_cls),
                file_secret_settings)  # fmt: skip

    @field_validator("plugin_pins")
    @classmethod
    def _pins(cls, value: dict[str, str]) -> dict[str, str]:
        for name, pip_url in value.items():
            if not _PLUGIN_NAME.match(name) or not pip_url.strip():
                raise ValueError(f"{name!r}: a plugin name and a non-empty pip_url are needed")
        return {name: pip_url.strip() for name, pip_url in value.items()}

    @field_validator("outbound_allow_networks", "trusted_proxies")
    @classmethod
    def _networks(cls, value: str) -> str:
        for network in (n.strip() for n in value.split(",")):
            if network:
                try:
                    ipaddress.ip_network(network, strict=False)
                except ValueError as error:
                    raise ValueError(f"not a network: {network!r} ({error})") from None
        return value

    @property
    def trusted_proxy_networks(self) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
        return _networks_of(self.trusted_proxies)  # read on every request: parsed once

    @property
    def outbound_allowed(self) -> list[str]:
        return [n.strip() for n in self.outbound_allow_networks.split(",") if n.strip()]

    @model_validator(mode="after")
    def _refuse_unsafe_production(self) -> Settings:
        if self.env == Environment.production:
            if not self.database_url or not self.database_url.startswith("postgresql"):
                raise ValueError("CONNECTORHUB_DATABASE_URL must point to PostgreSQL in production")
            if not self.secret_keys:
                raise ValueError(
                    "CONNECTORHUB_SECRET_KEYS is required in production "
                    "(generate one with `connectorhub keys generate`)"
                )
        return self

    @cached_property
    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite+aiosqlite:///{(self.data_dir / 'connectorhub.db').resolve()}"

    @property
    def is_sqlite(self) -> bool:
        return self.resolved_database_url.startswith("sqlite")

    @property
    def key_file(self) -> Path:
        return self.data_dir / "secret.keys"
