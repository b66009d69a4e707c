"""The ledger's cells as counties fill them (domain.ledgercells): headers and their variants, dates
typed as text (never completed when the year or the day is missing), amounts with their units, areas,
stage words as people write them, and the rows that are no project (小计, 合计, sums)."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

import pytest

from followup.domain import ledgercells as cells
from followup.errors import InvalidInput
from followup.lifecycle import WorkflowRegistry


@pytest.mark.parametrize(
    ("header", "key", "per"),
    [
        ("项目名称", "name", 1),
        ("投资主体", "investor", 1),
        ("签约企业", "investor", 1),
        ("总投资（万元）", "amount", 1),
        ("计划总投资(亿元)", "amount", 10000),
        ("合同金额", "amount", 1),
        ("用地面积（亩）", "land", 1),
        ("占地", "land", 1),
        ("目前进度", "stage", 1),
        ("进展阶段", "stage", 1),
        ("包联领导", "leader", 1),
        ("联系领导", "leader", 1),
        ("项目专员", "officer", 1),
        ("计划开工时间", "contract_start", 1),
        ("合同约定投产日期", "contract_production", 1),
        ("最近跟进日期", "last_followup", 1),
        ("进展情况", "progress", 1),
        (" 备 注 ", "remarks", 1),
        ("联系电话", "phone", 1),
    ],
)
def test_headers_and_their_variants(header: str, key: str, per: int) -> None:
    assert cells.header_of(header) == (key, Decimal(per))


def test_unknown_headers_and_the_header_row() -> None:
    assert cells.header_of("随便") is None and cells.header_of(None) is None
    rows = [
        ("某县2026年招商引资项目台账",),
        ("填报单位：…", None, "截止日期：…"),
        ("序号", "项目名称", "责任单位"),
    ]
    assert cells.find_header(rows) == 2
    assert cells.find_header(rows[:2]) is None
    assert [cells.column_letter(i) for i in (0, 25, 26, 27)] == ["A", "Z", "AA", "AB"]


@pytest.mark.parametrize(
    ("typed", "day"),
    [
        ("2026-8-3", date(2026, 8, 3)),
        ("2026/4/8", date(2026, 4, 8)),
        ("2026年9月12日", date(2026, 9, 12)),
        ("2026.05.20", date(2026, 5, 20)),
        ("2026-11-20 0:00:00", date(2026, 11, 20)),
        (datetime(2026, 1, 2), date(2026, 1, 2)),
        (date(2026, 1, 3), date(2026, 1, 3)),
        (None, None),
        ("  ", None),
    ],
)
def test_dates_in_the_forms_counties_type(typed: object, day: date | None) -> None:
    assert cells.day(typed, "date") == day


@pytest.mark.parametrize(
    ("typed", "why"),
    [
        ("11月10日", "no year"),
        ("2026年7月", "no day"),
        ("2026-07", "no day"),
        ("2026-02-30", "expected a date"),
        (46000, "a number, not a date"),
        ("=TODAY()", "a formula"),
        ("下个月", "expected a date"),
    ],
)
def test_dates_that_would_need_a_guess_are_refused(typed: object, why: str) -> None:
    with pytest.raises(InvalidInput, match=why):
        cells.day(typed, "date")


@pytest.mark.parametrize(
    ("typed", "per", "value"),
    [
        ("5000", 1, "5000"),
        ("5,000", 1, "5000"),
        ("8000万元", 1, "8000"),
        ("1.2亿", 1, "12000"),
        ("1.2亿元", 1, "12000"),
        (30000, 1, "30000"),
        (1234.56, 1, "1234.56"),
        (1.5, 10000, "15000"),
        ("1.5", 10000, "15000"),
        ("8000万元", 10000, "8000"),  # the cell's own unit wins over the header's
        (None, 1, None),
    ],
)
def test_amounts_with_their_units(typed: object, per: int, value: str | None) -> None:
    expected = None if value is None else Decimal(value)
    assert cells.amount(typed, Decimal(per)) == expected


@pytest.mark.parametrize("typed", ["5000元", "约5000", "-100", "1.234", True, "=SUM(E4:E9)"])
def test_bad_amounts(typed: object) -> None:
    with pytest.raises(InvalidInput):
        cells.amount(typed)


def test_areas() -> None:
    assert cells.area("50亩") == Decimal(50)
    assert cells.area(120.5) == Decimal("120.5")
    with pytest.raises(InvalidInput):
        cells.area("五十亩")


@pytest.mark.parametrize(
    ("word", "stage"),
    [
        ("已签约", "signing"),
        ("签约", "signing"),
        ("洽谈中", "talks"),
        ("供地", "land_prep"),
        ("落地", "land_prep"),
        ("开工建设", "groundbreaking"),
        ("已开工", "groundbreaking"),
        ("已投产", "production"),
        ("线索", "lead"),
        ("暂缓", "on_hold"),
        ("终止", "terminated"),
        ("正在洽谈", "talks"),
    ],
)
def test_stage_words_as_people_write_them(word: str, stage: str) -> None:
    workflow = WorkflowRegistry(None).get("investment")
    assert cells.stage(workflow, word) == stage


def test_an_unknown_stage_is_refused_with_the_stages() -> None:
    workflow = WorkflowRegistry(None).get("investment")
    with pytest.raises(InvalidInput, match="unknown stage"):
        cells.stage(workflow, "评估中")


def test_summary_rows_and_names_with_keys() -> None:
    assert cells.is_summary(["城关镇小计", None, None, "=SUM(E4:E12)"])
    assert cells.is_summary([None, "合计", 123])
    assert cells.is_summary([None, None, "=SUM(E4:E22)"])
    assert not cells.is_summary([1, "有机杂粮深加工", "某公司"])
    assert not cells.is_summary([None, None])
    assert cells.name_and_key("李娜（lina）") == ("李娜", "lina")
    assert cells.name_and_key("李娜") == ("李娜", None)
    assert cells.text(1001, "code") == "1001"
