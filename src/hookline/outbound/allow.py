"""HOOKLINE_REQUEST_ALLOW: the host names and networks the request node may reach although private."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from ipaddress import IPv4Address, IPv4Network, IPv6Address, IPv6Network, ip_network

from hookline.errors import ConfigError

SETTING = "HOOKLINE_REQUEST_ALLOW"
"""The environment variable operators set; error messages name it."""

Address = IPv4Address | IPv6Address
Network = IPv4Network | IPv6Network

_LABEL = r"(?!-)[a-z0-9_-]{1,63}(?<!-)"
_HOST = re.compile(rf"(\*\.)?{_LABEL}(\.{_LABEL})*")


@dataclass(frozen=True, slots=True)
class AllowList:
    """Host names (exact, or `*.suffix` for every name under it) and IP networks let through the guard."""

    hosts: frozenset[str] = frozenset()
    suffixes: tuple[str, ...] = ()
    """From `*.internal`: `.internal`; a name ending with one of them is allowed."""
    networks: tuple[Network, ...] = ()

    def allows_host(self, host: str) -> bool:
        """Whether a host name was allowed by name (whatever addresses it resolves to)."""
        name = normal_host(host)
        return name in self.hosts or name.endswith(self.suffixes)

    def allows_address(self, address: Address) -> bool:
        """Whether an address lies in one of the allowed networks."""
        return any(address in network for network in self.networks)


def normal_host(host: str) -> str:
    """A host name as compared: lower case, without the trailing dot of a fully qualified name."""
    return host.lower().rstrip(".")


def parse_allow(entries: Iterable[str]) -> AllowList:
    """The allow-list from its entries; `ConfigError` naming the setting and the first bad entry."""
    hosts: set[str] = set()
    suffixes: list[str] = []
    networks: list[Network] = []
    for raw in entries:
        entry = raw.strip()
        if not entry:
            continue
        network = _network(entry)
        if network is not None:
            networks.append(network)
        elif _HOST.fullmatch(normal_host(entry)):
            name = normal_host(entry)
            if name.startswith("*."):
                suffixes.append(name[1:])
            else:
                hosts.add(name)
        else:
            raise ConfigError(
                f"{SETTING}: {entry!r} is neither a host name (api.internal, *.internal) nor an IP "
                "address or network (10.0.0.5, 10.0.0.0/8, fd00::/8); write entries without a "
                "scheme or port, separated by commas."
            )
    return AllowList(frozenset(hosts), tuple(suffixes), tuple(networks))


def _network(entry: str) -> Network | None:
    """An IP address or CIDR network, None when the entry looks like no IP at all."""
    text = entry[1:-1] if entry.startswith("[") and entry.endswith("]") else entry
    if not re.fullmatch(r"[0-9a-fA-F:.]+(/\d+)?", text) or re.fullmatch(r"[0-9a-fA-F]+", text):
        return None  # a name such as "cafe" or "db1" is a host, not a malformed address
    try:
        return ip_network(text)
    except ValueError as error:
        raise ConfigError(
            f"{SETTING}: {entry!r} is not a valid IP address or network ({error}); "
            "write a network by its first address, such as 10.0.0.0/8."
        ) from None
