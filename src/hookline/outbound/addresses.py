"""Which IP addresses an outbound request may not reach unless allowed: everything that is not public."""

from __future__ import annotations

from ipaddress import IPv4Address, IPv6Address, ip_address, ip_network

from hookline.outbound.allow import Address

_SHARED = ip_network("100.64.0.0/10")
"""Carrier-grade NAT (RFC 6598): inside a provider's network, not the internet."""
_NAT64 = ip_network("64:ff9b::/96")
"""The well-known NAT64 prefix: its last 32 bits are the IPv4 address a gateway connects to."""
_METADATA = frozenset({ip_address("169.254.169.254"), ip_address("fd00:ec2::254")})
"""Cloud instance metadata services (AWS, GCP, Azure, …): credentials live there."""


def refusal(address: Address) -> str | None:
    """Why the address may not be reached (e.g. "loopback"), or None for a public one.

    An IPv6 address that carries an IPv4 one (IPv4-mapped, NAT64, 6to4) is judged by the IPv4
    address it leads to: `::ffff:127.0.0.1` is loopback.
    """
    embedded = _embedded_ipv4(address)
    if embedded is not None:
        kind = refusal(embedded)
        return None if kind is None else f"{kind}, as IPv4 inside IPv6"
    return _kind(address)


def _kind(address: Address) -> str | None:
    if address in _METADATA:
        return "cloud metadata"
    if address.is_loopback:
        return "loopback"
    if address.is_unspecified:
        return "unspecified"
    if address.is_link_local:
        return "link-local"
    if address.is_multicast:
        return "multicast"
    if isinstance(address, IPv4Address) and address in _SHARED:
        return "shared carrier-grade NAT"
    if address.is_private:
        return "private"
    if address.is_reserved or not address.is_global:
        return "reserved"
    return None


def _embedded_ipv4(address: Address) -> IPv4Address | None:
    if not isinstance(address, IPv6Address):
        return None
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address in _NAT64:
        return IPv4Address(int(address) & 0xFFFFFFFF)
    return address.sixtofour
