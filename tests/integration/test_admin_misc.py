"""The rest of the admin surface through HTTP: parse helpers, health, metrics, the token, errors, docs."""

from __future__ import annotations

import stat
from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import text

from hookline.api.auth import TOKEN_FILE
from hookline.errors import StorageUnavailable
from hookline.store.sql_store import SqlStore
from hookline.trigger.samples import MAX_SAMPLE_BYTES
from tests._workflows import chain
from tests.integration._admin import PAID, authorize, create, error_of, import_, where
from tests.integration.conftest import Server, example

AUTH = ("shop", "s3cret")

OPERATIONS = {
    ("get", "/workflows"),
    ("post", "/workflows"),
    ("post", "/workflows/import"),
    ("get", "/workflows/{workflow_id}"),
    ("patch", "/workflows/{workflow_id}"),
    ("delete", "/workflows/{workflow_id}"),
    ("post", "/workflows/{workflow_id}/enable"),
    ("post", "/workflows/{workflow_id}/disable"),
    ("get", "/workflows/{workflow_id}/export"),
    ("get", "/workflows/{workflow_id}/versions"),
    ("post", "/workflows/{workflow_id}/versions"),
    ("post", "/workflows/{workflow_id}/nodes"),
    ("patch", "/workflows/{workflow_id}/nodes/{node_id}"),
    ("delete", "/workflows/{workflow_id}/nodes/{node_id}"),
    ("post", "/workflows/{workflow_id}/nodes/{node_id}/move"),
    ("post", "/workflows/{workflow_id}/capture"),
    ("post", "/workflows/{workflow_id}/sign"),
    ("get", "/executions"),
    ("get", "/executions/{execution_id}"),
    ("post", "/executions/{execution_id}/cancel"),
    ("post", "/executions/{execution_id}/replay"),
    ("post", "/executions/{execution_id}/resume"),
    ("get", "/executions/{execution_id}/files/{file_id}"),
    ("post", "/parse/query"),
    ("post", "/parse/json"),
    ("post", "/parse/body"),
    ("get", "/node-types"),
    ("get", "/stats/executions"),
}


# -- parse helpers -----------------------------------------------------------------------------


async def test_parse_query_gives_the_parsed_query_and_its_paths(api: Server) -> None:
    """A sample URL gives its qs-parsed query, every path, and items with empty aliases."""
    sample = "https://shop.test/hook?a[0][b]=1&a[1]=x&c=2#top"
    response = await api.client.post("/api/parse/query", json={"sample": sample})
    assert response.status_code == 200
    body = response.json()
    assert body["parsed"] == {"a": [{"b": "1"}, "x"], "c": "2"}
    assert body["paths"] == ["a", "a[0]", "a[0].b", "a[1]", "c"]
    assert body["items"] == [{"key": path, "alias": ""} for path in body["paths"]]


async def test_parse_query_takes_a_bare_query(api: Server) -> None:
    """Without a `?`, the sample is the query itself; `?a` is a null value."""
    response = await api.client.post("/api/parse/query", json={"sample": "a&b="})
    assert response.json()["parsed"] == {"a": None, "b": ""}


@pytest.mark.parametrize("body", [{"sample": {"a": 1, "b": {"c": 2}, "items": [{"id": 1}, {"id": 2}]}}])
async def test_parse_json_gives_dotted_paths_with_the_first_list_item(api: Server, body: Any) -> None:
    """A JSON value gives `a`, `b`, `b.c`, `items`, `items[0]`, `items[0].id`."""
    expected = ["a", "b", "b.c", "items", "items[0]", "items[0].id"]
    response = await api.client.post("/api/parse/json", json=body)
    assert response.json() == {"paths": expected, "items": [{"key": p, "alias": ""} for p in expected]}
    as_text = await api.client.post("/api/parse/json", json={"text": '{"a": 1, "b": {"c": 2}}'})
    assert as_text.json()["paths"] == ["a", "b", "b.c"]


@pytest.mark.parametrize("body", [{}, {"sample": 1, "text": "1"}])
async def test_parse_json_needs_exactly_one_of_sample_and_text(api: Server, body: Any) -> None:
    """Neither or both answer 422 explaining the choice."""
    error = error_of(await api.client.post("/api/parse/json", json=body), 422)
    assert "either" in error["details"][0]["message"]


async def test_parse_json_text_that_is_not_json_answers_422(api: Server) -> None:
    """JSON text that does not parse says why."""
    error = error_of(await api.client.post("/api/parse/json", json={"text": "{nope"}), 422)
    assert error["code"] == "invalid_sample"


