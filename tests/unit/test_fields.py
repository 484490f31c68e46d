"""The header rules of webhook answers (`trigger.fields`), checked against what the server accepts."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from uvicorn.protocols.http.httptools_impl import HEADER_RE, HEADER_VALUE_RE

from hookline.header_fields import (
    RESERVED_HEADERS,
    Unsendable,
    encode_headers,
    header_text,
    name_problem,
    value_problem,
)
from hookline.types import JsonValue


@given(st.text())
def test_a_value_is_refused_exactly_when_the_server_would_refuse_it(text: str) -> None:
    """Text that uvicorn would refuse is refused (naming the header); any other is sent as its UTF-8 bytes."""
    if HEADER_VALUE_RE.search(text.encode()) is not None:
        with pytest.raises(Unsendable, match="'X-Value'"):
            encode_headers([("X-Value", text)])
        return
    _, raw = encode_headers([("X-Value", text)])
    assert raw == [(b"x-value", text.encode())]


@given(st.text(min_size=1))
def test_every_name_is_either_refused_or_accepted_by_the_server(name: str) -> None:
    """A name the save-time check passes is sent by uvicorn; one it refuses is refused when sent too."""
    try:
        _, raw = encode_headers([(name, "1")])
    except Unsendable:
        assert name_problem(name) is not None
    else:
        if name.lower() in RESERVED_HEADERS:
            assert raw == []
        else:
            assert name_problem(name) is None
            assert HEADER_RE.search(raw[0][0]) is None


@pytest.mark.parametrize(
    ("value", "text"),
    [("€42", "€42"), (None, ""), (42, "42"), (True, "true"), ({"a": [1]}, '{"a":[1]}'), ("a\tb", "a\tb")],
)
def test_a_rendered_value_becomes_text(value: JsonValue, text: str) -> None:
    """Text stays as it is, null is empty, anything else is its JSON."""
    assert header_text("X", value) == text


def test_reserved_headers_are_dropped_from_what_is_sent_and_recorded() -> None:
    """A workflow stored before reserved headers were refused has them dropped, in any case, not sent."""
    texts, raw = encode_headers([("Content-Length", "1"), ("X-A", "a"), ("connection", "close")])
    assert texts == (("X-A", "a"),)
    assert raw == [(b"x-a", b"a")]


def test_a_value_that_cannot_be_written_as_json_is_refused() -> None:
    """An integer beyond 64 bits is refused with the header's name, not sent as something else."""
    with pytest.raises(Unsendable, match="header 'X-N' cannot be written as JSON"):
        header_text("X-N", 2**70)


def test_the_fixed_text_of_a_value_is_checked_outside_its_placeholders() -> None:
    """Only the text outside `{{ }}` is fixed: a control character there can never be sent."""
    assert value_problem("€ {{ $context.body.a }}\t") is None
    assert value_problem("{{ $context.body.a\n}}") is None
    assert value_problem("a\r\n{{$context.body.a}}") == "holds the control character U+000D"
