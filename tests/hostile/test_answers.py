"""Answers a hostile request can shape, and what the server tells about it, against a live server.

- A templated answer header must be a valid RFC 9110 field value before anything is committed:
  `€42` is sent as UTF-8 with the execution recorded; `\\x7f`, `\\x0b` or a line break is
  `500 answer_invalid` with nothing queued (asynchronous), or with the execution recorded as an
  error (synchronous), never a dropped connection.
- Every webhook answer carries `Content-Security-Policy: sandbox; default-src 'none'` and
  `nosniff`, so that a `text/html` answer cannot run script in the admin UI's origin.
- A failed Basic authentication is logged with the client's address and the reason, and counted.
- Credential headers are stored as "[redacted]"; the data folder and database are private.
"""

from __future__ import annotations

import base64
import json
import stat
from urllib.parse import quote

import pytest

from hookline.types import JsonObject
from tests._workflows import keyed_workflow
from tests.hostile._ledger import Ledger
from tests.hostile._raw import Dropped, RawAnswer, request, webhook
from tests.hostile._workflows import ASYNC_KEY, BASIC, ECHO_KEY, LOCKED_KEY, PAGE_KEY
from tests.hostile.conftest import Figures, Hostile

pytestmark = pytest.mark.slow

UNSENDABLE = pytest.mark.parametrize(
    "value", ["\x7f", "\x0b", "a\r\nX-Injected: 1"], ids=["del", "vt", "crlf"]
)
"""Header values that RFC 9110 does not allow (DEL, a control character, a line break)."""

REDACTED = "[redacted]"

SYNC_FAILURES = {"answer_invalid", "execution_failed"}
"""The codes of a synchronous workflow whose Response node could not give its answer."""


async def test_async_answer_header_echoing_non_ascii_is_sent_as_utf8(
    hostile: Hostile, figures: Figures
) -> None:
    """An asynchronous answer echoing `€42` into a header is a 2xx with the UTF-8 bytes, and one execution."""
    ledger = await Ledger.open(hostile, ECHO_KEY)
    answer = await hostile.send(webhook(ECHO_KEY, body=json.dumps({"v": "€42"}).encode()))
    figures.answers([answer])
    await ledger.settle([answer])
    assert answer.status == 202, answer.describe()
    assert answer.raw_header("x-echo") == "€42".encode()


@UNSENDABLE
async def test_async_answer_that_cannot_be_sent_is_refused_before_queueing(
    hostile: Hostile, figures: Figures, value: str
) -> None:
    """An async answer whose header would hold an invalid character is `500 answer_invalid`; none queued."""
    ledger = await Ledger.open(hostile, ECHO_KEY)
    answer = await hostile.send(webhook(ECHO_KEY, body=json.dumps({"v": value}).encode()))
    figures.answers([answer])
    await ledger.settle([answer])
    assert (answer.status, answer.error_code) == (500, "answer_invalid"), answer.describe()
    assert answer.execution is None
    assert answer.raw_header("x-injected") is None


async def test_sync_answer_header_echoing_non_ascii_is_sent_as_utf8(
    hostile: Hostile, figures: Figures
) -> None:
    """A Response node echoing `€42` into a header and a page answers 200 in UTF-8, with one execution."""
    ledger = await Ledger.open(hostile, PAGE_KEY)
    answer = await hostile.send(webhook(PAGE_KEY, query="v=" + quote("€42")))
    figures.answers([answer])
    await ledger.settle([answer])
    assert answer.status == 200, answer.describe()
    assert answer.raw_header("x-echo") == "€42".encode()
    assert answer.body == "<p>Hello €42</p>".encode()


@UNSENDABLE
async def test_sync_answer_that_cannot_be_sent_is_recorded_as_an_error(
    hostile: Hostile, figures: Figures, value: str
) -> None:
    """A Response node whose header would hold an invalid character answers 500; its execution is an error."""
    ledger = await Ledger.open(hostile, PAGE_KEY)
    answer = await hostile.send(webhook(PAGE_KEY, query="v=" + quote(value)))
    figures.answers([answer])
    (execution,) = (await ledger.settle([answer])).values()
    assert answer.status == 500, answer.describe()
    assert answer.error_code in SYNC_FAILURES, answer.describe()
    assert answer.execution == execution["id"]
    assert execution["status"] == "error"
    assert answer.raw_header("x-injected") is None


async def test_every_webhook_answer_forbids_script_and_sniffing(hostile: Hostile) -> None:
    """Accepted, answered, refused and failed webhook requests all carry a sandboxing CSP and `nosniff`.

    The refusals include those of the HTTP layer (a URL or headers too large), before any route.
    """
    sent = {
        "async accepted": webhook(ASYNC_KEY),
        "async configured": webhook(ECHO_KEY, body=b'{"v": "1"}'),
        "sync text/html": webhook(PAGE_KEY, query="v=%3Cscript%3Ealert(1)%3C/script%3E"),
        "sync resolved": webhook(LOCKED_KEY, headers=[("Authorization", BASIC)]),
        "sync answer invalid": webhook(PAGE_KEY, query="v=%7F"),
        "401": webhook(LOCKED_KEY),
        "404": webhook("hostile-nobody"),
        "405": request(f"/api/webhook:trigger/{ASYNC_KEY}", method="GET", content_type=None),
        "400": webhook(ASYNC_KEY, body=b"{not json"),
        "414": webhook(ASYNC_KEY, query="x=" + "a" * 9_000),
        "431": webhook(ASYNC_KEY, headers=[("X-Big", "b" * 40_000)]),
    }
    unguarded: dict[str, str] = {}
    for what, raw in sent.items():
        try:
            answer = await hostile.send(raw)
        except Dropped as dropped:
            unguarded[what] = f"no answer: {dropped}"
            continue
        if not _sandboxed(answer):
            policy, sniffing = (
                answer.header("content-security-policy"),
                answer.header("x-content-type-options"),
            )
            unguarded[what] = f"{answer.status}: {policy!r}, {sniffing!r}"
    assert not unguarded, f"webhook answers without the sandbox and nosniff: {unguarded}"


