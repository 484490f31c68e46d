"""The checks of a webhook trigger's config (a workflow's options: `hookline.trigger.options`).

The contract: docs/reference/trigger.md#the-trigger-config.
"""

from __future__ import annotations

from typing import Any

from hookline.errors import Problem, unknown_fields
from hookline.header_fields import NAME_RULE, name_problem, value_problem
from hookline.trigger.access import access_problems
from hookline.trigger.signatures import signature_problems
from hookline.trigger.uploads import files_problems

TRIGGER_FIELDS = ("basicAuthentication", "signature", "apiKey", "allowFrom", "request", "response")
"""The fields a webhook trigger config may hold."""

REQUEST_PARTS = ("headers", "query", "body")
"""The three parts of a request that a trigger config lists items for."""

_ITEM_FIELDS = ("key", "alias", "_var")
_HEADER_ITEM_FIELDS = (*_ITEM_FIELDS, "secret")
_ANSWER_FIELDS = ("statusCode", "headers", "body")


def check_trigger_config(config: Any, *, sync: bool) -> list[Problem]:
    """The problems with a webhook trigger config, each at `config.<path>`; empty when valid.

    `response` is only used by asynchronous workflows, but it is checked in both modes so
    that switching a workflow to asynchronous never reveals a broken answer.
    """
    del sync  # both modes accept the same fields (see above)
    if not isinstance(config, dict):
        return [Problem("config", "must be an object")]
    problems = unknown_fields(config, TRIGGER_FIELDS, "config")
    problems += _check_basic_auth(config.get("basicAuthentication"))
    problems += signature_problems(config.get("signature"))
    problems += access_problems(config)
    if "request" in config:
        problems += _check_request(config["request"])
    if "response" in config:
        problems += _check_response(config["response"])
    return problems


def _is_int(value: Any, *, low: int, high: int | None = None) -> bool:
    """Whether a JSON value is an integer in range (booleans are not integers here)."""
    if not isinstance(value, int) or isinstance(value, bool):
        return False
    return value >= low and (high is None or value <= high)


def _check_basic_auth(setting: Any) -> list[Problem]:
    where = "config.basicAuthentication"
    if setting is None or setting is False:
        return []
    if not isinstance(setting, dict):
        return [Problem(where, "must be false or an object with a username and a password")]
    problems = unknown_fields(setting, ("username", "password"), where)
    username = setting.get("username")
    if not isinstance(username, str) or not username:
        problems.append(Problem(f"{where}.username", "must be a non-empty string"))
    if not isinstance(setting.get("password"), str):
        problems.append(Problem(f"{where}.password", "must be a string"))
    return problems


def _check_request(request: Any) -> list[Problem]:
    where = "config.request"
    if not isinstance(request, dict):
        return [Problem(where, "must be an object with headers, query and body lists")]
    problems = unknown_fields(request, (*REQUEST_PARTS, "rawBody", "files"), where)
    if "rawBody" in request and not isinstance(request["rawBody"], bool):
        problems.append(Problem(f"{where}.rawBody", "must be true or false"))
    problems += files_problems(request.get("files"))
    for part in REQUEST_PARTS:
        items = request.get(part)
        if items is None:
            continue
        if not isinstance(items, list):
            problems.append(Problem(f"{where}.{part}", "must be a list of {key, alias} objects"))
            continue
        fields = _HEADER_ITEM_FIELDS if part == "headers" else _ITEM_FIELDS
        for index, item in enumerate(items):
            problems += _check_item(item, f"{where}.{part}[{index}]", fields)
    return problems


def _check_item(item: Any, where: str, fields: tuple[str, ...]) -> list[Problem]:
    """One `{key, alias, _var}` item of a request part (a header item may also be `secret`)."""
    if not isinstance(item, dict):
        return [Problem(where, "must be an object with a key")]
    problems = unknown_fields(item, fields, where)
    if "secret" in item and not isinstance(item["secret"], bool):
        problems.append(Problem(f"{where}.secret", "must be true or false"))
    key = item.get("key")
    if not isinstance(key, str) or not key:
        problems.append(Problem(f"{where}.key", "must be a non-empty string"))
    for name in ("alias", "_var"):
        if item.get(name) is not None and not isinstance(item[name], str):
            problems.append(Problem(f"{where}.{name}", "must be a string"))
    return problems


def _check_response(answer: Any) -> list[Problem]:
    where = "config.response"
    if not isinstance(answer, dict):
        return [Problem(where, "must be an object with statusCode, headers and body")]
    problems = unknown_fields(answer, _ANSWER_FIELDS, where)
    status = answer.get("statusCode")
    if status is not None and not _is_int(status, low=200, high=599):
        problems.append(Problem(f"{where}.statusCode", "must be an integer between 200 and 599"))
    headers = answer.get("headers")
    if headers is not None and not isinstance(headers, list):
        problems.append(Problem(f"{where}.headers", "must be a list of {name, value} objects"))
    elif headers is not None:
        for index, header in enumerate(headers):
            problems += _check_header(header, f"{where}.headers[{index}]")
    return problems


def _check_header(header: Any, where: str) -> list[Problem]:
    """One `{name, value}` header of the configured answer."""
    if not isinstance(header, dict):
        return [Problem(where, "must be an object with a name and a value")]
    problems = unknown_fields(header, ("name", "value"), where)
    name = header.get("name")
    name_wrong = name_problem(name) if isinstance(name, str) else NAME_RULE
    if name_wrong is not None:
        problems.append(Problem(f"{where}.name", name_wrong))
    value = header.get("value")
    value_wrong = (
        value_problem(value)
        if isinstance(value, str)
        else "must be a string (it may hold {{ }} placeholders)"
    )
    if value_wrong is not None:
        problems.append(Problem(f"{where}.value", value_wrong))
    return problems
