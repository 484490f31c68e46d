"""Property-based fuzzing of the admin API from its own OpenAPI document, with schemathesis.

Every operation gets a bounded number of generated requests (valid and invalid ones); each answer
must not be a 5xx and must match what the document says: status, content type, body schema.
The app runs with its lifespan (the store, the workers) inside schemathesis' ASGI transport, and
already holds workflows, nodes and an execution whose ids the generated paths use most of the time.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from schemathesis.python import asgi
from schemathesis.specs.openapi.checks import positive_data_acceptance

from hookline.api.app import create_app
from hookline.settings import Settings
from tests._workflows import PAID_CONDITION
from tests.integration._admin import PAID
from tests.integration.conftest import example

TOKEN = "fuzzing-token"
HEADERS = {"Authorization": f"Bearer {TOKEN}"}


@pytest.fixture(scope="module")
def api_schema(tmp_path_factory: pytest.TempPathFactory) -> Iterator[schemathesis.BaseSchema]:
    """The admin API's schema, from a running app that has workflows, nodes and an execution."""
    settings = Settings(
        data_dir=tmp_path_factory.mktemp("fuzz"), admin_token=TOKEN, poll_seconds=0.05, lease_seconds=5.0
    )
    app = create_app(settings)
    with asgi.get_client(app) as client:  # starts the lifespan; it runs until shutdown_lifespans()
        ids = _seed(client)
    config = {
        "headers": HEADERS,
        "generation": {"max-examples": 15, "deterministic": True},
        "dictionaries": {name: {"values": values} for name, values in ids.items()},
        "parameters": {f"path.{name}": _often(name) for name in ("workflow_id", "node_id", "execution_id")},
        "operations": [
            # Deleting a workflow gets one of its own, so the other operations keep finding theirs.
            {
                "include-name": "DELETE /workflows/{workflow_id}",
                "parameters": {"path.workflow_id": _often("doomed_workflow_id")},
            },
            # Listening holds the request until a webhook request comes, which never happens here.
            {"include-name": "POST /workflows/{workflow_id}/capture", "enabled": False},
        ],
    }
    yield schemathesis.openapi.from_asgi(
        "/api/openapi.json", app, config=schemathesis.Config.from_dict(config)
    )
    asgi.shutdown_lifespans()


def _often(dictionary: str) -> dict[str, Any]:
    """Draw a parameter from a dictionary of real ids most of the time, else generate one."""
    return {"dictionary": dictionary, "probability": 0.8}


def _seed(client: Any) -> dict[str, list[str]]:
    """An editable workflow with nodes, an executed one, and an execution; their ids by parameter name."""
    editable = client.post("/api/workflows", json={"title": "fuzz", "sync": True}, headers=HEADERS).json()
    nodes_url = f"/api/workflows/{editable['id']}/nodes"
    head = client.post(
        nodes_url, json={"type": "condition", "config": PAID_CONDITION}, headers=HEADERS
    ).json()
    branch = {"type": "response", "config": {"statusCode": 200}, "upstream_id": head["id"], "branch_index": 1}
    leaf = client.post(nodes_url, json=branch, headers=HEADERS).json()
    executed = client.post("/api/workflows/import", json=example("order-paid.json"), headers=HEADERS).json()
    answer = client.post(f"/api/webhook:trigger/{executed['key']}", json=PAID, auth=("shop", "s3cret"))
    doomed = client.post("/api/workflows", json={"title": "doomed", "sync": False}, headers=HEADERS).json()
    return {
        "workflow_id": [editable["id"], executed["id"]],
        "doomed_workflow_id": [doomed["id"]],
        "node_id": [head["id"], leaf["id"]],
        "execution_id": [answer.headers["x-hookline-execution"]],
    }


schema = schemathesis.pytest.from_fixture("api_schema")


@pytest.fixture(autouse=True)
def pytest_9_node_id(request: pytest.FixtureRequest) -> None:
    """Give the test item the `_nodeid` attribute schemathesis 4.32 reads (pytest 9.2 dropped it)."""
    if not hasattr(request.node, "_nodeid"):
        request.node._nodeid = request.node.nodeid


@schema.parametrize()
def test_the_api_answers_every_request_as_its_document_says(case: schemathesis.Case) -> None:
    """No generated request gets a 5xx, and every answer matches the OpenAPI document.

    Positive data may still be refused with 422: node and trigger configs are checked by their
    node types, which JSON Schema does not describe.
    """
    case.call_and_validate(excluded_checks=[positive_data_acceptance])
