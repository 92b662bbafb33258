"""n8n 1.x as the peer of `bench/executions.py --peer n8n`: the same 3-step chain as a workflow.

Webhook (POST, answers when the last node has run) → HTTP Request POST /token → HTTP Request GET
/items with `Authorization: Bearer <token>` → HTTP Request POST /hook with the item ids. One n8n
instance on its default SQLite database in a throwaway user folder, saving every execution
(success and error), as the hub persists every run. n8n is installed with npm into a cache
directory the first time (`npm install n8n@1.123.0`, a few minutes), then reused.
"""

from __future__ import annotations

import itertools
import json
import os
import shutil
import sqlite3
import subprocess
import time
import urllib.request
from pathlib import Path

CACHE = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "connectorhub-bench"
WEBHOOK_PATH = "chub-bench"
# Pinned: later 1.123.x patch releases add @n8n/expression-runtime, whose isolated-vm does not
# build against Debian's Node 20 (and no prebuilt binary is reachable from here).
N8N_VERSION = "1.123.0"


def n8n_binary(cache: Path = CACHE) -> Path:
    """The cached n8n CLI, installed with npm when missing."""
    prefix = cache / f"n8n-{N8N_VERSION}"
    binary = prefix / "node_modules" / ".bin" / "n8n"
    if binary.exists():
        return binary
    if not shutil.which("npm"):
        raise SystemExit("--peer n8n needs npm (Node 20): apt-get install nodejs npm")
    prefix.mkdir(parents=True, exist_ok=True)
    # n8n's spreadsheet node pins `xlsx` to a tarball on cdn.sheetjs.com, which a machine that
    # reaches only the npm registry cannot fetch; the registry's xlsx 0.18.5 stands in (the
    # chain never uses it).
    manifest = {
        "private": True,
        "dependencies": {"n8n": N8N_VERSION},
        "overrides": {"xlsx": "0.18.5"},
    }
    (prefix / "package.json").write_text(json.dumps(manifest))
    print(f"installing n8n@{N8N_VERSION} into {prefix} (once; a few minutes)…", flush=True)
    subprocess.run(
        ["npm", "install", "--no-audit", "--no-fund", "--loglevel=error"], cwd=prefix, check=True
    )
    return binary


def _http(name: str, x: int, parameters: dict) -> dict:
    return {
        "id": name, "name": name, "type": "n8n-nodes-base.httpRequest", "typeVersion": 4.2,
        "position": [x, 0], "parameters": parameters | {"options": {}},
    }  # fmt: skip


def workflow(third_party: str) -> dict:
    """The chain as an n8n workflow, for `n8n import:workflow`."""
    nodes = [
        {
            "id": "webhook",
            "name": "Webhook",
            "type": "n8n-nodes-base.webhook",
            "typeVersion": 2,
            "position": [0, 0],
            "webhookId": WEBHOOK_PATH,
            "parameters": {
                "httpMethod": "POST",
                "path": WEBHOOK_PATH,
                "responseMode": "lastNode",
                "responseData": "firstEntryJson",
                "options": {},
            },
        },
        _http(
            "login",
            200,
            {
                "method": "POST",
                "url": f"{third_party}/token",
                "sendBody": True,
                "specifyBody": "json",
                "jsonBody": '{"grant": "x"}',
            },
        ),
        _http(
            "list",
            400,
            {
                "url": f"{third_party}/items",
                "sendHeaders": True,
                "headerParameters": {
                    "parameters": [
                        {"name": "Authorization", "value": "=Bearer {{ $json.access_token }}"},
                    ]
                },
            },
        ),
        _http(
            "notify",
            600,
            {
                "method": "POST",
                "url": f"{third_party}/hook",
                "sendBody": True,
                "specifyBody": "json",
                "jsonBody": "={{ JSON.stringify({ ids: $json.items.map(item => item.id) }) }}",
            },
        ),
    ]
    chain = ["Webhook", "login", "list", "notify"]
    connections = {
        a: {"main": [[{"node": b, "type": "main", "index": 0}]]}
        for a, b in itertools.pairwise(chain)
    }
    return {
        "id": "chubBench0000001", "name": "ConnectorHub bench chain", "active": False,
        "versionId": "6f1c3a0e-0b1e-4c55-9a7e-3c3b1d2e4f50",
        "nodes": nodes, "connections": connections, "settings": {
            "saveDataSuccessExecution": "all", "saveDataErrorExecution": "all",
            "saveManualExecutions": True, "executionOrder": "v1",
        },
    }  # fmt: skip


