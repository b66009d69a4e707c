"""``followup report`` and ``followup chains`` on a county whose history was made through the CLI with
``--now`` in the past, so that every line of it has a real date: the figures as of a day are rebuilt
from that history, before and after a move."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
from openpyxl import load_workbook

from followup.app.report_rebuild import reconstruct
from followup.app.report_replay import reconstruct_by_replay
from tests.county import SMALL
from tests.helpers import Cli, make_runtime

REPORT_NOW = "2026-06-01 10:00"
#: 开工 needs evidence (以图为证)
SITE_PHOTO = str(Path(__file__).parent.parent / "data" / "site-photo.jpg")


def add(cli: Cli, now: str, name: str, *extra: str) -> int:
    out = cli.ok(
        "project", "add", "--name", name, "--officer", "lina", "--unit", "chengguan", *extra, "--now", now
    )
    return int(out.out.strip().split()[-1]) if out.out.strip().split()[-1].isdigit() else _last_id(cli)


def _last_id(cli: Cli) -> int:
    rows = cli.ok("project", "list", "--json", "--now", REPORT_NOW).json()
    return int(max(r["id"] for r in rows))


def advance(cli: Cli, pid: int, stage: str, now: str, *extra: str) -> None:
    cli.ok("advance", str(pid), stage, "--by", "lina", *extra, "--now", now)


@pytest.fixture
def history(any_cli: Cli) -> dict[str, int]:
    """A: lead 2025-03-01 → talks 03-10 → signing 04-01 (2亿, 乳品加工/液态奶) → 500万 in place 06-01 →
    land prep 09-01 → groundbreaking 10-15. B: lead 2025-05-01 → talks 07-01. C: entered at
    groundbreaking 2025-08-01 (800万, no chain). D: a lead voided (entered by mistake)."""
    cli = any_cli
    cli.env["FOLLOWUP_NOW"] = "2025-01-02 09:00"
    SMALL.seed_cli(cli)
    del cli.env["FOLLOWUP_NOW"]
    a = add(cli, "2025-03-01 10:00", "乳品加工项目", "--chain", "乳品加工", "--chain-link", "液态奶")
    advance(cli, a, "talks", "2025-03-10 10:00", "--set", "investor=某乳业")
    advance(cli, a, "签约", "2025-04-01 10:00", "--set", "amount=2亿")
    cli.ok("funds", str(a), "--amount", "500", "--by", "lina", "--now", "2025-06-01 10:00")
    advance(cli, a, "land_prep", "2025-09-01 10:00", "--set", "land=50")
    advance(cli, a, "groundbreaking", "2025-10-15 10:00", "--evidence", SITE_PHOTO)
    b = add(cli, "2025-05-01 10:00", "杂粮加工")
    advance(cli, b, "talks", "2025-07-01 10:00", "--set", "investor=某食品")
    c = add(
        cli,
        "2025-08-01 10:00",
        "屠宰场",
        "--stage",
        "开工",
        "--amount",
        "800",
        "--investor",
        "某牧业",
        "--land",
        "30",
    )
    d = add(cli, "2025-05-02 10:00", "重复录入")
    cli.ok("project", "void", str(d), "--by", "lina", "--reason", "重复", "--now", "2025-05-03 10:00")
    return {"a": a, "b": b, "c": c, "d": d}


def figures(cli: Cli, *args: str) -> dict[str, Any]:
    data = cli.ok("report", "--format", "json", "--now", REPORT_NOW, *args).json()
    out = {f["key"]: f for f in data["figures"] + data["indicators"]}
    out["_report"] = data
    return out


def nd(figure: dict[str, Any]) -> tuple[Any, Any]:
    return figure["numerator"], figure["denominator"]


def test_the_figures_as_of_a_day_before_and_after_a_move(any_cli: Cli, history: dict[str, int]) -> None:
    # the day before A broke ground: signed A (2025-04-01) and C (entered at 开工 2025-08-01)
    before = figures(any_cli, "--as-of", "2025-10-14", "--cohort", "2025")
    assert nd(before["start_rate"]) == (1, 2)  # C only
    assert nd(before["performance_rate"]) == (2, 2)  # A has funds in place, C broke ground
    assert nd(before["signing_rate"]) == (1, 2)  # leads entered in 2025: A, B (D voided, C no lead)
    assert nd(before["funds_rate"]) == (500, 20800)  # 500万 of 2亿 + 800万
    assert nd(before["production_rate"]) == (0, 2)
    # the day A broke ground
    after = figures(any_cli, "--as-of", "2025-10-15", "--cohort", "2025")
    assert nd(after["start_rate"]) == (2, 2)
    assert after["start_rate"]["value"] == 1.0
    # before the money arrived, A was signed but not performing
    early = figures(any_cli, "--as-of", "2025-05-31", "--cohort", "2025")
    assert nd(early["performance_rate"]) == (0, 1)
    assert nd(early["funds_rate"]) == (0, 20000)
    # before anything was signed: no denominator, no value
    none = figures(any_cli, "--as-of", "2025-03-31")
    assert nd(none["start_rate"]) == (0, 0) and none["start_rate"]["value"] is None
    assert nd(none["signing_rate"]) == (0, 1)  # A is the only lead entered by then (D came in May)
    # another cohort is empty
    assert nd(figures(any_cli, "--cohort", "2026")["start_rate"]) == (0, 0)


def test_indicators_stage_times_and_funnel(any_cli: Cli, history: dict[str, int]) -> None:
    found = figures(any_cli, "--as-of", "2026-01-01")
    assert nd(found["chain_share"]) == (1, 2)  # A on 乳品加工/液态奶
    assert nd(found["large_share"]) == (1, 2)  # A: 2亿 ≥ 1亿
    assert nd(found["good_share"]) == (1, 2)  # A: large, on the map, broke ground
    data = found["_report"]
    times = {t["stage"]: t for t in data["stage_times"]}
    # A: lead 9 days, talks 22, signing 153, land prep 44; B: lead 61 days (talks still running)
    assert (times["lead"]["n"], times["lead"]["median"], times["lead"]["p90"]) == (2, 35, 61)
    assert (times["talks"]["n"], times["talks"]["median"]) == (1, 22)
    assert (times["signing"]["median"], times["land_prep"]["median"]) == (153, 44)
    funnel = {key: n for key, _label, n in data["funnel"]}
    assert funnel == {
        "lead": 3,
        "talks": 3,
        "signing": 2,
        "land_prep": 2,
        "groundbreaking": 2,
        "production": 0,
    }
    assert data["lights"] and data["as_of"] == "2026-01-01"


def test_groups_by_unit_and_chain(any_cli: Cli, history: dict[str, int]) -> None:
    data = any_cli.ok("report", "--by", "chain", "--format", "json", "--now", REPORT_NOW).json()
    groups = {g["key"]: g for g in data["groups"]}
    assert set(groups) == {"乳品加工", ""}
    start = {g: next(f for f in groups[g]["figures"] if f["key"] == "start_rate") for g in groups}
    assert (start["乳品加工"]["numerator"], start["乳品加工"]["denominator"]) == (1, 1)
    assert (start[""]["numerator"], start[""]["denominator"]) == (1, 1)
    by_unit = any_cli.ok("report", "--by", "unit", "--format", "json", "--now", REPORT_NOW).json()
    assert [g["name"] for g in by_unit["groups"]] == ["城关镇人民政府"]


def test_table_shows_each_figure_with_its_definition(cli: Cli, tmp_path: Path) -> None:
    cli.env["FOLLOWUP_NOW"] = "2025-01-02 09:00"
    SMALL.seed_cli(cli)
    del cli.env["FOLLOWUP_NOW"]
    pid = add(
        cli, "2025-03-01 10:00", "乳品加工项目", "--investor", "某乳业", "--amount", "5000", "--stage", "签约"
    )
    advance(cli, pid, "land_prep", "2025-04-01 10:00", "--set", "land=10")
    out = cli.ok("report", "--now", REPORT_NOW).out
    assert "start rate" in out and "0.0%" in out and "0/1" in out
    assert "signed projects that reached groundbreaking" in out
    assert "Time in each stage" in out and "Funnel" in out
    html = tmp_path / "report.html"
    cli.ok("report", "--format", "html", "--output", str(html), "--now", REPORT_NOW)
    page = html.read_text(encoding="utf-8")
    assert "0.0%" in page and "<link" not in page and "src=" not in page and "performance rate" in page
    book = tmp_path / "report.xlsx"
    cli.ok("report", "--format", "xlsx", "--output", str(book), "--cohort", "2025", "--now", REPORT_NOW)
    sheet = load_workbook(book).worksheets[0]
    labels = [row[0] for row in sheet.iter_rows(values_only=True)]
    assert "start rate" in labels


def test_bad_options_are_refused(cli: Cli) -> None:
    assert cli("report", "--format", "xlsx").code == 2  # needs --output
    bad = cli("report", "--as-of", "2099-01-01", "--now", REPORT_NOW)
    assert bad.code == 2 and "after today" in bad.err
    assert cli("report", "--as-of", "yesterday").code == 2
    assert cli("report", "--by", "township").code == 2


def test_chains_shows_links_by_stage_and_the_gaps(any_cli: Cli, history: dict[str, int]) -> None:
    data = any_cli.ok("chains", "--format", "json", "--now", REPORT_NOW).json()
    dairy = next(c for c in data["chains"] if c["name"] == "乳品加工")
    link = next(k for k in dairy["links"] if k["link"] == "液态奶")
    assert link["projects"] == [history["a"]] and link["stages"]["groundbreaking"] == 1 and not link["empty"]
    assert "奶牛养殖" in dairy["gaps"] and "液态奶" not in dairy["gaps"]
    assert {c["name"] for c in data["chains"]} == {
        "健康食品",
        "畜牧屠宰加工",
        "中药材种植加工",
        "乳品加工",
        "云服务",
    }
    # as of a day before A existed, its link is a gap too
    early = any_cli.ok("chains", "--format", "json", "--as-of", "2025-02-01", "--now", REPORT_NOW).json()
    assert "液态奶" in next(c for c in early["chains"] if c["name"] == "乳品加工")["gaps"]
    table = any_cli.ok("chains", "--now", REPORT_NOW).out
    assert "招商缺口" in table and "乳品加工" in table


def test_a_county_chain_map_replaces_the_shipped_one(cli: Cli, tmp_path: Path) -> None:
    own = tmp_path / "chains.yaml"
    own.write_text(
        "chains:\n  - name: 光伏\n    upstream: [硅料]\n    downstream: [电站]\n", encoding="utf-8"
    )
    out = cli.ok("chains", env={"FOLLOWUP_CHAINS_FILE": str(own)}).out
    assert "光伏" in out and "乳品加工" not in out
    own.write_text("chains:\n  - name: 光伏\n    upstream: [硅料, 硅料]\n", encoding="utf-8")
    bad = cli("chains", env={"FOLLOWUP_CHAINS_FILE": str(own)})
    assert bad.code != 0 and f"{own}:3" in bad.err and "twice" in bad.err


def test_the_fast_reconstruction_equals_the_line_by_line_replay(
    any_cli: Cli, history: dict[str, int], tmp_path: Path
) -> None:
    rt = make_runtime(any_cli.url, tmp_path, now=datetime(2026, 6, 1, 2, 0, tzinfo=UTC))
    try:
        for day in ("2025-03-05", "2025-05-31", "2025-10-14", "2025-10-15", "2026-06-01"):
            with rt.store.reading() as session:
                conn = session.connection()
                fast = sorted(reconstruct(rt, conn, date.fromisoformat(day)), key=lambda p: p.id)
                slow = sorted(reconstruct_by_replay(rt, conn, date.fromisoformat(day)), key=lambda p: p.id)
            assert [replace(p, stays=()) for p in fast] == [replace(p, stays=()) for p in slow], day
            assert [[(s.stage, s.days) for s in p.stays] for p in fast] == [
                [(s.stage, s.days) for s in p.stays] for p in slow
            ], day
            assert history["d"] not in {p.id for p in fast}
    finally:
        rt.close()
