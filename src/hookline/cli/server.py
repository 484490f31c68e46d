"""The commands that run hookline: `serve` (the HTTP server), `worker` and `migrate`."""

from __future__ import annotations

import contextlib
import logging
import signal
import socket
import sys
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, NoReturn

import click

from hookline.api.auth import TOKEN_FILE, admin_token
from hookline.cli.context import database_options, fail, reports_errors, run_async, settings_of
from hookline.errors import ConfigError, HooklineError
from hookline.settings import Settings
from hookline.store.migrate import upgrade
from hookline.store.sql_store import open_store
from hookline.supervisor import STARTUP_FAILURE, serve_processes

if TYPE_CHECKING:
    from starlette.types import ASGIApp


@click.command()
@database_options
@click.option("--host", help="Interface to listen on (default 127.0.0.1).")
@click.option("--port", type=int, help="Port to listen on (default 8000).")
@click.option(
    "--webhook-port",
    type=click.IntRange(min=1),
    help="Serve webhook URLs on this port only, apart from the web UI (HOOKLINE_WEBHOOK_PORT).",
)
@click.option(
    "--workers", "concurrency", type=click.IntRange(min=0), help="Asynchronous executions run at once."
)
@click.option("--no-worker", is_flag=True, help="Accept and answer only; `hookline worker` runs the queue.")
@click.option(
    "--processes",
    type=click.IntRange(min=1),
    help="Server processes sharing the port(s) and the database, each with its workers; "
    "one per core uses every core, also on SQLite (HOOKLINE_PROCESSES, default 1).",
)
@click.option("--log-level", default="info", show_default=True)
@click.pass_context
@reports_errors
def serve(
    ctx: click.Context,
    host: str | None,
    port: int | None,
    webhook_port: int | None,
    concurrency: int | None,
    no_worker: bool,
    processes: int | None,
    log_level: str,
) -> None:
    """Start the HTTP server (and its workers); an SQLite database is created or upgraded.

    Without HOOKLINE_ADMIN_TOKEN, the admin API token is generated on the first start,
    saved in the data folder (readable by its owner only) and printed once.

    With a webhook port, one process listens on both ports: the web UI and the admin API
    on --port, webhook URLs on --webhook-port only (see docs/deploy.md).

    With --processes N, a supervisor runs N server processes on the same ports and database,
    restarts one that dies, and stops them all gracefully on SIGTERM (see docs/deploy.md).
    """
    from hookline.api.app import create_app

    settings = settings_of(ctx).with_overrides(
        host=host,
        port=port,
        webhook_port=webhook_port,
        workers=0 if no_worker else concurrency,
        processes=processes,
    )
    if settings.webhook_port is not None and settings.webhook_port == settings.port:
        raise ConfigError(f"The webhook port must differ from the main port ({settings.port}).")
    logging.basicConfig(level=log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    token, fresh = admin_token(settings)
    if fresh:
        saved = Path(settings.data_dir) / TOKEN_FILE
        click.echo(f"Admin API token (saved in {saved}; shown once): {token}")
    click.echo(
        f"hookline listening on {settings.base_url} (database: {_redact(settings.effective_database_url)})"
    )
    click.echo(f"Web UI: {settings.base_url}/")
    click.echo(f"Webhook URLs: {settings.webhook_url('<key>')}")
    settings = settings.with_overrides(admin_token=token)
    if settings.processes > 1:
        sys.exit(serve_processes(settings, log_level, _serve_child))
    _run_uvicorn(create_app(settings), settings, log_level, settings.webhook_port)


def _serve_child(sockets: list[socket.socket], slot: int, settings: Settings, log_level: str) -> int:
    """One of the processes of `serve --processes N`, on sockets its parent bound; its exit status."""
    from hookline.api.app import create_app

    settings = replace(settings, process_slot=slot)

    logging.basicConfig(level=log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        started = _run_uvicorn(create_app(settings), settings, log_level, settings.webhook_port, sockets)
    except Exception:  # uvicorn keeps what requests raise: this broke the server itself, as in a replacement
        logging.getLogger(__name__).exception("the server process failed")
        return STARTUP_FAILURE
    return 0 if started else STARTUP_FAILURE


@click.command()
@database_options
@click.option("--host", help="Interface of the health and metrics endpoints (default 127.0.0.1).")
@click.option(
    "--port", type=int, default=8001, show_default=True, help="Port of /healthz, /readyz, /metrics."
)
@click.option("--workers", "concurrency", type=click.IntRange(min=1), help="Executions run at once.")
@click.option("--log-level", default="info", show_default=True)
@click.pass_context
def worker(ctx: click.Context, host: str | None, port: int, concurrency: int | None, log_level: str) -> None:
    """Run queued asynchronous executions only (PostgreSQL); HTTP is health and metrics."""
    from hookline.api.worker_app import create_worker_app

    settings = settings_of(ctx).with_overrides(host=host, port=port, workers=concurrency)
    logging.basicConfig(level=log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        app = create_worker_app(settings)
    except HooklineError as exc:
        fail(exc)
    click.echo(f"hookline worker running {settings.workers} at once; health on http://{settings.host}:{port}")
    _run_uvicorn(app, settings, log_level, webhook_port=None)


def _run_uvicorn(
    app: ASGIApp,
    settings: Settings,
    log_level: str,
    webhook_port: int | None,
    sockets: list[socket.socket] | None = None,
) -> bool:
    """Serve `app` with uvloop and hookline's HTTP protocol (its limits) on the settings' port.

    With a webhook port it is one uvicorn server listening on two sockets rather than two servers:
    one lifespan and runtime, one signal handler, one graceful shutdown, one count of open
    connections; the app tells the ports apart by the address each request came to. `sockets`:
    already listening ones (from `serve --processes`). Whether the server had started.
    """
    import uvicorn

    from hookline.api.http_protocol import http_protocol

    config = uvicorn.Config(
        app,
        host=settings.host,
        port=settings.port,
        log_level=log_level,
        access_log=False,
        loop="uvloop",
        http=http_protocol(settings),
        # One list of trusted proxies for uvicorn and the webhook route (uvicorn trusts 127.0.0.1 by default).
        forwarded_allow_ips=list(settings.trusted_proxies),
    )
    server = uvicorn.Server(config)
    if sockets is None and webhook_port is not None:
        sockets = [_listen(settings.host, settings.port), _listen(settings.host, webhook_port)]
    with _exit_0_on_sigterm():
        server.run(sockets=sockets)
    return server.started


def _listen(host: str, port: int) -> socket.socket:
    """A socket listening on `host:port`, as uvicorn would open it; a port in use is a ConfigError."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    try:
        return socket.create_server((host, port), family=family)
    except OSError as exc:
        raise ConfigError(f"Cannot listen on {host}:{port}: {exc.strerror or exc}.") from exc


@click.command()
@database_options
@click.pass_context
@run_async
async def migrate(ctx: click.Context) -> None:
    """Create or upgrade the database schema."""
    store = await open_store(settings_of(ctx).effective_database_url, migrate=False)
    try:
        await upgrade(store.engine)
    finally:
        await store.close()
    click.echo("database schema is up to date")


@contextlib.contextmanager
def _exit_0_on_sigterm() -> Iterator[None]:
    """While uvicorn runs, make SIGTERM end the process with status 0 once it has shut down.

    uvicorn catches SIGTERM, finishes the requests in flight and runs the app's shutdown (the
    workers' grace period), then puts back the handler it found and raises the signal again.
    With the default handler the process would then die of that signal, as if killed; this
    handler ends it cleanly instead (also when SIGTERM comes before uvicorn has started).
    """
    previous = signal.signal(signal.SIGTERM, _exit_0)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def _exit_0(signum: int, frame: FrameType | None) -> NoReturn:
    raise SystemExit(0)


def _redact(url: str) -> str:
    """A database URL without its password, for printing."""
    if "@" not in url or "://" not in url:
        return url
    scheme, rest = url.split("://", 1)
    creds, host = rest.rsplit("@", 1)
    user = creds.split(":", 1)[0]
    return f"{scheme}://{user}:***@{host}" if ":" in creds else url
