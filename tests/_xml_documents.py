"""XML documents that attack a parser, shared by the unit and the HTTP tests of XML bodies."""

from __future__ import annotations

from pathlib import Path

BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [
  <!ENTITY lol "lol">
  <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
  <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
  <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
  <!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
  <!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
  <!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
  <!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
  <!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">
]>
<lolz>&lol9;</lolz>"""
"""The billion laughs: nine levels of entities, each ten of the one below (a few GB of text)."""


def external_entity_documents(secret_file: Path) -> list[bytes]:
    """Documents that would pull `secret_file` in: a general entity, a parameter entity, an external DTD."""
    uri = secret_file.as_uri().encode()
    return [
        b'<?xml version="1.0"?><!DOCTYPE a [<!ENTITY xxe SYSTEM "' + uri + b'">]><a>&xxe;</a>',
        b'<!DOCTYPE a [<!ENTITY % p SYSTEM "' + uri + b'"> %p;]><a/>',
        b'<!DOCTYPE a SYSTEM "' + uri + b'"><a/>',
    ]
