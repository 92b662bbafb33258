"""The `connectorhub` command line: thin commands over the services."""

from __future__ import annotations

import json
import sys
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer
from pydantic import ValidationError

from connectorhub.auth.passwords import generate_password
from connectorhub.auth.repository import UserRepository
from connectorhub.auth.service import create_user, issue_token, set_password
from connectorhub.catalog.service import seed as seed_catalog
from connectorhub.cli.common import fail as _fail
from connectorhub.cli.common import run_with_hub as _run
from connectorhub.cli.meltano import meltano_app
from connectorhub.cli.platform_roles import users_role
from connectorhub.cli.plugins import plugins_app
from connectorhub.cli.serving import run_server, server_processes
from connectorhub.config import Settings
from connectorhub.connector.repository import ConnectorRepository
from connectorhub.credential.keys import append_key_to_file, new_key_entry
from connectorhub.execution import service as execution_service
from connectorhub.execution.models import Trigger
from connectorhub.execution.schemas import ExecutionRead
from connectorhub.execution.tasks import run_execution
from connectorhub.key_rotation import rotate
from connectorhub.kit.emails import EmailNotValidError, normalized_email
from connectorhub.kit.models import utcnow
from connectorhub.lifecycle import bootstrap_first_owner, migrate_and_seed
from connectorhub.publish import service as publish_service
from connectorhub.publish.schemas import PublishRequest
from connectorhub.publish.tasks import publish_publication
from connectorhub.sync import service as sync_service
from connectorhub.sync.tasks import run_sync
from connectorhub.tenant.models import Role
from connectorhub.tenant.repository import MembershipRepository, WorkspaceRepository
from connectorhub.tenant.service import add_membership, create_workspace

app = typer.Typer(
    help="ConnectorHub: a self-hostable, multi-tenant connectors service.", no_args_is_help=True
)
db_app = typer.Typer(help="Database schema.", no_args_is_help=True)
workspaces_app = typer.Typer(help="Workspaces (tenants).", no_args_is_help=True)
users_app = typer.Typer(help="User accounts.", no_args_is_help=True)
tokens_app = typer.Typer(help="API tokens.", no_args_is_help=True)
keys_app = typer.Typer(help="Encryption keys for stored secrets.", no_args_is_help=True)
for sub, name in [
    (plugins_app, "plugins"),
    (db_app, "db"),
    (workspaces_app, "workspaces"),
    (users_app, "users"),
    (tokens_app, "tokens"),
    (keys_app, "keys"),
    (meltano_app, "meltano"),
]:
    app.add_typer(sub, name=name)
users_app.command("role")(users_role)


@app.command()
def serve(
    host: Annotated[
        str | None, typer.Option(help="Bind address [default: CONNECTORHUB_HOST]")
    ] = None,
    port: Annotated[int | None, typer.Option(help="Port [default: CONNECTORHUB_PORT]")] = None,
    workers: Annotated[
        int | None,
        typer.Option(
            min=1, max=256, help="Processes [default: CPU count on PostgreSQL, 1 on SQLite]"
        ),
    ] = None,
) -> None:
    """Serve the UI and API. On SQLite (the embedded default) it migrates and bootstraps first."""

    settings = Settings()
    host, port = host or settings.host, port or settings.port
    processes = server_processes(settings, workers)

    async def prepare(hub):
        if settings.is_sqlite:
            await migrate_and_seed(hub)
        await hub.start()
        return await bootstrap_first_owner(hub) if settings.is_sqlite else None

    first = _run(prepare, start=False)
    if first:
        typer.secho(
            "\nFirst start: created a workspace and its owner.", fg=typer.colors.GREEN, bold=True
        )
        typer.echo(
            f"  workspace: {first.workspace}\n  login:     {first.email}\n  password:  {first.password}"
        )
        typer.echo(f"  API token: {first.token}")
        typer.echo("These are shown once. Change the password under Account after signing in.\n")
    typer.echo(f"ConnectorHub on http://{host}:{port}  (API docs: http://{host}:{port}/docs)")
    run_server(settings, host, port, processes)


