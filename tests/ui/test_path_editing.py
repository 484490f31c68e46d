"""The trigger drawer's path tables edited in place (issue 16), and secret request headers."""

from __future__ import annotations

import re
from typing import Any

import httpx
from playwright.sync_api import Locator, Page, expect

from hookline.expressions.templates import parse_path
from hookline.trigger.samples import body_paths
from tests.ui._path_tables import expect_keys
from tests.ui._steps import add_node, import_workflow, open_trigger, pick, save, unique
from tests.ui.conftest import SCREENSHOTS

SAMPLE_URL = "https://x.test/hook?a[0][b]=1&a[1]=x&flag"
SAMPLE_BODY = '{"order": {"id": 42, "items": [{"sku": "A"}]}, "status": "paid"}'


def _workflow(api: httpx.Client, title: str, request: dict[str, Any]) -> dict[str, Any]:
    """A new synchronous workflow, enabled and without nodes, whose trigger lists `request`."""
    document = {
        "key": unique("paths"),
        "title": title,
        "type": "webhook",
        "sync": True,
        "enabled": True,
        "config": {"request": request},
        "nodes": [],
    }
    return import_workflow(api, document)


def _request(api: httpx.Client, workflow: dict[str, Any]) -> dict[str, Any]:
    """The saved `config.request` of a workflow."""
    request: dict[str, Any] = api.get(f"/api/workflows/{workflow['id']}").json()["config"]["request"]
    return request


def _parse(part: Locator, sample: str | None = None, label: str = "Sample JSON body") -> None:
    """Fill the sample (when given) and press Parse."""
    if sample is not None:
        part.get_by_label(label).fill(sample)
    part.get_by_role("button", name="Parse").click()


def test_edited_paths_keep_their_alias_and_place_and_answer_as_variables(
    signed_in: Page, api: httpx.Client
) -> None:
    """Query and body paths edited after Parse keep alias, place and `_var`, and a request reads them."""
    page = signed_in
    workflow = _workflow(
        api, "Edit paths", {"query": [{"key": "a[0].b", "alias": "First b", "_var": "firstB"}]}
    )
    drawer = open_trigger(page, workflow["id"])
    query = drawer.get_by_role("region", name="Query")
    _parse(query, SAMPLE_URL, "Sample URL or query string")
    expect_keys(query, ["a[0].b", "a", "a[0]", "a[1]", "flag"])
    body = drawer.get_by_role("region", name="Body", exact=True)
    _parse(body, SAMPLE_BODY)
    body.get_by_label("Alias of order.id").fill("Order ref")

    # Enter commits a query path; leaving the field (Tab) commits a body path.
    query.get_by_label("Query path a[0].b", exact=True).fill("a[0].c")
    query.get_by_label("Query path a[0].b", exact=True).press("Enter")
    expect(drawer).to_be_visible()  # Enter in a path does not submit the drawer
    expect(query.get_by_label("Alias of a[0].c")).to_have_value("First b")
    body.get_by_label("Body path order.id", exact=True).fill("order.ref")
    body.get_by_label("Body path order.id", exact=True).press("Tab")
    expect(body.get_by_label("Alias of order.ref")).to_be_focused()
    expect(body.get_by_label("Alias of order.ref")).to_have_value("Order ref")
    expect(body.get_by_role("button", name="Delete order.ref")).to_be_visible()
    save(drawer)

    request = _request(api, workflow)
    assert request["query"][0] == {"key": "a[0].c", "alias": "First b", "_var": "firstB"}
    assert [item["key"] for item in request["body"]] == [
        "order",
        "order.ref",
        "order.items",
        "order.items[0]",
        "order.items[0].sku",
        "status",
    ]
    assert request["body"][1] == {"key": "order.ref", "alias": "Order ref"}

    page.reload()
    drawer = open_trigger(page, workflow["id"])
    query = drawer.get_by_role("region", name="Query")
    body = drawer.get_by_role("region", name="Body", exact=True)
    expect_keys(query, ["a[0].c", "a", "a[0]", "a[1]", "flag"])
    expect(query.get_by_label("Alias of a[0].c")).to_have_value("First b")
    expect(body.get_by_label("Body path order.ref", exact=True)).to_have_value("order.ref")
    expect(body.get_by_label("Alias of order.ref")).to_have_value("Order ref")
    page.keyboard.press("Escape")
    expect(drawer).to_be_hidden()

    # The edited body path is offered by its alias; the edited query path answers under its `_var`.
    response = add_node(page, "at the start", "Response")
    response.get_by_label("Body (JSON)", exact=True).fill('{"ref": ')
    pick(page, response, "Body (JSON)", "Order ref")
    page.keyboard.type(', "first": "{{$context.query.firstB}}"}')
    save(response)
    answer = httpx.post(
        f"{workflow['webhook_url']}?a[0][b]=old&a[0][c]=new",
        json={"order": {"id": 1, "ref": "R-9"}},
        timeout=10,
    )
    assert answer.status_code == 200, answer.text
    assert answer.json() == {"ref": "R-9", "first": "new"}


