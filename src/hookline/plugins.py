"""Plugins: modules named in `HOOKLINE_PLUGINS`, imported at start-up to register node types."""

from __future__ import annotations

import importlib
from collections.abc import Iterable

from hookline.errors import ConfigError


def load_plugins(modules: Iterable[str]) -> None:
    """Import each plugin module; a module that cannot be imported is a `ConfigError`."""
    for name in modules:
        try:
            importlib.import_module(name)
        except ImportError as exc:
            raise ConfigError(f"Cannot load the plugin {name!r} named in HOOKLINE_PLUGINS: {exc}") from exc
