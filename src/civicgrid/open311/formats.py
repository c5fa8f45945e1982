"""GeoReport v2 wire formats: JSON and XML bodies, W3C datetimes, and the spec's error list.

The XML is built with ElementTree (text is escaped for us) and stripped of characters XML 1.0
cannot carry; nothing here ever parses XML. JSON follows the spec's "Spark convention": the
XML root becomes a list (or an object for a single definition).
"""

from __future__ import annotations

import datetime as dt
import json
import re
import xml.etree.ElementTree as ET
from collections.abc import Iterable, Mapping, Sequence
from typing import Any
from zoneinfo import ZoneInfo

from fastapi.responses import Response

FORMATS = ("json", "xml")
CONTENT_TYPES = {"json": "application/json; charset=utf-8", "xml": "text/xml; charset=utf-8"}
XML_DECLARATION = b'<?xml version="1.0" encoding="utf-8"?>\n'
# The element name of one item inside each list-valued element.
ITEM_TAGS = {
    "services": "service",
    "service_requests": "request",
    "errors": "error",
    "attributes": "attribute",
    "values": "value",
    "endpoints": "endpoint",
    "formats": "format",
}
# XML 1.0 allows tab, newline, carriage return and everything from U+0020 except these
# (and a lone surrogate cannot even be encoded).
_XML_INVALID = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
_W3C_REDUCED = re.compile(r"(\d{4})(?:-(\d{2}))?(?:-(\d{2}))?", re.ASCII)
_W3C_FULL = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(?::\d{2}(?:\.\d{1,6})?)?(?:Z|[+-]\d{2}:?\d{2})?",
                       re.ASCII | re.IGNORECASE)
# A "+08:00" offset sent unencoded in a query string arrives as " 08:00".
_LOST_PLUS = re.compile(r" (\d{2}:?\d{2})$")


def format_of(path: str) -> str:
    """The format a request path asks for (its extension), XML — the spec's required format — otherwise."""
    return "json" if path.rstrip("/").lower().endswith(".json") else "xml"


def split_values(values: Iterable[str]) -> list[str]:
    """Values of a parameter that may be repeated and comma-delimited, trimmed, empties dropped."""
    return [part.strip() for value in values for part in value.split(",") if part.strip()]


def xml_text(value: Any) -> str:
    """A scalar as XML element text: booleans lower-case, None empty, invalid characters removed."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return _XML_INVALID.sub("", str(value))


def _element(parent: ET.Element, tag: str, value: Any) -> None:
    node = ET.SubElement(parent, tag)
    if isinstance(value, Mapping):
        for key, child in value.items():
            _element(node, key, child)
    elif isinstance(value, list | tuple):
        item_tag = ITEM_TAGS[tag]
        for item in value:
            _element(node, item_tag, item)
    else:
        node.text = xml_text(value)


def to_xml(root_tag: str, body: Sequence[Mapping[str, Any]] | Mapping[str, Any]) -> bytes:
    """The XML document for ``body``: a list becomes items under ``root_tag``, a mapping its children."""
    root = ET.Element(root_tag)
    if isinstance(body, Mapping):
        for key, value in body.items():
            _element(root, key, value)
    else:
        item_tag = ITEM_TAGS[root_tag]
        for item in body:
            _element(root, item_tag, item)
    return XML_DECLARATION + ET.tostring(root, encoding="utf-8")


def render(fmt: str, root_tag: str, body: Sequence[Mapping[str, Any]] | Mapping[str, Any],
           status: int = 200) -> Response:
    """The HTTP response carrying ``body`` in ``fmt`` (``root_tag`` names the XML root element)."""
    if fmt == "json":
        content = json.dumps(body, ensure_ascii=False, allow_nan=False).encode("utf-8", "replace")
    else:
        content = to_xml(root_tag, body)
    return Response(content=content, status_code=status, media_type=CONTENT_TYPES[fmt])


def render_errors(fmt: str, status: int, errors: Sequence[tuple[int, str]],
                  headers: Mapping[str, str] | None = None) -> Response:
    """The spec's error list: ``[{"code", "description"}]`` or ``<errors><error>…``, with ``status``."""
    body = [{"code": code, "description": description} for code, description in errors]
    response = render(fmt, "errors", body, status=status)
    if headers:
        response.headers.update(headers)
    return response


def w3c(value: dt.datetime | None, tz: str) -> str | None:
    """An instant in W3C datetime form, in the city's local offset (e.g. 2026-11-23T09:30:00+08:00)."""
    if value is None:
        return None
    return value.astimezone(ZoneInfo(tz)).isoformat(timespec="seconds")


def _reduced_bounds(match: re.Match, tz: str, end: bool) -> dt.datetime:
    year, month, day = int(match[1]), match[2], match[3]
    local = ZoneInfo(tz)
    if day is not None:
        first = dt.datetime(year, int(month), int(day), tzinfo=local)
        following = first + dt.timedelta(days=1)
    elif month is not None:
        first = dt.datetime(year, int(month), 1, tzinfo=local)
        following = first.replace(year=year + (first.month == 12), month=first.month % 12 + 1)
    else:
        first = dt.datetime(year, 1, 1, tzinfo=local)
        following = first.replace(year=year + 1)
    # An end date names the whole period it covers: up to the last microsecond before the next.
    return following - dt.timedelta(microseconds=1) if end else first


def parse_w3c(value: str, tz: str, *, end: bool = False) -> dt.datetime:
    """A W3C/ISO 8601 datetime as an aware instant; raises ValueError if it is not one.

    Reduced forms (``2026``, ``2026-11``, ``2026-11-23``) mean the start of that period, or its
    end when ``end`` is set; a time without an offset is read in the city's time zone.
    """
    text = _LOST_PLUS.sub(r"+\1", value.strip())
    try:
        reduced = _W3C_REDUCED.fullmatch(text)
        if reduced:
            return _reduced_bounds(reduced, tz, end).astimezone(dt.UTC)
        if not _W3C_FULL.fullmatch(text):
            raise ValueError(value)
        parsed = dt.datetime.fromisoformat(text.upper())
        if parsed.tzinfo is None:
            parsed = parsed.replace(tzinfo=ZoneInfo(tz))
        return parsed.astimezone(dt.UTC)
    except (ValueError, OverflowError):
        raise ValueError(f"not a W3C datetime: {value!r}") from None
