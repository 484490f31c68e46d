"""Tests for who may call a webhook: API keys, IP allow-lists, trusted proxies and X-Forwarded-For."""

from __future__ import annotations

import hmac
from typing import Any

import pytest

from hookline.errors import ConfigError, RejectedRequest
from hookline.settings import Settings
from hookline.trigger.access import (
    AllowList,
    TrustedProxies,
    access_problems,
    api_key_header,
    check_api_key,
    client_address,
)

KEYS = {"header": "X-Api-Key", "keys": ["first-key-0123", "second-key-4567"]}


def refusal(setting: Any, headers: dict[str, str]) -> RejectedRequest:
    """The RejectedRequest check_api_key raises for these headers (fails the test when none)."""
    with pytest.raises(RejectedRequest) as caught:
        check_api_key(setting, headers)
    return caught.value


def allow(*entries: Any) -> AllowList:
    """The allow-list of a config whose `allowFrom` holds these entries."""
    allow_list = AllowList.of({"allowFrom": list(entries)})
    assert allow_list is not None
    return allow_list


def wheres(config: dict[str, Any]) -> list[str]:
    """Where access_problems finds problems in a trigger config."""
    return [problem.where for problem in access_problems(config)]


# API keys


@pytest.mark.parametrize("setting", [None, False])
def test_api_key_off_lets_every_request_in(setting: Any) -> None:
    """Without `apiKey`, a request with no key or any key is accepted."""
    check_api_key(setting, {})
    check_api_key(setting, {"x-api-key": "anything"})


def test_each_of_several_keys_is_accepted() -> None:
    """Any one of the configured keys passes (so keys can be rotated)."""
    check_api_key(KEYS, {"x-api-key": "first-key-0123"})
    check_api_key(KEYS, {"x-api-key": "second-key-4567"})


def test_missing_key_is_401_api_key_missing() -> None:
    """No header, or an empty one, answers 401 `api_key_missing` naming the header."""
    for headers in ({}, {"x-api-key": ""}):
        error = refusal(KEYS, headers)
        assert (error.status, error.code) == (401, "api_key_missing")
        assert "X-Api-Key" in error.message


def test_wrong_key_is_401_api_key_invalid_and_the_message_holds_no_key() -> None:
    """A wrong key, a prefix of a right one, or a right one with extra text answers 401 `api_key_invalid`."""
    for supplied in ("wrong", "first-key", "first-key-01234", "FIRST-KEY-0123"):
        error = refusal(KEYS, {"x-api-key": supplied})
        assert (error.status, error.code) == (401, "api_key_invalid")
        for text in (supplied, *KEYS["keys"]):
            assert text not in error.message


def test_configured_header_name_is_matched_case_insensitively() -> None:
    """A configured header is read by its lower-case name (as ASGI gives it); the default is X-Api-Key."""
    check_api_key({"header": "Authorization-Token", "keys": ["k1"]}, {"authorization-token": "k1"})
    check_api_key({"keys": ["k1"]}, {"x-api-key": "k1"})
    assert (
        api_key_header({"apiKey": {"header": "Authorization-Token", "keys": ["k1"]}}) == "authorization-token"
    )
    assert api_key_header({"apiKey": {"keys": ["k1"]}}) == "x-api-key"
    assert api_key_header({}) is None


def test_utf8_key_sent_as_raw_bytes_matches() -> None:
    """A non-ASCII key arrives as UTF-8 bytes that ASGI decodes as Latin-1; it still matches."""
    wire = "clé-✓".encode().decode("latin-1")
    check_api_key({"keys": ["clé-✓"]}, {"x-api-key": wire})


