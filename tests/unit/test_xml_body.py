"""Tests for XML request bodies: the mapping to JSON, charsets, and the refusals that keep it safe."""

from __future__ import annotations

import xml.sax
from pathlib import Path
from xml.sax.handler import ContentHandler, feature_external_ges
from xml.sax.saxutils import escape, quoteattr

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hookline.errors import RejectedRequest
from hookline.trigger.body import BodyLimits, parse_body
from hookline.types import JsonValue
from tests._xml_documents import BILLION_LAUGHS, external_entity_documents

XML = "application/xml"


def _refusal(raw: bytes, content_type: str = XML, limits: BodyLimits | None = None) -> RejectedRequest:
    """The RejectedRequest parsing `raw` as XML raises."""
    with pytest.raises(RejectedRequest) as caught:
        parse_body(content_type, raw, limits or BodyLimits())
    return caught.value


# -- the mapping -------------------------------------------------------------------------------


def test_the_root_element_names_the_document() -> None:
    """The root becomes `{"<name>": value}`; a leaf element is its text, an empty one null."""
    assert parse_body(XML, b"<status>paid</status>") == {"status": "paid"}
    assert parse_body(XML, b"<status/>") == {"status": None}
    assert parse_body(XML, b"<status></status>") == {"status": None}


def test_attributes_are_at_keys_beside_children_and_text() -> None:
    """Attributes are `@name` keys; an element's text beside them is `#text`."""
    raw = b'<order id="5" test="false"><total currency="EUR">12.50</total><note/></order>'
    assert parse_body(XML, raw) == {
        "order": {
            "@id": "5",
            "@test": "false",
            "total": {"@currency": "EUR", "#text": "12.50"},
            "note": None,
        }
    }
    assert parse_body(XML, b'<ping at="1"/>') == {"ping": {"@at": "1"}}


def test_repeated_elements_become_a_list_in_document_order() -> None:
    """A child that appears more than once is a list of its values; a single one stays a value."""
    raw = b"<cart><item>a</item><count>2</count><item><sku>b</sku></item><item/></cart>"
    assert parse_body(XML, raw) == {"cart": {"item": ["a", {"sku": "b"}, None], "count": "2"}}
    assert parse_body(XML, b"<cart><item>a</item></cart>") == {"cart": {"item": "a"}}


def test_mixed_text_is_joined_and_indentation_dropped() -> None:
    """Text around child elements is joined as `#text`; blank indentation between them disappears."""
    assert parse_body(XML, b"<p>Hello <b>World</b>!</p>") == {"p": {"b": "World", "#text": "Hello !"}}
    pretty = b"<order>\n  <id>5</id>\n  <status>paid</status>\n</order>\n"
    assert parse_body(XML, pretty) == {"order": {"id": "5", "status": "paid"}}


def test_leaf_text_is_kept_exactly() -> None:
    """A leaf's text keeps its spaces and line breaks; character references and the five entities resolve."""
    assert parse_body(XML, b"<a>  two\n lines </a>") == {"a": "  two\n lines "}
    assert parse_body(XML, b"<a>&lt;&amp;&gt;&quot;&apos;&#233;&#x20AC;</a>") == {"a": "<&>\"'é€"}


def test_cdata_is_text() -> None:
    """A CDATA section is text like any other, markup inside it included."""
    raw = b"<a>x <![CDATA[<b>not an element</b> & more]]> y</a>"
    assert parse_body(XML, raw) == {"a": "x <b>not an element</b> & more y"}


def test_namespaces_keep_their_prefixes_and_declarations() -> None:
    """Names stay as written, prefixes included, and namespace declarations are `@xmlns…` attributes."""
    raw = (
        b'<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/">'
        b'<soap:Body><m:Paid xmlns:m="urn:shop" m:id="5">yes</m:Paid></soap:Body></soap:Envelope>'
    )
    assert parse_body(XML, raw) == {
        "soap:Envelope": {
            "@xmlns:soap": "http://schemas.xmlsoap.org/soap/envelope/",
            "soap:Body": {"m:Paid": {"@xmlns:m": "urn:shop", "@m:id": "5", "#text": "yes"}},
        }
    }


