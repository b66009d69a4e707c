"""The report's figures counted by kind in the database (``app.report.summarise``) equal the same
figures worked out over every project replayed line by line from its history
(``reconstruct_by_replay``), for several days, cohorts and groupings, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest

from followup.app.report import (
    _GROUP_OF,
    _time_stages,
    build_report,
    chain_map,
    metric_settings,
    reconstruct_by_replay,
)
from followup.domain import metrics
from followup.store.models import ProjectEvent
from tests.helpers import Cli, make_runtime
from tests.integration.test_report import add, advance, history  # noqa: F401  (the fixture)


def figures(measures: list[Any]) -> list[tuple[Any, ...]]:
    return [(m.key, m.numerator, m.denominator, m.value) for m in measures]


@pytest.mark.parametrize("by", [None, "unit", "chain", "officer"])
def test_the_counted_figures_equal_those_of_the_replayed_projects(
    any_cli: Cli,
    history: dict[str, int],  # noqa: F811
    tmp_path: Path,
    by: str | None,
) -> None:
    cli = any_cli
    late = add(cli, "2025-11-01 10:00", "跨年签约", "--chain", "乳品加工", "--chain-link", "液态奶")
    advance(cli, late, "talks", "2025-12-01 10:00", "--set", "investor=某集团")
    advance(cli, late, "签约", "2026-01-10 10:00", "--set", "amount=1.5亿")
    cli.ok("funds", str(late), "--amount", "6000.5", "--by", "lina", "--now", "2026-02-01 10:00")
    advance(cli, late, "land_prep", "2026-03-01 10:00", "--set", "land=20")
    rt = make_runtime(any_cli.url, tmp_path, now=datetime(2026, 6, 1, 2, 0, tzinfo=UTC))
    settings = metric_settings(rt)
    knows = chain_map(rt).knows
    checked = 0
    try:
        for day in ("2025-03-05", "2025-05-31", "2025-08-01", "2025-10-15", "2026-01-31", "2026-06-01"):
            as_of = date.fromisoformat(day)
            with rt.store.reading() as session:
                projects = reconstruct_by_replay(rt, session.connection(), as_of)
            for cohort in (None, 2025, 2026):
                view = build_report(rt, as_of=as_of, cohort=cohort, by=by, with_lights=False)
                counted = metrics.in_cohort(projects, cohort)
                assert figures([*view.figures]) == figures(metrics.rates(projects, cohort)), (day, cohort)
                assert figures([*view.indicators]) == figures(
                    metrics.indicators(projects, cohort, settings, knows)
                ), (day, cohort)
                assert [(n, k) for n, _label, k in view.funnel] == metrics.funnel(counted)
                assert [(t.stage, t.n, t.median, t.p90) for t in view.stage_times] == [
                    (t.stage, t.n, t.median, t.p90) for t in metrics.stage_times(counted, _time_stages())
                ], (day, cohort)
                assert view.projects == len(counted)
                if by:
                    parts = metrics.grouped(counted, _GROUP_OF[by])
                    assert [g.key for g in view.groups] == sorted(
                        (k or "" for k in parts), key=lambda k: (k == "", k)
                    )
                    for group in view.groups:
                        members = parts[group.key or None]
                        assert figures(group.figures) == figures(metrics.rates(members, cohort))
                checked += view.projects
    finally:
        rt.close()
    assert checked > 10  # the history is not empty: the comparison compared something


def test_sums_keep_the_decimal_places_of_the_amounts_one_by_one() -> None:
    from followup.store.reporting import hundredths

    assert str(hundredths(50, 2)) == "0.50"
    assert str(hundredths(2_000_000, 0)) == "20000"
    assert str(hundredths(None, None)) == "0"
    assert str(sum([metrics.Decimal("0.25"), metrics.Decimal("0.25")], metrics.Decimal(0))) == "0.50"


def test_stays_in_a_stage_no_workflow_declares_are_counted_under_its_name(
    any_cli: Cli,
    history: dict[str, int],  # noqa: F811
    tmp_path: Path,
) -> None:
    rt = make_runtime(any_cli.url, tmp_path, now=datetime(2026, 6, 1, 2, 0, tzinfo=UTC))
    try:
        with rt.store.transaction() as session:  # a line of history from a workflow since changed
            for at, from_stage, to_stage in (
                (datetime(2025, 8, 1, 2, 0, tzinfo=UTC), "talks", "mystery"),
                (datetime(2025, 8, 11, 2, 0, tzinfo=UTC), "mystery", "talks"),
            ):
                session.add(
                    ProjectEvent(
                        project_id=history["b"],
                        kind="move",
                        at=at,
                        recorded_at=at,
                        from_stage=from_stage,
                        to_stage=to_stage,
                    )
                )
        view = build_report(rt, as_of=date(2026, 6, 1), with_lights=False)
        with rt.store.reading() as session:
            projects = reconstruct_by_replay(rt, session.connection(), date(2026, 6, 1))
        expected = metrics.stage_times(projects, _time_stages())
        assert [(t.stage, t.n, t.median, t.p90) for t in view.stage_times] == [
            (t.stage, t.n, t.median, t.p90) for t in expected
        ]
        assert ("mystery", 1, 10.0) in [(t.stage, t.n, t.median) for t in view.stage_times]
    finally:
        rt.close()