def test_every_key_is_compared_even_after_a_match(monkeypatch: pytest.MonkeyPatch) -> None:
    """The check compares the supplied key with every configured key, the first matching or not."""
    compared: list[bytes] = []
    real = hmac.compare_digest

    def counting(a: bytes, b: bytes) -> bool:
        compared.append(b)
        return real(a, b)

    monkeypatch.setattr(hmac, "compare_digest", counting)
    check_api_key(KEYS, {"x-api-key": "first-key-0123"})
    assert compared == [b"first-key-0123", b"second-key-4567"]


@pytest.mark.parametrize(
    "setting", ["key", {"keys": []}, {"keys": [""]}, {"header": "bad header", "keys": ["k"]}]
)
def test_unreadable_api_key_setting_locks_the_door(setting: Any) -> None:
    """A switched-on `apiKey` stored in a broken shape refuses every request, even one that sends a key."""
    error = refusal(setting, {"x-api-key": "k"})
    assert (error.status, error.code) == (401, "api_key_invalid")


# Allow-lists


def test_allow_list_off_without_allow_from() -> None:
    """A config without `allowFrom` (or with null) has no allow-list: everybody may call."""
    assert AllowList.of({}) is None
    assert AllowList.of({"allowFrom": None}) is None


def test_empty_allow_list_refuses_everyone() -> None:
    """`allowFrom: []` lets nobody in (a way to close a webhook without disabling it)."""
    empty = allow()
    assert not empty.allows("127.0.0.1")
    assert not empty.allows("::1")


def test_ipv4_cidr_edges() -> None:
    """A /24 holds its first and last address and nothing either side; a bare IP holds itself only."""
    allow_list = allow("203.0.113.0/24", "198.51.100.7")
    for inside in ("203.0.113.0", "203.0.113.255", "198.51.100.7"):
        assert allow_list.allows(inside), inside
    for outside in ("203.0.112.255", "203.0.114.0", "198.51.100.6", "198.51.100.8"):
        assert not allow_list.allows(outside), outside


def test_ipv6_cidr_and_single_address() -> None:
    """IPv6 networks and single addresses match in any spelling of the address."""
    allow_list = allow("2001:db8::/32", "2001:db9::7")
    assert allow_list.allows("2001:db8::1")
    assert allow_list.allows("2001:0db8:ffff:ffff:ffff:ffff:ffff:ffff")
    assert allow_list.allows("2001:DB9:0:0:0:0:0:7")
    assert not allow_list.allows("2001:db9::8")
    assert not allow_list.allows("2001:dba::1")


def test_ipv4_mapped_client_matches_ipv4_entries() -> None:
    """A client seen as `::ffff:203.0.113.5` (a dual-stack socket) matches IPv4 entries, and only those."""
    allow_list = allow("203.0.113.0/24")
    assert allow_list.allows("::ffff:203.0.113.5")
    assert not allow_list.allows("::ffff:203.0.114.5")
    assert allow("::ffff:203.0.113.0/120").allows("203.0.113.9")


def test_ipv4_and_ipv6_never_match_each_other() -> None:
    """An IPv4 client never matches an IPv6 network, nor the reverse (`::/0` is not "everything")."""
    assert not allow("::/0").allows("203.0.113.5")
    assert not allow("0.0.0.0/0").allows("2001:db8::1")


def test_refusal_is_403_ip_not_allowed_naming_the_address() -> None:
    """A client outside the list is refused 403 `ip_not_allowed`; the message names only a real address."""
    allow_list = allow("203.0.113.0/24")
    allow_list.check("203.0.113.5")
    with pytest.raises(RejectedRequest) as caught:
        allow_list.check("198.51.100.1")
    assert (caught.value.status, caught.value.code) == (403, "ip_not_allowed")
    assert "198.51.100.1" in caught.value.message
    with pytest.raises(RejectedRequest) as caught:
        allow_list.check("<script>")
    assert "<script>" not in caught.value.message


def test_not_an_address_matches_nothing() -> None:
    """Text that is not an IP (a malformed forwarded entry, an empty peer) is never allowed."""
    allow_list = allow("0.0.0.0/0", "::/0")
    for text in ("", "unknown", "203.0.113.5:80", "999.1.1.1", "2001:db8::g"):
        assert not allow_list.allows(text), text


