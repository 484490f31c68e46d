"""The admin API's workflow endpoints, through HTTP: create, list, read, change, delete, versions."""

from __future__ import annotations

from dataclasses import replace

import pytest

from hookline.store.execution_history import ExecutionFilter
from tests._workflows import PAID_CONDITION
from tests.integration._admin import PAID, add_node, create, error_of, import_, where
from tests.integration.conftest import Server, example

AUTH = ("shop", "s3cret")


async def test_create_gives_a_disabled_version_with_a_generated_key_and_its_url(api: Server) -> None:
    """A created workflow is current but disabled, has no nodes, and names its full webhook URL."""
    response = await api.client.post(
        "/api/workflows", json={"title": "Orders", "sync": False, "description": "paid orders"}
    )
    assert response.status_code == 201
    flow = response.json()
    assert flow["title"] == "Orders"
    assert flow["description"] == "paid orders"
    assert (flow["sync"], flow["enabled"], flow["current"], flow["nodes"]) == (False, False, True, [])
    assert isinstance(flow["id"], str)
    assert flow["webhook_url"] == f"http://hookline.test/api/webhook:trigger/{flow['key']}"
    listed = await api.client.get(f"/api/workflows/{flow['id']}")
    assert listed.json()["key"] == flow["key"]


async def test_create_with_an_invalid_trigger_config_lists_each_problem(api: Server) -> None:
    """A config the trigger cannot use is refused with 422 and one detail per field."""
    config = {"response": {"statusCode": 99}, "basicAuthentication": {"username": ""}}
    response = await api.client.post("/api/workflows", json={"title": "x", "sync": False, "config": config})
    error = error_of(response, 422)
    assert error["code"] == "invalid_workflow"
    assert "config.response.statusCode" in where(error)
    assert "config.basicAuthentication.username" in where(error)
    messages = {d["where"]: d["message"] for d in error["details"]}
    assert messages["config.response.statusCode"] == "must be an integer between 200 and 599"


async def test_create_with_a_blank_title_is_refused(api: Server) -> None:
    """A title of spaces is no title: 422 naming `title`."""
    error = error_of(await api.client.post("/api/workflows", json={"title": "  ", "sync": True}), 422)
    assert where(error) == ["title"]


async def test_a_body_of_the_wrong_shape_answers_422_per_field(api: Server) -> None:
    """Wrong types, missing and unknown fields are each named as `body.<field>`."""
    response = await api.client.post("/api/workflows", json={"title": 5, "colour": "red"})
    error = error_of(response, 422)
    assert error["code"] == "invalid_request"
    assert set(where(error)) == {"body.title", "body.sync", "body.colour"}


async def test_a_body_that_is_not_an_object_answers_422(api: Server) -> None:
    """A JSON list where an object belongs is refused, naming the body."""
    error = error_of(await api.client.post("/api/workflows", json=[1, 2]), 422)
    assert where(error) == ["body"]


@pytest.mark.parametrize("body", [b"{", b'{"title": "x",}', b"nope"])
async def test_malformed_json_answers_400(api: Server, body: bytes) -> None:
    """A body that does not parse as JSON answers 400 `malformed_json` and changes nothing."""
    response = await api.client.post(
        "/api/workflows", content=body, headers={"content-type": "application/json"}
    )
    assert error_of(response, 400)["code"] == "malformed_json"
    assert (await api.client.get("/api/workflows")).json()["items"] == []


async def test_values_the_store_cannot_keep_answer_422(api: Server) -> None:
    """NUL characters and integers beyond 64 bits are refused up front, not with a 500."""
    nul = await api.client.post("/api/workflows", json={"title": "a\u0000b", "sync": True})
    assert "NUL" in error_of(nul, 422)["message"]
    huge = b'{"title": "x", "sync": true, "options": {"timeout": 123456789012345678901234567890}}'
    response = await api.client.post(
        "/api/workflows", content=huge, headers={"content-type": "application/json"}
    )
    assert error_of(response, 422)["code"] == "invalid_request"


async def test_list_filters_by_text_enabled_and_type(api: Server) -> None:
    """`q` matches key, title or description; `enabled` and `type` narrow the list."""
    await create(api, title="Invoices")
    await create(api, title="Refunds", description="for invoices too")
    live = await import_(api, example("order-paid.json"))
    found = await api.client.get("/api/workflows", params={"q": "INVOICE"})
    assert sorted(w["title"] for w in found.json()["items"]) == ["Invoices", "Refunds"]
    enabled = await api.client.get("/api/workflows", params={"enabled": "true"})
    assert [w["id"] for w in enabled.json()["items"]] == [live["id"]]
    other = await api.client.get("/api/workflows", params={"type": "schedule"})
    assert other.json()["items"] == []


