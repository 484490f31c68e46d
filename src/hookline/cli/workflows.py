"""`hookline workflow …`: create, show, enable, disable, version, import, export, list and delete."""

from __future__ import annotations

import contextlib
from dataclasses import replace
from pathlib import Path
from typing import Any

import click
import orjson

from hookline.admin.views import flow_view, workflow_view
from hookline.admin.workflows import WorkflowAdmin
from hookline.cli.capture import capture
from hookline.cli.context import (
    MAX_ID,
    admin_runtime,
    database_options,
    json_option,
    run_async,
    settings_of,
)
from hookline.cli.output import (
    describe,
    echo_json,
    echo_json_line,
    version_line,
    workflow_summary,
)
from hookline.errors import ConfigError, InvalidWorkflow, NotFound, Problem
from hookline.models import Flow, Workflow
from hookline.store.workflow_store import WorkflowFilter

LIST_PAGE = 500
"""How many workflows `workflow list` reads at a time."""

KEY_OR_ID = click.argument("key_or_id", metavar="KEY_OR_ID")


async def find_version(admin: WorkflowAdmin, key_or_id: str) -> Flow:
    """The version with this id, or the current version of this key; digits are tried as an id first."""
    if key_or_id.isascii() and key_or_id.isdigit() and int(key_or_id) <= MAX_ID:
        with contextlib.suppress(NotFound):
            return await admin.get(int(key_or_id))
        with contextlib.suppress(NotFound):
            return await admin.get_by_key(key_or_id)
        raise NotFound(f"No workflow has the version id or key {key_or_id!r}.")
    return await admin.get_by_key(key_or_id)


@click.group()
def workflow() -> None:
    """Create, show, enable, version, import, export and delete workflows; capture a test request."""


workflow.add_command(capture)


@workflow.command("create")
@database_options
@click.option("--title", required=True, help="What the workflow is called.")
@click.option(
    "--sync/--async",
    "sync",
    default=None,
    help="--sync runs the workflow in the request and answers with its result; "
    "--async queues it and answers at once.",
)
@click.option("--description", help="A longer description.")
@json_option()
@click.pass_context
@run_async
async def create(
    ctx: click.Context, title: str, sync: bool | None, description: str | None, as_json: bool
) -> None:
    """Create an empty, disabled workflow with a new webhook key."""
    if sync is None:
        raise click.UsageError("Say how the workflow answers: --sync or --async.", ctx=ctx)
    settings = settings_of(ctx)
    async with admin_runtime(ctx) as runtime:
        flow = await runtime.workflows.create(title=title, sync=sync, description=description)
    workflow = flow.workflow
    url = settings.webhook_url(workflow.key)
    if as_json:
        echo_json(flow_view(flow, url, executions=0))
        return
    click.echo(f"created workflow {workflow.title!r} ({describe(workflow)})")
    click.echo(f"  id:          {workflow.id}")
    click.echo(f"  key:         {workflow.key}")
    click.echo(f"  webhook URL: {url}")
    click.echo(
        f"Add its nodes with the admin API or the web UI, then `hookline workflow enable {workflow.key}`."
    )


@workflow.command("show")
@database_options
@KEY_OR_ID
@json_option()
@click.pass_context
@run_async
async def show(ctx: click.Context, key_or_id: str, as_json: bool) -> None:
    """Show a workflow version with its nodes; a key shows its current version."""
    async with admin_runtime(ctx) as runtime:
        flow = await find_version(runtime.workflows, key_or_id)
        executions = await runtime.workflows.execution_count(flow.workflow.id)
    url = settings_of(ctx).webhook_url(flow.workflow.key)
    if as_json:
        echo_json(flow_view(flow, url, executions=executions))
    else:
        click.echo("\n".join(workflow_summary(flow, url, executions)))


@workflow.command("enable")
@database_options
@KEY_OR_ID
@click.pass_context
@run_async
async def enable(ctx: click.Context, key_or_id: str) -> None:
    """Enable a version (a key: its current one); it becomes the version its webhook URL runs."""
    await _set_enabled(ctx, key_or_id, enabled=True)


@workflow.command("disable")
@database_options
@KEY_OR_ID
@click.pass_context
@run_async
async def disable(ctx: click.Context, key_or_id: str) -> None:
    """Disable a version (a key: its current one); its webhook URL then answers 404."""
    await _set_enabled(ctx, key_or_id, enabled=False)


async def _set_enabled(ctx: click.Context, key_or_id: str, *, enabled: bool) -> None:
    settings = settings_of(ctx)
    async with admin_runtime(ctx) as runtime:
        flow = await find_version(runtime.workflows, key_or_id)
        flow = await runtime.workflows.set_enabled(flow.workflow.id, enabled)
    workflow = flow.workflow
    click.echo(
        f"{'enabled' if enabled else 'disabled'} {workflow.key} (version {workflow.id}: {describe(workflow)})"
    )
    click.echo(f"Running servers see the change within {settings.cache_seconds:g} s.")


