"""Placeholder substitution: plain names only, one pass, encoded for where the value lands."""

from __future__ import annotations

import itertools

import pytest

from connectorhub.definition.placeholders import (
    Context,
    PlaceholderError,
    parse,
    render_header,
    render_json,
    render_text,
    render_url,
)

VALUES = {
    "input": {"name": "Ada", "count": 3, "tags": ["a", "b"], "flag": True, "nested": {"id": 7}},
    "config": {"base_url": "https://api.example.com/v1/", "region": "eu"},
    "secrets": {"token": "s3cr3t-token"},
    "workspace": {"github": "ghp_workspace"},
    "steps": {"login": {"token": "{{secrets.token}}", "user": {"id": 42}}},
    "step_1": {"token": "{{secrets.token}}", "user": {"id": 42}},
}


def context() -> Context:
    return Context(VALUES)


# --- the ordinary cases -------------------------------------------------------------------------


def test_text_substitution_and_blanks_inside_braces():
    assert render_text("Hello {{input.name}} / {{ config.region }}", context()) == "Hello Ada / eu"


def test_whole_value_placeholder_keeps_its_json_type():
    body = {
        "n": "{{input.count}}",
        "t": "{{input.tags}}",
        "f": "{{input.flag}}",
        "o": "{{input.nested}}",
        "mixed": "n={{input.count}}",
        "literal": 5,
    }
    assert render_json(body, context()) == {
        "n": 3,
        "t": ["a", "b"],
        "f": True,
        "o": {"id": 7},
        "mixed": "n=3",
        "literal": 5,
    }


def test_object_keys_stay_literal():
    assert render_json({"{{input.name}}": "x"}, context()) == {"{{input.name}}": "x"}


def test_index_and_step_references():
    assert (
        render_text("{{input.tags[1]}}-{{steps.login.user.id}}-{{step_1.user.id}}", context())
        == "b-42-42"
    )


def test_url_values_are_percent_encoded_and_cannot_change_structure():
    ctx = Context({"input": {"id": "../admin?x=1#frag", "q": "a b&c=d"}})
    url = render_url("https://api.example.com/users/{{input.id}}?q={{input.q}}", ctx)
    assert url == "https://api.example.com/users/..%2Fadmin%3Fx%3D1%23frag?q=a%20b%26c%3Dd"


def test_a_leading_placeholder_is_a_checked_base_url():
    assert render_url("{{config.base_url}}/items/{{input.name}}", context()) == (
        "https://api.example.com/v1/items/Ada"
    )
    for bad in [
        "javascript:alert(1)",
        "file:///etc/passwd",
        "https://u:p@host/",
        "//host/x",
        "https://host/?q=1",
        "https://host/\r\nX: y",
        42,
        None,
    ]:
        with pytest.raises(PlaceholderError):
            render_url("{{input.base}}/x", Context({"input": {"base": bad}}))


@pytest.mark.parametrize(
    "value", ["a\r\nX-Injected: 1", "a\nb", "a\rb", "a\x00b", "\r\n", "a\x0bb", "a\x7f"]
)
def test_header_line_breaks_and_control_characters_are_refused(value):
    with pytest.raises(PlaceholderError, match="line break or another control character"):
        render_header("Bearer {{input.v}}", Context({"input": {"v": value}}))


def test_a_tab_in_a_header_value_is_fine():
    assert render_header("a\t{{input.v}}", Context({"input": {"v": "b\tc"}})) == "a\tb\tc"


def test_one_pass_braces_in_values_are_never_expanded():
    # A response value that looks like a placeholder stays text: no second expansion.
    assert render_text("{{steps.login.token}}", context()) == "{{secrets.token}}"
    assert render_json({"t": "{{step_1.token}}"}, context()) == {"t": "{{secrets.token}}"}
    assert render_url("https://x.example/{{step_1.token}}", context()) == (
        "https://x.example/%7B%7Bsecrets.token%7D%7D"
    )
    assert "s3cr3t" not in render_text("a {{step_1.token}} b", context())


def test_parse_lists_references_in_order():
    refs = parse("{{input.a}} and {{ steps.login.user[0].id }}")
    assert [(r.root, r.segments) for r in refs] == [
        ("input", ("a",)),
        ("steps", ("login", "user", 0, "id")),
    ]


# --- hostile placeholders -----------------------------------------------------------------------
# Attribute-like and prototype-like names are plain dict keys: absent here, so always an error,
# never a Python object. 26 names x 7 roots x 4 positions = 728 cases, plus malformed syntax.

HOSTILE_NAMES = [
    "__class__",
    "__init__",
    "__globals__",
    "__builtins__",
    "__dict__",
    "__mro__",
    "__subclasses__",
    "__getattribute__",
    "__reduce__",
    "__module__",
    "__doc__",
    "__len__",
    "__import__",
    "constructor",
    "prototype",
    "__proto__",
    "mro",
    "keys",
    "items",
    "values",
    "get",
    "pop",
    "format",
    "upper",
    "func_globals",
    "gi_frame",
]
ROOTS = ["input", "config", "secrets", "workspace", "steps.login", "step_1", "input.nested"]
POSITIONS = [
    "{{%s.%s}}",
    "{{ %s.%s }}",
    "prefix {{%s.%s}} suffix",
    "{{%s.%s.__class__}}",
]


