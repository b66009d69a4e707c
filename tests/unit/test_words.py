"""The county's own words, read without a database (issue 8): dates in four forms, amounts in 万 and 亿,
stages by label, fields by label or alias, people by name; each refusal one line with the candidates or
the closest matches. Also the tables' arithmetic: widths, cutting and wrapping Chinese text."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from followup.cli.output import Column, _cut, _fit, money, text_width, when, wrap
from followup.domain import words
from followup.domain.fields import PROJECT_FIELDS
from followup.domain.timeutil import parse_day, parse_instant
from followup.domain.workflow import Workflow
from followup.errors import FollowupError, InvalidInput, UnknownOfficial
from followup.lifecycle import load_workflow_file
from followup.paths import shipped_dir

SHANGHAI = ZoneInfo("Asia/Shanghai")


@pytest.fixture(scope="module")
def wf() -> Workflow:
    return load_workflow_file(Path(shipped_dir("workflows")) / "investment.yaml")


def refused(func: object, *args: object) -> str:
    with pytest.raises(FollowupError) as caught:
        func(*args)  # type: ignore[operator]
    message = str(caught.value)
    assert "\n" not in message
    return message


# --------------------------------------------------------------------------- dates and times


@pytest.mark.parametrize(
    "typed",
    [
        "2026-11-20",
        "2026/11/20",
        "2026.11.20",
        "2026年11月20日",
        "2026年11月20号",
        "2026 年 11 月 20 日",
        "2026/1/5".replace("1/5", "11/20"),
        "２０２６／１１／２０",
        " 2026-11-20 ",
    ],
)
def test_a_day_in_the_county_s_forms(typed: str) -> None:
    assert parse_day(typed) == date(2026, 11, 20)


def test_single_digit_months_and_days() -> None:
    assert parse_day("2026/1/5") == parse_day("2026年1月5日") == parse_day("2026.1.5") == date(2026, 1, 5)


@pytest.mark.parametrize(
    "bad", ["2026-11/20", "20261120", "2026年11月", "11/20/2026", "2026-02-30", "2026年13月1日", "明天", ""]
)
def test_days_that_are_not_dates(bad: str) -> None:
    assert "expected a date such as 2026-11-20, 2026/11/20, 2026.11.20 or 2026年11月20日" in refused(
        parse_day, bad
    )


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("2026-11-20 09:30", datetime(2026, 11, 20, 1, 30, tzinfo=UTC)),
        ("2026/11/20 9:30", datetime(2026, 11, 20, 1, 30, tzinfo=UTC)),
        ("2026年11月20日 09:30", datetime(2026, 11, 20, 1, 30, tzinfo=UTC)),
        ("2026-11-20T09:30:15", datetime(2026, 11, 20, 1, 30, 15, tzinfo=UTC)),
        ("2026.11.20", datetime(2026, 11, 19, 16, 0, tzinfo=UTC)),
        ("2026-11-20T09:30+00:00", datetime(2026, 11, 20, 9, 30, tzinfo=UTC)),
        ("2026-11-20 09:30Z", datetime(2026, 11, 20, 9, 30, tzinfo=UTC)),
    ],
)
def test_instants(typed: str, expected: datetime) -> None:
    assert parse_instant(typed, SHANGHAI) == expected


@pytest.mark.parametrize("bad", ["2026-11-20 25:00", "2026-11-20 9", "2026/11/20T09:30+08:00x", "now"])
def test_instants_that_are_not(bad: str) -> None:
    assert refused(parse_instant, bad, SHANGHAI).startswith(f"bad time {bad!r}: expected a date such as")


# --------------------------------------------------------------------------- amounts and areas


@pytest.mark.parametrize(
    ("typed", "wan"),
    [
        ("5000", "5000"),
        ("5,000", "5000"),
        ("5000万", "5000"),
        ("5000万元", "5000"),
        ("1.2亿", "12000"),
        ("1.2亿元", "12000"),
        ("12,000.5", "12000.5"),
        ("０.５万", "0.5"),
        ("1.23456亿", "12345.6"),
        ("1,234,567.89", "1234567.89"),
    ],
)
def test_amounts_in_wan(typed: str, wan: str) -> None:
    assert words.amount(typed) == Decimal(wan).quantize(Decimal("0.01"))


@pytest.mark.parametrize(
    ("bad", "reason"),
    [
        ("5000元", "amounts are in 万元 (write 0.5万 for 5000元)"),
        ("-5", "expected 万元 such as 5000, 5,000, 5000万, 5000万元 or 1.2亿"),
        ("5,00", "expected 万元"),
        ("万", "expected 万元"),
        ("5000亿万", "expected 万元"),
        ("1e3", "expected 万元"),
        ("NaN", "expected 万元"),
        ("1.234", "at most two decimals"),
        ("1.2345678亿", "at most two decimals"),
        ("100000000000亿", "too large"),
    ],
)
def test_amounts_refused(bad: str, reason: str) -> None:
    message = refused(words.amount, bad)
    assert message.startswith(f"bad amount {bad!r}: ") and reason in message


def test_areas() -> None:
    assert words.area("80") == words.area("80亩") == Decimal("80.00")
    assert words.area("1,200.5") == Decimal("1200.50")
    assert "expected 亩 such as 80" in refused(words.area, "80平方米")


# --------------------------------------------------------------------------- stages and fields


@pytest.mark.parametrize(
    ("word", "state"),
    [
        ("signing", "signing"),
        ("签约", "signing"),
        ("暂缓", "on_hold"),
        ("终止", "terminated"),
        ("退出", "terminated"),
        ("落地/供地", "land_prep"),
        ("落地", "land_prep"),
        ("供地", "land_prep"),
        (" 洽谈 ", "talks"),
        ("SIGNING", "signing"),
    ],
)
def test_a_stage_by_key_or_label(wf: Workflow, word: str, state: str) -> None:
    assert words.stage_key(wf, word) == state


def test_an_unknown_stage_suggests_and_lists_keys_with_labels(wf: Workflow) -> None:
    message = refused(words.stage_key, wf, "签字")
    assert message.startswith("unknown stage '签字' in workflow investment; did you mean signing (签约)? ")
    assert "stages: lead (线索), talks (洽谈), signing (签约), land_prep (落地/供地)" in message
    assert "on_hold (暂缓), terminated (终止)" in message


@pytest.mark.parametrize(
    ("word", "field"),
    [
        ("amount", "amount"),
        ("合同金额（万元）", "amount"),
        ("合同金额(万元)", "amount"),
        ("合同金额", "amount"),
        ("金额", "amount"),
        ("投资方", "investor"),
        ("funds-in-place", "funds_in_place"),
        ("用地", "land"),
        ("包联领导", "leader"),
        ("约定开工", "contract_start"),
    ],
)
def test_a_field_by_key_label_or_alias(word: str, field: str) -> None:
    assert words.field_key(word) == field


def test_no_word_names_two_fields() -> None:
    seen: dict[str, str] = {}
    for name, spec in PROJECT_FIELDS.items():
        for word in {name, spec.label, spec.short, *spec.aliases}:
            assert seen.setdefault(words.folded(word), name) == name, word


def test_an_unknown_field_suggests_and_names_them_in_chinese() -> None:
    message = refused(words.field_key, "合同额")
    assert message.startswith("unknown field '合同额'; did you mean amount (合同金额（万元）)")
    assert (
        "fields: investor (投资方, 投资商), investor_contact (投资方联系人, 联系人), amount (合同金额, 金额)"
        in message
    )


# --------------------------------------------------------------------------- people by name

PEOPLE = [
    words.Candidate("lina", "李娜", "城关镇人民政府"),
    words.Candidate("wangjun", "王军", "城关镇人民政府"),
    words.Candidate("wangjun2", "王军", "县投资促进局"),
]


def test_a_person_by_key_or_name() -> None:
    kw = {"unknown": UnknownOfficial, "listing": "followup official list"}
    assert words.pick("lina", PEOPLE, "official", **kw).key == "lina"
    assert words.pick("李娜", PEOPLE, "official", **kw).key == "lina"
    with pytest.raises(InvalidInput) as ambiguous:
        words.pick("王军", PEOPLE, "official", **kw)
    assert str(ambiguous.value) == (
        "official '王军' is ambiguous: wangjun (王军, 城关镇人民政府), "
        "wangjun2 (王军, 县投资促进局); give the key"
    )
    with pytest.raises(UnknownOfficial) as unknown:
        words.pick("李那", PEOPLE, "official", **kw)
    assert str(unknown.value) == (
        "unknown official '李那'; did you mean lina (李娜)? see `followup official list`"
    )
    with pytest.raises(UnknownOfficial) as nothing_close:
        words.pick("zhao", PEOPLE, "official", **kw)
    assert str(nothing_close.value) == "unknown official 'zhao'; see `followup official list`"


def test_a_unit_by_part_of_its_name_only_when_one_has_it() -> None:
    units = [words.Candidate("chengguan", "城关镇人民政府"), words.Candidate("hexi", "河西镇人民政府")]
    kw = {"unknown": UnknownOfficial, "listing": "followup unit list", "partial": True}
    assert words.pick("城关镇", units, "unit", **kw).key == "chengguan"
    with pytest.raises(InvalidInput) as ambiguous:
        words.pick("人民政府", units, "unit", **kw)
    assert "is ambiguous: chengguan (城关镇人民政府), hexi (河西镇人民政府); give the key" in str(
        ambiguous.value
    )


# --------------------------------------------------------------------------- tables


def test_widths_count_chinese_as_two_and_combining_marks_as_none() -> None:
    assert text_width("李娜") == 4 and text_width("abc") == 3 and text_width("e\u0301") == 1


def test_cutting_never_splits_a_character() -> None:
    assert _cut("城关镇人民政府", 7) == ["城关镇…"]  # 6 + 1: a half 人 is never printed
    assert _cut("城关镇人民政府", 8) == ["城关镇…"]
    assert _cut("城关镇人民政府", 14) == ["城关镇人民政府"]
    assert _cut("Cafe\u0301 Noir", 6) == ["Cafe\u0301…"]  # the accent stays with its letter


def test_wrapping_keeps_every_line_within_the_width() -> None:
    lines = wrap("投资方来县考察，初步确定选址。 next visit in May", 12)
    assert all(text_width(line) <= 12 for line in lines)
    assert "".join(lines).replace(" ", "") == "投资方来县考察，初步确定选址。nextvisitinMay"


def test_lines_break_between_chinese_characters_never_inside_a_word_or_before_a_comma() -> None:
    lines = wrap("默认：sqlite:///followup.db；PostgreSQL：postgresql+psycopg://db）。环境变量：X", 20)
    assert all(text_width(line) <= 20 for line in lines)
    assert not any(line.startswith(("，", "。", "；", "）")) for line in lines)
    assert not any(line.endswith("（") for line in lines)
    words = [w for line in lines for w in line.replace("：", " ").replace("；", " ").split()]
    assert "PostgreSQL" in words  # not "Postgre" + "SQL"
    assert wrap("a" * 25, 10) == ["a" * 10, "a" * 10, "a" * 5]  # a word longer than the line is cut


def test_help_text_wraps_chinese_in_terminal_columns_and_keeps_raw_paragraphs() -> None:
    from followup.cli.translated import wrap_text

    text = "项目按声明的流程推进，\n每一次变更都记入只增不改的历史记录。"
    text += "\n\n\b\n  followup init\n  followup demo"
    shown = wrap_text(text, 30, preserve_paragraphs=True)
    first, raw = shown.split("\n\n")
    assert "推进，每一次" in first.replace("\n", "")  # lines of one paragraph joined without a space
    assert all(text_width(line) <= 30 for line in first.splitlines())
    assert raw == "  followup init\n  followup demo"  # \b: as written
    assert wrap_text("县领导 county leader", 12, "  ", "  ") == "  县领导\n  county\n  leader"


def test_fitting_narrows_the_widest_columns_first_then_leaves_out_what_may_go() -> None:
    columns = [Column("id", ">", "keep"), Column("项目名称", floor=12), Column("责任单位")]
    assert _fit(columns, [3, 30, 14], None) == [3, 30, 14]
    assert _fit(columns, [3, 30, 14], 40) == [3, 19, 14]  # the widest first, until it fits
    assert _fit(columns, [3, 30, 14], 10) == [3, 12, 4]  # floors: the terminal wraps the rest
    droppable = [Column("id", ">", "keep"), Column("自", squeeze="keep", drop=1), Column("名称", floor=8)]
    assert _fit(droppable, [3, 10, 20], 30) == [3, 10, 13]
    assert _fit(droppable, [3, 10, 20], 20) == [3, None, 15]  # at its floor it would not fit: left out


def test_money_and_when() -> None:
    assert money(Decimal("12000.00")) == "12,000" and money(Decimal("12000.50")) == "12,000.50"
    assert money(None) == "" and when(None) == ""
    assert when(datetime(2026, 11, 20, 9, 30, tzinfo=SHANGHAI)) == "2026-11-20 09:30"
    assert when(date(2026, 11, 20)) == "2026-11-20"
