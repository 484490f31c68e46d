"""Indexed placeholders: `[secret:N]` keeps the stored secret at index N of its list, whatever its place."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hookline.trigger.secrets import PLACEHOLDER, keep_secrets, mask_secrets

STORED: dict[str, Any] = {
    "basicAuthentication": {"username": "shop", "password": "pw-1"},
    "signature": {"preset": "github", "secrets": ["sign-0", "{{$env.HOOK_SIGNING}}", "sign-2"]},
    "apiKey": {"header": "X-Api-Key", "keys": ["key-0", "key-1", "key-2"]},
}


def keys(*sent: Any) -> tuple[list[Any], list[tuple[str, str]]]:
    """The API keys saved when `sent` is sent over `STORED`, and the problems as (where, message)."""
    kept, problems = keep_secrets({"apiKey": {"header": "X-Api-Key", "keys": list(sent)}}, STORED)
    return kept["apiKey"]["keys"], [(problem.where, problem.message) for problem in problems]


def test_answers_show_each_literal_by_its_index_in_the_stored_list() -> None:
    """A list's literal secrets show as `[secret:i]`, i counting env references too; the password as plain."""
    masked = mask_secrets(STORED)
    assert masked["signature"]["secrets"] == ["[secret:0]", "{{$env.HOOK_SIGNING}}", "[secret:2]"]
    assert masked["apiKey"]["keys"] == ["[secret:0]", "[secret:1]", "[secret:2]"]
    assert masked["basicAuthentication"]["password"] == PLACEHOLDER


def test_dropping_the_first_secret_keeps_the_others() -> None:
    """Rotation: the list read back without its first entry keeps keys 1 and 2, now at 0 and 1."""
    assert keys("[secret:1]", "[secret:2]") == (["key-1", "key-2"], [])


def test_dropping_the_last_secret_keeps_the_others() -> None:
    """The list read back without its last entry keeps keys 0 and 1."""
    assert keys("[secret:0]", "[secret:1]") == (["key-0", "key-1"], [])


def test_a_reordered_list_keeps_each_secret_by_its_index() -> None:
    """Placeholders in another order keep the secrets they name, in the order sent."""
    assert keys("[secret:2]", "[secret:0]", "[secret:1]") == (["key-2", "key-0", "key-1"], [])


def test_new_literals_and_env_references_mix_with_kept_secrets() -> None:
    """A new key and an env reference are saved as sent, beside the kept secret they surround."""
    sent = ("key-new", "[secret:2]", "{{$env.HOOK_KEY}}")
    assert keys(*sent) == (["key-new", "key-2", "{{$env.HOOK_KEY}}"], [])


def test_each_list_keeps_from_its_own_stored_list() -> None:
    """`[secret:0]` among signing secrets keeps a signing secret; among API keys, an API key."""
    sent = {"signature": {"secrets": ["[secret:2]", "[secret:0]"]}, "apiKey": {"keys": ["[secret:2]"]}}
    kept, problems = keep_secrets(sent, STORED)
    assert problems == []
    assert kept["signature"]["secrets"] == ["sign-2", "sign-0"]
    assert kept["apiKey"]["keys"] == ["key-2"]


def test_plain_placeholders_still_keep_the_secret_at_their_own_index() -> None:
    """A client that sends `[secret]` back, as before, keeps the secret stored at the same index."""
    assert keys(PLACEHOLDER, PLACEHOLDER) == (["key-0", "key-1"], [])
    assert keys("key-new", PLACEHOLDER) == (["key-new", "key-1"], [])


def test_the_same_index_twice_is_a_problem_at_the_second() -> None:
    """`[secret:1]` twice (or with a plain `[secret]` at index 1) names both places; nothing is kept twice."""
    _, problems = keys("[secret:1]", "[secret:1]")
    assert [where for where, _ in problems] == ["config.apiKey.keys[1]"]
    assert "config.apiKey.keys[0] keeps already" in problems[0][1]
    _, problems = keys("[secret:1]", PLACEHOLDER)
    assert [where for where, _ in problems] == ["config.apiKey.keys[1]"]


@pytest.mark.parametrize("index", [3, 99])
def test_an_index_past_the_stored_list_is_a_problem(index: int) -> None:
    """An index with no stored secret is a problem at its place, saying what to write instead."""
    kept, problems = keys("[secret:0]", f"[secret:{index}]")
    assert [where for where, _ in problems] == ["config.apiKey.keys[1]"]
    assert f"no literal secret is stored at config.apiKey.keys[{index}]" in problems[0][1]
    assert "{{$env.NAME}}" in problems[0][1]
    assert kept[1] == f"[secret:{index}]"  # left as sent: the problem keeps it from being saved


def test_an_index_holding_an_env_reference_keeps_nothing() -> None:
    """`[secret:1]` where an env reference is stored is a problem: references are sent as written."""
    _, problems = keep_secrets({"signature": {"secrets": ["[secret:1]"]}}, STORED)
    assert [problem.where for problem in problems] == ["config.signature.secrets[0]"]
    assert "no literal secret is stored at config.signature.secrets[1]" in problems[0].message


@pytest.mark.parametrize(
    "sent", ["[secret:01]", "[secret:-1]", "[Secret:1]", "[secret:x]", " [secret:1]", "[ secret ]"]
)
def test_text_that_reads_as_a_placeholder_is_never_saved(sent: str) -> None:
    """A near placeholder is not taken as the secret itself: it is a problem naming the right form."""
    _, problems = keys(sent)
    assert [where for where, _ in problems] == ["config.apiKey.keys[0]"]
    assert "[secret:N] keeps the stored secret at index N" in problems[0][1]


def test_the_password_takes_only_the_plain_placeholder() -> None:
    """`[secret:0]` as the Basic-auth password is a problem; `[secret]` keeps the stored password."""
    _, problems = keep_secrets({"basicAuthentication": {"username": "u", "password": "[secret:0]"}}, STORED)
    assert [problem.where for problem in problems] == ["config.basicAuthentication.password"]
    assert "[secret] keeps the stored password" in problems[0].message
    kept, problems = keep_secrets({"basicAuthentication": {"username": "u", "password": PLACEHOLDER}}, STORED)
    assert (kept["basicAuthentication"]["password"], problems) == ("pw-1", [])


@given(stored=st.lists(st.text(min_size=1, max_size=6), min_size=1, max_size=6), data=st.data())
def test_any_subset_in_any_order_keeps_exactly_the_secrets_chosen(
    stored: list[str], data: st.DataObject
) -> None:
    """Whatever entries of the answer are sent back, in whatever order, the saved list holds those secrets."""
    shown = mask_secrets({"apiKey": {"keys": stored}})["apiKey"]["keys"]
    order = data.draw(st.permutations(range(len(stored))))
    chosen = order[: data.draw(st.integers(min_value=0, max_value=len(order)))]
    sent = {"apiKey": {"keys": [shown[index] for index in chosen]}}
    kept, problems = keep_secrets(sent, {"apiKey": {"keys": stored}})
    assert problems == []
    assert kept["apiKey"]["keys"] == [stored[index] for index in chosen]