@pytest.mark.parametrize(
    "template",
    [
        position % (root, name)
        for position, root, name in itertools.product(POSITIONS, ROOTS, HOSTILE_NAMES)
    ],
)
def test_hostile_names_are_missing_keys_in_every_renderer(template):
    for render in (render_text, render_header, render_json):
        with pytest.raises(PlaceholderError):
            render(template, context())
    with pytest.raises(PlaceholderError):
        render_url("https://x.example/" + template, context())


MALFORMED = [
    "{{input.name|upper}}",
    "{{input.name()}}",
    "{{input['name']}}",
    '{{input["name"]}}',
    "{{input.name + 1}}",
    "{{7*7}}",
    "{{'a'}}",
    "{{input..name}}",
    "{{input.[0]}}",
    "{{input.tags[-1]}}",
    "{{input.tags[0:1]}}",
    "{{input.tags[a]}}",
    "{{input.name",
    "input.name}}",
    "{{{input.name}}",
    "{{}}",
    "{{ }}",
    "{{.name}}",
    "{{1input}}",
    "{{input.na me}}",
    "{{input.name}}}",
    "{{{{input.name}}}}",
    "{{input.name}} {{",
    "}} {{input.name}}",
    "{{input. name}}",
    "{{input .name}}",
    "{{input.name;drop}}",
    "{{input.name or 1}}",
    "{{input.name if 1 else 2}}",
    "{{lambda: 1}}",
    "{{__import__('os').system('id')}}",
    "{{input.__class__.__mro__[1].__subclasses__()}}",
    "{{config.items()}}",
    "{{input.name.__len__()}}",
    "{{input.${name}}}",
    "{{input.na\x00me}}",
    "{{ input.name\r\n}}X",
    "{{input.tags[1e3]}}",
    "{{input.tags[0x1]}}",
    "{{input.tags[]}}",
    "{{input\u200b.name}}",
    "{{ínput.name}}",
    "{{input.náme}}",
    "{{input/name}}",
    "{{input:name}}",
    "{{input,name}}",
    "{{ {{input.name}} }}",
    "{{input.{{x}}}}",
]


@pytest.mark.parametrize("template", MALFORMED)
def test_malformed_placeholders_are_refused(template):
    with pytest.raises(PlaceholderError):
        parse(template)
    with pytest.raises(PlaceholderError):
        render_text(template, context())
    with pytest.raises(PlaceholderError):
        render_json({"a": [template]}, context())


FORWARD_AND_UNKNOWN = [
    "{{step_2.token}}",
    "{{step_0.token}}",
    "{{steps.later.token}}",
    "{{steps.login.missing}}",
    "{{input.missing}}",
    "{{secrets.other}}",
    "{{workspace.other}}",
    "{{env.HOME}}",
    "{{os.environ}}",
    "{{self}}",
    "{{globals}}",
    "{{request.headers}}",
    "{{input.tags[5]}}",
    "{{input.name[0]}}",
    "{{input.count.x}}",
    "{{input.tags.length}}",
    "{{input.name.first}}",
]


@pytest.mark.parametrize("template", FORWARD_AND_UNKNOWN)
def test_forward_and_unknown_references_fail_cleanly(template):
    with pytest.raises(PlaceholderError):
        render_text(template, context())


def test_there_are_over_500_hostile_cases():
    # Over 500 distinct hostile templates, and every one of them is refused: a placeholder that
    # resolved (or a template counted twice) would not count towards the 500.
    hostile = {
        position % (root, name)
        for position, root, name in itertools.product(POSITIONS, ROOTS, HOSTILE_NAMES)
    }
    refused = set()
    for template in hostile | set(FORWARD_AND_UNKNOWN):
        try:
            render_text(template, context())
        except PlaceholderError:
            refused.add(template)
    for template in MALFORMED:
        try:
            parse(template)
        except PlaceholderError:
            refused.add(template)
    everything = hostile | set(FORWARD_AND_UNKNOWN) | set(MALFORMED)
    assert refused == everything
    assert len(refused) >= 500


def test_the_whole_input_object_is_reachable_only_as_data():
    # `{{input}}` as a whole value is the input mapping itself, a copy of plain data.
    assert render_json("{{input.nested}}", context()) == {"id": 7}
    assert render_text("{{input}}", Context({"input": {"a": 1}})) == '{"a":1}'


@pytest.mark.parametrize(
    "template",
    [
        "{{config.base_url}}{{input.name}}",
        "https://api.example.com{{input.name}}/x",
        "https://{{input.name}}.example.com/",
        "https://user:{{input.name}}@api.example.com/",
    ],
)
def test_values_cannot_form_or_extend_the_host(template):
    with pytest.raises(PlaceholderError):
        render_url(
            template,
            Context(
                {"input": {"name": ".evil.com"}, "config": {"base_url": "https://api.example.com"}}
            ),
        )
