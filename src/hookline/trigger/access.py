"""Who may call a webhook: its API key, its IP allow-list, and the client address they judge.

`config.apiKey = {"header": "X-Api-Key", "keys": [...]}` asks every request for one of the keys in
a header (401 otherwise); `config.allowFrom = ["203.0.113.0/24", "2001:db8::/32", ...]` accepts
requests from those addresses only (403 otherwise). The client address is the socket peer, unless
the peer is one of `HOOKLINE_TRUSTED_PROXIES`: then it is the right-most `X-Forwarded-For` entry
that is not a trusted proxy, because every entry left of the last one a trusted proxy wrote is
whatever the client claimed.
"""

from __future__ import annotations

import hmac
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from ipaddress import ip_network
from typing import Any

from hookline.errors import Problem, RejectedRequest, unknown_fields
from hookline.networks import Network, parse_address, parse_network

DEFAULT_API_KEY_HEADER = "X-Api-Key"
"""The header that carries the API key when `config.apiKey` names none."""

_API_KEY_FIELDS = ("header", "keys")
_TOKEN = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
"""An RFC 9110 header name."""
_UNSENDABLE = re.compile(r"[\x00-\x1f\x7f]")
"""Characters a header value cannot carry (HTAB included: it would be trimmed or mangled on the way)."""
_V4_WITH_PORT = re.compile(r"(\d{1,3}(?:\.\d{1,3}){3}):\d{1,5}")
_V6_WITH_PORT = re.compile(r"\[([0-9A-Fa-f:.]+)\](?::\d{1,5})?")


def check_api_key(setting: Any, headers: Mapping[str, str]) -> None:
    """Raise a 401 RejectedRequest unless the request carries one of `config.apiKey`'s keys.

    `headers` maps lower-case header names to their values (as ASGI gives them).
    """
    if setting is None or setting is False:
        return
    header, keys = _api_key_setting(setting)
    supplied = headers.get(header.lower())
    if not supplied:
        raise RejectedRequest(
            401, "api_key_missing", f"This webhook requires an API key in the {header} header."
        )
    raw = _wire_bytes(supplied)
    # Every key is compared, whatever matched before, so the timing tells neither which key
    # matched nor how many there are before it.
    matched = False
    for key in keys:
        matched |= hmac.compare_digest(raw, key)
    if not matched:
        raise RejectedRequest(401, "api_key_invalid", f"The API key in the {header} header is not correct.")


def api_key_header(config: Mapping[str, Any]) -> str | None:
    """The lower-case name of the header holding the API key (to redact it), or None without `apiKey`."""
    setting = config.get("apiKey")
    if not isinstance(setting, Mapping):
        return None
    header = setting.get("header", DEFAULT_API_KEY_HEADER)
    return header.lower() if isinstance(header, str) and header else None


@dataclass(frozen=True, slots=True)
class AllowList:
    """A workflow's `config.allowFrom`, parsed once: the networks its requests may come from."""

    networks: tuple[Network, ...]

    @classmethod
    def of(cls, config: Mapping[str, Any]) -> AllowList | None:
        """The allow-list of a trigger config, or None without `allowFrom` (everybody may call).

        An empty list lets nobody in. A setting stored before it was checked never opens the
        door: a non-list allows nobody, and an entry that is not an IP or CIDR matches nobody.
        """
        setting = config.get("allowFrom")
        if setting is None:
            return None
        entries = setting if isinstance(setting, list) else []
        return cls(tuple(network for entry in entries if (network := _network_or_none(entry)) is not None))

    def allows(self, address: str) -> bool:
        """Whether a client address (text; anything not an IP is refused) is in one of the networks."""
        parsed = parse_address(address)
        return parsed is not None and any(parsed in network for network in self.networks)

    def check(self, address: str) -> None:
        """Raise `403 ip_not_allowed` unless `allows(address)`."""
        if self.allows(address):
            return
        # The address hookline judged is shown (when it is one), so that an operator behind a
        # proxy sees at once whether HOOKLINE_TRUSTED_PROXIES is missing.
        who = f"from {address}" if parse_address(address) is not None else "from this address"
        raise RejectedRequest(403, "ip_not_allowed", f"This webhook does not accept requests {who}.")


@dataclass(frozen=True, slots=True)
class TrustedProxies:
    """The `HOOKLINE_TRUSTED_PROXIES` networks: peers whose `X-Forwarded-For` is believed."""

    networks: tuple[Network, ...] = ()

    @classmethod
    def of(cls, entries: Iterable[str]) -> TrustedProxies:
        """The trusted proxies of IP and CIDR texts; raises ValueError naming a bad entry."""
        return cls(tuple(parse_network(entry) for entry in entries))

    def trusts(self, address: str) -> bool:
        """Whether `address` (text) is a trusted proxy; text that is not an IP never is."""
        parsed = parse_address(address)
        return parsed is not None and any(parsed in network for network in self.networks)


