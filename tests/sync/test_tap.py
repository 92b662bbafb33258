"""Running a tap, with a real process standing in for one (a small script this test writes):
its files exist only while it runs and only for this user, its environment carries none of the
hub's settings, a timeout kills everything it started, its stderr is masked, and credentials
it rotates in its config file are kept (sealed) on the connector."""

from __future__ import annotations

import asyncio
import json
import os
import stat
import sys
import textwrap
import uuid
from pathlib import Path

import pytest

from connectorhub.kit.masking import SecretMask
from connectorhub.kit.repository import WorkspaceScope
from connectorhub.kit.sealing import open_secrets
from connectorhub.sync import service
from connectorhub.sync import tap as tap_module
from connectorhub.sync.tap import MASK, TapFailed, TapProcess, discover, start_tap, tap_files
from connectorhub.sync.workdirs import MARKER

# What the script does is driven by its config: report its files and environment, write a
# rotated token back, print a secret to stderr, or start a child and hang.
TAP = textwrap.dedent(
    """\
    #!{python}
    import json, os, subprocess, sys, time
    args = sys.argv[1:]
    path = args[args.index("--config") + 1]
    config = json.load(open(path))
    directory = os.path.dirname(path)
    if config.get("rotate"):
        json.dump({{**config, "refresh_token": "rotated-" + config["refresh_token"]}}, open(path, "w"))
    if config.get("hang"):
        child = subprocess.Popen(["sleep", "300"])
        open(config["pid_file"], "w").write(str(child.pid))
        time.sleep(300)
    print("token was " + config.get("refresh_token", ""), file=sys.stderr)
    if config.get("fail"):
        print("FATAL password authentication failed for " + config["refresh_token"], file=sys.stderr)
        sys.exit(2)
    report = {{
        "env": sorted(os.environ),
        "file_mode": oct(os.stat(path).st_mode & 0o777),
        "dir_mode": oct(os.stat(directory).st_mode & 0o777),
        "directory": directory,
    }}
    print(json.dumps({{"streams": [], "report": report}}))
    """
)


@pytest.fixture
def tap(tmp_path: Path) -> Path:
    path = tmp_path / "tap-script"
    path.write_text(TAP.format(python=sys.executable))
    path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return path


async def test_files_are_private_and_gone_and_the_env_is_clean(tap, monkeypatch, tmp_path):
    for name in ("CONNECTORHUB_SECRET_KEYS", "PGPASSWORD", "DATABASE_URL"):
        monkeypatch.setenv(name, "must-not-leak")
    root = tmp_path / "taps"
    catalog = await discover(tap, {"refresh_token": "r"}, secrets=[], seconds=30, root=root)
    report = catalog["report"]
    assert report["file_mode"] == "0o600" and report["dir_mode"] == "0o700"
    assert Path(report["directory"]).parent == root and not Path(report["directory"]).exists()
    leaked = [
        n
        for n in report["env"]
        if (n.startswith(("CONNECTORHUB_", "PG")) and n != MARKER) or n == "DATABASE_URL"
    ]
    assert leaked == [] and "PATH" in report["env"]
    with tap_files(root, "x-", config={"a": 1}) as paths:
        assert stat.S_IMODE(paths["config"].stat().st_mode) == 0o600
    assert not paths["config"].exists() and list(root.iterdir()) == []


async def test_a_failure_shows_the_taps_words_with_secrets_masked(tap, tmp_path):
    with pytest.raises(TapFailed) as failed:
        await discover(
            tap,
            {"fail": True, "refresh_token": "s3cr3t-token"},
            secrets=["s3cr3t-token"],
            seconds=30,
            root=tmp_path,
        )
    assert failed.value.kind == "auth"
    assert failed.value.message == f"FATAL password authentication failed for {MASK}"
    assert "s3cr3t-token" not in failed.value.stderr_tail and MASK in failed.value.stderr_tail


@pytest.mark.slow
async def test_a_timeout_kills_the_tap_and_what_it_started(tap, tmp_path):
    pid_file = tmp_path / "child.pid"
    with pytest.raises(TapFailed) as failed:
        await discover(
            tap, {"hang": True, "pid_file": str(pid_file)}, secrets=[], seconds=1.5, root=tmp_path
        )
    assert failed.value.kind == "timeout"
    child = int(pid_file.read_text())
    with pytest.raises(ProcessLookupError):  # the whole process group went down
        for _ in range(50):
            os.kill(child, 0)
            await asyncio.sleep(0.1)


GIVEN = {"refresh_token": "rt-1", "client_secret": "cs-1"}


