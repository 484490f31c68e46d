"""Property-based fuzzing of the webhook route on a live server, with hypothesis, on each database.

Each example is one request built byte by byte: a method, a key (an asynchronous workflow, one
behind Basic authentication, or none), a query string, a content type, a body (bytes, JSON,
deep nesting, edge cases), extra headers (valid HTTP tokens and field values only, so that
the request is one a client could send), with `Content-Length` or chunked. Every request
must be answered within `ANSWER_WITHIN` seconds, never with a 5xx nor by a dropped
connection; at the end, what was recorded must be exactly what the `2xx` answers named.
The workflows whose answers echo request values are left out: an echoed control character is a
deliberate `500 answer_invalid` there (see test_answers.py).
"""

from __future__ import annotations

import asyncio
import json
import string
from collections import defaultdict
from urllib.parse import quote_from_bytes

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.hostile._ledger import Ledger
from tests.hostile._raw import HOST, WEBHOOK_PATH, RawAnswer, exchange
from tests.hostile._workflows import ASYNC_KEY, BASIC, LOCKED_KEY
from tests.hostile.conftest import Hostile

pytestmark = pytest.mark.slow

MAX_EXAMPLES = 150
ANSWER_WITHIN = 10.0
"""How long one request may take: far more than any answer needs, far less than a hang."""

KEYS = (ASYNC_KEY, LOCKED_KEY, "hostile-nobody")

TOKEN = string.ascii_letters + string.digits + "!#$%&'*+-.^_`|~"
"""The characters of an HTTP token (RFC 9110 §5.6.2): what header names are made of."""

FRAMING = frozenset(
    {"host", "content-length", "content-type", "transfer-encoding", "connection", "expect", "upgrade", "te"}
)
"""Header names the fuzz leaves to the request's framing (an `Expect` would also change the answer)."""

FIELD_BYTES = bytes(range(0x21, 0x7F)) + bytes(range(0x80, 0x100))
"""The visible characters and obs-text a field value may hold (with spaces and tabs inside)."""

header_names = st.text(TOKEN, min_size=1, max_size=24).filter(lambda name: name.lower() not in FRAMING)
header_values = st.builds(
    lambda head, middle: head + middle,
    st.binary(min_size=1, max_size=1).filter(lambda b: b[0] in FIELD_BYTES),
    st.lists(st.sampled_from([bytes([b]) for b in FIELD_BYTES] + [b" ", b"\t"]), max_size=60).map(b"".join),
).map(lambda value: value.rstrip(b" \t"))

query_strings = st.lists(
    st.one_of(
        st.text("ab0[].=&%+-_~!$'()*,;:@/?", max_size=40),
        st.binary(max_size=24).map(lambda raw: quote_from_bytes(raw, safe="")),
    ),
    max_size=4,
).map("".join)

content_types = st.one_of(
    st.none(),
    st.sampled_from(
        [
            "application/json",
            "application/vnd.api+json; charset=utf-8",
            "application/x-www-form-urlencoded",
            "multipart/form-data; boundary=xyz",
            "multipart/form-data",
            "text/plain; charset=latin-1",
            "application/xml",
            "text/xml",
            "application/x-ndjson",
            "application/octet-stream",
            "application/json; charset=utf-16",
        ]
    ),
    st.builds(
        lambda kind, sub: f"{kind}/{sub}",
        st.text(TOKEN, min_size=1, max_size=8),
        st.text(TOKEN, min_size=1, max_size=8),
    ),
)

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=30,
)

EDGE_BODIES = [
    b"",
    b"{",
    b"null",
    b'"\\u0000"',
    b'{"n": 18446744073709551616}',
    b'{"n": 1e999}',
    b'{"a": "\\ud800"}',
    b"\xff\xfe{\x00}\x00",
    b'--xyz\r\nContent-Disposition: form-data; name="a"\r\n\r\n1\r\n--xyz--\r\n',
    b"<a><b>1</b></a>",
    b'<!DOCTYPE a [<!ENTITY x "y">]><a>&x;</a>',
    b"a[b][c][d][e][f][g]=1&a[200]=2",
    b'{"a": 1}\n{"b": \n',
]

bodies = st.one_of(
    st.binary(max_size=2_000),
    json_values.map(lambda value: json.dumps(value).encode()),
    st.integers(min_value=1, max_value=400).map(lambda depth: b"[" * depth + b"]" * depth),
    st.integers(min_value=1, max_value=300).map(lambda depth: b'{"a":' * depth + b"1" + b"}" * depth),
    st.sampled_from(EDGE_BODIES),
)


@st.composite
def requests(draw: st.DrawFn) -> tuple[str, bytes]:
    """A webhook request: the key it goes to, and its bytes."""
    key = draw(st.sampled_from(KEYS))
    method = draw(st.sampled_from(["POST"] * 8 + ["GET", "PUT"]))
    query = draw(query_strings)
    target = WEBHOOK_PATH + key + (f"?{query}" if query else "")
    body = draw(bodies)
    lines = [f"{method} {target} HTTP/1.1".encode(), f"Host: {HOST}".encode(), b"Connection: close"]
    content_type = draw(content_types)
    if content_type is not None:
        lines.append(f"Content-Type: {content_type}".encode())
    if key == LOCKED_KEY and draw(st.booleans()):
        lines.append(f"Authorization: {BASIC}".encode())
    lines.extend(
        name.encode() + b": " + value
        for name, value in draw(st.lists(st.tuples(header_names, header_values), max_size=8))
    )
    chunked = draw(st.booleans())
    if chunked:
        lines.append(b"Transfer-Encoding: chunked")
        body = _chunked(body, draw(st.integers(min_value=1, max_value=512)))
    else:
        lines.append(b"Content-Length: %d" % len(body))
    return key, b"\r\n".join(lines) + b"\r\n\r\n" + body


def _chunked(body: bytes, size: int) -> bytes:
    """`body` in chunked transfer coding, `size` bytes a chunk."""
    chunks = [body[start : start + size] for start in range(0, len(body), size)]
    return b"".join(b"%x\r\n%s\r\n" % (len(chunk), chunk) for chunk in chunks) + b"0\r\n\r\n"


def test_fuzzed_webhook_requests_are_answered_and_recorded_faithfully(hostile: Hostile) -> None:
    """Fuzzed requests to webhook URLs get an answer below 500 in time, and 2xx ⇔ one execution recorded."""
    ledgers = {key: asyncio.run(Ledger.open(hostile, key)) for key in KEYS}
    answers: dict[str, list[RawAnswer]] = defaultdict(list)

    @settings(max_examples=MAX_EXAMPLES, deadline=None)
    @given(requests())
    def answered_below_500(request: tuple[str, bytes]) -> None:
        key, sent = request
        answer = asyncio.run(exchange(hostile.port, sent, within=ANSWER_WITHIN))
        answers[key].append(answer)
        assert answer.status < 500, f"{answer.describe()} for {sent[:300]!r}"

    answered_below_500()
    for key, ledger in ledgers.items():
        asyncio.run(ledger.settle(answers[key]))
