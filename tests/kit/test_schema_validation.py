from __future__ import annotations

import pytest

from connectorhub.kit.schema_validation import error_map

SCHEMA = {
    "type": "object",
    "required": ["url", "name"],
    "additionalProperties": False,
    "properties": {
        "url": {"type": "string", "format": "uri"},
        "name": {"type": "string", "minLength": 2},
        "port": {"type": "integer", "minimum": 1, "maximum": 65535},
        "mode": {"enum": ["a", "b"]},
        "items": {
            "type": "array",
            "items": {"type": "object", "required": ["k"], "properties": {"k": {"type": "string"}}},
        },
    },
}


def test_valid_instance_has_no_errors():
    assert error_map({"url": "https://example.com/x", "name": "ok", "port": 80}, SCHEMA) == {}


def test_errors_are_keyed_by_path_with_friendly_messages():
    errors = error_map(
        {"url": "no scheme", "port": 0, "mode": "c", "zzz": 1, "items": [{"k": "x"}, {}]},
        SCHEMA,
        prefix="config",
    )
    assert errors == {
        "config.url": ["Must be a full URL, such as https://example.com."],
        "config.name": ["This field is required."],
        "config.port": ["Must be at least 1."],
        "config.mode": ["Must be one of: a, b."],
        "config.zzz": ["Unknown field."],
        "config.items[1].k": ["This field is required."],
    }


def test_wrong_root_type_is_reported_at_the_root():
    assert error_map([], SCHEMA) == {"$": ["Must be an object."]}


@pytest.mark.parametrize(
    "url", ["ftp://x", "mailto:a@example.com", "file:///etc/passwd", "http://", "http:/x", "x:y"]
)
def test_a_uri_format_is_an_http_or_https_url(url):
    assert error_map({"url": url, "name": "ok"}, SCHEMA) == {
        "url": ["Must be a full URL, such as https://example.com."]
    }


@pytest.mark.parametrize(
    "url", ["http://x", "https://example.com/a?b=1#c", "HTTPS://Example.com", "http://[::1]:8080/"]
)
def test_http_and_https_urls_pass_the_uri_format(url):
    assert error_map({"url": url, "name": "ok"}, SCHEMA) == {}
