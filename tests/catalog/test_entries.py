"""The catalog files: schema-valid, self-consistent, and the spec's fixed entries kept exactly."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from connectorhub.catalog.loader import (
    ENTRIES_DIR,
    KNOWN_AUTH_FIELDS,
    REQUIRED_AUTH_FIELDS,
    CatalogFileError,
    load_entries,
)
from connectorhub.kit.plugin_pins import is_pinned
from connectorhub.kit.schema_validation import error_map

ENTRIES = {entry.key: entry.data for entry in load_entries()}
SECRET_FIELDS = {"api_key", "password", "access_token", "refresh_token", "client_secret"}


def test_required_connector_types_are_shipped():
    assert {"twitter", "wordpress", "linkedin", "medium", "salesforce", "postgres", "http"} <= set(
        ENTRIES
    )


@pytest.mark.parametrize("key", sorted(ENTRIES))
def test_auth_fields_follow_the_auth_type(key):
    entry = ENTRIES[key]
    names = {field["name"] for field in entry["auth_fields"]}
    assert REQUIRED_AUTH_FIELDS[entry["auth_type"]] <= names
    for field in entry["auth_fields"]:
        if (
            field["name"] in KNOWN_AUTH_FIELDS[entry["auth_type"]]
            and field["name"] in SECRET_FIELDS
        ):
            assert field["secret"], f"{key}.{field['name']} must be secret"
        if field["name"] in REQUIRED_AUTH_FIELDS[entry["auth_type"]]:
            assert field["required"]


@pytest.mark.parametrize("key", sorted(ENTRIES))
def test_defaults_validate_against_their_own_schema(key):
    schema = ENTRIES[key]["default_config_schema"]
    for name, prop in schema.get("properties", {}).items():
        if "default" in prop:
            assert error_map(prop["default"], prop) == {}, f"{key}.{name} default is invalid"


@pytest.mark.parametrize("key", sorted(k for k, e in ENTRIES.items() if e["kind"] == "source"))
def test_sources_name_their_singer_plugin(key):
    plugin = ENTRIES[key]["plugin"]
    assert plugin["pip_url"] and plugin["executable"] and "discover" in plugin["capabilities"]
    # An exact pin: what a test installed is what production installs (and the tests' plugin
    # cache is keyed by it).
    assert re.fullmatch(r"[A-Za-z0-9._-]+==[0-9][0-9A-Za-z.]*", plugin["pip_url"]), plugin


def test_twitter_entry_is_kept_exactly():
    x = ENTRIES["twitter"]
    assert (x["name"], x["description"], x["category"], x["icon"], x["auth_type"]) == (
        "Twitter (X)", "Post text and images to X.", "Social", "brand-x", "oauth",
    )  # fmt: skip
    assert x["capabilities"] == {"post_text": True, "post_media": True, "max_length": 280}
    schema = x["default_config_schema"]
    assert schema["required"] == ["account_label"]
    label = schema["properties"]["account_label"]
    assert (label["type"], label["title"], label["minLength"]) == ("string", "Account Label", 2)
    hashtags = schema["properties"]["post_defaults"]["properties"]["append_hashtags"]
    assert (
        hashtags["type"] == "array"
        and hashtags["items"]["type"] == "string"
        and hashtags["maxItems"] == 5
    )
    assert {f["name"] for f in x["auth_fields"]} >= {"access_token", "refresh_token", "expires_at"}


def test_wordpress_entry_is_kept_exactly():
    wp = ENTRIES["wordpress"]
    assert (wp["name"], wp["description"], wp["category"], wp["icon"], wp["auth_type"]) == (
        "WordPress", "Publish posts and pages via REST.", "Web", "brand-wordpress", "basic",
    )  # fmt: skip
    assert wp["capabilities"] == {"post_text": True, "post_media": True, "supports_html": True}
    schema = wp["default_config_schema"]
    assert set(schema["required"]) == {"base_url", "site_label"}
    assert schema["properties"]["base_url"]["format"] == "uri"
    assert schema["properties"]["site_label"]["minLength"] == 2
    assert schema["properties"]["default_status"]["enum"] == ["draft", "publish"]
    assert schema["properties"]["default_status"]["default"] == "draft"
    assert [f["name"] for f in wp["auth_fields"]] == ["username", "password"]


def _write(directory: Path, name: str, data: dict) -> None:
    (directory / name).write_text(yaml.safe_dump(data))


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda d: d.pop("name"), "'name' is a required property"),
        (lambda d: d.update(auth_type="magic"), "is not one of"),
        (lambda d: d.update(auth_fields=[]), "needs auth fields|should be non-empty|too short"),
        (lambda d: d["default_config_schema"].update(required=["nope"]), "undeclared"),
        (lambda d: d.update(surprise=True), "Additional properties"),
    ],
)
def test_malformed_entries_are_refused_naming_the_file(tmp_path, mutate, message):
    data = yaml.safe_load((ENTRIES_DIR / "twitter.yaml").read_text())
    data["key"] = "custom"
    mutate(data)
    _write(tmp_path, "custom.yaml", data)
    with pytest.raises(CatalogFileError, match=rf"custom.yaml: .*({message})"):
        load_entries(tmp_path)


PLUGINS = {key: e["plugin"] for key, e in ENTRIES.items() if e.get("plugin")}


@pytest.mark.parametrize("key", sorted(PLUGINS))
def test_every_plugin_is_pinned_to_one_version(key):
    """Taps and targets alike: an exact version (or a git tag or commit), never a range or a
    branch, so what the tests installed is what an operator gets."""
    pip_url = PLUGINS[key]["pip_url"]
    assert is_pinned(pip_url), f"{key}: {pip_url!r} is not pinned to one version"


def test_the_catalog_has_plugins_to_pin():
    assert {"postgres", "salesforce"} <= set(PLUGINS)
