"""Settings from `HOOKLINE_*` environment variables (and CLI flags), as one frozen object."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from hookline.errors import ConfigError
from hookline.networks import parse_network

DEFAULT_DATA_DIR = "data"
MAX_JSON_DEPTH = 200
"""The highest JSON depth limit allowed: storage (orjson) serialises 254 levels, and an execution
wraps the request body in a few more (context, answers, job results)."""
KIB = 1024
MIB = 1024 * KIB


@dataclass(frozen=True, slots=True)
class Settings:
    """Everything an operator can set. Build it with `Settings.from_env()`."""

    data_dir: Path = Path(DEFAULT_DATA_DIR)
    database_url: str = ""
    host: str = "127.0.0.1"
    port: int = 8000
    public_url: str = ""
    """The base URL callers use (for printed webhook URLs); defaults to http://host:port."""
    body_limit: int = 10 * MIB
    workers: int = 128
    """How many asynchronous executions one process runs at once (each holds its place until its final
    status commits, so under load the places needed grow with the rate times the commit latency)."""
    run_before_answer: bool = False
    """Run an asynchronous workflow whose nodes have no outside effects before answering, and record
    it finished in the write that accepts it (`HOOKLINE_RUN_BEFORE_ANSWER`; docs/reference/execution.md)."""
    processes: int = 1
    """How many server processes `hookline serve` runs on the same port and database."""
    process_slot: int | None = None
    """Which of the processes of `hookline serve --processes N` this one is (0 to N-1; set by the
    supervisor, never from the environment); None in a single process."""
    lease_seconds: float = 30.0
    poll_seconds: float = 1.0
    """How often idle workers look for work when no wake-up came (the fallback of LISTEN/NOTIFY)."""
    max_attempts: int = 5
    """How many times an asynchronous execution is claimed before it ends `failed` (crashes, outages)."""
    shutdown_grace_seconds: float = 10.0
    """At shutdown, how long running executions may finish before they are stopped and handed over."""
    env_allow_list: tuple[str, ...] = ()
    """Process environment variables that workflows may read as `$env.NAME`."""
    cache_seconds: float = 1.0
    """How long a process trusts its cached copy of a workflow before reading it again."""
    plugins: tuple[str, ...] = ()
    """Python modules imported at start-up; each may register node types."""
    janitor_seconds: float = 60.0
    """How often the janitor applies the workflows' retention options."""
    admin_token: str = ""
    """The bearer token of the admin API; generated into the data folder when empty."""
    metrics_public: bool = False
    """Serve /metrics without the admin token (its labels hold webhook keys, so off by default)."""
    webhook_port: int | None = None
    """Serve webhook URLs on this port only, never on the admin UI's origin (None: on `port`)."""
    header_bytes_limit: int = 32 * KIB
    """The most bytes of request headers (names and values) accepted; more answers 431."""
    header_count_limit: int = 100
    """The most request header lines accepted; more answers 431."""
    url_limit: int = 8 * KIB
    """The longest request target (path and query) accepted, in bytes; longer answers 414."""
    json_depth_limit: int = 64
    """The deepest nesting of arrays and objects accepted in a JSON body; deeper answers 400."""
    query_parameter_limit: int = 1000
    """The most `name=value` pairs accepted in a query string; more answers 414."""
    header_timeout_seconds: float = 10.0
    """How long a connection may take to send a request's headers before it is answered 408 and closed."""
    body_timeout_seconds: float = 30.0
    """How long a request's whole body may take to arrive after its headers; longer answers 408."""
    max_connections: int = 1000
    """Open connections one process holds at most; one more is answered 503 and closed."""
    queue_limit: int = 10_000
    """The `queueLimit` of a workflow whose options set none: queued executions of one workflow."""
    queue_limit_total: int = 100_000
    """Queued executions of all workflows together; past it every asynchronous request answers 429."""
    trusted_proxies: tuple[str, ...] = ()
    """Proxies (IPs and CIDRs) whose `X-Forwarded-For` names the client; no others are believed."""
    request_allow: tuple[str, ...] = ()
    """Hosts and IP networks the request node may reach although private (`hookline.outbound.allow`)."""

    @property
    def effective_database_url(self) -> str:
        """The database URL, defaulting to an SQLite file in the data directory."""
        return self.database_url or f"sqlite:///{self.data_dir / 'hookline.db'}"

    @property
    def base_url(self) -> str:
        """The base URL of this server as callers see it, without a trailing slash."""
        if self.public_url:
            return self.public_url.rstrip("/")
        host = "127.0.0.1" if self.host in ("0.0.0.0", "::") else self.host  # noqa: S104
        return f"http://[{host}]:{self.port}" if ":" in host else f"http://{host}:{self.port}"

    def webhook_url(self, key: str) -> str:
        """The full URL that triggers the workflow with this key (on the webhook port, if there is one)."""
        return f"{on_port(self.base_url, self.webhook_port)}/api/webhook:trigger/{key}"

    def with_overrides(self, **values: Any) -> Settings:
        """A copy with the given non-None values replaced (CLI flags win over the environment)."""
        return replace(self, **{k: v for k, v in values.items() if v is not None})

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        """Read `HOOKLINE_*` variables; a malformed value raises `ConfigError` naming it."""
        env = os.environ if environ is None else environ
        allow = env.get("HOOKLINE_ENV_ALLOW", "")
        return cls(
            data_dir=Path(env.get("HOOKLINE_DATA_DIR", DEFAULT_DATA_DIR)),
            database_url=env.get("HOOKLINE_DATABASE_URL", ""),
            host=env.get("HOOKLINE_HOST", "127.0.0.1"),
            port=_int(env, "HOOKLINE_PORT", 8000, minimum=0),
            public_url=env.get("HOOKLINE_PUBLIC_URL", ""),
            body_limit=_int(env, "HOOKLINE_BODY_LIMIT", 10 * MIB, minimum=1),
            workers=_int(env, "HOOKLINE_WORKERS", 128, minimum=0),
            run_before_answer=_bool(env, "HOOKLINE_RUN_BEFORE_ANSWER"),
            processes=_int(env, "HOOKLINE_PROCESSES", 1, minimum=1),
            lease_seconds=_float(env, "HOOKLINE_LEASE_SECONDS", 30.0),
            poll_seconds=_float(env, "HOOKLINE_POLL_SECONDS", 1.0),
            max_attempts=_int(env, "HOOKLINE_MAX_ATTEMPTS", 5, minimum=1),
            shutdown_grace_seconds=_float(env, "HOOKLINE_SHUTDOWN_GRACE_SECONDS", 10.0, zero_ok=True),
            env_allow_list=_names(allow),
            cache_seconds=_float(env, "HOOKLINE_CACHE_SECONDS", 1.0),
            plugins=_names(env.get("HOOKLINE_PLUGINS", "")),
            janitor_seconds=_float(env, "HOOKLINE_JANITOR_SECONDS", 60.0),
            admin_token=env.get("HOOKLINE_ADMIN_TOKEN", ""),
            metrics_public=_bool(env, "HOOKLINE_METRICS_PUBLIC"),
            webhook_port=_optional_int(env, "HOOKLINE_WEBHOOK_PORT", minimum=1),
            header_bytes_limit=_int(env, "HOOKLINE_HEADER_BYTES_LIMIT", 32 * KIB, minimum=1024),
            header_count_limit=_int(env, "HOOKLINE_HEADER_COUNT_LIMIT", 100, minimum=10),
            url_limit=_int(env, "HOOKLINE_URL_LIMIT", 8 * KIB, minimum=256),
            json_depth_limit=_int(env, "HOOKLINE_JSON_DEPTH_LIMIT", 64, minimum=1, maximum=MAX_JSON_DEPTH),
            query_parameter_limit=_int(env, "HOOKLINE_QUERY_PARAMETER_LIMIT", 1000, minimum=1),
            header_timeout_seconds=_float(env, "HOOKLINE_HEADER_TIMEOUT_SECONDS", 10.0),
            body_timeout_seconds=_float(env, "HOOKLINE_BODY_TIMEOUT_SECONDS", 30.0),
            max_connections=_int(env, "HOOKLINE_MAX_CONNECTIONS", 1000, minimum=1),
            queue_limit=_int(env, "HOOKLINE_QUEUE_LIMIT", 10_000, minimum=1),
            queue_limit_total=_int(env, "HOOKLINE_QUEUE_LIMIT_TOTAL", 100_000, minimum=1),
            trusted_proxies=_networks(env, "HOOKLINE_TRUSTED_PROXIES"),
            request_allow=_names(env.get("HOOKLINE_REQUEST_ALLOW", "")),
        )


