"""The presentation helpers of the page templates: language, local time, durations, labels."""

from __future__ import annotations

import datetime as dt

import pytest

from civicgrid.events.workflow import STATE_LABELS, CaseState
from civicgrid.web.pagekit import FormValues, safe_next
from civicgrid.web.templating import STATE_TONES, env, localtime

UTC = dt.UTC


def render(source: str, lang: str = "zh", **ctx) -> str:
    return env.from_string(source).render(lang=lang, **ctx)


def test_t_picks_the_language():
    assert render("{{ t('事件', 'Case') }}") == "事件"
    assert render("{{ t('事件', 'Case') }}", lang="en") == "Case"


def test_localtime_is_shanghai():
    assert localtime(dt.datetime(2026, 1, 1, 16, 30, tzinfo=UTC)) == "2026-01-02 00:30"
    assert localtime(None) == ""


@pytest.mark.parametrize(("seconds", "zh", "en"), [
    (0, "0分钟", "0 min"),
    (59 * 60, "59分钟", "59 min"),
    (3 * 3600 + 5 * 60, "3小时5分钟", "3 h 5 min"),
    (2 * 86400 + 3 * 3600 + 7 * 60, "2天3小时", "2 d 3 h"),
    (-(86400 + 60), "1天", "1 d"),
])
def test_duration(seconds, zh, en):
    assert render("{{ s | duration }}", s=seconds) == zh
    assert render("{{ s | duration }}", lang="en", s=seconds) == en


def test_every_state_has_a_badge_tone_and_labels():
    assert set(STATE_TONES) == set(CaseState)
    for state in CaseState:
        assert render("{{ state_label(s) }}", s=state.value) == STATE_LABELS[state][0]
        assert render("{{ state_label(s) }}", lang="en", s=state.value) == STATE_LABELS[state][1]


def test_templates_escape_user_text():
    assert render("{{ x }}", x="<script>") == "&lt;script&gt;"


def test_form_values_read_missing_fields_as_empty():
    values = FormValues({"a": "1"})
    assert render("{{ v.a }}|{{ v.b }}", v=values) == "1|"


@pytest.mark.parametrize(("target", "expected"), [
    ("/cases?state=open", "/cases?state=open"), (None, "/inbox"), ("", "/inbox"), ("//evil.example", "/inbox"),
    ("https://evil.example/", "/inbox"), ("/\\evil.example", "/inbox"), ("cases", "/inbox"),
])
def test_safe_next(target, expected):
    assert safe_next(target) == expected


def test_every_template_compiles():
    for name in env.list_templates():
        env.get_template(name)



def test_macros_imported_without_context_follow_the_page_language():
    from civicgrid.web import templating

    template = env.from_string('{% from "_macros.html" import badge %}{{ badge("reported") }}')
    marker = templating._page_lang.set("en")  # what render() does for an English page
    try:
        assert ">Reported<" in template.render(lang="en")
    finally:
        templating._page_lang.reset(marker)
    assert ">待立案<" in template.render(lang="zh")
