"""multipart/form-data webhooks through the real app, on SQLite and PostgreSQL: fields, files, quotas."""

from __future__ import annotations

import hashlib
import hmac
import io
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from hookline.models import Execution
from hookline.store.execution_history import ExecutionFilter
from hookline.store.schema import file_chunks, files
from hookline.types import JsonObject
from tests._workflows import chain
from tests.integration._admin import authorize, error_of
from tests.integration.conftest import Server

PDF = b"%PDF-1.7\n" + bytes(range(256)) * 64
MIB = 1024 * 1024


def webhook(*, sync: bool = True, files: object = None, **config: object) -> JsonObject:
    """An End-only workflow, keeping files under the `files` setting when one is given."""
    workflow = chain("end", sync=sync)
    workflow["config"] = {**config, "request": {"files": files}} if files is not None else dict(config)
    return workflow


@pytest.fixture
async def served(make_server: Callable[..., Any], database: dict[str, str]) -> AsyncIterator[Server]:
    """A server on each database, with the admin token in its client."""
    async with make_server(**database) as server:
        yield authorize(server)


async def recorded(server: Server) -> list[Execution]:
    """Every execution the server recorded, newest first."""
    return await server.runtime.store.list_executions(ExecutionFilter(limit=100))


async def stored_rows(server: Server) -> tuple[int, int]:
    """How many file rows and chunk rows the database holds."""
    async with server.runtime.store.engine.connect() as connection:
        counts = [
            (await connection.execute(select(func.count()).select_from(table))).scalar_one()
            for table in (files, file_chunks)
        ]
    return counts[0], counts[1]


async def only_execution(server: Server, response: httpx.Response) -> Execution:
    """The one execution recorded, after checking the request was answered for it."""
    assert response.status_code == 200, response.text
    (execution,) = await recorded(server)
    assert response.headers["x-hookline-execution"] == str(execution.id)
    return execution


async def download(server: Server, execution_id: object, file_id: object) -> httpx.Response:
    """GET a file of an execution through the admin API."""
    return await server.client.get(f"/api/executions/{execution_id}/files/{file_id}")


async def test_fields_and_files_are_described_and_nothing_is_stored_by_default(served: Server) -> None:
    """Without `request.files` a file is described (size, digest) with a null id; its bytes are dropped."""
    key = await served.load(webhook())
    response = await served.post(
        key,
        data={"order[id]": "42", "order[lines][]": ["a", "b"]},
        files=[("docs", ("a.pdf", PDF, "application/pdf")), ("docs", ("b.txt", b"hello", "text/plain"))],
    )
    execution = await only_execution(served, response)
    assert execution.context["body"] == {
        "order": {"id": "42", "lines": ["a", "b"]},
        "docs": [
            {
                "filename": "a.pdf",
                "contentType": "application/pdf",
                "size": len(PDF),
                "sha256": hashlib.sha256(PDF).hexdigest(),
                "id": None,
            },
            {
                "filename": "b.txt",
                "contentType": "text/plain",
                "size": 5,
                "sha256": hashlib.sha256(b"hello").hexdigest(),
                "id": None,
            },
        ],
    }
    assert await stored_rows(served) == (0, 0)


@pytest.mark.parametrize("sync", [True, False], ids=["sync", "async"])
async def test_stored_files_read_back_through_the_admin_api(
    make_server: Callable[..., Any], database: dict[str, str], sync: bool
) -> None:
    """With files on, each file is stored under its id and downloads byte for byte as an attachment."""
    async with make_server(workers=0, **database) as server:
        authorize(server)
        key = await server.load(webhook(sync=sync, files={"maxFileSize": MIB, "maxTotal": MIB}))
        response = await server.post(
            key, data={"note": "x"}, files={"report": ("Q3 final ü.pdf", PDF, "application/pdf")}
        )
        assert response.status_code in (200, 202), response.text
        (execution,) = await recorded(server)
        described = execution.context["body"]["report"]
        assert described["sha256"] == hashlib.sha256(PDF).hexdigest()
        got = await download(server, execution.id, described["id"])
        assert got.status_code == 200, got.text
        assert got.content == PDF
        assert got.headers["content-type"] == "application/pdf"
        assert got.headers["content-length"] == str(len(PDF))
        assert got.headers["x-content-type-options"] == "nosniff"
        assert got.headers["content-disposition"] == (
            "attachment; filename=\"Q3 final _.pdf\"; filename*=UTF-8''Q3%20final%20%C3%BC.pdf"
        )