async def test_list_pages_with_limit_and_next_offset(api: Server) -> None:
    """Pages follow `next_offset` until it is null, and cover every workflow once."""
    for title in ("a", "b", "c", "d", "e"):
        await create(api, title=title)
    seen: list[str] = []
    offset: int | None = 0
    while offset is not None:
        page = (await api.client.get("/api/workflows", params={"limit": 2, "offset": offset})).json()
        assert len(page["items"]) <= 2
        assert page["limit"] == 2
        seen += [w["title"] for w in page["items"]]
        offset = page["next_offset"]
    assert sorted(seen) == ["a", "b", "c", "d", "e"]


@pytest.mark.parametrize("params", [{"limit": 0}, {"limit": 201}, {"offset": -1}, {"enabled": "maybe"}])
async def test_list_refuses_bad_query_parameters(api: Server, params: dict[str, object]) -> None:
    """An out-of-range limit or offset, or a non-boolean `enabled`, answers 422 naming the parameter."""
    error = error_of(await api.client.get("/api/workflows", params=params), 422)
    assert where(error) == [f"query.{next(iter(params))}"]


async def test_get_shows_nodes_and_how_many_executions_the_version_has(api: Server) -> None:
    """The detail view has the nodes with their links and the version's execution count."""
    flow = await import_(api, example("order-paid.json"))
    await api.post(flow["key"], json=PAID, auth=AUTH)
    detail = (await api.client.get(f"/api/workflows/{flow['id']}")).json()
    assert detail["executions"] == 1
    by_key = {node["key"]: node for node in detail["nodes"]}
    assert set(by_key) == {"paid", "ok", "no"}
    assert by_key["ok"]["upstream_id"] == by_key["paid"]["id"]
    assert by_key["ok"]["branch_index"] == 1


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/api/workflows/{id}"),
        ("PATCH", "/api/workflows/{id}"),
        ("DELETE", "/api/workflows/{id}"),
        ("POST", "/api/workflows/{id}/enable"),
        ("POST", "/api/workflows/{id}/disable"),
        ("GET", "/api/workflows/{id}/export"),
        ("GET", "/api/workflows/{id}/versions"),
        ("POST", "/api/workflows/{id}/versions"),
    ],
)
@pytest.mark.parametrize("workflow_id", ["123", "abc", "99999999999999999999", "-1"])
async def test_unknown_or_malformed_ids_answer_404(
    api: Server, method: str, path: str, workflow_id: str
) -> None:
    """An id that no version has, or that is no id at all, answers 404 `not_found`."""
    response = await api.client.request(method, path.format(id=workflow_id), json={})
    assert error_of(response, 404)["code"] == "not_found"


async def test_patch_changes_the_given_fields_and_keeps_the_others(api: Server) -> None:
    """Only the fields in the body change; null clears the description."""
    flow = await create(api, description="old", options={"timeout": 100})
    response = await api.client.patch(
        f"/api/workflows/{flow['id']}", json={"title": "renamed", "description": None}
    )
    assert response.status_code == 200
    changed = response.json()
    assert (changed["title"], changed["description"]) == ("renamed", None)
    assert changed["options"] == {"timeout": 100}
    again = (await api.client.get(f"/api/workflows/{flow['id']}")).json()
    assert again["title"] == "renamed"


async def test_patch_with_invalid_options_lists_the_problems(api: Server) -> None:
    """Options the engine cannot use answer 422 naming each, and nothing changes."""
    flow = await create(api)
    response = await api.client.patch(
        f"/api/workflows/{flow['id']}", json={"options": {"timeout": -5, "concurrency": 0}}
    )
    error = error_of(response, 422)
    assert set(where(error)) == {"options.timeout", "options.concurrency"}
    assert (await api.client.get(f"/api/workflows/{flow['id']}")).json()["options"] == {}


async def test_patch_with_a_null_title_is_refused(api: Server) -> None:
    """A title cannot be removed."""
    flow = await create(api)
    error = error_of(await api.client.patch(f"/api/workflows/{flow['id']}", json={"title": None}), 422)
    assert where(error) == ["title"]


async def test_enable_makes_the_webhook_answer_and_disable_stops_it(api: Server) -> None:
    """Enabling a complete workflow puts its URL live; disabling takes it down again."""
    flow = await create(api)
    await add_node(api, flow["id"], type="response", config={"statusCode": 201, "body": {"hi": 1}})
    assert (await api.post(flow["key"])).status_code == 404
    enabled = await api.client.post(f"/api/workflows/{flow['id']}/enable")
    assert enabled.json()["enabled"] is True
    answer = await api.post(flow["key"])
    assert (answer.status_code, answer.json()) == (201, {"hi": 1})
    disabled = await api.client.post(f"/api/workflows/{flow['id']}/disable")
    assert disabled.json()["enabled"] is False
    assert (await api.post(flow["key"])).status_code == 404


