"""Meltano projects in: each extractor of a meltano.yml becomes (or updates) a source connector,
its environment-read and secret settings sealed, its selections and schedule kept. Everything
is checked before anything is written, so a refused file leaves the workspace as it was.

The values of `$VAR` references and secrets come from `values` (what the caller was given: the
CLI's --set and environment, the UI's form); the file's own `env:` blocks come after them."""

from __future__ import annotations

import hashlib
import logging
import re
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.exc import IntegrityError

from connectorhub.audit import service as audit
from connectorhub.catalog import service as catalog_service
from connectorhub.catalog.custom_taps import custom_tap_entry
from connectorhub.catalog.models import CatalogEntry
from connectorhub.catalog.repository import CatalogRepository
from connectorhub.connector.models import Connector, ConnectorStatus
from connectorhub.connector.repository import ConnectorRepository
from connectorhub.exceptions import Conflict, UnreadableFile, ValidationFailed
from connectorhub.kit.crypto import SecretBox
from connectorhub.kit.repository import WorkspaceScope
from connectorhub.kit.sealing import merge_secrets
from connectorhub.meltano import selection
from connectorhub.meltano.project import BadFile, Extractor, Project, needs, parse, substitute
from connectorhub.meltano.schemas import ImportedConnector, ImportResult
from connectorhub.sync.schedule import next_after, problems

log = logging.getLogger(__name__)
TABLE = Connector.__tablename__
DEFAULT_CAPABILITIES = ["discover", "catalog", "state"]


@dataclass
class Planned:
    extractor: Extractor
    entry: CatalogEntry | None  # None: a tap the catalog lacks
    existing: Connector | None
    config: dict[str, Any] = field(default_factory=dict)
    auth: dict[str, str] = field(default_factory=dict)  # plaintext, sealed on apply
    env: dict[str, str] = field(default_factory=dict)  # setting → the template it is read from
    missing: list[str] = field(default_factory=list)
    sealed: set[str] = field(default_factory=set)  # auth fields, valued or still to be given


def read_project(text: str, environment: str | None) -> Project:
    """Raises UnreadableFile (400, with the line)."""
    try:
        return parse(text, environment)
    except BadFile as bad:
        raise UnreadableFile(f"meltano.yml: {bad}", bad.line) from None


def _requirement(pip_url: str | None) -> str | None:
    """The package a pip_url installs (`meltanolabs-tap-postgres==0.10.0` → its name)."""
    first = (pip_url or "").split()[0] if (pip_url or "").split() else ""
    match = re.match(r"^([A-Za-z0-9][A-Za-z0-9._\-]*)(\[.*\])?\s*([=<>!~]|$)", first)
    return match.group(1).lower().replace("_", "-") if match else None


def match_entry(extractor: Extractor, entries: list[CatalogEntry]) -> CatalogEntry | None:
    """The catalog entry of the same tap: by plugin name, else by the package pip installs."""
    wanted = _requirement(extractor.pip_url)
    for entry in entries:
        plugin = entry.plugin or {}
        if entry.kind != "source" or not plugin:
            continue
        if plugin.get("name") in (extractor.name, extractor.base_name):
            return entry
        if wanted and wanted == _requirement(plugin.get("pip_url")):
            return entry
    return None


def _coerced(value: Any, schema: dict[str, Any]) -> Any:
    """A value read from the environment (always text) as the type the schema wants."""
    if not isinstance(value, str):
        return value
    kind = schema.get("type")
    try:
        if kind == "integer":
            return int(value)
        if kind == "number":
            return float(value)
    except ValueError:
        return value
    if kind == "boolean" and value.lower() in ("true", "false"):
        return value.lower() == "true"
    return value


def _custom_plugin(extractor: Extractor) -> dict[str, Any]:
    # Named by its package too: two workspaces' taps of one name never share a venv.
    digest = hashlib.sha256((extractor.pip_url or "").encode()).hexdigest()[:10]
    return {
        "name": f"meltano-{extractor.name}-{digest}",
        "pip_url": extractor.pip_url,
        "executable": extractor.executable,
        "capabilities": extractor.capabilities or DEFAULT_CAPABILITIES,
    }


