"""Reads a meltano.yml: its extractors (with `inherit_from` and the chosen environment applied),
which of their settings come from the environment or are secret, and their schedules.

Nothing here touches the database; a file that cannot be read raises BadFile with the line."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import yaml

ENV_REFERENCE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}|\$([A-Za-z_][A-Za-z0-9_]*)")
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,99}$")
_EXECUTABLE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,99}$")
MAX_EXTRACTORS = 200


class BadFile(ValueError):
    """The file is not a meltano.yml this hub can read; `line` is 1-based, when known."""

    def __init__(self, message: str, line: int | None = None):
        self.line = line
        super().__init__(f"line {line}: {message}" if line else message)


class _Mapping(dict):
    """A YAML mapping that remembers the line it started on."""

    line: int = 0


class _Loader(yaml.SafeLoader):
    pass


def _construct_mapping(loader: _Loader, node: yaml.MappingNode) -> _Mapping:
    mapping = _Mapping(loader.construct_mapping(node, deep=True))
    mapping.line = node.start_mark.line + 1
    return mapping


_Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


@dataclass
class Setting:
    """One setting of an extractor, as the hub will store it."""

    name: str
    value: Any  # the literal value, or the template with $VAR references when `env` is set
    secret: bool
    env: str | None = None  # the variable its value is read from (a reference, or a secret's)


@dataclass
class Extractor:
    name: str
    line: int
    variant: str | None
    pip_url: str | None
    executable: str
    namespace: str | None
    base_name: str  # the plugin it inherits from, at the root of the chain (else its own name)
    settings: list[Setting]
    select: list[str]
    metadata: dict[str, Any]
    capabilities: list[str]
    declared: list[dict[str, Any]] = field(default_factory=list)  # its `settings:` as written
    schedule: str | None = None
    schedule_name: str | None = None

    def references(self) -> list[str]:
        """Every environment variable the settings need, in order."""
        seen: list[str] = []
        for setting in self.settings:
            for name in needs(setting):
                if name not in seen:
                    seen.append(name)
        return seen


def needs(setting: Setting) -> list[str]:
    """The variables a setting's value is read from: its references, or (a secret given no
    value) its own variable."""
    if isinstance(setting.value, str):
        return [m.group(1) or m.group(2) for m in ENV_REFERENCE.finditer(setting.value)]
    return [setting.env] if setting.value is None and setting.env else []


@dataclass
class Project:
    environment: str | None
    extractors: list[Extractor]
    env: dict[str, str] = field(default_factory=dict)  # the file's own env blocks
    notes: list[str] = field(default_factory=list)


def default_env_name(plugin: str, setting: str) -> str:
    """Meltano's variable for a setting: TAP_POSTGRES_PASSWORD for tap-postgres's password."""
    return re.sub(r"[^A-Za-z0-9]", "_", f"{plugin}_{setting}").upper()


def _load(text: str) -> Any:
    try:
        return yaml.load(text, Loader=_Loader)  # a SafeLoader subclass
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else None
        raise BadFile(f"not valid YAML: {exc.problem or exc}", line) from None
    except yaml.YAMLError as exc:
        raise BadFile(f"not valid YAML: {exc}") from None


def _line(node: Any, fallback: int) -> int:
    return node.line if isinstance(node, _Mapping) else fallback


def _strings(value: Any, what: str, line: int) -> list[str]:
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise BadFile(f"{what} must be a list of strings", line)
    return list(value)


def _mapping(value: Any, what: str, line: int) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise BadFile(f"{what} must be a mapping", _line(value, line))
    return value


def _environment(document: dict[str, Any], wanted: str | None) -> tuple[str | None, dict]:
    name = wanted or document.get("default_environment")
    environments = _list(document.get("environments"), "environments", _line(document, 1))
    for environment in environments:
        if isinstance(environment, dict) and environment.get("name") == name:
            return name, environment
    if wanted:
        known = [e.get("name") for e in environments if isinstance(e, dict)]
        raise BadFile(f"no environment {wanted!r} (the file has {known or 'none'})")
    return None, {}


def _overrides(environment: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The chosen environment's extractor overrides, by name."""
    config = _mapping(environment.get("config"), "environment config", _line(environment, 1))
    plugins = _mapping(config.get("plugins"), "environment plugins", _line(config, 1))
    found = {}
    for item in _list(plugins.get("extractors"), "extractors", _line(plugins, 1)):
        if isinstance(item, dict) and isinstance(item.get("name"), str):
            found[item["name"]] = item
    return found