@app.command()
def worker(
    concurrency: Annotated[
        int | None,
        typer.Option(
            min=1, max=1000, help="Jobs at once [default: CONNECTORHUB_WORKER_CONCURRENCY]"
        ),
    ] = None,
    name: Annotated[str | None, typer.Option(help="Name shown in the logs")] = None,
) -> None:
    """Run background jobs (PostgreSQL). Start any number, on any machines; Ctrl-C or SIGTERM
    lets running jobs finish. The embedded SQLite default needs none: `serve` runs them."""
    settings = Settings()
    if settings.is_sqlite:
        raise _fail(
            "the embedded SQLite default runs jobs inside `serve`; "
            "workers are for PostgreSQL (set CONNECTORHUB_DATABASE_URL)"
        )

    async def run(hub):
        typer.echo(
            f"worker {name or hub.claimant}: running jobs "
            f"(concurrency {concurrency or settings.worker_concurrency})"
        )
        await hub.jobs.run_worker(concurrency=concurrency, name=name)

    _run(run)


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Apply migrations and seed the catalog (idempotent)."""

    async def run(hub):
        await migrate_and_seed(hub)
        await hub.start()

    _run(run, start=False)
    typer.echo("database is up to date")


@app.command()
def seed() -> None:
    """Seed the catalog from its YAML files (re-running changes nothing)."""

    async def run(hub):
        async with hub.work.transaction() as session:
            return await seed_catalog(session, hub.settings.catalog_extra_dir)

    report = _run(run)
    typer.echo(
        f"catalog: {len(report.created)} created, {len(report.updated)} updated, {len(report.unchanged)} unchanged"
    )


@workspaces_app.command("create")
def workspaces_create(
    slug: str, name: Annotated[str | None, typer.Option(help="Display name")] = None
) -> None:
    """Create a workspace."""

    async def run(hub):
        async with hub.work.transaction() as session:
            await create_workspace(session, slug, name)

    _run(run)
    typer.echo(f"workspace {slug} created")


@users_app.command("create")
def users_create(
    email: str,
    workspace: Annotated[str, typer.Option(help="Workspace slug")],
    role: Annotated[str, typer.Option(help="owner, admin, member or viewer")] = "member",
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help="Read the password from stdin")
    ] = False,
    platform_admin: Annotated[
        bool,
        typer.Option(
            "--platform-admin", help="May curate official templates and moderate community ones"
        ),
    ] = False,
) -> None:
    """Create a user (or reuse an existing one) and add them to a workspace."""

    try:
        role_value = Role(role)
    except ValueError:
        raise _fail(f"role must be one of {', '.join(r.value for r in Role)}") from None
    email = _valid_email(email)
    password = sys.stdin.readline().rstrip("\n") if password_stdin else generate_password()

    async def run(hub):
        # One transaction: the account and its membership are made together or not at all.
        async with hub.work.workspace(workspace, actor="cli") as scope:
            session = scope.session
            if await WorkspaceRepository(session).by_id(workspace) is None:
                raise _fail(f"no workspace {workspace!r}")
            user = await UserRepository(session).by_email(email)
            created = user is None
            if user is None:
                user = await create_user(session, email, password)
            if platform_admin and user.platform_role not in ("owner", "admin"):
                user.platform_role = "admin"
            await add_membership(scope, user, role_value)
            return created

    created = _run(run)
    typer.echo(
        f"{email} is now {role_value.value} of {workspace}"
        + (" and a platform admin" if platform_admin else "")
    )
    if created and not password_stdin:
        typer.echo(f"one-time password: {password}")


def _valid_email(email: str) -> str:
    try:
        return normalized_email(email)
    except EmailNotValidError as exc:
        raise _fail(f"{email!r} is not a valid email address: {exc}") from None


@users_app.command("set-password")
def users_set_password(
    email: str,
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help="Read the password from stdin")
    ] = False,
) -> None:
    """Set a user's password (a lost one, say). Without --password-stdin prints a one-time password."""

    password = sys.stdin.readline().rstrip("\n") if password_stdin else generate_password()

    async def run(hub):
        async with hub.work.transaction() as session:
            user = await UserRepository(session).by_email(email)
            if user is None:
                raise _fail(f"no user {email!r}")
            await set_password(session, user, password)

    _run(run)
    typer.echo(f"password of {email} changed")
    if not password_stdin:
        typer.echo(f"one-time password: {password}")