def _resolve(planned: Planned, lookup: dict[str, str], errors: dict[str, list[str]]) -> None:
    extractor, entry = planned.extractor, planned.entry
    rename = ((entry.plugin or {}).get("settings_rename") or {}) if entry else {}
    original = {v: k for k, v in rename.items()}
    auth_names = {f["name"] for f in entry.auth_fields} if entry else set()
    properties = (entry.default_config_schema.get("properties") or {}) if entry else {}
    for setting in extractor.settings:
        name = original.get(setting.name, setting.name)
        wanted = needs(setting)
        unknown = [n for n in wanted if n not in lookup]
        planned.missing += [n for n in unknown if n not in planned.missing]
        if wanted:
            planned.env[name] = setting.value if isinstance(setting.value, str) else f"${wanted[0]}"
        value = (
            None if unknown
            else substitute(setting.value, lookup) if isinstance(setting.value, str) and wanted
            else lookup[wanted[0]] if wanted
            else setting.value
        )  # fmt: skip
        if entry is None:
            target = planned.auth if setting.secret else planned.config
        else:
            target = planned.auth if name in auth_names else planned.config
        if target is planned.auth:
            planned.sealed.add(name)
        if value is not None:
            target[name] = (
                str(value) if target is planned.auth else _coerced(value, properties.get(name, {}))
            )
    if entry is not None:  # the entry's required secrets the file never mentions
        for auth_field in entry.auth_fields:
            name = auth_field["name"]
            if auth_field.get("secret") and auth_field["required"] and name not in planned.env:
                if name in planned.auth or name in planned.config:
                    continue
                variable = re.sub(r"\W", "_", f"{extractor.name}_{rename.get(name, name)}").upper()
                planned.env[name] = f"${variable}"
                planned.sealed.add(name)
                if variable in lookup:
                    planned.auth[name] = lookup[variable]
                elif variable not in planned.missing:
                    planned.missing.append(variable)
        for path, messages in catalog_service.config_errors(entry, planned.config).items():
            errors[f"{extractor.name}.{path}"] = messages


async def plan(
    scope: WorkspaceScope, project: Project, values: dict[str, str], *, allow_custom: bool
) -> list[Planned]:
    """What an import would do, checked. Raises ValidationFailed (400) naming each problem."""
    entries = list((await CatalogRepository(scope.session).all_by_key()).values())
    lookup = {**project.env, **values}
    repository = ConnectorRepository(scope)
    planned_all, errors = [], {}
    for extractor in project.extractors:
        entry = match_entry(extractor, entries)
        existing = await repository.get_with_catalog_by_name(extractor.name)
        planned = Planned(extractor, entry, existing)
        where = f"{extractor.name} (line {extractor.line})"
        if existing is not None and "meltano" not in (existing.definition or {}):
            errors[f"{extractor.name}.name"] = [
                f"{where}: a connector of this name exists and was not imported from Meltano."
            ]
        if entry is None and not extractor.pip_url:
            errors[f"{extractor.name}.pip_url"] = [
                f"{where}: not in the catalog, so its pip_url is needed to install it."
            ]
        elif entry is None and not allow_custom:
            errors[f"{extractor.name}.pip_url"] = [
                f"{where}: not in the catalog, and this hub installs only catalog taps "
                "(an operator can allow others with CONNECTORHUB_MELTANO_CUSTOM_TAPS=true)."
            ]
        if extractor.schedule:
            for path, messages in problems(extractor.schedule, "UTC").items():
                errors[f"{extractor.name}.schedule.{path}"] = [f"{where}: {m}" for m in messages]
        _resolve(planned, lookup, errors)
        planned_all.append(planned)
    if errors:
        raise ValidationFailed(errors, "the meltano.yml cannot be imported")
    return planned_all


def _definition(planned: Planned) -> dict[str, Any]:
    extractor = planned.extractor
    meltano = {
        "name": extractor.name, "variant": extractor.variant, "pip_url": extractor.pip_url,
        "executable": extractor.executable, "namespace": extractor.namespace,
        "select": extractor.select, "metadata": extractor.metadata, "env": planned.env,
        "schedule_name": extractor.schedule_name, "settings": extractor.declared,
    }  # fmt: skip
    definition: dict[str, Any] = {"meltano": meltano}
    if planned.entry is None:
        definition["plugin"] = _custom_plugin(extractor)
        definition["auth_fields"] = [
            {"name": n, "title": n, "secret": True, "required": True} for n in planned.auth
        ] + [
            {"name": n, "title": n, "secret": True, "required": True}
            for n in planned.env
            if n not in planned.auth and n not in planned.config
        ]
    return definition


