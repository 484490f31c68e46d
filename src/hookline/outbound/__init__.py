"""Outbound HTTP for nodes: the allow-list, the address guard and the one client per process."""

from hookline.outbound.allow import AllowList, parse_allow
from hookline.outbound.client import open_http_client
from hookline.outbound.guard import AddressRefused

__all__ = ["AddressRefused", "AllowList", "open_http_client", "parse_allow"]
