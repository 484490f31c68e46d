"""IP addresses and networks as hookline reads them: IPv4-mapped IPv6 forms as their IPv4 ones.

Settings (trusted proxies), trigger configs (allow-lists) and client addresses all read addresses
and networks the same way, so a client is compared with the very networks an operator wrote.
"""

from __future__ import annotations

from ipaddress import IPv4Address, IPv4Network, IPv6Address, IPv6Network, ip_address, ip_network

Address = IPv4Address | IPv6Address
Network = IPv4Network | IPv6Network


def parse_network(entry: str) -> Network:
    """An IP (a single-address network) or a CIDR; ValueError, with the entry, when it is neither."""
    try:
        network = ip_network(entry.strip())
    except ValueError as error:
        raise ValueError(f"{entry!r} is not an IP address or a CIDR network ({error})") from None
    return _unmapped_network(network)


def parse_address(text: str) -> Address | None:
    """An IP address, an IPv4-mapped IPv6 address as its IPv4 one; None when the text is not an IP."""
    try:
        address = ip_address(text)
    except ValueError:
        return None
    if isinstance(address, IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def _unmapped_network(network: Network) -> Network:
    """An IPv4-mapped IPv6 network (`::ffff:203.0.113.0/120`) as the IPv4 network it covers.

    Client addresses are compared with IPv4-mapped ones unmapped, so the networks must be too.
    """
    if isinstance(network, IPv6Network) and network.prefixlen >= 96:
        mapped = network.network_address.ipv4_mapped
        if mapped is not None:
            return IPv4Network((mapped, network.prefixlen - 96))
    return network
