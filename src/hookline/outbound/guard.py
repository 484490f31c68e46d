"""The server-side request forgery guard: where a connection is made, resolve, check, connect.

It sits in httpcore's network backend, the one place every TCP connection of the client is
opened, so each hop of a redirect is checked by construction. The name is resolved once, every
address it gives is checked, and the connection goes to a checked address: a DNS answer that
changes between the check and the connection (rebinding) cannot slip through. TLS still runs
over that connection with the URL's host name, so certificates are verified as usual.
"""

from __future__ import annotations

import socket
from collections.abc import Iterable
from ipaddress import ip_address

import anyio
import httpcore

from hookline.outbound.addresses import refusal
from hookline.outbound.allow import SETTING, Address, AllowList


class AddressRefused(Exception):
    """A connection the guard refused: the host resolved to an address that is not public."""

    def __init__(self, host: str, address: Address, kind: str) -> None:
        self.host = host
        self.address = address
        if _is_ip(host):  # the URL named the address itself: say it as the URL did
            via, allow = host, f"{SETTING}={host}"
        else:
            via = f"{address} ({host} resolves to it)"
            allow = f"{SETTING}={host} (the name) or {SETTING}={address}"
        super().__init__(
            f"refused to connect to {via}: not a public address ({kind}). "
            f"To let requests reach it, the operator sets {allow}."
        )


def _is_ip(host: str) -> bool:
    try:
        ip_address(host)
    except ValueError:
        return False
    return True


class GuardedBackend(httpcore.AsyncNetworkBackend):
    """httpcore's network backend with the guard in front: only checked addresses are connected to."""

    def __init__(self, allow: AllowList, backend: httpcore.AsyncNetworkBackend | None = None) -> None:
        self._allow = allow
        self._backend = backend or httpcore.AnyIOBackend()

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,  # noqa: ASYNC109 - httpcore's interface
        local_address: str | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        """Resolve `host`, refuse it if any address is not allowed, else connect to the first that answers."""
        addresses = await _resolve(host, port, timeout)
        if not self._allow.allows_host(host):
            for address in addresses:
                kind = refusal(address)
                if kind is not None and not self._allow.allows_address(address):
                    raise AddressRefused(host, address, kind)
        *others, last = addresses  # _resolve gives at least one
        for address in others:
            try:
                return await self._backend.connect_tcp(
                    str(address), port, timeout, local_address, socket_options
                )
            except httpcore.ConnectError:
                continue  # the next address of the name may answer (IPv6 down, IPv4 up)
        return await self._backend.connect_tcp(str(last), port, timeout, local_address, socket_options)

    async def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,  # noqa: ASYNC109 - httpcore's interface
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        """Never: the client is built without a socket path, and a local socket is no public address."""
        raise httpcore.ConnectError("connections to a local socket are not allowed")

    async def sleep(self, seconds: float) -> None:
        """Sleep as the wrapped backend does (httpcore's own connect retries; off here)."""
        await self._backend.sleep(seconds)


async def _resolve(host: str, port: int, seconds: float | None) -> list[Address]:
    """The addresses of a host, in the resolver's order without repeats; an IP literal is itself."""
    try:
        return [ip_address(host)]
    except ValueError:
        pass
    try:
        with anyio.fail_after(seconds):
            infos = await anyio.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except TimeoutError:
        raise httpcore.ConnectTimeout(f"resolving {host} took longer than the timeout") from None
    except (socket.gaierror, UnicodeError) as error:
        raise httpcore.ConnectError(f"the host name {host} could not be resolved ({error})") from None
    addresses: list[Address] = []
    for *_, sockaddr in infos:
        address = ip_address(sockaddr[0])
        if address not in addresses:
            addresses.append(address)
    if not addresses:
        raise httpcore.ConnectError(f"the host name {host} has no address")
    return addresses
