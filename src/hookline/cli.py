"""The command line: serve, migrate, and look at workflows and executions."""

from __future__ import annotations

import asyncio
import logging
import sys
from collections.abc import Awaitable, Callable, Coroutine
from functools import wraps
from pathlib import Path
from typing import Any, ParamSpec, TypeVar

import click
import orjson

from hookline.admin.views import execution_detail_view, execution_view
from hookline.errors import HooklineError, NotFound
from hookline.exchange import flow_to_json, load_flow_file
from hookline.models import ExecutionStatus
from hookline.plugins import load_plugins
from hookline.settings import Settings
from hookline.store.base import ExecutionFilter, Store
from hookline.store.migrate import upgrade
from hookline.store.sql_store import open_store

P = ParamSpec("P")
T = TypeVar("T")


def _run(func: Callable[P, Coroutine[Any, Any, T]]) -> Callable[P, T]:
    """Run an async command; a HooklineError prints its message and exits with its code."""

    @wraps(func)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> T:
        try:
            return asyncio.run(func(*args, **kwargs))
        except HooklineError as exc:
            click.echo(f"error: {exc.message}", err=True)
            sys.exit(exc.exit_code)

    return wrapper


def _settings(ctx: click.Context) -> Settings:
    settings: Settings = ctx.obj
    return settings


async def _with_store(settings: Settings, use: Callable[[Store], Awaitable[T]]) -> T:
    store = await open_store(settings.effective_database_url, migrate=True)
    try:
        return await use(store)
    finally:
        await store.close()


def database_options(command: Callable[P, T]) -> Callable[P, T]:
    """Add `--database-url` and `--data-dir` to a command; they override the environment."""

    def remember(ctx: click.Context, param: click.Parameter, value: Any) -> None:
        if value is not None:
            ctx.obj = _settings(ctx).with_overrides(**{str(param.name): value})

    url = click.option(
        "--database-url",
        expose_value=False,
        callback=remember,
        help="Database URL, e.g. postgresql://user@host/db (default: SQLite in the data folder).",
    )
    folder = click.option(
        "--data-dir",
        expose_value=False,
        callback=remember,
        type=click.Path(file_okay=False, path_type=Path),
        help="Folder of the default SQLite database (default: ./data).",
    )
    return url(folder(command))


@click.group()
@click.pass_context
def main(ctx: click.Context) -> None:
    """hookline: a webhook-triggered workflow engine."""
    try:
        ctx.obj = Settings.from_env()
        load_plugins(ctx.obj.plugins)
    except HooklineError as exc:
        raise click.UsageError(exc.message) from exc


@main.command()
@database_options
@click.option("--host", help="Interface to listen on (default 127.0.0.1).")
@click.option("--port", type=int, help="Port to listen on (default 8000).")
@click.option("--workers", "concurrency", type=int, help="Asynchronous executions run at once.")
@click.option("--log-level", default="info", show_default=True)
@click.pass_context
def serve(
    ctx: click.Context, host: str | None, port: int | None, concurrency: int | None, log_level: str
) -> None:
    """Start the HTTP server (and its workers); an SQLite database is created or upgraded."""
    import uvicorn

    from hookline.api.app import create_app

    settings = _settings(ctx).with_overrides(host=host, port=port, workers=concurrency)
    logging.basicConfig(level=log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    click.echo(
        f"hookline listening on {settings.base_url} (database: {_redact(settings.effective_database_url)})"
    )
    uvicorn.run(
        create_app(settings),
        host=settings.host,
        port=settings.port,
        log_level=log_level,
        access_log=False,
        loop="uvloop",
        http="httptools",
    )


@main.command()
@database_options
@click.pass_context
@_run
async def migrate(ctx: click.Context) -> None:
    """Create or upgrade the database schema."""
    store = await open_store(_settings(ctx).effective_database_url, migrate=False)
    try:
        await upgrade(store.engine)
    finally:
        await store.close()
    click.echo("database schema is up to date")


@main.group()
def workflow() -> None:
    """Import, export and list workflows."""


@workflow.command("import")
@database_options
@click.argument(
    "files", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path)
)
@click.option("--if-missing", is_flag=True, help="Skip a file whose key already has a version.")
@click.pass_context
@_run
async def import_(ctx: click.Context, files: tuple[Path, ...], if_missing: bool) -> None:
    """Import workflow JSON files; a key that exists gets a new version."""
    settings = _settings(ctx)

    async def use(store: Store) -> None:
        for path in files:
            flow = load_flow_file(path)
            key = flow.workflow.key
            if if_missing and await store.get_current_flow(key) is not None:
                click.echo(f"{path}: {key} already exists, left as it is")
                continue
            await store.add_flow(flow)
            mode = "sync" if flow.workflow.sync else "async"
            state = "enabled" if flow.workflow.enabled else "disabled"
            click.echo(f"{path}: imported {key} (id {flow.workflow.id}, {mode}, {state})")
            click.echo(f"  webhook URL: {settings.webhook_url(key)}")

    await _with_store(settings, use)