async def test_a_file_is_not_found_through_another_execution_or_without_the_token(served: Server) -> None:
    """A file id under another execution, an unknown id, or a request without the token gets nothing."""
    key = await served.load(webhook(files={}))
    first = await served.post(key, files={"f": ("f.bin", b"one", "application/octet-stream")})
    second = await served.post(key, files={"f": ("f.bin", b"two", "application/octet-stream")})
    assert (first.status_code, second.status_code) == (200, 200)
    other = int(second.headers["x-hookline-execution"])
    mine = await served.runtime.store.get_execution(int(first.headers["x-hookline-execution"]))
    assert mine is not None
    file_id = mine.context["body"]["f"]["id"]
    error_of(await download(served, other, file_id), 404)
    error_of(await download(served, mine.id, int(file_id) + 1), 404)
    error_of(await download(served, mine.id, "not-an-id"), 404)
    del served.client.headers["Authorization"]
    error_of(await download(served, mine.id, file_id), 401)


@pytest.mark.parametrize(
    ("quota", "sent", "code"),
    [
        ({"maxFileSize": 1000, "maxTotal": 10_000}, [1001], "file_too_large"),
        ({"maxFileSize": 1000, "maxTotal": 1500}, [1000, 1000], "files_too_large"),
    ],
    ids=["one-file", "total"],
)
async def test_files_over_the_quota_are_a_413_and_nothing_is_kept_or_run(
    served: Server, quota: JsonObject, sent: list[int], code: str
) -> None:
    """A file over `maxFileSize`, or files over `maxTotal` together, are refused; nothing stays behind."""
    key = await served.load(webhook(files=quota))
    parts = [
        ("f", (f"{index}.bin", b"x" * size, "application/octet-stream")) for index, size in enumerate(sent)
    ]
    response = await served.post(key, files=parts)
    assert error_of(response, 413)["code"] == code
    assert await recorded(served) == []
    assert await stored_rows(served) == (0, 0)


async def test_a_body_over_10_mib_streams_in_when_the_quota_allows_it(served: Server) -> None:
    """With `maxTotal` above the 10 MiB body limit, a 10 MiB file streams in, hashed and stored whole."""
    big = bytes(range(256)) * (10 * MIB // 256) + b"tail"
    refused = await served.post(await served.load(webhook()), files={"f": ("big.bin", io.BytesIO(big))})
    assert error_of(refused, 413)["code"] == "body_too_large"  # files off: the body limit holds
    key = await served.load(webhook(files={"maxFileSize": 11 * MIB, "maxTotal": 12 * MIB}))
    response = await served.post(key, files={"f": ("big.bin", io.BytesIO(big), "application/octet-stream")})
    execution = await only_execution(served, response)
    described = execution.context["body"]["f"]
    assert (described["size"], described["sha256"]) == (len(big), hashlib.sha256(big).hexdigest())
    got = await download(served, execution.id, described["id"])
    assert hashlib.sha256(got.content).hexdigest() == described["sha256"]


@pytest.mark.parametrize(
    ("content_type", "body", "code"),
    [
        (
            "multipart/form-data; boundary=xyz",
            b"--xyz\r\nContent-Disposition: form-data; name=a\r\n\r\n1",
            "malformed_multipart",
        ),
        ("multipart/form-data; boundary=xyz", b"not multipart at all", "malformed_multipart"),
        ("multipart/form-data", b"--xyz\r\n\r\n--xyz--\r\n", "missing_boundary"),
    ],
    ids=["truncated", "garbage", "no-boundary"],
)
async def test_malformed_multipart_is_a_400_and_runs_nothing(
    served: Server, content_type: str, body: bytes, code: str
) -> None:
    """A body that is not valid multipart, or names no boundary, is a 400 with a code saying which."""
    key = await served.load(webhook(files={}))
    response = await served.post(key, content=body, headers={"Content-Type": content_type})
    assert error_of(response, 400)["code"] == code
    assert await recorded(served) == []
    assert await stored_rows(served) == (0, 0)


async def test_a_signed_multipart_body_is_checked_before_it_is_parsed(served: Server) -> None:
    """With a signature the body is read whole and checked first: a forged one stores nothing."""
    secret = "multipart-secret"
    key = await served.load(webhook(files={}, signature={"preset": "github", "secrets": [secret]}))
    request = httpx.Request(
        "POST", "http://x/", data={"a": "1"}, files={"f": ("f.txt", b"signed", "text/plain")}
    )
    body, content_type = request.read(), request.headers["content-type"]
    signature = "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    forged = await served.post(
        key, content=body, headers={"Content-Type": content_type, "X-Hub-Signature-256": "sha256=" + "0" * 64}
    )
    assert error_of(forged, 401)["code"] == "signature_invalid"
    assert await stored_rows(served) == (0, 0)
    signed = {"Content-Type": content_type, "X-Hub-Signature-256": signature}
    execution = await only_execution(served, await served.post(key, content=body, headers=signed))
    assert (await download(served, execution.id, execution.context["body"]["f"]["id"])).content == b"signed"


