"""The admin token: where it comes from, and the constant-time check of a bearer header."""

from __future__ import annotations

import hmac
import os
import secrets
from pathlib import Path

from hookline.errors import ConfigError, RejectedRequest
from hookline.settings import Settings
from hookline.store.files import private_folder

TOKEN_FILE = "admin-token"  # noqa: S105 (a file name, not a secret)
CHALLENGE = {"WWW-Authenticate": 'Bearer realm="hookline"'}


def admin_token(settings: Settings) -> tuple[str, bool]:
    """The admin token, and whether it was just generated.

    `HOOKLINE_ADMIN_TOKEN` wins; otherwise the token saved in the data folder is used,
    and when there is none, a new one is generated and saved readable by its owner only.
    """
    if settings.admin_token:
        return settings.admin_token, False
    path = Path(settings.data_dir) / TOKEN_FILE
    try:
        saved = path.read_text().strip()
    except FileNotFoundError:
        saved = ""
    except OSError as exc:
        raise ConfigError(f"Cannot read the admin token file {path}: {exc}") from exc
    if saved:
        return saved, False
    token = secrets.token_urlsafe(32)
    try:
        private_folder(path.parent)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as file:
            file.write(token + "\n")
    except OSError as exc:
        raise ConfigError(f"Cannot save the admin token in {path}: {exc}") from exc
    return token, True


def check_bearer(authorization: str | None, token: str) -> None:
    """Raise a 401 unless the header is `Bearer <token>`; compared in constant time."""
    scheme, _, given = (authorization or "").partition(" ")
    if scheme.lower() != "bearer" or not given.strip():
        raise RejectedRequest(
            401,
            "unauthorized",
            "This needs the admin token: Authorization: Bearer <token>.",
            headers=CHALLENGE,
        )
    if not hmac.compare_digest(given.strip().encode(), token.encode()):
        raise RejectedRequest(401, "unauthorized", "The admin token is not right.", headers=CHALLENGE)
