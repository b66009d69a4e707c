"""What users type (issue 7): names that would inject mail headers or drive a terminal, addresses every
mail to would fail, numbers and dates that overflow, workflow names that are paths, settings; no
database. Each refusal is one line (InvalidInput or ConfigError), never another exception."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest

from followup.domain import validate
from followup.domain.timeutil import parse_day, parse_instant
from followup.errors import ConfigError, InvalidInput
from followup.settings import load_settings

SHANGHAI = ZoneInfo("Asia/Shanghai")


def refused(call: object, *args: object) -> str:
    assert callable(call)
    with pytest.raises(InvalidInput) as caught:
        call(*args)
    message = str(caught.value)
    assert "\n" not in message and "\x1b" not in message and "\u2028" not in message
    return message


# --------------------------------------------------------------------------- names and labels


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        (
            "Li =?utf-8?q?=0D=0AReply-To:_evil@attacker.test?=",
            "must not contain a mail encoded word (=?...?=)",
        ),
        ("=?UTF-8?B?5p2O?=", "must not contain a mail encoded word"),
        ("李\u200b娜", "invisible characters such as a zero-width space (U+200B at 1)"),
        ("\u200b\u200b\u200b", "invisible characters"),
        ("\ufeff李娜", "invisible characters such as a zero-width space (U+FEFF at 0)"),
        (
            "李娜\u202e",
            "invisible characters such as a zero-width space (U+202E at 2)",
        ),  # right-to-left override
        ("\u00ad", "invisible characters"),  # soft hyphen
        ("李\x1b[2J娜", "without control characters (U+001B at 1)"),
        ("李\x9b2J娜", "without control characters (U+009B at 1)"),  # the 8-bit CSI
        ("a\x85b", "without control characters (U+0085 at 1)"),
        ("a\u2028b", "without control characters (U+2028 at 1)"),
        ("a\u2029b", "without control characters (U+2029 at 1)"),
        ("a\udcffb", "is not valid UTF-8 text"),  # what Python makes of the byte 0xff in argv
        ("\u3164\u3164", "must contain a visible character"),  # Hangul fillers
        ("\u2800", "must contain a visible character"),  # braille blank
    ],
)
def test_names_that_break_headers_or_terminals_are_refused(name: str, reason: str) -> None:
    message = refused(validate.line, name, "name")
    assert message.startswith("name ") and reason in message


@pytest.mark.parametrize("blank", ["   ", "\u3000\u3000", " \u00a0 "])
def test_names_of_spaces_alone_are_empty(blank: str) -> None:
    assert refused(validate.line, blank, "name") == "name must not be empty"


@pytest.mark.parametrize("good", ["李娜", "Li Na", "O'Brien", "城关镇 = 城区", "a?b=c", "伊禾（集团）"])
def test_ordinary_names_pass(good: str) -> None:
    assert validate.line(good, "name") == good


def test_a_long_value_is_cut_in_the_message() -> None:
    message = refused(validate.line, "=?" + "x" * 5000 + "?=", "name")
    assert len(message) < 200 and "(5004 characters)" in message


def test_notes_keep_line_breaks_but_not_terminal_controls() -> None:
    assert validate.note("第一行\n第二行\r\n\t完") == "第一行\n第二行\r\n\t完"
    for bad in ("a\x9bb", "a\x1bb", "a\u2028b", "a\x85b"):
        assert refused(validate.note, bad) == "note contains control characters"
    assert refused(validate.note, "a\udcffb") == "note is not valid UTF-8 text"


# --------------------------------------------------------------------------- addresses


@pytest.mark.parametrize(
    "bad",
    [
        "a..b@example.gov.cn",
        "a..b@example.test",
        ".li@example.gov.cn",
        "li.@example.gov.cn",
        "li@example..gov.cn",
        "li@-example.gov.cn",
        "li@example.gov.cn.",
        "li@localhost",
        "li@example.test",  # a special-use domain: no mail goes there
        '"li na"@example.gov.cn',
        "li@[10.0.0.1]",
        "李娜 <li@example.gov.cn>",
        "张三@example.gov.cn",  # needs SMTPUTF8, which a county's server may not offer
        "li@example.gov.cn\r\nBcc: all@example.gov.cn",
        "li\u200b@example.gov.cn",
        "li@exa\udcffmple.gov.cn",
        "x" * 250 + "@example.gov.cn",
        "",
    ],
)
def test_addresses_delivery_would_fail_on_are_refused(bad: str) -> None:
    message = refused(validate.email, bad)
    assert message.startswith("bad email address ")
    assert message.endswith("expected one address such as li@example.gov.cn")


@pytest.mark.parametrize(
    ("typed", "stored"),
    [
        ("lina@example.gov.cn", "lina@example.gov.cn"),
        ("Li.Na+ban@Mail.Example.GOV.cn", "Li.Na+ban@mail.example.gov.cn"),
        ("x@例子.中国", "x@xn--fsqu00a.xn--fiqs8s"),  # as it goes to the server
    ],
)
def test_good_addresses_in_the_form_delivery_uses(typed: str, stored: str) -> None:
    assert validate.email(typed) == stored


# --------------------------------------------------------------------------- numbers, dates, names


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("1e999999999", "too large"),
        ("9" * 5000, "too large"),
        ("1e-999999999", "at most two decimals"),
        ("sNaN", "expected a number of zero or more"),
        ("-Infinity", "expected a number of zero or more"),
        ("1e9999999999999999999", "expected a number such as 1500"),
    ],
)
def test_amounts_that_overflowed(text: str, reason: str) -> None:
    assert reason in refused(validate.decimal, text, "amount")


@pytest.mark.parametrize(
    "text",
    ["0001-01-01", "0001-01-01T00:00", "9999-12-31T23:00-05:00", "1899-12-31", "2200-01-01", "2062-13-01"],
)
def test_instants_out_of_range_are_one_line(text: str) -> None:
    assert refused(parse_instant, text, SHANGHAI).startswith("bad time ")


@pytest.mark.parametrize("text", ["0001-01-01", "9999-12-31", "1899-12-31"])
def test_days_out_of_range_are_one_line(text: str) -> None:
    assert "expected a year from 1900 to 2199" in refused(parse_day, text)


def test_dates_in_range_still_parse() -> None:
    assert parse_instant("1900-01-02T12:00+08:00", SHANGHAI) == datetime(1900, 1, 2, 4, tzinfo=UTC)
    assert parse_day("2199-12-31") == date(2199, 12, 31)


@pytest.mark.parametrize(
    "bad", ["../../../../elsewhere/evil", "evil/..", "Investment", "1st", "in vest", "", "x" * 65, "é"]
)
def test_workflow_names_are_plain_keys(bad: str) -> None:
    assert refused(validate.workflow_name, bad).startswith("bad workflow name ")


# --------------------------------------------------------------------------- settings


@pytest.mark.parametrize("bad", ["../elsewhere/evil", "Major", "major.yaml"])
def test_the_default_workflow_setting_is_a_plain_name(bad: str) -> None:
    with pytest.raises(ConfigError, match=r"^default workflow .* is not a workflow name"):
        load_settings(env={"FOLLOWUP_DEFAULT_WORKFLOW": bad})


def test_the_replay_setting() -> None:
    assert load_settings(env={}).replay is False
    assert load_settings(env={"FOLLOWUP_REPLAY": "1"}).replay is True
    assert load_settings(env={"FOLLOWUP_REPLAY": "0"}).replay is False
    with pytest.raises(ConfigError, match=r"^FOLLOWUP_REPLAY 'maybe': expected 1 or 0$"):
        load_settings(env={"FOLLOWUP_REPLAY": "maybe"})
