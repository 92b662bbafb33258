"""Reading a meltano.yml: inheritance, environments, `$VAR` references, secrets, schedules, and
the line a broken file breaks on."""

from __future__ import annotations

import pytest

from connectorhub.meltano import selection
from connectorhub.meltano.project import BadFile, parse

PROJECT = """\
version: 1
default_environment: dev
env:
  FILE_LEVEL: from-the-file
plugins:
  extractors:
  - name: tap-base
    namespace: tap_base
    pip_url: tap-base==1.0
    executable: tap-base
    config:
      host: db.example.com
      port: 5432
    settings:
    - name: api_token
      kind: password
  - name: tap-child
    inherit_from: tap-base
    config:
      port: 6543
      password: ${CHILD_PASSWORD}
      dsn: postgres://$DB_USER@host/db
    select:
    - orders.*
    - '!orders.secret_note'
    metadata:
      orders:
        replication-method: INCREMENTAL
        replication-key: updated_at
environments:
- name: dev
- name: prod
  config:
    plugins:
      extractors:
      - name: tap-child
        config:
          host: prod.example.com
        select: [customers.*]
jobs:
- name: nightly
  tasks:
  - tap-child target-jsonl
schedules:
- name: child-nightly
  interval: 0 3 * * *
  job: nightly
- name: base-hourly
  extractor: tap-base
  loader: target-jsonl
  interval: '@hourly'
"""


def settings(extractor) -> dict:
    return {s.name: (s.value, s.secret, s.env) for s in extractor.settings}


def test_inherit_from_merges_the_parents_config_under_the_childs():
    child = parse(PROJECT).extractors[1]
    assert child.pip_url == "tap-base==1.0" and child.executable == "tap-base"
    assert child.base_name == "tap-base"
    found = settings(child)
    assert found["host"] == ("db.example.com", False, None)
    assert found["port"] == (6543, False, None)


def test_env_references_and_password_settings_are_secret():
    base, child = parse(PROJECT).extractors
    # kind: password with no value anywhere: read from Meltano's own variable for it
    assert settings(base)["api_token"] == (None, True, "TAP_BASE_API_TOKEN")
    assert settings(child)["password"] == ("${CHILD_PASSWORD}", True, None)
    assert settings(child)["dsn"][1] is True
    assert child.references() == ["CHILD_PASSWORD", "DB_USER", "TAP_CHILD_API_TOKEN"]


def test_the_chosen_environment_overrides_config_and_select():
    project = parse(PROJECT, "prod")
    child = project.extractors[1]
    assert project.environment == "prod"
    assert settings(child)["host"] == ("prod.example.com", False, None)
    assert child.select == ["customers.*"]
    assert parse(PROJECT).environment == "dev"  # default_environment
    with pytest.raises(BadFile, match="no environment 'staging'"):
        parse(PROJECT, "staging")


def test_schedules_by_extractor_and_by_job():
    base, child = parse(PROJECT).extractors
    assert (base.schedule, base.schedule_name) == ("@hourly", "base-hourly")
    assert (child.schedule, child.schedule_name) == ("0 3 * * *", "child-nightly")


def test_the_files_env_block_is_kept_for_lookups():
    assert parse(PROJECT).env == {"FILE_LEVEL": "from-the-file"}


@pytest.mark.parametrize(
    ("text", "line", "message"),
    [
        ("plugins:\n  extractors:\n  - name: tap-a\n    config: {a: 1\n", 5, "not valid YAML"),
        ("plugins:\n  extractors:\n  - name: [x\n", 4, "not valid YAML"),
        ("plugins:\n  extractors:\n  - name: tap-a\n  - name: tap-a\n", 4, "defined twice"),
        ("plugins:\n  extractors:\n  - pip_url: x\n", 3, "needs a name"),
        ("a: 1\n\tb: 2\n", 2, "not valid YAML"),
        (
            "plugins:\n  extractors:\n  - name: a\n    inherit_from: b\n"
            "  - name: b\n    inherit_from: a\n",
            5,
            "loop",
        ),
    ],
)
def test_a_broken_file_names_its_line(text, line, message):
    with pytest.raises(BadFile, match=message) as raised:
        parse(text)
    assert raised.value.line == line


def test_select_patterns_pick_whole_streams():
    names = ["orders", "order_items", "customers", "audit"]
    assert selection.selected(["order*.*", "!order_items.*"], names) == ["orders"]
    assert selection.selected(["*.*", "!audit.*"], names) == ["orders", "order_items", "customers"]
    # leaving out one property keeps the stream
    assert selection.selected(["orders.*", "!orders.note"], names) == ["orders"]
    assert selection.is_literal(["orders.*", "!orders.note"])
    assert not selection.is_literal(["*.*"])
    chosen = selection.choices(
        ["orders.*"], {"orders": {"replication-method": "INCREMENTAL", "replication-key": "id"}},
        names,
    )  # fmt: skip
    assert chosen == [
        {"name": "orders", "replication_method": "INCREMENTAL", "replication_key": "id"}
    ]
    assert selection.patterns_of(chosen) == (
        ["orders.*"], {"orders": {"replication-method": "INCREMENTAL", "replication-key": "id"}}
    )  # fmt: skip


@pytest.mark.parametrize(
    "text",
    [
        "jobs: 5\n",
        "schedules: 5\n",
        "environments: {a: 1}\n",
        "plugins:\n  extractors:\n  - name: a\n    settings: 5\n",
        "plugins:\n  extractors:\n  - name: a\n    config: x\n  - name: b\n    inherit_from: a\n",
        "plugins:\n  extractors:\n  - name: a\n    executable: ../../bin/sh\n",
        "plugins:\n  extractors:\n  - name: a\n    pip_url: --index-url=http://x\n",
        "plugins:\n  extractors:\n  - name: a\n    select: 5\n",
        "plugins: 5\n",
        "- 1\n",
        "",
    ],
)
def test_a_file_of_the_wrong_shape_is_refused_not_crashed_on(text):
    with pytest.raises(BadFile):
        parse(text)


def test_a_schedule_of_no_extractor_is_skipped_with_a_note():
    project = parse("schedules:\n- name: odd\n  job: [a]\n  interval: '@daily'\n")
    assert project.notes == ["schedule 'odd' runs no imported extractor: skipped"]
