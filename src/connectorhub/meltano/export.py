"""A workspace's source connectors as a meltano.yml that `meltano` accepts: one extractor each
(its settings, selections and replication metadata), its schedule as a job on a loader, and
every credential as a `$VAR` reference — values never leave the hub this way."""

from __future__ import annotations

import re
from typing import Any

import yaml

from connectorhub.catalog.custom_taps import effective_entry
from connectorhub.connector.models import Connector
from connectorhub.connector.repository import ConnectorRepository
from connectorhub.kit.repository import WorkspaceScope
from connectorhub.meltano import selection
from connectorhub.meltano.project import default_env_name

HEADER = (
    "# Written by ConnectorHub. Credentials are $VAR references: set those variables (or run\n"
    "# `meltano config <extractor> set …`) before `meltano run`.\n"
)
_KINDS = {"integer": "integer", "number": "integer", "boolean": "boolean", "array": "array",
          "object": "object"}  # fmt: skip


def plugin_name(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.\-]+", "-", name).strip("-") or "tap"


def _extractor(connector: Connector) -> dict[str, Any] | None:
    entry = effective_entry(connector.catalog, connector.definition)
    plugin = entry.plugin or {}
    if not plugin:
        return None
    meltano = (connector.definition or {}).get("meltano") or {}
    name = meltano.get("name") or plugin_name(connector.name)
    rename = plugin.get("settings_rename") or {}
    templates = meltano.get("env") or {}
    properties = entry.default_config_schema.get("properties") or {}
    config: dict[str, Any] = {}
    settings: list[dict[str, Any]] = []
    for key, value in (connector.config or {}).items():
        setting = rename.get(key, key)
        config[setting] = templates.get(key, value)
        kind = _KINDS.get((properties.get(key) or {}).get("type") or "")
        settings.append({"name": setting, **({"kind": kind} if kind else {})})
    auth_names = [f["name"] for f in entry.auth_fields]
    for field in [*auth_names, *(n for n in connector.auth if n not in auth_names)]:
        if field not in connector.auth and field not in templates:
            continue
        setting = rename.get(field, field)
        config[setting] = templates.get(field) or f"${default_env_name(name, setting)}"
        settings.append({"name": setting, "kind": "password", "sensitive": True})
    declared = {s["name"]: s for s in meltano.get("settings") or [] if s.get("name")}
    settings = [declared.pop(s["name"], s) for s in settings] + list(declared.values())
    extractor: dict[str, Any] = {"name": name}
    if meltano.get("variant"):
        extractor["variant"] = meltano["variant"]
    else:  # a custom plugin to Meltano: it needs no lookup on Meltano Hub
        extractor["namespace"] = meltano.get("namespace") or re.sub(r"\W", "_", name)
    extractor["pip_url"] = meltano.get("pip_url") or plugin["pip_url"]
    extractor["executable"] = meltano.get("executable") or plugin["executable"]
    if "variant" not in extractor:
        extractor["capabilities"] = list(plugin.get("capabilities") or [])
        extractor["settings"] = settings
    extractor["config"] = config
    if meltano.get("select"):
        extractor["select"], extractor["metadata"] = meltano["select"], meltano.get("metadata")
    elif connector.selected_streams:
        extractor["select"], extractor["metadata"] = selection.patterns_of(
            connector.selected_streams
        )
    if not extractor.get("metadata"):
        extractor.pop("metadata", None)
    return extractor


async def export_project(scope: WorkspaceScope, *, loader: str = "target-jsonl") -> str:
    """The workspace's source connectors as meltano.yml text."""
    extractors, jobs, schedules = [], [], []
    for connector in await ConnectorRepository(scope).of_kind("source"):
        extractor = _extractor(connector)
        if extractor is None:
            continue
        extractors.append(extractor)
        if connector.schedule:
            meltano = (connector.definition or {}).get("meltano") or {}
            job = f"sync-{extractor['name']}"
            jobs.append({"name": job, "tasks": [f"{extractor['name']} {loader}"]})
            schedules.append(
                {
                    "name": meltano.get("schedule_name") or f"{extractor['name']}-schedule",
                    "interval": connector.schedule,
                    "job": job,
                }
            )
    document: dict[str, Any] = {
        "project_id": f"connectorhub-{scope.tenant_id}",
        "default_environment": "dev",
        "environments": [{"name": "dev"}],
        "plugins": {
            "extractors": extractors,
            "loaders": [
                {
                    "name": loader,
                    "namespace": re.sub(r"\W", "_", loader),
                    "pip_url": loader,
                    "executable": loader,
                }
            ],
        },
    }
    if jobs:
        document["jobs"], document["schedules"] = jobs, schedules
    return HEADER + yaml.safe_dump(document, sort_keys=False, allow_unicode=True)
