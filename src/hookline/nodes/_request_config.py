"""The request node's config: its check (a problem per field) and its fixed settings, read once per run."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from hookline.errors import Problem
from hookline.header_fields import name_problem
from hookline.nodes._config import check_bool, check_int_range, check_name_value_list, where
from hookline.nodes._request_body import ALIASES, MEDIA_TYPES, body_kind
from hookline.nodes._retry_policy import RetryPolicy, check_retry
from hookline.types import JsonObject

METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS")
DEFAULT_METHOD = "POST"
DEFAULT_TIMEOUT_MS = 5000
MAX_TIMEOUT_MS = 600_000
DEFAULT_IDEMPOTENCY_HEADER = "Idempotency-Key"
DEFAULT_MAX_RESPONSE_BYTES = 10 * 1024 * 1024
MAX_RESPONSE_BYTES = 100 * 1024 * 1024
"""The largest `maxResponseBytes`: a job's result is stored, and read back into memory, whole."""


@dataclass(frozen=True, slots=True)
class RequestOptions:
    """The untemplated settings of a checked config, with their defaults."""

    method: str
    kind: str
    timeout_ms: int
    ignore_fail: bool
    only_data: bool
    retry: RetryPolicy
    idempotency_header: str | None
    max_response_bytes: int

    @classmethod
    def from_config(cls, config: JsonObject) -> RequestOptions:
        """The settings of a config that passed `check_request`."""
        key = config.get("idempotencyKey", DEFAULT_IDEMPOTENCY_HEADER)
        return cls(
            method=str(config.get("method") or DEFAULT_METHOD).upper(),
            kind=body_kind(config.get("contentType")) or "json",
            timeout_ms=config.get("timeout") or DEFAULT_TIMEOUT_MS,
            ignore_fail=config.get("ignoreFail") is True,
            only_data=config.get("onlyData") is True,
            retry=RetryPolicy.from_config(config.get("retry")),
            idempotency_header=DEFAULT_IDEMPOTENCY_HEADER if key is True else key or None,
            max_response_bytes=config.get("maxResponseBytes") or DEFAULT_MAX_RESPONSE_BYTES,
        )


def check_request(config: JsonObject) -> list[Problem]:
    """Every problem of a request config, each at `config.<field>`."""
    problems = _url_problems(config.get("url"))
    method = config.get("method")
    if method is not None and (not isinstance(method, str) or method.upper() not in METHODS):
        problems.append(Problem(where("method"), f"must be one of {', '.join(METHODS)}"))
    if body_kind(config.get("contentType")) is None:
        names = ", ".join(f'"{name}"' for name in [*MEDIA_TYPES, *ALIASES])
        problems.append(Problem(where("contentType"), f"must be one of {names}"))
    problems += check_name_value_list(config, "headers")
    problems += check_name_value_list(config, "params", headers=False)
    problems += _data_problems(config)
    problems += check_int_range(config, "timeout", 1, MAX_TIMEOUT_MS)
    problems += check_bool(config, "ignoreFail") + check_bool(config, "onlyData")
    problems += check_retry(config.get("retry"), where("retry"))
    problems += _idempotency_problems(config)
    problems += check_int_range(config, "maxResponseBytes", 1, MAX_RESPONSE_BYTES)
    return problems


def _url_problems(url: Any) -> list[Problem]:
    if not isinstance(url, str) or not url.strip():
        return [Problem(where("url"), "is required: an http(s) URL, e.g. https://api.example.com/orders")]
    fixed = url.split("{{", 1)[0]  # what placeholders cannot change
    if "{{" not in url:
        parts = urlsplit(url.strip())
        if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
            return [Problem(where("url"), "must be an http:// or https:// URL with a host")]
    elif "://" in fixed and fixed.split("://", 1)[0].lower() not in ("http", "https"):
        return [Problem(where("url"), "must start with http:// or https://")]
    return []


def _data_problems(config: JsonObject) -> list[Problem]:
    data, kind = config.get("data"), body_kind(config.get("contentType"))
    if data is None or (isinstance(data, str) and "{{" in data):
        return []  # a placeholder's value is only known when the node runs
    if kind == "xml" and not isinstance(data, str):
        return [Problem(where("data"), "an XML body must be text: the document, with {{ }} placeholders")]
    if kind in ("form", "multipart") and not isinstance(data, dict | list):
        return [
            Problem(where("data"), "form data must be an object {name: value} or a list of {name, value}")
        ]
    if kind in ("form", "multipart") and isinstance(data, list):
        return [
            Problem(f"{where('data')}[{index}]", "must be an object with a non-empty name and a value")
            for index, entry in enumerate(data)
            if not isinstance(entry, dict) or not isinstance(entry.get("name"), str) or not entry["name"]
        ]
    return []


def _idempotency_problems(config: JsonObject) -> list[Problem]:
    key = config.get("idempotencyKey", DEFAULT_IDEMPOTENCY_HEADER)
    if key is None or isinstance(key, bool):
        return []
    if not isinstance(key, str) or name_problem(key) is not None:
        return [Problem(where("idempotencyKey"), "must be a header name such as Idempotency-Key, or false")]
    return []