def test_comments_processing_instructions_and_declaration_are_left_out() -> None:
    """Only elements, attributes and text make up the value."""
    raw = b'<?xml version="1.0"?>\n<!-- sent by a shop --><?render fast?><a><!-- no -->1</a>'
    assert parse_body(XML, raw) == {"a": "1"}


def test_an_empty_xml_body_is_null() -> None:
    """An empty body is null, as an empty JSON body is."""
    assert parse_body(XML, b"") is None


# -- charsets ----------------------------------------------------------------------------------


DECLARED = '<?xml version="1.0" encoding="{}"?><city>{}</city>'


@pytest.mark.parametrize(
    ("content_type", "raw", "city"),
    [
        (XML, DECLARED.format("ISO-8859-1", "Köln").encode("latin-1"), "Köln"),
        (XML, DECLARED.format("windows-1252", "Köln €").encode("cp1252"), "Köln €"),
        (XML, DECLARED.format("Shift_JIS", "東京").encode("shift_jis"), "東京"),
        (XML, "<city>Köln €</city>".encode("utf-16"), "Köln €"),
        (XML, "\ufeff<city>Köln €</city>".encode(), "Köln €"),
        ("text/xml; charset=windows-1252", "<city>Köln €</city>".encode("cp1252"), "Köln €"),
        # The header wins over the document's own declaration (RFC 7303).
        ("application/xml; charset=utf-8", DECLARED.format("ISO-8859-1", "Köln €").encode(), "Köln €"),
    ],
    ids=[
        "latin-1-declared",
        "cp1252-declared",
        "shift-jis-declared",
        "utf-16-bom",
        "utf-8-bom",
        "header",
        "header-wins",
    ],
)
def test_the_charset_comes_from_the_header_else_the_document(
    content_type: str, raw: bytes, city: str
) -> None:
    """The Content-Type's charset, else the byte order mark or the XML declaration, else UTF-8."""
    assert parse_body(content_type, raw) == {"city": city}


@pytest.mark.parametrize(
    ("content_type", "raw", "status", "code"),
    [
        (XML, b'<?xml version="1.0" encoding="nope"?><a/>', 415, "unsupported_charset"),
        ("text/xml; charset=nope", b"<a/>", 415, "unsupported_charset"),
        (XML, b"<a>caf\xe9</a>", 400, "malformed_text"),
        (XML, b"<a>\x00</a>", 400, "nul_character"),
        (XML, b"<a>&#0;</a>", 400, "malformed_xml"),
    ],
)
def test_text_that_cannot_be_read_or_stored_is_refused(
    content_type: str, raw: bytes, status: int, code: str
) -> None:
    """An unknown charset is a 415; bytes that are not text, and NUL however written, a 400."""
    error = _refusal(raw, content_type)
    assert (error.status, error.code) == (status, code)


# -- refusals ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "where"),
    [
        (b"<order>\n  <id>5</id>\n  <status>paid</state>\n</order>", "line 3, column 17"),
        (b"<a>1</a><b/>", "line 1, column 9"),
        (b"<a>&nbsp;</a>", "line 1, column 4"),
        (b"   ", "line 1, column 4"),
        (b"<a x=1/>", "line 1, column 6"),
    ],
    ids=["mismatched-tag", "two-roots", "undefined-entity", "no-element", "unquoted-attribute"],
)
def test_malformed_xml_is_a_400_naming_line_and_column(raw: bytes, where: str) -> None:
    """Malformed XML is `400 malformed_xml`, and the message says where it breaks (counting from 1)."""
    error = _refusal(raw)
    assert (error.status, error.code) == (400, "malformed_xml")
    assert error.message.startswith("The request body is not valid XML: ")
    assert error.message.endswith(f" at {where}.")


def test_an_entity_bomb_is_refused_before_it_expands() -> None:
    """The billion laughs is `400 xml_dtd_forbidden`: its DTD is refused before any entity is read."""
    error = _refusal(BILLION_LAUGHS)
    assert (error.status, error.code) == (400, "xml_dtd_forbidden")
    assert "lol" not in error.message