def test_stored_broken_allow_from_never_opens_the_door() -> None:
    """A non-list `allowFrom` allows nobody, and its bad entries match nobody while good ones still work."""
    broken = AllowList.of({"allowFrom": "203.0.113.0/24"})
    assert broken is not None
    assert not broken.allows("203.0.113.5")
    mixed = allow("nonsense", 7, "203.0.113.0/24")
    assert mixed.allows("203.0.113.5")
    assert len(mixed.networks) == 1


# The client address


def test_without_trusted_proxies_the_peer_counts() -> None:
    """With no trusted proxies, X-Forwarded-For is ignored: the socket peer is the client."""
    assert client_address(("198.51.100.1", 5000), "203.0.113.5", TrustedProxies()) == "198.51.100.1"


def test_untrusted_peer_cannot_forward() -> None:
    """A peer that is not a trusted proxy is the client, whatever X-Forwarded-For it sends."""
    trusted = TrustedProxies.of(["10.0.0.0/8"])
    assert client_address(("198.51.100.1", 5000), "10.0.0.1, 203.0.113.5", trusted) == "198.51.100.1"


def test_behind_one_trusted_proxy_the_right_most_entry_counts() -> None:
    """Behind a trusted proxy, the entry it appended counts; spoofed entries to its left are ignored."""
    trusted = TrustedProxies.of(["10.0.0.1"])
    assert client_address(("10.0.0.1", 5000), "203.0.113.5", trusted) == "203.0.113.5"
    spoofed = "1.2.3.4, 203.0.113.0 ,203.0.113.5"
    assert client_address(("10.0.0.1", 5000), spoofed, trusted) == "203.0.113.5"


def test_a_chain_of_trusted_proxies_is_skipped_from_the_right() -> None:
    """Through a CDN and a load balancer (both trusted), the first untrusted entry from the right counts."""
    trusted = TrustedProxies.of(["10.0.0.0/8", "192.0.2.0/24"])
    chain = "6.6.6.6,   203.0.113.5 , 192.0.2.10,10.1.2.3"
    assert client_address(("10.0.0.1", 5000), chain, trusted) == "203.0.113.5"


def test_when_every_entry_is_trusted_the_left_most_counts() -> None:
    """A request from inside the trusted networks is from the left-most entry; with no header, the peer."""
    trusted = TrustedProxies.of(["10.0.0.0/8"])
    assert client_address(("10.0.0.1", 5000), "10.9.9.9, 10.0.0.2", trusted) == "10.9.9.9"
    assert client_address(("10.0.0.1", 5000), None, trusted) == "10.0.0.1"
    assert client_address(("10.0.0.1", 5000), "", trusted) == "10.0.0.1"


def test_malformed_entry_is_the_client_and_matches_no_allow_list() -> None:
    """A malformed entry right of the trusted ones is taken as the address, which no allow-list allows."""
    trusted = TrustedProxies.of(["10.0.0.1"])
    for forwarded, expected in (
        ("203.0.113.5, garbage", "garbage"),
        ("203.0.113.5, ", ""),
        ("unknown", "unknown"),
    ):
        address = client_address(("10.0.0.1", 5000), forwarded, trusted)
        assert address == expected
        assert not allow("0.0.0.0/0", "::/0").allows(address)


def test_ipv6_proxies_and_clients() -> None:
    """IPv6 peers, proxies and clients work; a port a proxy wrote is dropped; mapped IPv4 is unmapped."""
    trusted = TrustedProxies.of(["2001:db8:ffff::/48"])
    peer = ("2001:db8:ffff::1", 5000)
    assert client_address(peer, "2001:db8:1::5, 2001:db8:ffff::2", trusted) == "2001:db8:1::5"
    assert client_address(peer, "[2001:db8:1::5]:443", trusted) == "2001:db8:1::5"
    assert client_address(peer, "203.0.113.5:8080", trusted) == "203.0.113.5"
    assert client_address(
        ("::ffff:10.0.0.1", 5000), "::ffff:203.0.113.5", TrustedProxies.of(["10.0.0.1"])
    ) == ("203.0.113.5")