def n8n_env(user_folder: Path, port: int) -> dict[str, str]:
    return {
        **{k: v for k, v in os.environ.items() if not k.startswith(("N8N_", "DB_", "CONNECTORHUB_"))},
        "N8N_USER_FOLDER": str(user_folder), "N8N_PORT": str(port),
        "N8N_LISTEN_ADDRESS": "127.0.0.1", "N8N_HOST": "127.0.0.1",
        "DB_TYPE": "sqlite", "DB_SQLITE_POOL_SIZE": "2",  # its recommended setting
        "EXECUTIONS_MODE": "regular",
        "EXECUTIONS_DATA_SAVE_ON_SUCCESS": "all", "EXECUTIONS_DATA_SAVE_ON_ERROR": "all",
        "EXECUTIONS_DATA_SAVE_ON_PROGRESS": "false",
        "N8N_DIAGNOSTICS_ENABLED": "false", "N8N_VERSION_NOTIFICATIONS_ENABLED": "false",
        "N8N_PERSONALIZATION_ENABLED": "false", "N8N_TEMPLATES_ENABLED": "false",
        "N8N_ENFORCE_SETTINGS_FILE_PERMISSIONS": "false", "N8N_SECURE_COOKIE": "false",
        "N8N_LOG_LEVEL": "warn", "N8N_RUNNERS_ENABLED": "false",
    }  # fmt: skip


def start_n8n(third_party: str, port: int, user_folder: Path) -> tuple[subprocess.Popen, str]:
    """Import and activate the workflow, start n8n; returns it and the webhook URL."""
    binary = n8n_binary()
    env = n8n_env(user_folder, port)
    flow = user_folder / "workflow.json"
    flow.write_text(json.dumps(workflow(third_party)))
    quiet = {"env": env, "check": True, "capture_output": True, "text": True}
    subprocess.run([str(binary), "import:workflow", f"--input={flow}"], **quiet)
    _record_version(user_folder, workflow(third_party))
    subprocess.run(
        [str(binary), "update:workflow", f"--id={workflow(third_party)['id']}", "--active=true"],
        **quiet,
    )  # fmt: skip
    log = (user_folder / "n8n.log").open("w")
    process = subprocess.Popen([str(binary), "start"], env=env, stdout=log, stderr=log)
    url = f"http://127.0.0.1:{port}/webhook/{WEBHOOK_PATH}"
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit("n8n did not start:\n" + (user_folder / "n8n.log").read_text()[-3000:])
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2):
                return process, url
        except OSError:
            time.sleep(0.5)
    process.kill()
    raise SystemExit("n8n did not answer /healthz within 180 s")


def _record_version(user_folder: Path, flow: dict) -> None:
    """The imported version in n8n's workflow history: 1.123's `update:workflow --active=true`
    points the workflow's active version at it, and `import:workflow` does not write it."""
    with sqlite3.connect(user_folder / ".n8n" / "database.sqlite") as db:
        db.execute(
            "INSERT OR IGNORE INTO workflow_history (versionId, workflowId, authors, nodes,"
            " connections) VALUES (?, ?, ?, ?, ?)",
            (flow["versionId"], flow["id"], "bench", json.dumps(flow["nodes"]),
             json.dumps(flow["connections"])),
        )  # fmt: skip


def saved_executions(user_folder: Path) -> int:
    """How many executions n8n has stored (checked after the run: it persisted every one)."""
    database = user_folder / ".n8n" / "database.sqlite"
    with sqlite3.connect(database) as db:
        return db.execute("SELECT count(*) FROM execution_entity").fetchone()[0]