async def test_delete_removes_every_version_with_its_executions(api: Server) -> None:
    """Deleting answers how many executions went; no version of the key remains."""
    flow = await import_(api, example("order-paid.json"))
    for _ in range(3):
        await api.post(flow["key"], json=PAID, auth=AUTH)
    copy = (await api.client.post(f"/api/workflows/{flow['id']}/versions")).json()
    response = await api.client.delete(f"/api/workflows/{copy['id']}")
    assert (response.status_code, response.json()) == (200, {"deleted_executions": 3})
    for gone in (flow["id"], copy["id"]):
        assert (await api.client.get(f"/api/workflows/{gone}")).status_code == 404
    assert await api.runtime.store.list_executions(ExecutionFilter()) == []
    assert (await api.post(flow["key"], json=PAID, auth=AUTH)).status_code == 404


async def test_export_then_import_is_lossless(api: Server) -> None:
    """Export gives workflow JSON; importing it makes a version whose export is the same."""
    flow = await import_(api, example("order-paid.json"))
    with_secrets = {"includeSecrets": "true"}
    exported = (await api.client.get(f"/api/workflows/{flow['id']}/export", params=with_secrets)).json()
    assert exported == example("order-paid.json")
    again = await import_(api, exported)
    assert again["key"] == flow["key"]
    assert again["id"] != flow["id"]
    exported_again = await api.client.get(f"/api/workflows/{again['id']}/export", params=with_secrets)
    assert exported_again.json() == exported


async def test_import_lists_every_problem_of_the_file(api: Server) -> None:
    """Unknown fields, bad keys and broken links are all named, and nothing is stored."""
    workflow = example("order-paid.json")
    workflow["colour"] = "red"
    workflow["nodes"][1]["upstream"] = "nowhere"
    workflow["nodes"][2]["key"] = "-bad"
    error = error_of(await api.client.post("/api/workflows/import", json=workflow), 422)
    assert error["code"] == "invalid_workflow"
    assert {"colour", "nodes[ok]", "nodes[2].key"} <= set(where(error))
    assert (await api.client.get("/api/workflows")).json()["items"] == []


async def test_enable_refuses_an_incomplete_workflow_with_its_problems(api: Server) -> None:
    """A version with a node of a type no longer loaded (a removed plugin) cannot go live: 422."""
    flow = await create(api)
    await add_node(api, flow["id"], type="condition", config=PAID_CONDITION)
    store = api.runtime.store
    stored = await store.get_flow(int(flow["id"]))
    assert stored is not None
    await store.replace_nodes(stored.workflow.id, [replace(stored.nodes[0], type="gone-type")])
    error = error_of(await api.client.post(f"/api/workflows/{flow['id']}/enable"), 422)
    assert any("unknown node type" in d["message"] for d in error["details"])
    assert (await api.client.get(f"/api/workflows/{flow['id']}")).json()["enabled"] is False


async def test_an_executed_version_is_frozen_and_a_new_version_takes_over_its_url(api: Server) -> None:
    """Versioning end to end: frozen after a run, copy keeps node keys, enabling the copy serves it."""
    old = await import_(api, example("order-paid.json"))
    first = await api.post(old["key"], json=PAID, auth=AUTH)
    assert first.json() == {"ok": True, "id": 42}

    frozen = await api.client.patch(f"/api/workflows/{old['id']}", json={"title": "changed"})
    assert error_of(frozen, 409)["code"] == "version_frozen"

    copy = (await api.client.post(f"/api/workflows/{old['id']}/versions")).json()
    assert (copy["key"], copy["enabled"]) == (old["key"], False)
    assert copy["id"] != old["id"]
    assert sorted(n["key"] for n in copy["nodes"]) == sorted(n["key"] for n in old["nodes"])
    assert {n["id"] for n in copy["nodes"]}.isdisjoint(n["id"] for n in old["nodes"])

    ok = next(n for n in copy["nodes"] if n["key"] == "ok")
    config = {**ok["config"], "body": {"ok": True, "version": 2}}
    edited = await api.client.patch(f"/api/workflows/{copy['id']}/nodes/{ok['id']}", json={"config": config})
    assert edited.status_code == 200
    assert (await api.post(old["key"], json=PAID, auth=AUTH)).json() == {"ok": True, "id": 42}

    assert (await api.client.post(f"/api/workflows/{copy['id']}/enable")).status_code == 200
    versions = (await api.client.get(f"/api/workflows/{old['id']}/versions")).json()["items"]
    assert [(v["id"], v["enabled"], v["current"]) for v in versions] == [
        (old["id"], False, False),
        (copy["id"], True, True),
    ]
    assert (await api.post(old["key"], json=PAID, auth=AUTH)).json() == {"ok": True, "version": 2}
    still = await api.client.patch(f"/api/workflows/{old['id']}", json={"title": "changed"})
    assert error_of(still, 409)["code"] == "version_frozen"
    old_detail = (await api.client.get(f"/api/workflows/{old['id']}")).json()
    assert (old_detail["title"], old_detail["executions"]) == ("Order paid", 2)