@workflow.command("export")
@database_options
@click.argument("key")
@click.pass_context
@_run
async def export(ctx: click.Context, key: str) -> None:
    """Print the current version of a workflow as JSON."""

    async def use(store: Store) -> None:
        flow = await store.get_current_flow(key)
        if flow is None:
            raise NotFound(f"No workflow has the key {key!r}.")
        click.echo(orjson.dumps(flow_to_json(flow), option=orjson.OPT_INDENT_2).decode())

    await _with_store(_settings(ctx), use)


@workflow.command("list")
@database_options
@click.option("--json", "as_json", is_flag=True, help="Print JSON lines.")
@click.pass_context
@_run
async def list_workflows(ctx: click.Context, as_json: bool) -> None:
    """List the current version of every workflow."""
    settings = _settings(ctx)
    workflows = await _with_store(settings, lambda store: store.list_workflows())
    for w in workflows:
        if as_json:
            row = {"id": str(w.id), "key": w.key, "title": w.title, "sync": w.sync, "enabled": w.enabled}
            click.echo(orjson.dumps(row).decode())
        else:
            mode, state = ("sync" if w.sync else "async"), ("enabled" if w.enabled else "disabled")
            click.echo(f"{w.key}  {mode:5}  {state:8}  {w.title}  {settings.webhook_url(w.key)}")


@main.group()
def execution() -> None:
    """Look at executions."""


@execution.command("list")
@database_options
@click.option("--workflow", "key", help="Only executions of this workflow key.")
@click.option("--status", type=click.Choice([s.value for s in ExecutionStatus]), help="Only this status.")
@click.option("--limit", type=int, default=50, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Print JSON lines.")
@click.pass_context
@_run
async def list_executions(
    ctx: click.Context, key: str | None, status: str | None, limit: int, as_json: bool
) -> None:
    """List executions, newest first."""
    query = ExecutionFilter(key, ExecutionStatus(status) if status else None, limit)
    executions = await _with_store(_settings(ctx), lambda store: store.list_executions(query))
    for e in executions:
        if as_json:
            click.echo(orjson.dumps(execution_view(e)).decode())
        else:
            when = e.created_at.isoformat(timespec="seconds")
            click.echo(f"{e.id}  {e.key}  {e.status.value:9}  {when}  {e.error or ''}".rstrip())


@execution.command("show")
@database_options
@click.argument("execution_id", type=int)
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_context
@_run
async def show_execution(ctx: click.Context, execution_id: int, as_json: bool) -> None:
    """Show one execution with its context, answer and jobs."""

    async def use(store: Store) -> dict[str, Any]:
        found = await store.get_execution(execution_id)
        if found is None:
            raise NotFound(f"No execution has the id {execution_id}.")
        return execution_detail_view(found, await store.list_jobs(execution_id))

    data = await _with_store(_settings(ctx), use)
    click.echo(orjson.dumps(data, option=orjson.OPT_INDENT_2).decode() if as_json else _human(data))


def _human(data: dict[str, Any]) -> str:
    lines = [
        f"execution {data['id']}  workflow {data['key']}  status {data['status']}  attempt {data['attempt']}",
        f"created {data['created_at']}  finished {data['finished_at'] or '-'}",
    ]
    if data["error"]:
        lines.append(f"error: {data['error']}")
    lines.append("context: " + orjson.dumps(data["context"]).decode())
    if data["response"] is not None:
        lines.append("response: " + orjson.dumps(data["response"]).decode())
    lines.append("jobs:")
    for job in data["jobs"]:
        lines.append(f"  {job['node_key']:20} {job['status']:9} {orjson.dumps(job['result']).decode()}")
    return "\n".join(lines)


def _redact(url: str) -> str:
    """A database URL without its password, for printing."""
    if "@" not in url or "://" not in url:
        return url
    scheme, rest = url.split("://", 1)
    creds, host = rest.rsplit("@", 1)
    user = creds.split(":", 1)[0]
    return f"{scheme}://{user}:***@{host}" if ":" in creds else url
