"""What every CLI command shares: settings, database options, the admin runtime and error exits."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import AsyncIterator, Callable, Coroutine
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from functools import wraps
from pathlib import Path
from typing import Any, NoReturn, ParamSpec, TypeVar

import click

from hookline.errors import HooklineError, InvalidWorkflow
from hookline.runtime import Runtime
from hookline.settings import Settings

P = ParamSpec("P")
T = TypeVar("T")

MAX_ID = 2**63 - 1
"""The largest id the database holds (a signed 64-bit number)."""

QUEUED_NOTE = "queued; a running `hookline serve` or `hookline worker` runs it"
"""What a command that queues work says: the CLI itself never runs queued executions."""


def fail(error: HooklineError) -> NoReturn:
    """Print the error (every problem of an invalid workflow on its own line) and exit with its code."""
    if isinstance(error, InvalidWorkflow):
        click.echo("error: the workflow is not valid:", err=True)
        for problem in error.problems:
            click.echo(f"  {problem}", err=True)
    else:
        click.echo(f"error: {error.message}", err=True)
    sys.exit(error.exit_code)


def reports_errors(func: Callable[P, T]) -> Callable[P, T]:
    """Run a command; a HooklineError prints its message and exits with its code."""

    @wraps(func)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> T:
        try:
            return func(*args, **kwargs)
        except HooklineError as exc:
            fail(exc)

    return wrapper


def run_async(func: Callable[P, Coroutine[Any, Any, T]]) -> Callable[P, T]:
    """Run an async command in its own event loop; a HooklineError exits with its code."""

    @wraps(func)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> T:
        try:
            return asyncio.run(func(*args, **kwargs))
        except HooklineError as exc:
            fail(exc)

    return wrapper


def settings_of(ctx: click.Context) -> Settings:
    """The settings of this command: the environment with its options applied."""
    settings: Settings = ctx.obj
    return settings


def database_options(command: Callable[P, T]) -> Callable[P, T]:
    """Add `--database-url` and `--data-dir` to a command; they override the environment."""

    def remember(ctx: click.Context, param: click.Parameter, value: Any) -> None:
        if value is not None:
            ctx.obj = settings_of(ctx).with_overrides(**{str(param.name): value})

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


def json_option(help: str = "Print JSON.") -> Callable[[Callable[P, T]], Callable[P, T]]:
    """The `--json` flag, passed to the command as `as_json`."""
    return click.option("--json", "as_json", is_flag=True, help=help)


@asynccontextmanager
async def admin_runtime(ctx: click.Context) -> AsyncIterator[Runtime]:
    """The server's runtime without workers or claims: the same admin services the HTTP API uses."""
    runtime = await Runtime.open(settings_of(ctx), serve=False)
    try:
        yield runtime
    finally:
        await runtime.close()


class IsoTime(click.ParamType[datetime]):
    """An ISO 8601 date or time; without a zone it is taken as UTC."""

    name = "time"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> datetime:
        """The time as an aware datetime, or a usage error naming the option."""
        if isinstance(value, datetime):
            parsed = value
        else:
            try:
                parsed = datetime.fromisoformat(str(value))
            except ValueError:
                self.fail(f"{value!r} is not an ISO 8601 time such as 2024-05-01T12:00:00Z.", param, ctx)
        return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)


class IdType(click.ParamType[int]):
    """A workflow version or execution id: a positive 64-bit number."""

    name = "id"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> int:
        """The id as a number, or a usage error naming the option."""
        text = str(value)
        if not (text.isascii() and text.isdigit()) or not 0 < int(text) <= MAX_ID:
            self.fail(f"{value!r} is not an id (a whole number from 1 to {MAX_ID}).", param, ctx)
        return int(text)


ID = IdType()
"""The parameter type of every id argument and option."""
