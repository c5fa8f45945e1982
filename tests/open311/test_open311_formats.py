"""The wire formats without a database: W3C datetimes, XML building and escaping, parameter lists."""

from __future__ import annotations

import datetime as dt
import json
import xml.etree.ElementTree as ET

import pytest

from civicgrid.open311.formats import format_of, parse_w3c, render, render_errors, split_values, to_xml, w3c

TZ = "Asia/Shanghai"
UTC = dt.UTC


@pytest.mark.parametrize(("text", "expected"), [
    ("2026-11-23T09:30:00Z", dt.datetime(2026, 11, 23, 9, 30, tzinfo=UTC)),
    ("2026-11-23T09:30:00+08:00", dt.datetime(2026, 11, 23, 1, 30, tzinfo=UTC)),
    ("2026-11-23T09:30:00 08:00", dt.datetime(2026, 11, 23, 1, 30, tzinfo=UTC)),  # '+' lost in a URL
    ("2026-11-23T09:30:00.250-05:00", dt.datetime(2026, 11, 23, 14, 30, 0, 250000, tzinfo=UTC)),
    ("2026-11-23T09:30Z", dt.datetime(2026, 11, 23, 9, 30, tzinfo=UTC)),
    ("2026-11-23T09:30:00", dt.datetime(2026, 11, 23, 1, 30, tzinfo=UTC)),  # no offset: city time
    ("2026-11-23", dt.datetime(2026, 11, 22, 16, 0, tzinfo=UTC)),
    ("2026-11", dt.datetime(2026, 10, 31, 16, 0, tzinfo=UTC)),
    ("2026", dt.datetime(2025, 12, 31, 16, 0, tzinfo=UTC)),
])
def test_w3c_datetimes_parse_to_utc(text, expected):
    assert parse_w3c(text, TZ) == expected


@pytest.mark.parametrize(("text", "expected_local"), [
    ("2026-11-23", dt.datetime(2026, 11, 23, 23, 59, 59, 999999)),
    ("2026-12", dt.datetime(2026, 12, 31, 23, 59, 59, 999999)),
    ("2026-02", dt.datetime(2026, 2, 28, 23, 59, 59, 999999)),
    ("2026", dt.datetime(2026, 12, 31, 23, 59, 59, 999999)),
    ("2026-11-23T09:30:00+08:00", dt.datetime(2026, 11, 23, 9, 30)),  # a full instant is itself
])
def test_an_end_date_covers_the_whole_period_it_names(text, expected_local):
    local = parse_w3c(text, TZ, end=True).astimezone(dt.timezone(dt.timedelta(hours=8)))
    assert local.replace(tzinfo=None) == expected_local


@pytest.mark.parametrize("text", ["", "yesterday", "2026-13-01", "2026-11-31", "2026-11-23T24:00:00Z",
                                  "20261123", "2026-11-23 09:30", "9999-12-31", "2026-11-23T09:30:00+25:00",
                                  "2026-11-23T09:30:00\x00Z", "１２３４-01-01"])
def test_anything_else_is_a_value_error(text):
    with pytest.raises(ValueError):
        parse_w3c(text, TZ, end=True)


def test_w3c_output_is_local_with_offset():
    assert w3c(dt.datetime(2026, 11, 23, 1, 30, 5, 123, tzinfo=UTC), TZ) == "2026-11-23T09:30:05+08:00"
    assert w3c(None, TZ) is None


def test_xml_lists_use_the_spec_item_names_and_escape_text():
    body = [{"service_code": "A<1>", "metadata": False, "group": None, "lat": 26.5,
             "description": 'x & y "z" \x07bell'}]
    root = ET.fromstring(to_xml("services", body))
    assert root.tag == "services" and [c.tag for c in root] == ["service"]
    service = root[0]
    assert service.find("service_code").text == "A<1>"
    assert service.find("metadata").text == "false"
    assert service.find("group").text is None
    assert service.find("lat").text == "26.5"
    assert service.find("description").text == 'x & y "z" bell'


def test_xml_nested_lists_and_objects():
    body = {"service_code": "X", "attributes": [{"code": "c", "values": [{"key": 1, "name": "one"}]}]}
    root = ET.fromstring(to_xml("service_definition", body))
    assert root.find("attributes/attribute/values/value/name").text == "one"


def test_xml_declaration_and_utf8():
    document = to_xml("errors", [{"code": 400, "description": "缺少位置"}])
    assert document.startswith(b'<?xml version="1.0" encoding="utf-8"?>\n<errors>')
    assert "缺少位置".encode() in document


def test_json_is_utf8_and_never_nan():
    response = render("json", "service_requests", [{"description": "垃圾"}])
    assert response.body.decode("utf-8") == '[{"description": "垃圾"}]'
    with pytest.raises(ValueError):
        render("json", "service_requests", [{"lat": float("nan")}])


def test_error_lists_carry_code_and_description():
    response = render_errors("json", 403, [(403, "Invalid api_key")], headers={"X-Test": "1"})
    assert response.status_code == 403 and response.headers["x-test"] == "1"
    assert json.loads(response.body) == [{"code": 403, "description": "Invalid api_key"}]
    xml = render_errors("xml", 400, [(400, "a"), (400, "b")])
    assert [e.find("description").text for e in ET.fromstring(xml.body)] == ["a", "b"]
    assert xml.headers["content-type"] == "text/xml; charset=utf-8"


def test_repeated_and_comma_separated_values():
    assert split_values(["open, closed", "", "open", " ,x"]) == ["open", "closed", "open", "x"]


@pytest.mark.parametrize(("path", "fmt"), [("/open311/v2/requests.json", "json"), ("/x.JSON", "json"),
                                           ("/open311/v2/requests.xml", "xml"), ("/open311/v2/nothing", "xml")])
def test_format_of_a_path(path, fmt):
    assert format_of(path) == fmt