async def test_a_sample_over_the_limit_answers_413(api: Server) -> None:
    """Samples are bounded, so a helper call cannot cost unbounded work."""
    sample = "a=" + "x" * MAX_SAMPLE_BYTES
    response = await api.client.post("/api/parse/query", json={"sample": sample})
    assert error_of(response, 413)["code"] == "sample_too_large"


async def test_parse_query_needs_text(api: Server) -> None:
    """A sample that is not text is named in a 422."""
    error = error_of(await api.client.post("/api/parse/query", json={"sample": 5}), 422)
    assert where(error) == ["body.sample"]


# -- health and readiness ----------------------------------------------------------------------


async def test_health_and_readiness_need_no_token(server: Server) -> None:
    """`/healthz` says the process answers; `/readyz` that the database answers and is migrated."""
    assert (await server.client.get("/healthz")).json() == {"status": "ok"}
    ready = await server.client.get("/readyz")
    assert (ready.status_code, ready.json()) == (200, {"status": "ready"})


async def test_readiness_fails_while_migrations_are_missing(server: Server) -> None:
    """A database behind the shipped migrations answers 503 `migrations_pending`."""
    store = server.runtime.store
    assert isinstance(store, SqlStore)
    async with store.engine.begin() as connection:
        await connection.execute(text("UPDATE alembic_version SET version_num = '0001'"))
    error = error_of(await server.client.get("/readyz"), 503)
    assert error["code"] == "migrations_pending"
    assert "hookline migrate" in error["message"]


async def test_readiness_fails_when_the_database_does_not_answer(
    server: Server, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A database that cannot be reached answers 503 `storage_unavailable`; health stays fine."""

    async def down() -> None:
        raise StorageUnavailable("The database cannot be reached or cannot store data right now.")

    monkeypatch.setattr(server.runtime.store, "ping", down)
    assert error_of(await server.client.get("/readyz"), 503)["code"] == "storage_unavailable"
    assert (await server.client.get("/healthz")).status_code == 200


# -- metrics -----------------------------------------------------------------------------------


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every sample of a Prometheus text page by name and sorted labels."""
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


async def test_metrics_count_requests_rejections_executions_and_the_queue(make_server: Any) -> None:
    """The Prometheus page parses and counts what happened, by workflow, status and reason."""
    async with make_server(workers=0) as server:
        api = authorize(server)
        sync = await import_(api, example("order-paid.json"))
        queued = await import_(api, chain("end"))
        for _ in range(2):
            assert (await api.post(sync["key"], json=PAID, auth=AUTH)).status_code == 200
        assert (await api.post(sync["key"], json=PAID, auth=("shop", "wrong"))).status_code == 401
        assert (await api.post("unknownkey", json=PAID)).status_code == 404
        assert (await api.post(queued["key"])).status_code == 200
        response = await api.client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    found = samples(response.text)
    assert found[("hookline_webhook_requests_total", (("status", "200"), ("workflow", sync["key"])))] == 2
    assert found[("hookline_webhook_requests_total", (("status", "200"), ("workflow", queued["key"])))] == 1
    # Refusals are counted by workflow key, but only for keys of existing workflows (a made-up
    # key must not become a label, or requests to random URLs would grow the series without end).
    unauthorized = (("reason", "unauthorized"), ("workflow", sync["key"]))
    assert found[("hookline_webhook_rejections_total", unauthorized)] == 1
    assert found[("hookline_webhook_rejections_total", (("reason", "not_found"), ("workflow", "")))] == 1
    assert (
        found[("hookline_executions_finished_total", (("status", "resolved"), ("workflow", sync["key"])))]
        == 2
    )
    assert found[("hookline_executions", (("status", "resolved"), ("workflow", sync["key"])))] == 2
    assert found[("hookline_executions", (("status", "queued"), ("workflow", queued["key"])))] == 1
    assert found[("hookline_queue_depth", ())] == 1
    assert found[("hookline_execution_duration_seconds_count", (("workflow", sync["key"]),))] == 2
    assert found[("hookline_node_duration_seconds_count", (("type", "condition"),))] == 2


async def test_metrics_need_the_token_unless_made_public(make_server: Any) -> None:
    """By default `/metrics` is protected (its labels name webhook keys); the setting opens it."""
    async with make_server() as server:
        assert error_of(await server.client.get("/metrics"), 401)["code"] == "unauthorized"
    async with make_server(metrics_public=True) as server:
        assert (await server.client.get("/metrics")).status_code == 200


# -- the admin token ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "authorization", [None, "Bearer wrong", "Bearer ", "Basic c2hvcDpzM2NyZXQ=", "bearer-less"]
)
@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/api/workflows"),
        ("POST", "/api/workflows"),
        ("GET", "/api/executions/1"),
        ("GET", "/api/nope"),
    ],
)
async def test_a_missing_or_wrong_token_answers_401(
    server: Server, authorization: str | None, method: str, path: str
) -> None:
    """Without the right bearer token every admin path answers 401 with a challenge, body unread."""
    headers = {"content-type": "application/json"}
    if authorization is not None:
        headers["authorization"] = authorization
    response = await server.client.request(method, path, content=b"{not json", headers=headers)
    assert error_of(response, 401)["code"] == "unauthorized"
    assert response.headers["www-authenticate"] == 'Bearer realm="hookline"'
    assert "wrong" not in response.text


