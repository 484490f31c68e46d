"""The admin API's node endpoints, through HTTP: add, change, move and delete nodes."""

from __future__ import annotations

import pytest

from tests._workflows import PAID_CONDITION
from tests.integration._admin import PAID, add_node, create, error_of, where
from tests.integration.conftest import Server


def nodes_url(workflow_id: str, node_id: str = "", action: str = "") -> str:
    """The URL of a workflow's nodes, one node, or an action on it."""
    url = f"/api/workflows/{workflow_id}/nodes"
    return url + (f"/{node_id}" if node_id else "") + (f"/{action}" if action else "")


async def detail(api: Server, workflow_id: str) -> dict[str, dict[str, object]]:
    """The nodes of a version by key."""
    flow = (await api.client.get(f"/api/workflows/{workflow_id}")).json()
    return {node["key"]: node for node in flow["nodes"]}


async def test_nodes_added_over_the_api_make_a_workflow_that_runs(api: Server) -> None:
    """A condition with a response in each branch, built node by node, answers by the condition."""
    flow = await create(api)
    paid = await add_node(api, flow["id"], type="condition", key="paid", config=PAID_CONDITION, title="Paid?")
    assert (paid["key"], paid["title"], paid["upstream_id"]) == ("paid", "Paid?", None)
    yes = {"statusCode": 200, "body": {"paid": "{{$context.body.order.id}}"}}
    ok = await add_node(api, flow["id"], type="response", config=yes, upstream_id=paid["id"], branch_index=1)
    assert (ok["upstream_id"], ok["branch_index"]) == (paid["id"], 1)
    no = {"statusCode": 402, "body": {"paid": False}}
    await add_node(api, flow["id"], type="response", config=no, upstream_id=paid["id"], branch_index=0)
    assert (await api.client.post(f"/api/workflows/{flow['id']}/enable")).status_code == 200
    answer = await api.post(flow["key"], json=PAID)
    assert (answer.status_code, answer.json()) == (200, {"paid": 42})
    refused = await api.post(flow["key"], json={"order": {"status": "open"}})
    assert (refused.status_code, refused.json()) == (402, {"paid": False})


async def test_a_node_key_is_generated_when_not_given(api: Server) -> None:
    """Without a key the node gets a fresh one."""
    flow = await create(api)
    node = await add_node(api, flow["id"], type="end", config={"endStatus": "resolved"})
    assert node["key"]
    assert node["id"] != node["key"]


async def test_an_invalid_node_config_lists_the_problems_of_its_type(api: Server) -> None:
    """The node type checks the config: 422 naming each field under the node, and nothing is added."""
    flow = await create(api)
    response = await api.client.post(
        nodes_url(flow["id"]),
        json={"type": "response", "key": "r", "config": {"statusCode": 700, "headers": "x"}},
    )
    error = error_of(response, 422)
    assert error["code"] == "invalid_workflow"
    assert set(where(error)) == {"nodes[r].config.statusCode", "nodes[r].config.headers"}
    assert await detail(api, flow["id"]) == {}


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"type": "no-such-type", "config": {}}, "unknown node type 'no-such-type'"),
        ({"type": "end", "config": {}, "branch_index": 1}, "the head node cannot have a branch index"),
        ({"type": "end", "config": {}, "upstream_id": "123"}, "There is no node 123 in this workflow."),
    ],
)
async def test_a_node_that_cannot_go_there_is_refused_with_a_message(
    api: Server, body: dict[str, object], message: str
) -> None:
    """Unknown types, impossible places and unknown upstreams are explained."""
    flow = await create(api)
    response = await api.client.post(nodes_url(flow["id"]), json=body)
    assert response.status_code in (404, 422)
    error = response.json()["error"]
    texts = [error["message"], *(d["message"] for d in error.get("details", []))]
    assert any(message in text for text in texts), texts


async def test_a_branch_the_node_type_does_not_have_is_refused(api: Server) -> None:
    """A condition has branches 0 and 1 only."""
    flow = await create(api)
    paid = await add_node(api, flow["id"], type="condition", key="paid", config=PAID_CONDITION)
    response = await api.client.post(
        nodes_url(flow["id"]),
        json={"type": "end", "config": {}, "upstream_id": paid["id"], "branch_index": 7},
    )
    error = error_of(response, 422)
    assert "has no branch 7" in error["details"][0]["message"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"config": {}}, "body.type"),
        ({"type": "end"}, "body.config"),
        ({"type": "end", "config": {}, "key": "-bad"}, "body.key"),
        ({"type": "end", "config": {}, "upstream_id": 12}, "body.upstream_id"),
        ({"type": "end", "config": {}, "branch_index": -1}, "body.branch_index"),
        ({"type": "end", "config": [], "title": None}, "body.config"),
    ],
)
async def test_a_node_body_of_the_wrong_shape_names_the_field(
    api: Server, body: dict[str, object], field: str
) -> None:
    """Missing fields, a bad key, a numeric id or a negative branch answer 422 naming the field."""
    flow = await create(api)
    error = error_of(await api.client.post(nodes_url(flow["id"]), json=body), 422)
    assert error["code"] == "invalid_request"
    assert where(error) == [field]


async def test_update_changes_a_node_title_and_config(api: Server) -> None:
    """PATCH changes what it is given and keeps the links."""
    flow = await create(api)
    head = await add_node(api, flow["id"], type="end", key="e", config={"endStatus": "resolved"})
    response = await api.client.patch(
        nodes_url(flow["id"], head["id"]), json={"title": "Stop", "config": {"endStatus": "failed"}}
    )
    assert response.status_code == 200
    assert (response.json()["title"], response.json()["config"]) == ("Stop", {"endStatus": "failed"})
    assert (await detail(api, flow["id"]))["e"]["title"] == "Stop"


