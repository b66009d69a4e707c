"""The figures' definitions on fixtures whose figures are worked out by hand below (no database)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from followup.app.report_rebuild import TRACKED, _Current
from followup.app.report_replay import replay
from followup.domain import metrics
from followup.domain.chains import Chain, ChainMap, Link
from followup.domain.metrics import (
    LIFECYCLE,
    GoodCriteria,
    MetricSettings,
    ProjectAsOf,
    Stay,
    percent,
    percentile,
)
from followup.errors import ConfigError

ZONE = ZoneInfo("Asia/Shanghai")
MAP = ChainMap(
    (
        Chain(
            "乳品加工",
            (Link("奶牛养殖", "upstream"), Link("液态奶", "midstream"), Link("冷链物流", "downstream")),
        ),
        Chain("云服务", (Link("数据中心建设", "upstream"), Link("冷链物流", "downstream"))),
    )
)


def reached(stage: str) -> frozenset[str]:
    """Every lifecycle stage up to ``stage``."""
    return frozenset(LIFECYCLE[: LIFECYCLE.index(stage) + 1])


def project(n: int, stage: str, *, year: int = 2026, lead: bool = True, **kw: object) -> ProjectAsOf:
    signed = metrics.SIGNING in reached(stage)
    return ProjectAsOf(
        id=n,
        stage=stage,
        entered_on=date(year, 1, 10),
        reached=reached(stage),
        was_lead=lead,
        signed_on=date(year, 3, 1) if signed else None,
        **kw,  # type: ignore[arg-type]
    )


def county_2026() -> list[ProjectAsOf]:
    """The county report's year, by hand: 247 signed, of which 222 broke ground (200 at groundbreaking,
    22 in production), 22 more have money in place without having broken ground, 3 neither (one of
    them terminated after signing) → 履约 244. 100 leads that never signed. All 347 entered as leads
    in 2026."""
    out: list[ProjectAsOf] = []
    n = 0

    def add(count: int, stage: str, **kw: object) -> None:
        nonlocal n
        for _ in range(count):
            n += 1
            out.append(project(n, stage, **kw))

    add(200, "groundbreaking", amount=Decimal(1000), funds=Decimal(500))
    add(22, "production", amount=Decimal(1000), funds=Decimal(1000))
    add(22, "land_prep", amount=Decimal(1000), funds=Decimal(100))
    add(2, "signing", amount=Decimal(1000), funds=Decimal(0))
    n += 1
    out.append(  # signed, then terminated: still counted, not performing
        ProjectAsOf(
            n, "terminated", date(2026, 1, 10), reached("signing"), True, date(2026, 3, 1), Decimal(1000)
        )
    )
    add(60, "lead")
    add(40, "talks")
    return out


def by_key(figures: list[metrics.Measure]) -> dict[str, metrics.Measure]:
    return {f.key: f for f in figures}


def test_the_county_report_figures_98_8_and_89_9() -> None:
    figures = by_key(metrics.rates(county_2026(), 2026))
    perf, start = figures["performance_rate"], figures["start_rate"]
    assert (perf.numerator, perf.denominator) == (244, 247)
    assert (start.numerator, start.denominator) == (222, 247)
    assert percent(perf.value) == "98.8%"  # 244/247 = 0.98785…
    assert percent(start.value) == "89.9%"  # 222/247 = 0.89878…
    production = figures["production_rate"]
    assert (production.numerator, production.denominator) == (22, 247)
    signing = figures["signing_rate"]  # 247 of the 347 leads signed: 71.2%
    assert (signing.numerator, signing.denominator) == (247, 347)
    assert percent(signing.value) == "71.2%"
    # funds: 200×500 + 22×1000 + 22×100 + 0 + 0 (the terminated one has no funds) = 124,200
    # of 247 × 1000 = 247,000 → 50.3%
    funds = figures["funds_rate"]
    assert (funds.numerator, funds.denominator) == (Decimal(124200), Decimal(247000))
    assert percent(funds.value) == "50.3%"
    assert all(f.definition for f in figures.values())


def test_cohorts_count_each_project_in_its_signing_year() -> None:
    earlier = [project(1000 + i, "groundbreaking", year=2025, amount=Decimal(100)) for i in range(3)]
    earlier.append(project(1003, "signing", year=2025, amount=Decimal(100)))
    earlier.append(project(1004, "lead", year=2025))
    everything = county_2026() + earlier
    y2025 = by_key(metrics.rates(everything, 2025))
    assert (y2025["start_rate"].numerator, y2025["start_rate"].denominator) == (3, 4)
    assert (y2025["signing_rate"].numerator, y2025["signing_rate"].denominator) == (4, 5)
    y2026 = by_key(metrics.rates(everything, 2026))
    assert (y2026["start_rate"].numerator, y2026["start_rate"].denominator) == (222, 247)
    every = by_key(metrics.rates(everything, None))
    assert (every["start_rate"].numerator, every["start_rate"].denominator) == (225, 251)
    empty = by_key(metrics.rates(everything, 2019))
    assert empty["start_rate"].denominator == 0 and empty["start_rate"].value is None
    assert percent(empty["start_rate"].value) == "—"


def test_a_project_entered_already_signed_is_no_lead_but_counts_as_signed() -> None:
    imported = project(1, "groundbreaking", lead=False)
    lead = project(2, "talks")
    figures = by_key(metrics.rates([imported, lead], 2026))
    assert (figures["signing_rate"].numerator, figures["signing_rate"].denominator) == (0, 1)
    assert (figures["start_rate"].numerator, figures["start_rate"].denominator) == (1, 1)


def test_four_many_four_few_indicators() -> None:
    projects = [
        # large, on the map, broke ground: good
        project(1, "groundbreaking", amount=Decimal(20000), chain="乳品加工", chain_link="液态奶"),
        # large, on the map, not started, 40% in place: good
        project(
            2,
            "land_prep",
            amount=Decimal(10000),
            funds=Decimal(4000),
            chain="乳品加工",
            chain_link="奶牛养殖",
        ),
        # large, on the map, 20% in place, not started: not good
        project(
            3, "signing", amount=Decimal(50000), funds=Decimal(10000), chain="乳品加工", chain_link="液态奶"
        ),
        # small, started, link unknown to its chain: not on the map, not good
        project(4, "production", amount=Decimal("9999.99"), chain="乳品加工", chain_link="数据存储"),
        # no chain, a link two chains have: ambiguous, not on the map
        project(5, "groundbreaking", amount=Decimal(30000), chain_link="冷链物流"),
        # no chain, a link only one chain has: on the map
        project(6, "groundbreaking", amount=Decimal(800), chain_link="数据中心建设"),
        project(7, "lead"),
        project(8, "talks"),
    ]
    found = by_key(metrics.indicators(projects, 2026, MetricSettings(), MAP.knows))
    assert (found["lead_conversion"].numerator, found["lead_conversion"].denominator) == (6, 8)
    assert (found["chain_share"].numerator, found["chain_share"].denominator) == (4, 6)  # 1, 2, 3, 6
    assert (found["large_share"].numerator, found["large_share"].denominator) == (4, 6)  # 1, 2, 3, 5
    assert (found["good_share"].numerator, found["good_share"].denominator) == (2, 6)  # 1, 2
    assert "10000" in found["large_share"].definition
    # a threshold of 5亿 and "good" = large only
    settings = MetricSettings(Decimal(50000), GoodCriteria.parse("large"))
    found = by_key(metrics.indicators(projects, 2026, settings, MAP.knows))
    assert found["large_share"].numerator == 1 and found["good_share"].numerator == 1
    everyone = MetricSettings(good=GoodCriteria.parse("none"))
    assert by_key(metrics.indicators(projects, 2026, everyone, MAP.knows))["good_share"].numerator == 6


def test_good_criteria_are_a_small_declared_setting() -> None:
    assert GoodCriteria.parse(None) == GoodCriteria(True, True, True, Decimal("0.3"))
    assert GoodCriteria.parse("chain, progress, funds=0.5") == GoodCriteria(False, True, True, Decimal("0.5"))
    for bad in ("huge", "funds=2", "funds=x"):
        with pytest.raises(ConfigError):
            GoodCriteria.parse(bad)


def test_stage_times_median_and_90th_percentile_of_completed_stays() -> None:
    start = date(2026, 1, 1)
    # talks stays of 10, 20, …, 100 days: median 55, p90 (nearest rank: the 9th of 10) 90
    projects = [
        ProjectAsOf(
            i,
            "signing",
            start,
            reached("signing"),
            stays=(Stay("talks", start, start + timedelta(days=10 * i)),),
        )
        for i in range(1, 11)
    ]
    times = {t.stage: t for t in metrics.stage_times(projects)}
    assert (times["talks"].n, times["talks"].median, times["talks"].p90) == (10, 55.0, 90.0)
    assert times["lead"].n == 0 and times["lead"].median is None
    assert percentile([5.0], 90) == 5.0 and percentile([], 50) is None
    assert percentile([1.0, 2.0, 3.0], 50) == 2.0


def test_funnel_counts_projects_that_reached_each_stage() -> None:
    projects = [project(1, "production"), project(2, "signing"), project(3, "lead")]
    assert metrics.funnel(projects) == [
        ("lead", 3),
        ("talks", 2),
        ("signing", 2),
        ("land_prep", 1),
        ("groundbreaking", 1),
        ("production", 1),
    ]


# --------------------------------------------------------------------------- rebuilt as of a day


def at(day: str) -> datetime:
    """10:00 in the county on ``day``, in UTC."""
    return datetime.fromisoformat(day + "T10:00").replace(tzinfo=ZONE).astimezone(UTC)


def end_of(day: str) -> datetime:
    return (datetime.fromisoformat(day).replace(tzinfo=ZONE) + timedelta(days=1)).astimezone(UTC)


HISTORY = [
    # project_id, kind, at, from_stage, to_stage, changes
    (7, "created", at("2025-11-03"), None, "lead", {"chain": "乳品加工"}),
    (7, "move", at("2025-11-20"), "lead", "talks", {"investor": [None, "某乳业"]}),
    (7, "edit", at("2025-12-01"), None, None, {"amount": [None, 20000], "unit": ["hexi", "chengguan"]}),
    (7, "move", at("2026-01-15"), "talks", "signing", {"signed_on": [None, "2026-01-15"]}),
    (7, "funds", at("2026-03-01"), None, None, {"funds_in_place": [None, 3000]}),
    (7, "move", at("2026-04-10"), "signing", "land_prep", None),
    (7, "move", at("2026-05-20"), "land_prep", "groundbreaking", {"started_on": [None, "2026-05-20"]}),
]
ROW = _Current(
    "investment", at("2025-11-03"), dict.fromkeys(TRACKED) | {"unit": "chengguan", "officer": "lina"}
)
ORDERS = {"investment": {s: i for i, s in enumerate(LIFECYCLE)}}


def rebuilt(day: str) -> ProjectAsOf | None:
    return replay(7, HISTORY, ROW, ORDERS, end_of(day), ZONE)


def test_the_state_as_of_a_day_comes_from_the_history() -> None:
    assert rebuilt("2025-11-02") is None  # not entered yet
    lead = rebuilt("2025-11-10")
    assert lead is not None
    assert (lead.stage, lead.signed, lead.unit, lead.amount, lead.chain) == (
        "lead",
        False,
        "hexi",
        None,
        "乳品加工",
    )
    talks = rebuilt("2026-01-14")  # the day before signing
    assert talks is not None and talks.stage == "talks" and talks.cohort is None
    assert talks.amount == Decimal(20000) and talks.unit == "chengguan"
    signed = rebuilt("2026-01-15")  # the end of the signing day
    assert signed is not None and signed.signed and signed.cohort == 2026 and not signed.performing
    funded = rebuilt("2026-03-01")
    assert funded is not None and funded.funds == Decimal(3000) and funded.performing and not funded.started
    now = rebuilt("2026-06-01")
    assert now is not None and now.stage == "groundbreaking" and now.started
    assert [(s.stage, s.days) for s in now.stays] == [
        ("lead", 17),
        ("talks", 56),
        ("signing", 85),
        ("land_prep", 40),
    ]


def test_an_as_of_day_in_the_past_changes_the_figures() -> None:
    others = [project(i, "signing", amount=Decimal(1000)) for i in (1, 2, 3)]
    before = rebuilt("2026-05-19")
    after = rebuilt("2026-05-20")
    assert before is not None and after is not None
    then = by_key(metrics.rates([*others, before], 2026))["start_rate"]
    now = by_key(metrics.rates([*others, after], 2026))["start_rate"]
    assert (then.numerator, then.denominator) == (0, 4)
    assert (now.numerator, now.denominator) == (1, 4)
    assert percent(now.value) == "25.0%"