def _streams(extractor: Extractor, connector: Connector | None) -> list[dict[str, Any]] | None:
    """The stream choices the patterns make: of the discovered streams, else of the streams
    the patterns name outright; None when only a discovery can tell."""
    discovered = (connector.discovered_catalog or {}).get("streams") if connector else None
    if discovered:
        names = [s.get("tap_stream_id") or s.get("stream") for s in discovered]
    elif extractor.select and selection.is_literal(extractor.select):
        names = selection.literal_streams(extractor.select)
    else:
        return None
    return selection.choices(extractor.select, extractor.metadata, names)


async def apply(scope: WorkspaceScope, box: SecretBox, planned_all: list[Planned]) -> None:
    """Create or update the planned connectors (flushed, not committed)."""
    custom = None
    for planned in planned_all:
        extractor = planned.extractor
        if planned.entry is None:
            custom = custom or await custom_tap_entry(scope.session)
        entry = planned.entry or custom
        assert entry is not None
        connector = planned.existing
        created = connector is None
        if connector is None:
            connector = Connector(
                id=uuid.uuid4(), name=extractor.name, status=ConnectorStatus.inactive.value,
                tags=["meltano"], auth={},
            )  # fmt: skip
        connector.catalog_id, connector.catalog = entry.id, entry
        connector.config, connector.definition = planned.config, _definition(planned)
        connector.auth, changed = merge_secrets(
            box, tenant_id=scope.tenant_id, table=TABLE, row_id=connector.id,
            stored=connector.auth, incoming=planned.auth,
        )  # fmt: skip
        if extractor.select:
            connector.selected_streams = _streams(extractor, connector)
        if extractor.schedule:
            connector.schedule, connector.schedule_timezone = extractor.schedule, "UTC"
            connector.next_sync_at = next_after(extractor.schedule, "UTC", datetime.now(UTC))
        repository = ConnectorRepository(scope)
        if created:
            repository.add(connector)
        else:
            repository.touch(connector)
        fields = [*(f"config.{k}" for k in planned.config), *(f"auth.{n}" for n in changed)]
        audit.record(
            scope, "connector.created" if created else "connector.updated", "connector",
            connector.id, {"catalog_key": entry.key, "from": "meltano.yml"},
            object_name=connector.name, fields=fields,
        )  # fmt: skip
    try:
        await scope.session.flush()
    except IntegrityError:  # a concurrent request took one of the names meanwhile
        raise Conflict("a connector of one of these names was just added: import again") from None
    log.info("%s: imported %d extractors from a meltano.yml", scope.tenant_id, len(planned_all))


def result_of(project: Project, planned_all: list[Planned], *, dry_run: bool) -> ImportResult:
    return ImportResult(
        dry_run=dry_run,
        environment=project.environment,
        notes=project.notes,
        connectors=[
            ImportedConnector(
                name=p.extractor.name,
                action="update" if p.existing else "create",
                catalog_key=p.entry.key if p.entry else None,
                custom_tap=p.entry is None,
                pip_url=p.extractor.pip_url
                or ((p.entry.plugin or {}) if p.entry else {}).get("pip_url"),
                config=sorted(p.config),
                sealed=sorted(p.sealed),
                needs=p.missing,
                select=p.extractor.select,
                schedule=p.extractor.schedule,
            )
            for p in planned_all
        ],
    )


async def import_project(
    scope: WorkspaceScope, box: SecretBox, text: str, *, environment: str | None,
    values: dict[str, str], dry_run: bool, allow_custom: bool,
) -> ImportResult:  # fmt: skip
    """Import (or with `dry_run` only check) a meltano.yml. Raises UnreadableFile (400 with the
    line), ValidationFailed (400: a setting, a schedule, a value not given — `secrets.VAR`)."""
    project = read_project(text, environment)
    planned_all = await plan(scope, project, values, allow_custom=allow_custom)
    if not dry_run:
        missing = {name for p in planned_all for name in p.missing}
        if missing:
            raise ValidationFailed(
                {f"secrets.{name}": ["Give its value to import the file."] for name in missing},
                "values are missing for settings the file reads from the environment",
            )
        await apply(scope, box, planned_all)
    return result_of(project, planned_all, dry_run=dry_run)