async def test_update_with_an_invalid_config_lists_the_problems(api: Server) -> None:
    """A config its node type refuses answers 422 and the node keeps its old config."""
    flow = await create(api)
    head = await add_node(api, flow["id"], type="response", key="r", config={"statusCode": 200})
    response = await api.client.patch(nodes_url(flow["id"], head["id"]), json={"config": {"statusCode": "x"}})
    assert where(error_of(response, 422)) == ["nodes[r].config.statusCode"]
    assert (await detail(api, flow["id"]))["r"]["config"] == {"statusCode": 200}


async def test_update_refuses_a_config_that_drops_a_branch_in_use(api: Server) -> None:
    """A multi-condition config with fewer conditions cannot orphan nodes in a branch."""
    flow = await create(api)
    conditions = {"conditions": [{"engine": "basic", "calculation": PAID_CONDITION["calculation"]}] * 2}
    multi = await add_node(api, flow["id"], type="multi-conditions", key="m", config=conditions)
    await add_node(api, flow["id"], type="end", key="two", config={}, upstream_id=multi["id"], branch_index=2)
    fewer = {"conditions": conditions["conditions"][:1]}
    error = error_of(await api.client.patch(nodes_url(flow["id"], multi["id"]), json={"config": fewer}), 422)
    assert "'two' is in it" in error["details"][0]["message"]


async def test_move_puts_a_node_into_a_branch(api: Server) -> None:
    """A node moved below a condition's branch becomes that branch's head; its follower takes its place."""
    flow = await create(api)
    paid = await add_node(api, flow["id"], type="condition", key="paid", config=PAID_CONDITION)
    after = await add_node(api, flow["id"], type="end", key="after", config={}, upstream_id=paid["id"])
    response = await api.client.post(
        nodes_url(flow["id"], after["id"], "move"), json={"upstream_id": paid["id"], "branch_index": 0}
    )
    assert response.status_code == 200
    assert (response.json()["upstream_id"], response.json()["branch_index"]) == (paid["id"], 0)
    nodes = await detail(api, flow["id"])
    assert nodes["paid"]["downstream_id"] is None


async def test_move_below_itself_is_refused(api: Server) -> None:
    """A node cannot move into its own branches."""
    flow = await create(api)
    paid = await add_node(api, flow["id"], type="condition", key="paid", config=PAID_CONDITION)
    inner = await add_node(
        api, flow["id"], type="end", key="in", config={}, upstream_id=paid["id"], branch_index=1
    )
    response = await api.client.post(
        nodes_url(flow["id"], paid["id"], "move"), json={"upstream_id": inner["id"], "branch_index": None}
    )
    assert "cannot move below itself" in error_of(response, 422)["details"][0]["message"]


async def test_deleting_a_branching_node_deletes_its_branches(api: Server) -> None:
    """DELETE answers 204; the condition's branch nodes go with it and its follower becomes the head."""
    flow = await create(api)
    paid = await add_node(api, flow["id"], type="condition", key="paid", config=PAID_CONDITION)
    await add_node(api, flow["id"], type="end", key="yes", config={}, upstream_id=paid["id"], branch_index=1)
    await add_node(api, flow["id"], type="end", key="next", config={}, upstream_id=paid["id"])
    response = await api.client.delete(nodes_url(flow["id"], paid["id"]))
    assert (response.status_code, response.content) == (204, b"")
    nodes = await detail(api, flow["id"])
    assert list(nodes) == ["next"]
    assert nodes["next"]["upstream_id"] is None


@pytest.mark.parametrize(
    ("method", "action", "body"),
    [
        ("PATCH", "", {"title": "x"}),
        ("POST", "move", {"upstream_id": None}),
        ("DELETE", "", None),
    ],
)
async def test_an_unknown_node_answers_404(api: Server, method: str, action: str, body: object) -> None:
    """A node id that the version does not have (or that is no id) answers 404."""
    flow = await create(api)
    for node_id in ("123", "nope"):
        response = await api.client.request(method, nodes_url(flow["id"], node_id, action), json=body)
        assert error_of(response, 404)["code"] == "not_found"


async def test_nodes_of_an_unknown_workflow_answer_404(api: Server) -> None:
    """Adding a node to a version that does not exist answers 404."""
    response = await api.client.post(nodes_url("42"), json={"type": "end", "config": {}})
    assert error_of(response, 404)["code"] == "not_found"


async def test_node_edits_on_an_executed_version_answer_409(api: Server) -> None:
    """Once a version ran, adding, changing, moving and deleting its nodes is refused as frozen."""
    flow = await create(api)
    head = await add_node(api, flow["id"], type="response", key="r", config={"statusCode": 200, "body": "hi"})
    await api.client.post(f"/api/workflows/{flow['id']}/enable")
    assert (await api.post(flow["key"])).text == "hi"
    attempts = [
        api.client.post(nodes_url(flow["id"]), json={"type": "end", "config": {}}),
        api.client.patch(nodes_url(flow["id"], head["id"]), json={"title": "x"}),
        api.client.post(nodes_url(flow["id"], head["id"], "move"), json={}),
        api.client.delete(nodes_url(flow["id"], head["id"])),
    ]
    for attempt in attempts:
        assert error_of(await attempt, 409)["code"] == "version_frozen"