@tokens_app.command("create")
def tokens_create(
    workspace: Annotated[str, typer.Option(help="Workspace slug")],
    email: Annotated[str, typer.Option(help="The token acts as this user")],
    name: Annotated[str, typer.Option(help="A name to recognise the token by")] = "cli",
) -> None:
    """Create an API token; prints only the token on stdout."""

    async def run(hub):
        async with hub.work.workspace(workspace, actor="cli") as scope:
            if await WorkspaceRepository(scope.session).by_id(workspace) is None:
                raise _fail(f"no workspace {workspace!r}")
            user = await UserRepository(scope.session).by_email(email)
            if user is None or await MembershipRepository(scope).by_user(user.id) is None:
                raise _fail(f"{email} is not a member of workspace {workspace!r}")
            _, token = await issue_token(scope, user.id, name)
            return token

    typer.echo(_run(run))


@keys_app.command("generate")
def keys_generate(
    write: Annotated[
        bool,
        typer.Option(
            "--write", help="Append it to the embedded key file (it becomes the active key)"
        ),
    ] = False,
) -> None:
    """Print a new key entry `id:base64key` for CONNECTORHUB_SECRET_KEYS (append it last)."""

    if not write:
        typer.echo(new_key_entry())
        return
    settings = Settings()
    if settings.secret_keys:
        raise _fail("keys come from CONNECTORHUB_SECRET_KEYS: append the new entry there instead")
    key_id = append_key_to_file(settings.key_file)
    typer.echo(
        f"added key {key_id} to {settings.key_file}; restart the service, then run `connectorhub keys rotate`"
    )


@keys_app.command("rotate")
def keys_rotate() -> None:
    """Re-seal every stored secret under the newest key. Safe while the service runs."""

    async def run(hub):
        return await rotate(hub.work, hub.box)

    report = _run(run)
    typer.echo(f"re-sealed {report.rows_resealed} of {report.rows_seen} rows")
    if report.retired_keys:
        typer.echo(
            f"keys no longer needed: {', '.join(report.retired_keys)} (you may now remove them)"
        )
    if report.unreadable:
        typer.secho(
            f"{len(report.unreadable)} rows could not be decrypted with any configured key and "
            "were left as they are (re-enter their credentials; connectors among them are now "
            "in error):",
            fg=typer.colors.YELLOW, err=True,
        )  # fmt: skip
        for row in report.unreadable:
            typer.echo(f"  {row}", err=True)
        raise typer.Exit(code=1)