async def test_a_duplicate_request_keeps_none_of_its_files(served: Server) -> None:
    """A request answered as a duplicate records nothing, so the files it sent are deleted at once."""
    workflow = webhook(files={})
    workflow["options"] = {"dedupe": {"source": "headers.x-request-id"}}
    key = await served.load(workflow)
    for _ in range(2):
        response = await served.post(
            key, files={"f": ("f.txt", b"once", "text/plain")}, headers={"X-Request-Id": "r1"}
        )
        assert response.status_code == 200, response.text
    assert "x-hookline-duplicate" in response.headers
    assert await stored_rows(served) == (1, 1)


async def test_retention_and_workflow_deletion_delete_the_files(served: Server) -> None:
    """Files go with their execution: when retention deletes it, and when its workflow is deleted."""
    workflow = webhook(files={})
    workflow["options"] = {"retention": {"successDays": 0}}
    key = await served.load(workflow)
    execution = await only_execution(
        served, await served.post(key, files={"f": ("f.txt", b"1", "text/plain")})
    )
    file_id = execution.context["body"]["f"]["id"]
    assert (await download(served, execution.id, file_id)).status_code == 200
    assert await served.runtime.janitor.sweep(datetime.now(UTC) + timedelta(seconds=1)) == 1
    error_of(await download(served, execution.id, file_id), 404)
    assert await stored_rows(served) == (0, 0)
    kept = await served.load(webhook(files={}))
    await served.post(kept, files={"f": ("f.txt", b"2", "text/plain")})
    assert (await stored_rows(served))[0] == 1
    flow = await served.runtime.store.get_current_flow(kept)
    assert flow is not None
    deleted = await served.client.delete(f"/api/workflows/{flow.workflow.id}")
    assert deleted.status_code in (200, 204), deleted.text
    assert await stored_rows(served) == (0, 0)


async def test_a_filename_with_quotes_downloads_under_a_safe_name(served: Server) -> None:
    """Quotes and backslashes in a filename never break out of the Content-Disposition header."""
    key = await served.load(webhook(files={}))
    body = (
        b"--xyz\r\n"
        b'Content-Disposition: form-data; name="f"; filename="a\\"b\\\\c.txt"\r\n'
        b"Content-Type: text/html\r\n\r\n<script>1</script>\r\n--xyz--\r\n"
    )
    response = await served.post(
        key, content=body, headers={"Content-Type": "multipart/form-data; boundary=xyz"}
    )
    execution = await only_execution(served, response)
    described = execution.context["body"]["f"]
    assert described["filename"] == 'a"b\\c.txt'
    got = await download(served, execution.id, described["id"])
    assert (
        got.headers["content-disposition"]
        == "attachment; filename=\"a_b_c.txt\"; filename*=UTF-8''a%22b%5Cc.txt"
    )
    assert got.headers["content-security-policy"] == "sandbox"
    assert got.content == b"<script>1</script>"
