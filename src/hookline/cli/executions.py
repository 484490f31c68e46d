"""`hookline execution …`: list and show executions; cancel, replay and resume them."""

from __future__ import annotations

from datetime import datetime

import click

from hookline.admin.views import execution_detail_view, execution_view
from hookline.cli.context import (
    ID,
    QUEUED_NOTE,
    IsoTime,
    admin_runtime,
    database_options,
    json_option,
    run_async,
)
from hookline.cli.output import (
    answer_lines,
    echo_json,
    echo_json_line,
    execution_detail,
    execution_line,
)
from hookline.models import ExecutionStatus
from hookline.store.execution_history import ExecutionFilter

EXECUTION_ID = click.argument("execution_id", type=ID, metavar="ID")


@click.group()
def execution() -> None:
    """List and show executions; cancel, replay and resume them."""


@execution.command("list")
@database_options
@click.option("--workflow", "key", help="Only executions of this workflow key.")
@click.option("--version", "workflow_id", type=ID, help="Only executions of this workflow version id.")
@click.option("--status", type=click.Choice([s.value for s in ExecutionStatus]), help="Only this status.")
@click.option("--since", type=IsoTime(), help="Only those created at or after this time (UTC if no zone).")
@click.option("--until", type=IsoTime(), help="Only those created before this time (UTC if no zone).")
@click.option("--before", "before_id", type=ID, help="Only those older than this execution id (next page).")
@click.option("--limit", type=click.IntRange(1, 1000), default=50, show_default=True)
@json_option("Print JSON lines (the admin API's execution view).")
@click.pass_context
@run_async
async def list_executions(
    ctx: click.Context,
    key: str | None,
    workflow_id: int | None,
    status: str | None,
    since: datetime | None,
    until: datetime | None,
    before_id: int | None,
    limit: int,
    as_json: bool,
) -> None:
    """List executions, newest first; a full page ends with how to ask for the next one."""
    query = ExecutionFilter(
        workflow_key=key,
        status=ExecutionStatus(status) if status else None,
        limit=limit,
        before_id=before_id,
        workflow_id=workflow_id,
        created_after=since,
        created_before=until,
    )
    async with admin_runtime(ctx) as runtime:
        found = await runtime.executions.find(query)
    for e in found:
        if as_json:
            echo_json_line(execution_view(e))
        else:
            click.echo(execution_line(e))
    if len(found) == limit and not as_json:
        click.echo(f"(more may follow: add --before {found[-1].id})", err=True)


@execution.command("show")
@database_options
@EXECUTION_ID
@json_option()
@click.pass_context
@run_async
async def show_execution(ctx: click.Context, execution_id: int, as_json: bool) -> None:
    """Show one execution with its context, answer and jobs."""
    async with admin_runtime(ctx) as runtime:
        found, jobs = await runtime.executions.get(execution_id)
    data = execution_detail_view(found, jobs)
    if as_json:
        echo_json(data)
    else:
        click.echo(execution_detail(data))


@execution.command("cancel")
@database_options
@EXECUTION_ID
@json_option()
@click.pass_context
@run_async
async def cancel(ctx: click.Context, execution_id: int, as_json: bool) -> None:
    """Cancel a queued or running execution; a finished one exits with code 5."""
    async with admin_runtime(ctx) as runtime:
        canceled = await runtime.executions.cancel(execution_id)
    if as_json:
        echo_json(execution_view(canceled))
    else:
        click.echo(f"execution {canceled.id} canceled; a worker running it stops at its next renewal")


@execution.command("replay")
@database_options
@EXECUTION_ID
@json_option('Print JSON: {"execution": …, "answer": …}.')
@click.pass_context
@run_async
async def replay(ctx: click.Context, execution_id: int, as_json: bool) -> None:
    """Run an execution's trigger data again on its workflow's current version.

    A synchronous workflow runs here and now and its answer is printed; an asynchronous
    one is queued for a running server's workers.
    """
    async with admin_runtime(ctx) as runtime:
        dispatched = await runtime.executions.replay(execution_id)
    new = dispatched.execution
    if as_json:
        echo_json({"execution": execution_view(new), "answer": dispatched.answer.to_json()})
    elif new.status is ExecutionStatus.QUEUED:
        click.echo(f"execution {new.id} (replay of {execution_id}) {QUEUED_NOTE}")
    else:
        click.echo(f"execution {new.id} (replay of {execution_id}): {new.status.value}")
        click.echo("\n".join(answer_lines(dispatched.answer)))


@execution.command("resume")
@database_options
@EXECUTION_ID
@json_option()
@click.pass_context
@run_async
async def resume(ctx: click.Context, execution_id: int, as_json: bool) -> None:
    """Queue a failed execution again; it continues from its failed node on its own version."""
    async with admin_runtime(ctx) as runtime:
        resumed = await runtime.executions.resume(execution_id)
    if as_json:
        echo_json(execution_view(resumed))
    else:
        click.echo(f"execution {resumed.id} {QUEUED_NOTE} from its failed node")
