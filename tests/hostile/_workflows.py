"""The workflows every hostile-input server holds, imported with `hookline workflow import` at start."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest

from hookline.types import JsonObject
from tests._workflows import keyed_workflow
from tests.integration._live_server import run_cli

ASYNC_KEY = "hostile-async"
"""Asynchronous, no authentication, the default answer: the cheapest thing to attack."""
ECHO_KEY = "hostile-echo"
"""Asynchronous; its configured answer echoes `body.v` into the header `X-Echo`."""
PAGE_KEY = "hostile-page"
"""Synchronous; a Response node echoes `query.v` into `X-Echo` and into a `text/html` page."""
LOCKED_KEY = "hostile-locked"
"""Synchronous, behind HTTP Basic authentication (`USER`, `PASSWORD`)."""

ASYNC_AND_SYNC = pytest.mark.parametrize("key", [ASYNC_KEY, PAGE_KEY], ids=["async", "sync"])
"""Run a test against an asynchronous workflow and a synchronous one: their paths part after parsing."""

USER, PASSWORD = "hook", "s3cret"
BASIC = "Basic " + base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()
"""The `Authorization` value `LOCKED_KEY` accepts."""


_END = {
    "key": "done",
    "type": "end",
    "upstream": None,
    "branchIndex": None,
    "config": {"endStatus": "resolved"},
}

_ECHO_ANSWER = {
    "statusCode": 202,
    "headers": [{"name": "X-Echo", "value": "{{$context.body.v}}"}],
    "body": "queued",
}

_UNLESS_STOP = {
    "rejectOnFalse": False,
    "engine": "basic",
    "calculation": {
        "group": {
            "type": "and",
            "calculations": [{"calculator": "notEqual", "operands": ["{{$context.query.v}}", "stop"]}],
        }
    },
}

_PAGE = {
    "statusCode": 200,
    "headers": [
        {"name": "X-Echo", "value": "{{$context.query.v}}"},
        {"name": "Content-Type", "value": "text/html; charset=utf-8"},
    ],
    "body": "<p>Hello {{$context.query.v}}</p>",
}

WORKFLOWS: tuple[JsonObject, ...] = (
    keyed_workflow(ASYNC_KEY, _END, sync=False),
    keyed_workflow(ECHO_KEY, _END, sync=False, config={"response": _ECHO_ANSWER}),
    keyed_workflow(
        PAGE_KEY,
        {"key": "check", "type": "condition", "upstream": None, "branchIndex": None, "config": _UNLESS_STOP},
        {"key": "page", "type": "response", "upstream": "check", "branchIndex": 1, "config": _PAGE},
        sync=True,
    ),
    keyed_workflow(
        LOCKED_KEY, _END, sync=True, config={"basicAuthentication": {"username": USER, "password": PASSWORD}}
    ),
)


def import_workflows(env: dict[str, str], folder: Path) -> None:
    """Write `WORKFLOWS` to files in `folder` and import them all with one `hookline workflow import`."""
    paths = []
    for workflow in WORKFLOWS:
        path = folder / f"{workflow['key']}.json"
        path.write_text(json.dumps(workflow))
        paths.append(str(path))
    run_cli(env, "workflow", "import", *paths)