def on_port(url: str, port: int | None) -> str:
    """`url` with its port replaced by `port` (unchanged when `port` is None)."""
    if port is None:
        return url
    parts = urlsplit(url)
    host = parts.hostname or ""
    return urlunsplit(parts._replace(netloc=f"[{host}]:{port}" if ":" in host else f"{host}:{port}"))


def _names(raw: str) -> tuple[str, ...]:
    return tuple(name.strip() for name in raw.split(",") if name.strip())


def _networks(env: Mapping[str, str], name: str) -> tuple[str, ...]:
    """Comma-separated IPs and CIDRs, checked now (a typo must not silently trust nobody, or everybody)."""
    try:
        return tuple(str(parse_network(entry)) for entry in _names(env.get(name, "")))
    except ValueError as error:
        raise ConfigError(f"{name}: {error}.") from None


def _bool(env: Mapping[str, str], name: str) -> bool:
    raw = env.get(name, "").strip().lower()
    if raw in ("", "0", "false", "no", "off"):
        return False
    if raw in ("1", "true", "yes", "on"):
        return True
    raise ConfigError(f"{name} must be true or false, not {raw!r}.")


def _int(env: Mapping[str, str], name: str, default: int, *, minimum: int, maximum: int | None = None) -> int:
    value = _optional_int(env, name, minimum=minimum, maximum=maximum)
    return default if value is None else value


def _optional_int(
    env: Mapping[str, str], name: str, *, minimum: int, maximum: int | None = None
) -> int | None:
    raw = env.get(name)
    if raw is None or raw == "":
        return None
    try:
        value = int(raw)
    except ValueError:
        raise ConfigError(f"{name} must be a whole number, not {raw!r}.") from None
    if value < minimum:
        raise ConfigError(f"{name} must be at least {minimum}, not {value}.")
    if maximum is not None and value > maximum:
        raise ConfigError(f"{name} must be at most {maximum}, not {value}.")
    return value


def _float(env: Mapping[str, str], name: str, default: float, *, zero_ok: bool = False) -> float:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ConfigError(f"{name} must be a number of seconds, not {raw!r}.") from None
    if value < 0 or (value == 0 and not zero_ok):
        raise ConfigError(f"{name} must be {'at least' if zero_ok else 'more than'} 0, not {value}.")
    return value