def test_an_external_entity_is_refused_and_the_file_never_read(tmp_path: Path) -> None:
    """Entities pointing at a real file are refused; the file's content appears in no answer."""
    secret_file = tmp_path / "secret.txt"
    secret_file.write_text("top-secret-4f1c")
    for raw in external_entity_documents(secret_file):
        error = _refusal(raw)
        assert (error.status, error.code) == (400, "xml_dtd_forbidden")
        assert "top-secret" not in error.message


def test_the_external_entity_document_is_a_real_attack(tmp_path: Path) -> None:
    """A parser that resolves external entities does read the file, so the refusal above is what saves it."""
    secret_file = tmp_path / "secret.txt"
    secret_file.write_text("top-secret-4f1c")
    reader = xml.sax.make_parser()  # noqa: S317 (the unsafe parser on purpose, to show the danger)
    reader.setFeature(feature_external_ges, True)
    handler = _TextCollector()
    reader.setContentHandler(handler)
    reader.feed(external_entity_documents(secret_file)[0])
    reader.close()
    assert "".join(handler.text) == "top-secret-4f1c"


class _TextCollector(ContentHandler):
    """A SAX handler that keeps every piece of text it is given."""

    def __init__(self) -> None:
        super().__init__()
        self.text: list[str] = []

    def characters(self, content: str) -> None:
        """Keep a piece of text."""
        self.text.append(content)


def test_elements_nested_deeper_than_the_limit_are_refused() -> None:
    """Elements nested deeper than the JSON depth limit are `400 xml_too_deep`; at the limit they parse."""
    assert parse_body(XML, b"<a><b><c>1</c></b></a>", BodyLimits(json_depth=3)) == {"a": {"b": {"c": "1"}}}
    error = _refusal(b"<a><b><c><d/></c></b></a>", limits=BodyLimits(json_depth=3))
    assert (error.status, error.code) == (400, "xml_too_deep")
    assert "3 levels" in error.message


def test_lists_of_repeated_elements_count_towards_the_depth() -> None:
    """The limit is on the parsed value: a list of repeated elements is one more level."""
    raw = b"<a><b><c>1</c><c>2</c></b></a>"
    assert parse_body(XML, raw, BodyLimits(json_depth=4)) == {"a": {"b": {"c": ["1", "2"]}}}
    assert _refusal(raw, limits=BodyLimits(json_depth=3)).code == "xml_too_deep"


def test_a_very_deep_document_is_refused_cheaply() -> None:
    """A hundred thousand nested elements are refused while parsing, with no recursion to overflow."""
    raw = b"<a>" * 100_000 + b"</a>" * 100_000
    assert _refusal(raw).code == "xml_too_deep"


@given(st.binary(max_size=64))
def test_any_bytes_either_parse_or_are_refused(raw: bytes) -> None:
    """Arbitrary bytes never escape as anything but a 400 or 415 RejectedRequest."""
    try:
        value: JsonValue = parse_body(XML, b"<a>" + raw + b"</a>")
    except RejectedRequest as error:
        outcome: object = error.status
    else:
        outcome = type(value)
    assert outcome in {400, 415, dict}


XML_TEXT = st.text(
    st.characters(blacklist_categories=["Cs"], blacklist_characters="\r\ufffe\uffff", min_codepoint=0x20)
    | st.sampled_from("\t\n")
)
"""Text XML 1.0 can carry as it is (a carriage return is read as a line feed, so it is left out)."""


@given(XML_TEXT, XML_TEXT.map(lambda text: text.replace("\t", " ").replace("\n", " ")))
def test_any_text_and_attribute_value_is_read_back_exactly(text: str, value: str) -> None:
    """Escaped as XML writers escape it, any text and attribute value comes back character for character."""
    leaf = f"<a>{escape(text)}</a>".encode()
    assert parse_body(XML, leaf) == {"a": text or None}
    attribute = f"<a v={quoteattr(value)}/>".encode()
    assert parse_body(XML, attribute) == {"a": {"@v": value}}
