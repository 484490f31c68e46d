"""The sockets of `hookline serve --processes`: one per process and port, all on the same port."""

from __future__ import annotations

import pytest

from hookline.errors import ConfigError
from hookline.supervisor import bind_sockets, close_sockets


def test_every_process_gets_its_own_socket_on_the_same_ports() -> None:
    """Port 0 is chosen once: every copy listens on the port the first one got, one socket per port."""
    groups = bind_sockets("127.0.0.1", [0, 0], 3)
    try:
        ports = [[sock.getsockname()[1] for sock in group] for group in groups]
        assert len(ports) == 3
        assert ports[0] == ports[1] == ports[2]
        assert ports[0][0] != ports[0][1]
        assert len({sock.fileno() for group in groups for sock in group}) == 6
    finally:
        close_sockets(groups)


def test_a_port_in_use_is_refused_even_by_a_reuse_port_listener() -> None:
    """Another `serve --processes` on the port (SO_REUSEPORT too) must not silently share it."""
    groups = bind_sockets("127.0.0.1", [0], 2)
    port = groups[0][0].getsockname()[1]
    try:
        with pytest.raises(ConfigError, match=f"Cannot listen on 127.0.0.1:{port}"):
            bind_sockets("127.0.0.1", [port], 2)
    finally:
        close_sockets(groups)