def test_an_edited_path_is_checked_like_a_path_added_by_hand(signed_in: Page, api: httpx.Client) -> None:
    """Empty, duplicate and unreadable paths, edited or added, are refused beside their field, unsaved."""
    page = signed_in
    request = {
        "headers": [{"key": "X-Request-Id"}],
        "body": [{"key": "order.id", "alias": "Order id"}, {"key": "order.status"}],
    }
    workflow = _workflow(api, "Check paths", request)
    drawer = open_trigger(page, workflow["id"])
    body = drawer.get_by_role("region", name="Body", exact=True)
    path = body.get_by_label("Body path order.id", exact=True)

    cases: list[tuple[str, str | re.Pattern[str]]] = [
        ("  ", "Type a body path; it cannot be empty."),
        ("order.status", "order.status is already in the table."),
        ("order..id", re.compile(r"^order\.\.id is not a path hookline can read")),
    ]
    for typed, problem in cases:
        path.fill(typed)
        path.press("Enter")
        expect(path).to_have_attribute("aria-invalid", "true")
        expect(path).to_have_accessible_description(problem)
        expect(body.get_by_role("alert")).to_have_text(problem)
    body.screenshot(path=SCREENSHOTS / "trigger-path-problem.png")

    # Save refuses the unreadable path beside it; the saved config is unchanged.
    drawer.get_by_role("button", name="Save").click()
    expect(path).to_have_accessible_description(re.compile(r"^order\.\.id is not a path"))
    expect(drawer).to_be_visible()
    assert _request(api, workflow) == request

    # Escape puts the saved path back and leaves the drawer open.
    path.press("Escape")
    expect(path).to_have_value("order.id")
    expect(path).not_to_have_attribute("aria-invalid", "true")
    expect(drawer).to_be_visible()

    # A path added by hand gets the same answers.
    new_path = body.get_by_label("New body path")
    for typed, problem in cases:
        new_path.fill(typed)
        new_path.press("Enter")
        expect(new_path).to_have_accessible_description(problem)
    expect_keys(body, ["order.id", "order.status"])

    headers = drawer.get_by_role("region", name="Headers")
    header = headers.get_by_label("Header name X-Request-Id", exact=True)
    header.fill("X Request")
    header.press("Tab")
    expect(header).to_have_accessible_description(re.compile(r"^X Request is not a header name"))
    header.fill("x-request-id")  # the same header in another case is this row, not a duplicate
    header.press("Tab")
    header = headers.get_by_label("Header name x-request-id", exact=True)
    expect(header).to_have_value("x-request-id")
    expect(header).not_to_have_attribute("aria-invalid", "true")
    path.fill('order["the id"]')
    save(drawer)
    assert _request(api, workflow) == {
        "headers": [{"key": "x-request-id", "alias": ""}],
        "query": [],
        "body": [{"key": 'order["the id"]', "alias": "Order id"}, {"key": "order.status", "alias": ""}],
    }


def test_parsing_again_skips_a_path_that_was_renamed(signed_in: Page, api: httpx.Client) -> None:
    """After an edit, parsing the sample again skips the old path and says so, before and after a save."""
    page = signed_in
    workflow = _workflow(api, "Parse again", {})
    drawer = open_trigger(page, workflow["id"])
    body = drawer.get_by_role("region", name="Body", exact=True)
    _parse(body, '{"order": {"id": 1}}')
    body.get_by_label("Body path order.id", exact=True).fill("order.ref")
    body.get_by_label("Body path order.id", exact=True).press("Enter")
    _parse(body)
    skipped = "No new paths. Skipped 1 path you renamed: order.id (now order.ref)."
    expect(body.locator(".parse-status")).to_have_text(skipped)
    expect_keys(body, ["order", "order.ref"])
    save(drawer)

    page.reload()
    drawer = open_trigger(page, workflow["id"])
    body = drawer.get_by_role("region", name="Body", exact=True)
    _parse(body)  # the remembered sample
    expect(body.locator(".parse-status")).to_have_text(skipped)
    expect_keys(body, ["order", "order.ref"])

    # Once the renamed row is gone, the old path is an ordinary new path again.
    body.get_by_role("button", name="Delete order.ref").click()
    _parse(body)
    expect(body.locator(".parse-status")).to_have_text("Added 1 new path of 2.")
    expect_keys(body, ["order", "order.id"])