@app.command("publish")
def publish_command(
    connector: Annotated[str, typer.Argument(help="Connector name or id")],
    workspace: Annotated[str, typer.Option(help="Workspace slug")],
    text: Annotated[str, typer.Option(help="The post's text")],
    title: Annotated[str | None, typer.Option(help="Title (WordPress, Medium)")] = None,
    html_file: Annotated[
        Path | None, typer.Option(exists=True, dir_okay=False, help="HTML body from a file")
    ] = None,
    at: Annotated[
        datetime | None,
        typer.Option(formats=["%Y-%m-%dT%H:%M:%S%z", "%Y-%m-%dT%H:%M:%S"],
                     help="Publish at this time (ISO 8601; UTC when no offset)"),
    ] = None,
) -> None:  # fmt: skip
    """Publish now (prints the post's URL) or at `--at` (prints the scheduled time: the
    service's workers send it then)."""
    try:
        request = PublishRequest(
            text=text, title=title, html=html_file.read_text() if html_file else None,
            publish_at=at.replace(tzinfo=at.tzinfo or UTC) if at else None,
        )  # fmt: skip
    except ValidationError as exc:
        raise _fail(exc.errors()[0]["msg"]) from None

    async def run(hub):
        async with hub.work.workspace(workspace, actor="cli") as scope:
            found = await _connector_named(scope, connector, workspace)
            publication, _ = await publish_service.start(
                scope, found.id, request, idempotency_key=None
            )
        if publication.publish_at and publish_service.is_scheduled(publication, utcnow()):
            return publication
        await publish_publication(hub.context, workspace, str(publication.id))
        return await publish_service.read_now(hub.work, workspace, publication.id)

    result = _run(run)
    if result.status == "scheduled":
        typer.echo(
            f"scheduled for {result.publish_at:%Y-%m-%d %H:%M:%S %Z} (publication {result.id})"
        )
        return
    if result.status != "published":
        raise _fail(f"publication {result.status}: {result.error}")
    typer.echo(result.url or result.provider_post_id)


async def _connector_named(scope, connector: str, workspace: str):
    repository = ConnectorRepository(scope)
    try:
        found = await repository.get(uuid.UUID(connector))
    except ValueError:
        found = await repository.by_name(connector)
    if found is None:
        raise _fail(f"no connector {connector!r} in {workspace}")
    return found


@app.command("run")
def run_command(
    connector: Annotated[str, typer.Argument(help="Connector name or id")],
    workspace: Annotated[str, typer.Option(help="Workspace slug")],
    input_json: Annotated[
        str, typer.Option("--input", help="The run's input as a JSON object, e.g. '{\"user\": 7}'")
    ] = "{}",
) -> None:
    """Run an active HTTP connector now, in this process, and print the execution as JSON
    (exit 0 when it succeeded, 1 when it failed)."""
    try:
        run_input = json.loads(input_json)
    except json.JSONDecodeError as exc:
        raise _fail(f"--input is not JSON: {exc}") from None
    if not isinstance(run_input, dict):
        raise _fail("--input must be a JSON object")

    async def run(hub):
        async with hub.work.workspace(workspace, actor="cli") as scope:
            found = await _connector_named(scope, connector, workspace)
            execution, _ = await execution_service.start(
                scope, hub.box, found.id, run_input,
                trigger=Trigger.manual, idempotency_key=None, defer=False,
            )  # fmt: skip
        await run_execution(hub.context, workspace, str(execution.id))
        return await execution_service.read_now(hub.work, workspace, execution.id)

    result = ExecutionRead.model_validate(_run(run))
    typer.echo(result.model_dump_json(indent=2))
    if result.status != "succeeded":
        raise typer.Exit(code=1)


@app.command("sync")
def sync_command(
    connector: Annotated[str, typer.Argument(help="Connector name or id")],
    workspace: Annotated[str, typer.Option(help="Workspace slug")],
) -> None:
    """Sync a source connector now, in this process, and print rows per stream."""

    async def run(hub):
        async with hub.work.workspace(workspace, actor="cli") as scope:
            found = await _connector_named(scope, connector, workspace)
            started = await sync_service.start(scope, found.id, trigger="cli", defer=False)
        await run_sync(hub.context, workspace, str(started.id))
        async with hub.work.workspace(workspace, actor="cli") as scope:
            return await sync_service.read(scope, started.id)

    result = _run(run)
    for stream, rows in sorted(result.rows.items()):
        typer.echo(f"{stream}: {rows} rows")
    if result.status != "succeeded":
        raise _fail(f"sync {result.status}: {result.error}\n{result.log_tail[-2000:]}")
    typer.echo(f"sync succeeded in {result.duration_ms or 0:.0f} ms")


if __name__ == "__main__":
    app()
