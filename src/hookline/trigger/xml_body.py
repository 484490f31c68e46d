"""XML request bodies, parsed safely into a JSON value (docs/bodies.md#xml).

The mapping, as `docs/bodies.md` states it:

- the root element becomes `{"<root name>": <its value>}`;
- an element with neither attributes nor child elements is its text, exactly as sent (null when
  empty); CDATA sections are text like any other;
- otherwise it is an object: each attribute under `"@<name>"`, then each child element under its
  name, then the element's own text under `"#text"` (stripped of the indentation around children,
  and left out when nothing else remains);
- a child element that appears more than once becomes a list of its values, in document order
  (one that appears once stays a single value);
- names are kept exactly as written, namespace prefixes included (`soap:Envelope`), and namespace
  declarations are attributes like any other (`"@xmlns:soap"`): nothing is resolved or renamed.

Safety: a document type declaration (`<!DOCTYPE …>`) is refused (`400 xml_dtd_forbidden`) before
anything in it is read, so no entity can be declared: no external entity reads a file or a URL, and
no entity expands into a bomb. Elements may nest no deeper than the JSON depth limit
(`400 xml_too_deep`), checked while parsing, so a deep document costs little before it is refused.
"""

from __future__ import annotations

import codecs
import re
from xml.sax import SAXParseException
from xml.sax.handler import ContentHandler
from xml.sax.xmlreader import AttributesImpl

from defusedxml import DefusedXmlException
from defusedxml.expatreader import DefusedExpatParser

from hookline.errors import RejectedRequest
from hookline.trigger.storable import check_depth
from hookline.types import JsonValue

ATTRIBUTE_PREFIX = "@"
"""What an attribute's name is prefixed with in its element's object."""

TEXT_KEY = "#text"
"""The key of an element's own text when it also has attributes or child elements."""

_DECLARED = re.compile(rb"""<\?xml[^>]*?\sencoding\s*=\s*["']([A-Za-z][A-Za-z0-9._-]*)["']""")
_BOMS = ((codecs.BOM_UTF8, "utf-8"), (codecs.BOM_UTF16_LE, "utf-16"), (codecs.BOM_UTF16_BE, "utf-16"))


def declared_encoding(raw: bytes) -> str | None:
    """The encoding an XML document names for itself: its byte order mark, else its declaration."""
    for bom, name in _BOMS:
        if raw.startswith(bom):
            return name
    # The declaration must open the document and is ASCII in every encoding it may name here.
    found = _DECLARED.match(raw, 0, 200)
    return None if found is None else found.group(1).decode("ascii")


def parse_xml(text: str, depth_limit: int) -> JsonValue:
    """The JSON value of an XML document (see the module's mapping); empty text is None.

    Malformed XML is `400 malformed_xml` naming the line and column, a DTD `400 xml_dtd_forbidden`,
    and nesting deeper than `depth_limit` `400 xml_too_deep`.
    """
    if not text:
        return None
    builder = _Builder(depth_limit)
    parser = DefusedExpatParser(forbid_dtd=True)
    parser.setContentHandler(builder)
    try:
        # Given text, expat reads it as the text it is and ignores the declared encoding.
        parser.feed(text.removeprefix("\ufeff"))
        parser.close()
    except SAXParseException as error:
        raise _malformed(error) from None
    except DefusedXmlException:
        raise _dtd_forbidden() from None
    # Element depth bounds the value's depth, but repeated elements add a level of list each.
    if 2 * builder.deepest + 1 > depth_limit:
        try:
            check_depth(builder.root, depth_limit)
        except RejectedRequest:
            raise xml_too_deep(depth_limit) from None
    return builder.root


def xml_too_deep(depth_limit: int) -> RejectedRequest:
    """The `400` of an XML body whose parsed value would nest deeper than the limit."""
    message = (
        f"The XML body nests elements (and lists of repeated elements) deeper than {depth_limit} levels."
    )
    return RejectedRequest(400, "xml_too_deep", message)


def _malformed(error: SAXParseException) -> RejectedRequest:
    """The 400 of a body that is not well-formed XML, saying where (line and column count from 1)."""
    # expat always knows where it stopped; its columns count from 0.
    where = f"line {error.getLineNumber()}, column {(error.getColumnNumber() or 0) + 1}"
    message = f"The request body is not valid XML: {error.getMessage()} at {where}."
    return RejectedRequest(400, "malformed_xml", message)


def _dtd_forbidden() -> RejectedRequest:
    """The 400 of a body with a document type declaration, where entities (and their dangers) live."""
    message = (
        "The XML body has a document type declaration (<!DOCTYPE>); hookline refuses DTDs, "
        "whose entities could read files or expand without bound."
    )
    return RejectedRequest(400, "xml_dtd_forbidden", message)


class _Element:
    """An element being read: its attributes and children so far, and its text pieces."""

    __slots__ = ("fields", "name", "text")

    def __init__(self, name: str, attributes: AttributesImpl) -> None:
        self.name = name
        self.fields: dict[str, JsonValue] = (
            {ATTRIBUTE_PREFIX + key: value for key, value in attributes.items()} if attributes else {}
        )
        self.text: list[str] = []

    def add(self, name: str, value: JsonValue) -> None:
        """Add a child element's value; a repeated name gathers its values in a list."""
        if name not in self.fields:
            self.fields[name] = value
            return
        # An element's value is never a list, so a list here is one this method made.
        present = self.fields[name]
        if isinstance(present, list):
            present.append(value)
        else:
            self.fields[name] = [present, value]

    def value(self) -> JsonValue:
        """The element's value: its text alone, or its object (with `#text` when it has any)."""
        text = "".join(self.text)
        if not self.fields:
            return text or None
        text = text.strip()
        if text:
            self.fields[TEXT_KEY] = text
        return self.fields


class _Builder(ContentHandler):
    """Builds the JSON value while expat reads, refusing elements nested too deep as they open."""

    def __init__(self, depth_limit: int) -> None:
        super().__init__()
        self._depth_limit = depth_limit
        self._open: list[_Element] = []
        self.deepest = 0
        """The deepest element nesting seen (the root is 1)."""
        self.root: JsonValue = None
        """`{"<root name>": value}` once the root element has closed."""

    def startElement(self, name: str, attrs: AttributesImpl) -> None:
        """An element opens: refuse it when too deep, else start reading it."""
        depth = len(self._open) + 1
        if depth > self._depth_limit:
            raise xml_too_deep(self._depth_limit)
        if depth > self.deepest:
            self.deepest = depth
        self._open.append(_Element(name, attrs))

    def endElement(self, name: str) -> None:
        """An element closes: its value goes to its parent, or becomes the document's."""
        element = self._open.pop()
        if self._open:
            self._open[-1].add(element.name, element.value())
        else:
            self.root = {element.name: element.value()}

    def characters(self, content: str) -> None:
        """Text (CDATA included) goes to the element it is in; outside the root it is only blanks."""
        if self._open:
            self._open[-1].text.append(content)