def test_a_secret_header_is_saved_and_its_value_stored_redacted(signed_in: Page, api: httpx.Client) -> None:
    """The Secret checkbox (keyboard too) saves `secret: true`, else nothing; executions show "[redacted]"."""
    page = signed_in
    workflow = _workflow(api, "Secret header", {})
    drawer = open_trigger(page, workflow["id"])
    headers = drawer.get_by_role("region", name="Headers")
    for name in ("X-Token", "X-Plain"):
        headers.get_by_label("New header name").fill(name)
        headers.get_by_label("New header name").press("Enter")
    headers.get_by_label("Alias of X-Token").press("Tab")
    secret = headers.get_by_role("checkbox", name="X-Token is secret")
    expect(secret).to_be_focused()
    page.keyboard.press("Space")
    expect(secret).to_be_checked()
    headers.screenshot(path=SCREENSHOTS / "trigger-secret-header.png")
    save(drawer)
    assert _request(api, workflow)["headers"] == [
        {"key": "X-Token", "alias": "", "secret": True},
        {"key": "X-Plain", "alias": ""},
    ]

    page.reload()
    drawer = open_trigger(page, workflow["id"])
    headers = drawer.get_by_role("region", name="Headers")
    expect(headers.get_by_role("checkbox", name="X-Token is secret")).to_be_checked()
    expect(headers.get_by_role("checkbox", name="X-Plain is secret")).not_to_be_checked()
    headers.get_by_role("checkbox", name="X-Token is secret").uncheck()
    headers.get_by_role("checkbox", name="X-Plain is secret").check()
    save(drawer)
    assert _request(api, workflow)["headers"] == [
        {"key": "X-Token", "alias": ""},
        {"key": "X-Plain", "alias": "", "secret": True},
    ]

    sent = httpx.post(workflow["webhook_url"], headers={"X-Token": "t0ken", "X-Plain": "plain"}, timeout=10)
    assert sent.status_code == 200, sent.text
    execution = api.get(f"/api/executions/{sent.headers['x-hookline-execution']}").json()
    assert execution["context"]["headers"]["x-plain"] == "[redacted]"
    assert execution["context"]["headers"]["x-token"] == "t0ken"


GRAMMAR_CASES = [
    "order",
    "order.id",
    "order.items[0].sku",
    "a[0][1]",
    "[0]",
    '["a b"]',
    "a['x.y'].z",
    'a["q\\"uote"]',
    "a.01",
    "héllo.wörld",
    "emoji.😀",
    "",
    "order..id",
    ".order",
    "order.",
    "a b",
    "a[b]",
    "a[0",
    "a]",
    "{x}",
    "a:b",
    "a'b",
    "a\\b",
    "a\x1cb",
    "a\x85b",
    "a\ufeffb",
    "a\u3000b",
    'a["unterminated]',
    "a['x\\']",
    '["new\nline"]',
]


def test_the_path_grammar_matches_the_server_parser(page: Page) -> None:
    """The browser's check of a path agrees with `parse_path`, and accepts every path Parse lists."""
    page.goto("/")
    odd_keys = {"a b": {"c.d": 1}, "x[0]": [{"'q'": 2}], 'say "hi"': 3, "back\\slash": 4, "42": 5}
    cases = [*GRAMMAR_CASES, *body_paths(odd_keys)]
    verdicts = page.evaluate(
        "async (cases) => { const { isReadablePath } = await import('/js/paths.js');"
        " return cases.map(isReadablePath); }",
        cases,
    )
    assert dict(zip(cases, verdicts, strict=True)) == {case: _readable(case) for case in cases}


def _readable(path: str) -> bool:
    """Whether the server's parser reads `path`."""
    try:
        parse_path(path)
    except ValueError:
        return False
    return True
