"""The generated form's secret fields, for every form built from macros/schema_form.html (the run
form's page test is in test_execution_pages.py; connector settings are checked here, as no
built-in catalog entry has a secret setting)."""

from __future__ import annotations

import re

from connectorhub.kit.secret_schema import secret_paths
from connectorhub.web.schema_form import form_secrets, kept_where_missing
from connectorhub.web.templating import templates

SETTINGS = {
    "type": "object",
    "properties": {
        "site_label": {"type": "string", "minLength": 2},
        "signing_key": {"type": "string", "writeOnly": True},
        "webhook": {
            "type": "object",
            "properties": {
                "url": {"type": "string", "format": "uri"},
                "secret": {"type": "string", "format": "password"},
            },
        },
        "headers": {
            "type": "object",
            "writeOnly": True,
            "additionalProperties": {"type": "string"},
        },
    },
}
TYPED = {
    "site_label": "x",
    "signing_key": "sk-typed-4471",
    "webhook": {"url": "https://example.com/hook", "secret": "whsec-typed-0982"},
    "headers": {"X-Api-Key": "hdr-typed-3310"},
}


def rendered(schema: dict, values: dict, secret: set[str]) -> str:
    macros = templates.env.get_template("macros/schema_form.html").module
    return str(
        macros.fields("config", schema, values, {"config.site_label": ["Too short."]}, secret)
    )  # type: ignore[attr-defined]


def tag(html: str, name: str) -> str:
    found = re.search(rf'<(?:input|textarea)[^>]*name="{re.escape(name)}"[^>]*>[^<]*', html)
    assert found, name
    return found.group(0)


def test_secret_settings_are_password_inputs_and_never_filled():
    html = rendered(SETTINGS, TYPED, form_secrets(SETTINGS, "config"))
    for name in ("config.signing_key", "config.webhook.secret"):
        assert 'type="password"' in tag(html, name) and 'autocomplete="off"' in tag(html, name)
    for secret in ("sk-typed-4471", "whsec-typed-0982", "hdr-typed-3310"):
        assert secret not in html
    assert 'value="https://example.com/hook"' in tag(html, "config.webhook.url")
    assert 'value="x"' in tag(html, "config.site_label")


def test_a_field_marked_secret_is_masked_even_without_the_computed_names():
    assert "sk-typed-4471" not in rendered(SETTINGS, TYPED, set())


def test_secret_settings_left_empty_keep_their_stored_value():
    stored = {**TYPED, "site_label": "Old"}
    sent = {"site_label": "New", "webhook": {"url": "https://example.com/new"}}
    kept = kept_where_missing(sent, stored, secret_paths(SETTINGS, stored))
    assert kept == {
        "site_label": "New",
        "signing_key": "sk-typed-4471",
        "webhook": {"url": "https://example.com/new", "secret": "whsec-typed-0982"},
        "headers": {"X-Api-Key": "hdr-typed-3310"},
    }
    typed_anew = {"signing_key": "sk-new"}
    assert kept_where_missing(typed_anew, stored, secret_paths(SETTINGS, stored))[
        "signing_key"
    ] == ("sk-new")