async def test_a_rotated_refresh_token_is_kept_sealed(tap, client, workspace, hub, tmp_path):
    created = await client.post(
        "/api/connectors",
        json={"catalog_key": "salesforce", "name": "Org", "config": {"start_date": "2024-01-01T00:00:00Z"},
              "auth": {"access_token": "at-1", "refresh_token": "rt-1", "client_id": "cid",
                       "client_secret": "cs-1"}},
        headers=workspace.owner.headers,
    )  # fmt: skip
    cid = created.json()["id"]
    rewritten: dict = {}
    await discover(
        tap, {"rotate": True, **GIVEN},
        secrets=[], seconds=30, rewritten=rewritten, root=tmp_path,
    )  # fmt: skip
    assert rewritten == {"refresh_token": "rotated-rt-1"}
    async with hub.work.transaction() as session:
        scope = await WorkspaceScope.open(session, workspace.slug, "test")
        changed = await service.keep_rewritten_settings(
            scope, hub.box, uuid.UUID(cid), rewritten, GIVEN
        )
        found = await service.source(scope, hub.box, uuid.UUID(cid))
    assert changed == ["refresh_token"]
    assert found.tap_config["refresh_token"] == "rotated-rt-1"
    assert found.tap_config["client_secret"] == "cs-1"  # untouched
    stored = found.connector.auth["refresh_token"]
    assert "rotated" not in stored and "rotated" not in json.dumps(
        (await client.get(f"/api/installed/{cid}", headers=workspace.owner.headers)).json()
    )
    assert open_secrets(hub.box, tenant_id=workspace.slug, table="connectors",
                        row_id=found.connector.id, stored={"refresh_token": stored}) == {
        "refresh_token": "rotated-rt-1"
    }  # fmt: skip


@pytest.mark.both_backends
async def test_a_credential_changed_while_the_tap_ran_is_not_overwritten(client, workspace, hub):
    created = await client.post(
        "/api/connectors",
        json={"catalog_key": "salesforce", "name": "Org", "config": {"start_date": "2024-01-01T00:00:00Z"},
              "auth": {"access_token": "at-1", "refresh_token": "set-by-admin-meanwhile",
                       "client_id": "cid", "client_secret": "cs-1"}},
        headers=workspace.owner.headers,
    )  # fmt: skip
    cid = uuid.UUID(created.json()["id"])
    async with hub.work.transaction() as session:
        scope = await WorkspaceScope.open(session, workspace.slug, "test")
        changed = await service.keep_rewritten_settings(
            scope, hub.box, cid, {"refresh_token": "rotated-rt-1"}, GIVEN
        )
        found = await service.source(scope, hub.box, cid)
    assert changed == [] and found.tap_config["refresh_token"] == "set-by-admin-meanwhile"


WRITES = textwrap.dedent(
    """\
    import sys, time
    out = sys.stdout.buffer
    for part in sys.argv[1:]:
        out.write(part.encode().decode("unicode_escape").encode("latin-1"))
        out.flush()
        time.sleep(0.01)  # each part its own read on the other side
    """
)


async def _lines_of(*parts: str) -> list[bytes]:
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-c", WRITES, *parts,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    tap = TapProcess(process, SecretMask())
    lines = [line async for line in tap.lines()]
    await tap.wait()
    return lines


async def test_lines_are_split_whatever_the_reads_bring():
    assert await _lines_of('{"a":1}\\n{"b"', ':2}\\n\\n{"c":3}\\n', '{"d":4}') == [
        b'{"a":1}',
        b'{"b":2}',
        b"",
        b'{"c":3}',
        b'{"d":4}',
    ]


async def test_a_taps_lines_arrive_whole_while_its_pipe_gathers_output(tmp_path, monkeypatch):
    """start_tap's pipe rests after each short read (output gathers in it): lines split across
    writes, an empty line and a last one without a newline still come as written."""
    monkeypatch.setattr(tap_module, "GATHER_SECONDS", 0.05)  # longer than the writer's pauses
    parts = ['{"a":1}\\n{"b"', ':2}\\n\\n{"c":3}\\n', '{"d":4}']
    with tap_files(tmp_path, "lines-") as paths:
        async with start_tap(
            Path(sys.executable), ["-c", WRITES, *parts], secrets=[],
            directory=paths["directory"],
        ) as tap:  # fmt: skip
            lines = [line async for line in tap.lines()]
            assert await tap.wait() == 0
    assert lines == [b'{"a":1}', b'{"b":2}', b"", b'{"c":3}', b'{"d":4}']


async def test_a_line_longer_than_a_read_arrives_whole(monkeypatch):
    monkeypatch.setattr(tap_module, "READ_CHUNK_BYTES", 8)
    long = "x" * 100
    assert await _lines_of(f'{{"k":"{long}"}}\\n', "tail") == [
        f'{{"k":"{long}"}}'.encode(),
        b"tail",
    ]


async def test_a_line_over_the_limit_is_refused(monkeypatch):
    monkeypatch.setattr(tap_module, "READ_CHUNK_BYTES", 8)
    monkeypatch.setattr(tap_module, "LINE_LIMIT_BYTES", 50)
    with pytest.raises(ValueError, match="over 50 bytes"):
        await _lines_of("y" * 80)