def _resolved(name: str, by_name: dict[str, dict[str, Any]], trail: tuple[str, ...]) -> dict:
    """The extractor with what it inherits merged under its own values."""
    raw = by_name[name]
    parent = raw.get("inherit_from")
    if not parent:
        return {**raw, "_base": name}
    if parent in trail:
        raise BadFile(f"inherit_from makes a loop: {' → '.join([*trail, parent])}", _line(raw, 1))
    if parent not in by_name:  # inherits a Hub plugin by name: that name finds the catalog entry
        return {**raw, "_base": parent}
    base = _resolved(parent, by_name, (*trail, parent))
    merged = {**base, **{k: v for k, v in raw.items() if v is not None}}
    line = _line(raw, 1)
    for key, kind in (("config", _mapping), ("metadata", _mapping)):
        merged[key] = {**kind(base.get(key), key, line), **kind(raw.get(key), key, line)}
    merged["settings"] = [
        *_list(base.get("settings"), "settings", line),
        *_list(raw.get("settings"), "settings", line),
    ]
    return merged


def _secret_names(raw: dict[str, Any], line: int) -> set[str]:
    names = set()
    for item in _list(raw.get("settings"), "settings", line):
        if not isinstance(item, dict) or not isinstance(item.get("name"), str):
            raise BadFile("each of settings needs a name", _line(item, line))
        if item.get("kind") == "password" or item.get("sensitive") is True:
            names.add(item["name"])
    return names


def _settings(name: str, config: dict[str, Any], secret_names: set[str]) -> list[Setting]:
    settings = []
    for key, value in config.items():
        references = isinstance(value, str) and ENV_REFERENCE.search(value) is not None
        secret = key in secret_names or references
        env = default_env_name(name, key) if key in secret_names and not references else None
        settings.append(Setting(str(key), value, secret, env))
    for key in sorted(secret_names - set(config)):  # secret, given nowhere: read from its variable
        settings.append(Setting(key, None, True, default_env_name(name, key)))
    return settings


def _declared(item: dict[str, Any]) -> dict[str, Any]:
    """A setting's declaration as kept for the export: a secret's default value never is."""
    secret = item.get("kind") == "password" or item.get("sensitive") is True
    return {k: v for k, v in item.items() if not (secret and k == "value")}


def _extractor(name: str, raw: dict[str, Any], override: dict[str, Any]) -> Extractor:
    line = _line(raw, 1)
    if not _NAME.match(name):
        raise BadFile(f"extractor name {name!r}: use letters, digits, '-', '_' or '.'", line)
    config = {**_mapping(raw.get("config"), "config", line)}
    config.update(_mapping(override.get("config"), "config", _line(override, line)))
    for key, value in config.items():
        if isinstance(value, dict | list) and ENV_REFERENCE.search(yaml.safe_dump(value)):
            raise BadFile(f"{name}: {key}: only top-level settings may read the environment", line)
    select = override.get("select", raw.get("select"))
    metadata = {
        **_mapping(raw.get("metadata"), "metadata", line),
        **_mapping(override.get("metadata"), "metadata", line),
    }
    pip_url = raw.get("pip_url")
    if pip_url is not None and (not isinstance(pip_url, str) or pip_url.startswith("-")):
        raise BadFile(f"{name}: pip_url must name a package (not a pip option)", line)
    executable = str(raw.get("executable") or raw["_base"])
    if not _EXECUTABLE.match(executable):
        raise BadFile(f"{name}: executable must be a command name, not a path", line)
    return Extractor(
        name=name, line=line, variant=raw.get("variant"), pip_url=pip_url,
        executable=executable, namespace=raw.get("namespace"),
        base_name=raw["_base"], settings=_settings(name, config, _secret_names(raw, line)),
        select=_strings(select, f"{name}: select", line), metadata=metadata,
        capabilities=_strings(raw.get("capabilities"), f"{name}: capabilities", line),
        declared=[_declared(item) for item in raw.get("settings") or []],
    )  # fmt: skip


