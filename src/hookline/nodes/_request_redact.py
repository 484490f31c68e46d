"""What the request node records of a request it sent: method, URL and headers, with secrets redacted."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from hookline.types import JsonObject

REDACTED = "[redacted]"
SECRET_HEADERS = frozenset({"authorization", "proxy-authorization", "cookie", "x-api-key"})
"""Headers whose value is never recorded, whatever it is made of."""
_ENV = re.compile(r"\{\{\s*\$env\.")


@dataclass(frozen=True, slots=True)
class Sent:
    """One header or query parameter as sent, with the template it was rendered from ("" if none)."""

    name: str
    value: str
    template: Any = ""


def uses_env(template: Any) -> bool:
    """Whether a configured value reads a server secret (`{{$env.NAME}}`)."""
    return isinstance(template, str) and _ENV.search(template) is not None


def summary(
    method: str, url_template: Any, url: str, params: Iterable[Sent], headers: Iterable[Sent]
) -> JsonObject:
    """The request as the job records it: secret headers and `$env` values as "[redacted]"."""
    return {
        "method": method,
        # A URL built from a secret is recorded as written, placeholders and all.
        "url": url_template if uses_env(url_template) else without_password(url),
        "params": [_entry(item, secret=uses_env(item.template)) for item in params],
        "headers": [
            _entry(item, secret=item.name.lower() in SECRET_HEADERS or uses_env(item.template))
            for item in headers
        ],
    }


def _entry(item: Sent, *, secret: bool) -> JsonObject:
    return {"name": item.name, "value": REDACTED if secret else item.value}


def without_password(url: str) -> str:
    """The URL with the password of its user info (`https://user:secret@host`) redacted."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    host = parts.netloc.rsplit("@", 1)[1]
    return urlunsplit(parts._replace(netloc=f"{parts.username}:{REDACTED}@{host}"))