@workflow.command("delete")
@database_options
@KEY_OR_ID
@click.option("--yes", "-y", is_flag=True, help="Delete without asking.")
@click.pass_context
@run_async
async def delete(ctx: click.Context, key_or_id: str, yes: bool) -> None:
    """Delete a workflow: every version of its key and all their executions."""
    async with admin_runtime(ctx) as runtime:
        flow = await find_version(runtime.workflows, key_or_id)
        key = flow.workflow.key
        versions = len(await runtime.workflows.versions(flow.workflow.id))
        if not yes:
            click.confirm(
                f"Delete the workflow {key} ({versions} version(s)) and all its executions?", abort=True
            )
        deleted = await runtime.workflows.delete(flow.workflow.id)
    click.echo(f"deleted {key}: {versions} version(s) and {deleted} execution(s)")


@workflow.command("versions")
@database_options
@KEY_OR_ID
@json_option("Print JSON lines, oldest version first.")
@click.pass_context
@run_async
async def versions(ctx: click.Context, key_or_id: str, as_json: bool) -> None:
    """List every version of a workflow, oldest first, with which is current and enabled."""
    settings = settings_of(ctx)
    async with admin_runtime(ctx) as runtime:
        flow = await find_version(runtime.workflows, key_or_id)
        found = await runtime.workflows.versions(flow.workflow.id)
        counts = [await runtime.workflows.execution_count(v.id) for v in found]
    url = settings.webhook_url(flow.workflow.key)
    if not as_json:
        click.echo(f"versions of {flow.workflow.key} (oldest first; a version with executions is frozen):")
    for version, count in zip(found, counts, strict=True):
        if as_json:
            echo_json_line({**workflow_view(version, url), "executions": count})
        else:
            click.echo(f"  {version_line(version, count)}")


@workflow.command("import")
@database_options
@click.argument(
    "files", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path)
)
@click.option("--if-missing", is_flag=True, help="Skip a file whose key already has a version.")
@click.pass_context
@run_async
async def import_(ctx: click.Context, files: tuple[Path, ...], if_missing: bool) -> None:
    """Import workflow JSON files; a key that exists gets a new version."""
    settings = settings_of(ctx)
    async with admin_runtime(ctx) as runtime:
        for path in files:
            data = _read_workflow_file(path)
            key = data.get("key") if isinstance(data, dict) else None
            if if_missing and isinstance(key, str) and await _exists(runtime.workflows, key):
                click.echo(f"{path}: {key} already exists, left as it is")
                continue
            workflow = (await runtime.workflows.import_(data)).workflow
            click.echo(f"{path}: imported {workflow.key} (id {workflow.id}, {describe(workflow)})")
            click.echo(f"  webhook URL: {settings.webhook_url(workflow.key)}")


async def _exists(admin: WorkflowAdmin, key: str) -> bool:
    try:
        await admin.get_by_key(key)
    except NotFound:
        return False
    return True


def _read_workflow_file(path: Path) -> Any:
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise ConfigError(f"Cannot read the workflow file {path}: {exc.strerror or exc}.") from exc
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise InvalidWorkflow([Problem("", f"{path} is not valid JSON: {exc}")]) from exc


@workflow.command("export")
@database_options
@KEY_OR_ID
@click.option(
    "--include-secrets",
    is_flag=True,
    help="Write passwords, signing secrets and API keys as they are, not as [secret:i] / [secret].",
)
@click.pass_context
@run_async
async def export(ctx: click.Context, key_or_id: str, include_secrets: bool) -> None:
    """Print a workflow version as workflow JSON (a key: its current version)."""
    async with admin_runtime(ctx) as runtime:
        flow = await find_version(runtime.workflows, key_or_id)
        data = await runtime.workflows.export(flow.workflow.id, include_secrets=include_secrets)
    echo_json(data)


@workflow.command("list")
@database_options
@click.option("--enabled/--disabled", "enabled", default=None, help="Only enabled (or disabled) ones.")
@click.option("--search", help="Only those whose key, title or description holds this text.")
@json_option("Print JSON lines (the admin API's workflow view).")
@click.pass_context
@run_async
async def list_workflows(ctx: click.Context, enabled: bool | None, search: str | None, as_json: bool) -> None:
    """List the current version of every workflow, by key."""
    settings = settings_of(ctx)
    async with admin_runtime(ctx) as runtime:
        found = await _all_workflows(runtime.workflows, WorkflowFilter(enabled=enabled, text=search))
    for w in found:
        if as_json:
            echo_json_line(workflow_view(w, settings.webhook_url(w.key)))
        else:
            mode, state = ("sync" if w.sync else "async"), ("enabled" if w.enabled else "disabled")
            click.echo(f"{w.key}  {mode:5}  {state:8}  {w.title}  {settings.webhook_url(w.key)}")


async def _all_workflows(admin: WorkflowAdmin, query: WorkflowFilter) -> list[Workflow]:
    """Every match, read page by page."""
    found: list[Workflow] = []
    while True:
        page = await admin.find(replace(query, limit=LIST_PAGE, offset=len(found)))
        found += page
        if len(page) < LIST_PAGE:
            return found
