"""The web UI: static HTML, CSS and JavaScript modules, served at `/` by `hookline serve`.

The UI talks only to the public admin API under `/api/`; there is nothing to build at install time.
"""

from __future__ import annotations

from pathlib import Path

from starlette.routing import Mount
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send

STATIC = Path(__file__).parent / "static"

# Scripts and styles only from this server; the test request may go to another origin (HOOKLINE_PUBLIC_URL).
POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self' http: https:; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
)


def ui_mount() -> Mount:
    """The UI's files at `/` (`/` itself serves index.html); mount it after every other route."""
    return Mount("/", app=_Guarded(StaticFiles(directory=STATIC, html=True)), name="ui")


class _Guarded:
    """Adds the content security policy and asks browsers to revalidate, so an upgrade shows at once."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                headers += [
                    (b"content-security-policy", POLICY.encode()),
                    (b"cache-control", b"no-cache"),
                    (b"x-content-type-options", b"nosniff"),
                    (b"referrer-policy", b"no-referrer"),
                ]
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_headers)