def _list(value: Any, what: str, line: int) -> list[Any]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise BadFile(f"{what} must be a list", _line(value, line))
    return value


def _jobs(document: dict[str, Any]) -> dict[str, list[str]]:
    """Job name → the plugin names its tasks run."""
    jobs = {}
    for job in _list(document.get("jobs"), "jobs", _line(document, 1)):
        if isinstance(job, dict) and isinstance(job.get("name"), str):
            tasks = _list(job.get("tasks"), "tasks", _line(job, 1))
            words = " ".join(t if isinstance(t, str) else " ".join(map(str, t)) for t in tasks)
            jobs[job["name"]] = words.split()
    return jobs


def _apply_schedules(document: dict[str, Any], extractors: list[Extractor], notes: list) -> None:
    by_name = {e.name: e for e in extractors}
    jobs = _jobs(document)
    for schedule in _list(document.get("schedules"), "schedules", _line(document, 1)):
        line = _line(schedule, 1)
        if not isinstance(schedule, dict):
            raise BadFile("each schedule must be a mapping", line)
        interval = schedule.get("interval") or schedule.get("cron_interval")
        extractor, job = schedule.get("extractor"), schedule.get("job")
        names = [extractor] if isinstance(extractor, str) else jobs.get(str(job), [])
        targets = [by_name[n] for n in names if n in by_name]
        if not targets:
            notes.append(f"schedule {schedule.get('name')!r} runs no imported extractor: skipped")
            continue
        if not isinstance(interval, str) or interval == "@once":
            notes.append(f"schedule {schedule.get('name')!r} has no repeating interval: skipped")
            continue
        for extractor in targets:
            extractor.schedule, extractor.schedule_name = interval, schedule.get("name")


def parse(text: str, environment: str | None = None) -> Project:
    """Raises BadFile (with the line where the YAML parser knows it)."""
    document = _load(text)
    if not isinstance(document, dict):
        raise BadFile("a meltano.yml is a mapping at the top level", 1)
    plugins = _mapping(document.get("plugins"), "plugins", _line(document, 1))
    raws = plugins.get("extractors") or []
    if not isinstance(raws, list):
        raise BadFile("plugins.extractors must be a list", _line(plugins, 1))
    if len(raws) > MAX_EXTRACTORS:
        raise BadFile(f"more than {MAX_EXTRACTORS} extractors")
    by_name: dict[str, dict[str, Any]] = {}
    for raw in raws:
        if not isinstance(raw, dict) or not isinstance(raw.get("name"), str):
            raise BadFile("each extractor needs a name", _line(raw, _line(plugins, 1)))
        if raw["name"] in by_name:
            raise BadFile(f"extractor {raw['name']!r} is defined twice", _line(raw, 1))
        by_name[raw["name"]] = raw
    chosen, env_block = _environment(document, environment)
    overrides = _overrides(env_block)
    extractors = [
        _extractor(name, _resolved(name, by_name, (name,)), overrides.get(name, {}))
        for name in by_name
    ]
    notes: list[str] = []
    if (plugins.get("loaders") or []) or (plugins.get("mappers") or []):
        notes.append("loaders and mappers are not imported: rows go to the workspace's destination")
    _apply_schedules(document, extractors, notes)
    env = {
        str(k): str(v)
        for block in (document.get("env"), env_block.get("env"))
        for k, v in _mapping(block, "env", 1).items()
    }
    return Project(environment=chosen, extractors=extractors, env=env, notes=notes)


def substitute(template: str, values: dict[str, str]) -> str:
    """The template with each $VAR / ${VAR} replaced by its value (KeyError when one is missing)."""
    return ENV_REFERENCE.sub(lambda m: values[m.group(1) or m.group(2)], template)