def _sandboxed(answer: RawAnswer) -> bool:
    """Whether the answer's CSP sandboxes it and allows nothing by default, and forbids type sniffing."""
    policy = answer.header("content-security-policy") or ""
    directives = {part.strip() for part in policy.split(";")}
    return (
        "sandbox" in directives
        and "default-src 'none'" in directives
        and answer.header("x-content-type-options") == "nosniff"
    )


async def test_basic_auth_failure_is_logged_with_address_and_reason_and_counted(
    hostile: Hostile, figures: Figures
) -> None:
    """Bad Basic credentials answer 401; the log names the client address and the reason; /metrics counts."""
    wrong = "Basic " + base64.b64encode(b"hook:nope").decode()
    answers = [
        await hostile.send(webhook(LOCKED_KEY)),
        await hostile.send(webhook(LOCKED_KEY, headers=[("Authorization", wrong)])),
    ]
    figures.answers(answers)
    assert [(answer.status, answer.error_code) for answer in answers] == [(401, "unauthorized")] * 2
    assert all(answer.header("www-authenticate") == 'Basic realm="hookline"' for answer in answers)
    logged = [
        line
        for line in hostile.server.log_path.read_text(errors="replace").splitlines()
        if LOCKED_KEY in line and "127.0.0.1" in line and "unauthorized" in line
    ]
    assert logged, f"no log line names {LOCKED_KEY}, 127.0.0.1 and the reason:\n{hostile.server.tail(20)}"
    assert await _rejections(hostile, LOCKED_KEY, "unauthorized") >= 2


async def _rejections(hostile: Hostile, workflow: str, reason: str) -> float:
    """The value of `hookline_webhook_rejections_total` for a workflow and reason (0 when absent)."""
    async with hostile.admin() as admin:
        page = (await admin.get("/metrics")).text
    for line in page.splitlines():
        if line.startswith("hookline_webhook_rejections_total{") and all(
            f'{label}="{value}"' in line for label, value in (("workflow", workflow), ("reason", reason))
        ):
            return float(line.rsplit(" ", 1)[1])
    return 0.0


async def test_credential_headers_are_stored_redacted(hostile: Hostile) -> None:
    """API keys, webhook signatures and cookies are stored as "[redacted]"; other headers as sent."""
    credentials = {
        "X-Api-Key": "key-123",
        "X-Hub-Signature-256": "sha256=" + "ab" * 32,
        "Stripe-Signature": "t=1,v1=" + "cd" * 32,
        "Cookie": "session=1",
    }
    stored = await _stored_headers(hostile, ASYNC_KEY, [*credentials.items(), ("X-Plain", "visible")])
    assert {name: stored.get(name.lower()) for name in credentials} == dict.fromkeys(credentials, REDACTED)
    assert stored["x-plain"] == "visible"


async def test_headers_a_workflow_marks_secret_are_stored_redacted(hostile: Hostile) -> None:
    """A header item marked `"secret": true` in the trigger config is stored as "[redacted]"."""
    key = await _import(hostile, _with_secret_header("hostile-secret", "X-Private"))
    stored = await _stored_headers(hostile, key, [("X-Private", "hush"), ("X-Plain", "visible")])
    assert (stored["x-private"], stored["x-plain"]) == (REDACTED, "visible")


async def _stored_headers(hostile: Hostile, key: str, headers: list[tuple[str, str]]) -> JsonObject:
    """The headers recorded in the execution of one request to `key` that sends `headers`."""
    ledger = await Ledger.open(hostile, key)
    answer = await hostile.send(webhook(key, headers=headers))
    (execution,) = (await ledger.settle([answer])).values()
    stored: JsonObject = execution["context"]["headers"]
    return stored


def _with_secret_header(key: str, header: str) -> JsonObject:
    """An asynchronous workflow whose trigger config marks `header` secret."""
    end = {"key": "done", "type": "end", "upstream": None, "config": {"endStatus": "resolved"}}
    return keyed_workflow(
        key, end, sync=False, config={"request": {"headers": [{"key": header, "secret": True}]}}
    )


async def _import(hostile: Hostile, workflow: JsonObject) -> str:
    """Import a workflow through the admin API and return its key."""
    async with hostile.admin() as admin:
        response = await admin.post("/api/workflows/import", json=workflow)
    assert response.status_code == 201, response.text
    return str(workflow["key"])


def test_data_folder_and_database_are_private(hostile: Hostile) -> None:
    """The data folder, the admin token and (on SQLite) the database files are for their owner only."""
    paths = [hostile.data_dir, *sorted(hostile.data_dir.iterdir())]
    shared = {
        str(path): oct(stat.S_IMODE(path.stat().st_mode))
        for path in paths
        if stat.S_IMODE(path.stat().st_mode) & 0o077
    }
    assert not shared, f"readable by others: {shared}"
    if hostile.backend == "sqlite":
        assert hostile.data_dir / "hookline.db" in paths
