"""Definitions are checked when saved: every placeholder must reach a known, earlier name."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from connectorhub.definition.model import Definition, check_definition
from connectorhub.exceptions import ValidationFailed
from tests.definition.test_placeholders import HOSTILE_NAMES

INPUT = {"type": "object", "properties": {"q": {"type": "string"}}, "additionalProperties": False}
CONFIG = {"type": "object", "properties": {"base_url": {"type": "string"}}}


def definition(**step) -> Definition:
    return Definition.model_validate(
        {
            "input_schema": INPUT,
            "credentials": ["crm"],
            "steps": [
                {"name": "login", "url": "/token", "extract": {"token": "$.token"}},
                {"name": "search", "url": "/search", **step},
            ],
        }
    )


def errors_of(candidate: Definition, secret_fields=()) -> dict[str, list[str]]:
    with pytest.raises(ValidationFailed) as caught:
        check_definition(candidate, config_schema=CONFIG, secret_fields=list(secret_fields))
    return caught.value.errors


def test_a_sound_definition_passes():
    check_definition(
        definition(
            query={"q": "{{input.q}}"},
            headers={"Authorization": "Bearer {{steps.login.token}}", "X-Crm": "{{workspace.crm}}"},
            body={"all": "{{input}}", "t": "{{step_1.token}}", "u": "{{config.base_url}}"},
        ),
        config_schema=CONFIG,
    )


@pytest.mark.parametrize(
    "template, problem",
    [
        ("{{input.nope}}", "unknown input name 'nope'"),
        ("{{config.nope}}", "unknown config name 'nope'"),
        ("{{secrets.nope}}", "unknown secrets name 'nope'"),
        ("{{workspace.other}}", "unknown workspace name 'other'"),
        ("{{steps.search.x}}", "'search' is not an earlier step"),
        ("{{steps.later.x}}", "'later' is not an earlier step"),
        ("{{step_2.x}}", "step 2 is not an earlier step"),
        ("{{step_0.x}}", "step 0 is not an earlier step"),
        ("{{steps.login.other}}", "step 'login' extracts no field 'other'"),
        ("{{step_1}}", "extracts no field None"),
        ("{{secrets}}", "name a field"),
        ("{{env.HOME}}", "unknown name 'env'"),
        ("{{input.q|upper}}", "malformed placeholder"),
    ],
)
def test_problems_are_reported_with_their_path(template, problem):
    errors = errors_of(definition(headers={"X-Thing": template}))
    assert list(errors) == ["steps[1].headers.X-Thing"]
    assert problem in errors["steps[1].headers.X-Thing"][0]


@pytest.mark.parametrize("name", HOSTILE_NAMES)
def test_hostile_names_are_refused_when_saved(name):
    errors = errors_of(definition(body={"deep": [{"x": f"{{{{input.{name}}}}}"}]}))
    assert "steps[1].body.deep[0].x" in errors


def test_output_and_extract_and_schemas_are_checked_too():
    bad = Definition.model_validate(
        {
            "input_schema": {"type": "nonsense"},
            "steps": [{"name": "a", "url": "/a", "extract": {"x": "$.[[bad"}}],
            "output": {"x": "{{steps.a.y}}"},
        }
    )
    errors = errors_of(bad)
    assert set(errors) == {"input_schema", "steps[0].extract.x", "output.x"}


def test_duplicate_step_names_are_refused():
    dup = Definition.model_validate(
        {"steps": [{"name": "a", "url": "/a"}, {"name": "a", "url": "/b"}]}
    )
    assert "steps[1].name" in errors_of(dup)


@pytest.mark.parametrize(
    "step",
    [
        {"name": "1bad", "url": "/x"},
        {"name": "a", "url": "/x", "method": "TRACE"},
        {"name": "a", "url": "/x", "headers": {"Bad Header": "v"}},
        {"name": "a", "url": "/x", "expect_status": [99]},
        {"name": "a", "url": "/x", "extract": {"bad field": "$.a"}},
        {"name": "a", "url": "/x", "retry": {"max_attempts": 0}},
        {"name": "a", "url": "/x", "timeout_seconds": 0},
        {"name": "a", "url": "/x", "auth": {"type": "digest"}},
        {"name": "a", "url": "/x", "surprise": 1},
    ],
)
def test_malformed_steps_fail_model_validation(step):
    with pytest.raises(ValidationError):
        Definition.model_validate({"steps": [step]})


def test_secrets_may_not_flow_into_the_output_and_refs_must_resolve():
    leaky = Definition.model_validate(
        {
            "credentials": ["crm"],
            "input_schema": {"$ref": "#/$defs/missing"},
            "steps": [{"name": "a", "url": "/a"}],
            "output": {"k": "{{workspace.crm}}"},
        }
    )
    errors = errors_of(leaky)
    assert "the output may not contain secrets" in errors["output.k"]
    assert "input_schema" in errors


@pytest.mark.parametrize(
    "step, where, problem",
    [
        ({"headers": {"X-Thing\n": "v"}}, ("steps", 1, "headers"), "not a valid header name"),
        ({"headers": {"X Thing": "v"}}, ("steps", 1, "headers"), "not a valid header name"),
        ({"headers": {"X-Thing": "a\x0bb"}}, ("steps", 1, "headers"), "control characters"),
        ({"headers": {"X-Thing": "a\x7f"}}, ("steps", 1, "headers"), "control characters"),
        ({"headers": {"X-Thing": "a\r\nInjected: 1"}}, ("steps", 1, "headers"), "control characters"),
        ({"auth": {"type": "api_key", "name": "X-Key\r\n", "value": "k"}}, ("steps", 1, "auth", "api_key"), "not a valid header name"),
        ({"auth": {"type": "api_key", "name": "X Kéy", "value": "k"}}, ("steps", 1, "auth", "api_key"), "not a valid header name"),
        ({"auth": {"type": "api_key", "name": "X-Key", "value": "k\n"}}, ("steps", 1, "auth", "api_key"), "control characters"),
        ({"auth": {"type": "basic", "username": "a:b", "password": "p"}}, ("steps", 1, "auth", "basic", "username"), "may not contain ':'"),
    ],
)  # fmt: skip
def test_headers_that_could_not_be_sent_are_refused_when_saved(step, where, problem):
    with pytest.raises(ValidationError) as caught:
        definition(**step)
    (error,) = caught.value.errors()
    assert error["loc"] == where and problem in error["msg"]


def test_a_query_api_key_may_have_any_name():
    definition(auth={"type": "api_key", "in": "query", "name": "api key", "value": "k"})
