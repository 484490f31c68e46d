"""The command line: serve, migrate, manage workflows and executions, and parse samples.

How the CLI reaches the data: it talks to the database directly (`HOOKLINE_DATABASE_URL`, or
`--database-url` / `--data-dir`, exactly as the server does), through the same admin services as
the HTTP API (`Runtime.open(settings, serve=False)`: `WorkflowAdmin` and `ExecutionAdmin`). So a
command behaves as the matching API call, works whether or not a server runs, and needs no admin
token (reaching the database is the permission). The CLI never runs queued work itself and never
touches claims: a command that queues an execution (replaying an asynchronous workflow, resuming a
failed execution) leaves it to a running `hookline serve` or `hookline worker`, and says so.

Output: human text by default; `--json` prints the admin API's JSON views, one indented document
for one thing and one document per line for a list. Exit codes come from `HooklineError.exit_code`:
2 invalid input, 3 not found, 4 storage unavailable, 5 conflict (click's usage errors exit 2 too).

This module is the `main` group only; one module per command group: `server.py` (`serve`, `worker`,
`migrate`), `workflows.py` (`workflow …`, with `capture.py` for `workflow capture`),
`executions.py` (`execution …`) and `parse.py` (`parse …`); their shared plumbing is in
`context.py` and their human output in `output.py`.
"""

from __future__ import annotations

import click

# The command modules by name (not their commands), so `hookline.cli.parse` stays the module.
from hookline.cli import executions, parse, server, workflows
from hookline.cli.context import database_options
from hookline.errors import HooklineError
from hookline.plugins import load_plugins
from hookline.settings import Settings

__all__ = ["database_options", "main"]


@click.group()
@click.pass_context
def main(ctx: click.Context) -> None:
    """hookline: a webhook-triggered workflow engine.

    The CLI talks to the database directly (HOOKLINE_DATABASE_URL, or --database-url and
    --data-dir, the same as the server) through the same admin services as the HTTP API,
    so it works whether or not a server runs and needs no admin token. A command that
    queues work (replaying an asynchronous workflow, resuming an execution) leaves it for
    a running `hookline serve` or `hookline worker` to run.

    Most commands print text for people and JSON with --json.

    \b
    Exit codes: 0 done, 1 other error or aborted, 2 invalid input or usage,
    3 not found, 4 storage unavailable, 5 conflict.
    """
    try:
        ctx.obj = Settings.from_env()
        load_plugins(ctx.obj.plugins)
    except HooklineError as exc:
        raise click.UsageError(exc.message) from exc


main.add_command(server.serve)
main.add_command(server.worker)
main.add_command(server.migrate)
main.add_command(workflows.workflow)
main.add_command(executions.execution)
main.add_command(parse.parse)
