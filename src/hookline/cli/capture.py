"""`hookline workflow capture KEY`: listen for a test request to a workflow's URL (docs/api.md)."""

from __future__ import annotations

import sys

import click

from hookline.cli.context import admin_runtime, database_options, json_option, run_async, settings_of
from hookline.cli.output import echo_json
from hookline.engine.captures import DEFAULT_TIMEOUT, MAX_TIMEOUT, MIN_TIMEOUT, Captures, capture_view
from hookline.types import JsonObject

EXPIRED_EXIT_CODE = 6
"""The exit status when no request came before the timeout (0 when one was captured)."""


@click.command("capture")
@database_options
@click.argument("key")
@click.option(
    "--timeout",
    "seconds",
    type=click.FloatRange(MIN_TIMEOUT, MAX_TIMEOUT),
    default=DEFAULT_TIMEOUT,
    show_default=True,
    help="Seconds to wait for a request (1 to 300).",
)
@json_option('Print JSON: {"status", "request", "paths": {"headers", "query", "body"}}.')
@click.pass_context
@run_async
async def capture(ctx: click.Context, key: str, seconds: float, as_json: bool) -> None:
    """Wait for the next request to the workflow's URL and print it, with the paths it offers.

    That request (sent to any server on this database) is checked as usual, answered
    `202 {"captured": true}`, and runs nothing. Exits 0 when a request was captured, and
    6 when none came within the timeout.
    """
    settings = settings_of(ctx)
    async with admin_runtime(ctx) as runtime:
        await runtime.workflows.get_by_key(key)  # an unknown key is a "not found" (exit code 3)
        click.echo(f"listening for {seconds:g} s: {settings.webhook_url(key)}", err=True)
        captured = await Captures(runtime.store, runtime.flows).listen(key, seconds)
    view = capture_view(captured)
    if as_json:
        echo_json(view)
    else:
        _echo_capture(view)
    if captured is None:
        sys.exit(EXPIRED_EXIT_CODE)


def _echo_capture(view: JsonObject) -> None:
    """The request and its three path lists, in the layout of `hookline parse query`."""
    if view["status"] != "captured":
        click.echo("expired: no request came in time", err=True)
        return
    click.echo("request:")
    echo_json(view["request"])
    for part, paths in view["paths"].items():
        click.echo(f"{part} paths:" if paths else f"{part} paths: (none)")
        for path in paths:
            click.echo(f"  {path}")