async def test_a_generated_token_is_saved_for_the_owner_only_and_reused(make_server: Any) -> None:
    """Without HOOKLINE_ADMIN_TOKEN a token is generated in the data folder (0600) and kept."""
    async with make_server() as server:
        path = server.runtime.settings.data_dir / TOKEN_FILE
        token = path.read_text().strip()
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        assert len(token) >= 32
    async with make_server() as server:
        assert path.read_text().strip() == token
        response = await server.client.get("/api/workflows", headers={"authorization": f"Bearer {token}"})
        assert response.status_code == 200


async def test_the_configured_token_is_the_one_that_works(make_server: Any) -> None:
    """HOOKLINE_ADMIN_TOKEN wins: it opens the API and no token file is written."""
    async with make_server(admin_token="configured-secret") as server:
        good = await server.client.get(
            "/api/workflows", headers={"authorization": "Bearer configured-secret"}
        )
        assert good.status_code == 200
        assert not (server.runtime.settings.data_dir / TOKEN_FILE).exists()


async def test_webhooks_need_no_admin_token(server: Server) -> None:
    """Webhook URLs stay public (they have their own optional Basic auth)."""
    key = await server.load(example("order-paid.json"))
    assert (await server.post(key, json=PAID, auth=AUTH)).status_code == 200


# -- errors ------------------------------------------------------------------------------------


async def test_an_unknown_path_under_api_answers_404_json(api: Server) -> None:
    """A path the API does not have answers 404 in the error shape; FastAPI's own docs are off."""
    for path in ("/api/nope", "/api/docs", "/api/redoc", "/api/workflows/1/nope"):
        assert error_of(await api.client.get(path), 404)["code"] == "not_found"


async def test_a_wrong_method_answers_405_json(api: Server) -> None:
    """A method a path does not take answers 405 with `Allow`."""
    response = await api.client.put("/api/executions")
    assert error_of(response, 405)["code"] == "method_not_allowed"
    assert "GET" in response.headers["allow"]


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("PATCH", "/api/workflows/{id}"),
        ("POST", "/api/workflows/import"),
        ("POST", "/api/workflows/{id}/nodes"),
        ("POST", "/api/parse/json"),
    ],
)
async def test_malformed_json_answers_400_everywhere(api: Server, method: str, path: str) -> None:
    """Every endpoint with a body answers 400 `malformed_json` to a body that does not parse."""
    flow = await create(api)
    response = await api.client.request(
        method, path.format(id=flow["id"]), content=b'{"a": ', headers={"content-type": "application/json"}
    )
    assert error_of(response, 400)["code"] == "malformed_json"


# -- the API's description ---------------------------------------------------------------------


async def test_the_openapi_document_describes_every_operation_and_the_token(server: Server) -> None:
    """`/api/openapi.json` is public and lists every operation, each needing the bearer token."""
    response = await server.client.get("/api/openapi.json")
    assert response.status_code == 200
    document = response.json()
    assert document["info"]["title"] == "hookline admin API"
    assert document["info"]["version"]
    assert document["servers"] == [{"url": "/api"}]
    assert document["components"]["securitySchemes"]["HTTPBearer"] == {
        "type": "http",
        "scheme": "bearer",
        "description": "The admin token.",
    }
    found = {(method, path) for path, item in document["paths"].items() for method in item}
    assert found == OPERATIONS
    for path, item in document["paths"].items():
        for method, operation in item.items():
            assert operation["security"] == [{"HTTPBearer": []}], (method, path)
            assert operation["summary"]
            assert "401" in operation["responses"]
    assert "HTTPValidationError" not in document["components"]["schemas"]


async def test_the_reference_page_lists_every_operation_without_scripts(server: Server) -> None:
    """`/api/reference` is plain HTML made from the OpenAPI document: every path and method, no JS or CDN."""
    response = await server.client.get("/api/reference")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    page = response.text
    for method, path in OPERATIONS:
        assert f"id='{method}-{path}".replace("/", "-").replace("{", "").replace("}", "") in page
        assert f"/api{path}" in page
    for schema in ("WorkflowCreate", "FlowOut", "ExecutionDetailOut", "ErrorBody"):
        assert f"id='schema-{schema}'" in page
    assert "<script" not in page
    assert "src=" not in page
    assert "<link" not in page