def test_no_peer_is_no_address() -> None:
    """A request without a socket peer (a Unix socket) has the empty address, which is never trusted."""
    assert client_address(None, "203.0.113.5", TrustedProxies.of(["0.0.0.0/0"])) == ""


# Settings


def test_trusted_proxies_setting_is_parsed_at_start() -> None:
    """HOOKLINE_TRUSTED_PROXIES takes comma-separated IPs and CIDRs; it is empty by default."""
    assert Settings.from_env({}).trusted_proxies == ()
    settings = Settings.from_env({"HOOKLINE_TRUSTED_PROXIES": " 10.0.0.0/8, 127.0.0.1 ,fd00::/8"})
    assert settings.trusted_proxies == ("10.0.0.0/8", "127.0.0.1/32", "fd00::/8")
    assert TrustedProxies.of(settings.trusted_proxies).trusts("10.2.3.4")


@pytest.mark.parametrize("entry", ["localhost", "10.0.0.1/8", "10.0.0.0/33"])
def test_bad_trusted_proxy_is_a_config_error_naming_it(entry: str) -> None:
    """A trusted-proxy entry that is not an IP or CIDR stops the start with an error naming it."""
    with pytest.raises(ConfigError) as caught:
        Settings.from_env({"HOOKLINE_TRUSTED_PROXIES": f"127.0.0.1,{entry}"})
    assert "HOOKLINE_TRUSTED_PROXIES" in caught.value.message
    assert repr(entry) in caught.value.message


# Save-time checks


def test_valid_access_settings_have_no_problems() -> None:
    """A full apiKey and an allow-list of IPv4 and IPv6 addresses and networks validate."""
    config = {"apiKey": KEYS, "allowFrom": ["203.0.113.0/24", "2001:db8::/32", "198.51.100.7", "::1"]}
    assert access_problems(config) == []
    assert access_problems({"apiKey": False, "allowFrom": None}) == []
    assert access_problems({"allowFrom": []}) == []


def test_api_key_problems_name_the_field_and_never_the_key() -> None:
    """Each wrong part of `apiKey` is a problem at its own path; the messages never hold a key."""
    config = {"apiKey": {"header": "X Api", "keys": ["ok", "", 5, " padded", "line\nbreak"], "extra": 1}}
    problems = access_problems(config)
    assert [p.where for p in problems] == [
        "config.apiKey.extra",
        "config.apiKey.header",
        "config.apiKey.keys[1]",
        "config.apiKey.keys[2]",
        "config.apiKey.keys[3]",
        "config.apiKey.keys[4]",
    ]
    assert not any("padded" in p.message or "break" in p.message for p in problems)
    assert wheres({"apiKey": {"keys": []}}) == ["config.apiKey.keys"]
    assert wheres({"apiKey": "secret"}) == ["config.apiKey"]


def test_allow_from_problems_name_each_bad_entry() -> None:
    """Each entry that is not an IP or CIDR is a problem at its index; host bits get a suggestion."""
    problems = access_problems(
        {"allowFrom": ["203.0.113.0/24", "203.0.113.7/24", "example.com", 3, "10.0.0.0/33"]}
    )
    assert [p.where for p in problems] == [
        "config.allowFrom[1]",
        "config.allowFrom[2]",
        "config.allowFrom[3]",
        "config.allowFrom[4]",
    ]
    assert "'203.0.113.0/24'" in problems[0].message
    assert wheres({"allowFrom": "203.0.113.0/24"}) == ["config.allowFrom"]