def client_address(scope_client: Any, forwarded_for: str | None, trusted: TrustedProxies) -> str:
    """The address a request comes from: the peer, or behind trusted proxies the client they name.

    `scope_client` is ASGI's `scope["client"]` (host, port) or None; `forwarded_for` is every
    `X-Forwarded-For` line of the request joined with commas, in order. An entry that is not an IP
    is returned as it is, so that no allow-list matches it.
    """
    peer = normal_address(scope_client[0]) if scope_client else ""
    if not trusted.networks or not trusted.trusts(peer):
        return peer
    entries = [normal_address(entry) for entry in forwarded_for.split(",")] if forwarded_for else []
    # Each trusted proxy appends the address it saw on the right; the first untrusted entry from
    # the right is the one a trusted proxy saw connect. Everything left of it is the client's say.
    for entry in reversed(entries):
        if not trusted.trusts(entry):
            return entry
    return entries[0] if entries else peer


def access_problems(config: Mapping[str, Any]) -> list[Problem]:
    """The problems with a trigger config's `apiKey` and `allowFrom`, each at `config.<path>`."""
    return _api_key_problems(config.get("apiKey")) + _allow_from_problems(config.get("allowFrom"))


def normal_address(text: str) -> str:
    """An address as hookline shows it: trimmed, a port dropped, IPv4-mapped IPv6 as IPv4.

    Text that is not an IP (with or without a port) is returned trimmed, unchanged otherwise.
    """
    text = text.strip()
    # Some proxies (Azure's, for one) write `a.b.c.d:port` or `[v6]:port` into X-Forwarded-For.
    with_port = _V4_WITH_PORT.fullmatch(text) or _V6_WITH_PORT.fullmatch(text)
    candidate = with_port.group(1) if with_port else text
    parsed = parse_address(candidate)
    return text if parsed is None else str(parsed)


def _api_key_setting(setting: Any) -> tuple[str, tuple[bytes, ...]]:
    """The header name and the keys (UTF-8 bytes) of a switched-on `apiKey`."""
    if _api_key_problems(setting):
        # A setting that is on but unreadable must lock the door, not leave it open.
        raise RejectedRequest(
            401, "api_key_invalid", "API keys are switched on for this webhook but not set up correctly."
        )
    header: str = setting.get("header", DEFAULT_API_KEY_HEADER)
    return header, tuple(key.encode() for key in setting["keys"])


def _wire_bytes(value: str) -> bytes:
    """A header value as the bytes that were sent (ASGI values arrive decoded as Latin-1)."""
    try:
        return value.encode("latin-1")
    except UnicodeEncodeError:
        return value.encode()  # text that never came off the wire (a caller's own Mapping)


def _api_key_problems(setting: Any) -> list[Problem]:
    where = "config.apiKey"
    if setting is None or setting is False:
        return []
    if not isinstance(setting, dict):
        return [Problem(where, 'must be false or an object like {"header": "X-Api-Key", "keys": ["..."]}')]
    problems = unknown_fields(setting, _API_KEY_FIELDS, where)
    header = setting.get("header", DEFAULT_API_KEY_HEADER)
    if not isinstance(header, str) or not _TOKEN.fullmatch(header):
        problems.append(
            Problem(f"{where}.header", "must be a header name: letters, digits and !#$%&'*+-.^_`|~ only")
        )
    keys = setting.get("keys")
    if not isinstance(keys, list) or not keys:
        problems.append(Problem(f"{where}.keys", "must be a list of one or more keys"))
        return problems
    for index, key in enumerate(keys):
        wrong = _key_problem(key)
        if wrong is not None:  # the message says what is wrong, never the key itself
            problems.append(Problem(f"{where}.keys[{index}]", wrong))
    return problems


def _key_problem(key: Any) -> str | None:
    if not isinstance(key, str) or not key:
        return "must be a non-empty string"
    if _UNSENDABLE.search(key):
        return "holds a control character, which a header cannot carry"
    if key != key.strip(" "):
        return "must not start or end with a space: HTTP drops those, so the key could never match"
    return None


def _allow_from_problems(setting: Any) -> list[Problem]:
    where = "config.allowFrom"
    if setting is None:
        return []
    if not isinstance(setting, list):
        return [
            Problem(
                where, 'must be a list of IP addresses and CIDR networks, like ["203.0.113.0/24"], or null'
            )
        ]
    problems: list[Problem] = []
    for index, entry in enumerate(setting):
        wrong = _entry_problem(entry)
        if wrong is not None:
            problems.append(Problem(f"{where}[{index}]", wrong))
    return problems


def _entry_problem(entry: Any) -> str | None:
    if not isinstance(entry, str):
        return "must be a string: an IP address or a CIDR network"
    try:
        ip_network(entry.strip())
    except ValueError:
        pass
    else:
        return None
    try:
        loose = ip_network(entry.strip(), strict=False)
    except ValueError:
        return f"{entry!r} is not an IP address or a CIDR network (like 203.0.113.0/24 or 2001:db8::/32)"
    # `203.0.113.7/24` is most likely a typo for the network or for the single address.
    return f"{entry!r} has bits set after the prefix: write {str(loose)!r} for the network"


def _network_or_none(entry: Any) -> Network | None:
    if not isinstance(entry, str):
        return None
    try:
        return parse_network(entry)
    except ValueError:
        return None
