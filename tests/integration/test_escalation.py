"""Escalation scenarios over the real 2026 calendar with a fixed ``now``; every deadline is worked out
by hand. The use cases (ledger, moves, escalation, board) run on real databases, SQLite and PostgreSQL,
with tests.county.LADDER; the sweep, the status board and a bad county calendar also through the CLI
(in-process).

2026 around 国庆: 9-20 (Sun) is a make-up working day, 9-25..27 中秋 off, 10-01..07 off,
10-10 (Sat) a make-up working day.
"""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import create_engine, text

from followup.app import escalation, ledger, moves
from followup.app.board import status_board
from followup.app.escalation import SweepResult
from followup.app.ledger import ProjectInput
from followup.app.moves import Move
from followup.app.runtime import Runtime
from followup.errors import InvalidInput
from tests.county import LADDER
from tests.helpers import Cli, make_runtime

SH = ZoneInfo("Asia/Shanghai")


def at(day: str, clock: str = "09:00") -> datetime:
    return datetime.fromisoformat(f"{day}T{clock}").replace(tzinfo=SH)


@pytest.fixture
def county(rt: Runtime) -> Runtime:
    """The LADDER organisation, entered on 2026-01-05."""
    LADDER.seed(rt.at(at("2026-01-05")))
    return rt


def major_lead(rt: Runtime, since: str, now: str | None = None, name: str = "伊禾乳业十万吨乳制品") -> int:
    """A project of the `major` workflow entered at 线索 (limit: 10 working days)."""
    view = ledger.add_project(
        rt.at(at(now or since, "10:00")),
        ProjectInput(
            name=name,
            officer="lina",
            unit="chengguan",
            workflow="major",
            values={"leader": "liuqiang"},
        ),
        stage="lead",
        since=at(since, "00:00"),
        by=None,
    )
    return view.id


def shown(rt: Runtime, project_id: int, now: datetime) -> dict[str, object]:
    """The project as ``project show --json`` prints it, as of ``now``."""
    return ledger.get_project(rt.at(now), project_id).to_dict()


def sweep(rt: Runtime, now: datetime) -> SweepResult:
    return escalation.sweep(rt.at(now))


def queued(rt: Runtime) -> list[tuple[int, str, str, int, str]]:
    engine = create_engine(rt.store.url)
    with engine.connect() as conn:
        rows = conn.execute(
            text(
                "SELECT n.project_id, n.kind, n.level, n.repeat_no, o.key FROM notifications n "
                "JOIN officials o ON o.id = n.recipient_id ORDER BY n.id"
            )
        ).all()
    engine.dispose()
    return [tuple(r) for r in rows]  # type: ignore[misc]


def test_working_days_across_national_day_and_its_make_up_saturday(county: Runtime) -> None:
    # From Mon 2026-09-28: 9-29 (1), 9-30 (2), [10-01..07 off], 10-08 (3), 10-09 (4),
    # 10-10 Sat make-up (5), [10-11 Sun], 10-12..16 (6..10) → 2026-10-16.
    pid = major_lead(county, "2026-09-28")
    assert shown(county, pid, at("2026-09-28"))["deadline"] == "2026-10-16"
    # major's ladder: blue 14 days before (10-02), yellow the day after (10-17), red 10 working days
    # after (10-19..23, 10-26..30 → 10-30), top 30 days after (11-15). Yellow repeats every 3 days.
    view = shown(county, pid, at("2026-10-17"))
    assert (view["level"], view["level_label"]) == ("yellow", "黄灯")
    assert shown(county, pid, at("2026-10-01"))["level"] is None
    assert shown(county, pid, at("2026-10-02"))["level"] == "blue"
    assert shown(county, pid, at("2026-10-29"))["level"] == "yellow"
    assert shown(county, pid, at("2026-10-30"))["level"] == "red"
    assert shown(county, pid, at("2026-11-15"))["level"] == "top"

    moves.log(county.at(at("2026-10-16")), pid, by="lina", text="对接中", on=at("2026-10-16"))
    assert sweep(county, at("2026-10-17")).queued == 3  # yellow → officer, unit head, leader
    assert queued(county) == [
        (pid, "deadline", "yellow", 0, "lina"),
        (pid, "deadline", "yellow", 0, "wangjun"),
        (pid, "deadline", "yellow", 0, "liuqiang"),
    ]
    assert sweep(county, at("2026-10-17", "15:00")).queued == 0  # idempotent
    assert sweep(county, at("2026-10-19")).queued == 0  # 3-day repeat falls on 10-20
    assert sweep(county, at("2026-10-20")).queued == 3
    assert [r[3] for r in queued(county)][-3:] == [1, 1, 1]
    moves.log(county.at(at("2026-10-29")), pid, by="lina", text="等待用地预审", on=at("2026-10-29"))
    assert sweep(county, at("2026-10-30")).queued == 4  # red adds the supervision office
    assert {r[4] for r in queued(county)[-4:]} == {"lina", "wangjun", "liuqiang", "xuli"}


def test_hold_pauses_the_working_day_clock(county: Runtime) -> None:
    # Entered Mon 2026-09-21: 9-22 (1) 9-23 (2) 9-24 (3) [中秋 9-25..27] 9-28 (4) 9-29 (5) 9-30 (6)
    # [国庆] 10-08 (7) 10-09 (8) 10-10 Sat (9) 10-12 (10) → 2026-10-12.
    pid = major_lead(county, "2026-09-21")
    assert shown(county, pid, at("2026-09-21"))["deadline"] == "2026-10-12"
    moves.advance(
        county.at(at("2026-09-23")),
        Move(
            pid,
            "on_hold",
            by="lina",
            note="投资方董事会改期",
            until=date(2026, 10, 15),
            on=at("2026-09-23"),
        ),
    )
    held = shown(county, pid, at("2026-10-15"))
    assert (held["deadline"], held["level"]) == (None, None)
    assert sweep(county, at("2026-10-09")).queued == 0
    # Still on hold after its restart date (10-15): 暂缓到期 lights it (major's hold ladder: 黄灯 one
    # working day after, 10-16).
    assert shown(county, pid, at("2026-10-20"))["level"] == "yellow"
    # Resumed 10-09: working days on hold (9-23, 10-09] = 9-24, 9-28, 9-29, 9-30, 10-08, 10-09 = 6;
    # 10-12 + 6 working days: 10-13 10-14 10-15 10-16 10-19 10-20 → 2026-10-20.
    resumed = moves.advance(county.at(at("2026-10-09")), Move(pid, "lead", by="lina", on=at("2026-10-09")))
    assert resumed.to_dict()["deadline"] == "2026-10-20"


def test_an_extension_moves_the_deadline_and_starts_a_fresh_ladder(county: Runtime) -> None:
    pid = major_lead(county, "2026-09-28")  # deadline 2026-10-16
    moves.log(county.at(at("2026-10-16")), pid, by="lina", text="洽谈中", on=at("2026-10-16"))
    assert sweep(county, at("2026-10-17")).queued == 3
    with pytest.raises(InvalidInput, match="only its leader in charge"):
        moves.extend(county.at(at("2026-10-17")), pid, days=10, by="wangjun", reason="等待环评")
    view = moves.extend(
        county.at(at("2026-10-17", "11:00")), pid, days=10, by="liuqiang", reason="等待环评批复"
    ).to_dict()
    assert (view["deadline"], view["deadline_basis"], view["deadline_version"]) == (
        "2026-10-26",
        "extended",
        2,
    )
    # 2026-10-26 minus 14 days = 10-12: the fresh ladder starts again at blue (major: officer and head).
    assert view["level"] == "blue"
    assert sweep(county, at("2026-10-17", "12:00")).queued == 2
    assert queued(county)[-2:] == [
        (pid, "deadline", "blue", 0, "lina"),
        (pid, "deadline", "blue", 0, "wangjun"),
    ]
    assert ledger.history(county, pid)[-1].changes == {"deadline": ["2026-10-16", "2026-10-26"]}
    # supervision may extend too
    moves.extend(county.at(at("2026-10-18")), pid, days=1, by="xuli", reason="补充材料")
    assert shown(county, pid, at("2026-10-18"))["deadline"] == "2026-10-27"


def test_a_contract_date_overrides_the_stage_limit(county: Runtime) -> None:
    view = ledger.add_project(
        county.at(at("2026-05-06")),
        ProjectInput(
            name="华北冷链物流中心",
            officer="lina",
            unit="chengguan",
            values={"investor": "华北集团", "amount": "12000", "land": "80", "contract_start": "2026-07-15"},
        ),
        stage="land_prep",
        since=at("2026-05-06", "00:00"),
        by=None,
    ).to_dict()
    # land_prep: 120 days would be 2026-09-03; the contract says break ground by 2026-07-15.
    assert (view["deadline"], view["deadline_basis"]) == ("2026-07-15", "contract")
    assert shown(county, view["id"], at("2026-07-16"))["level"] == "yellow"


def test_2027_without_and_with_a_county_calendar(county: Runtime, tmp_path: Path) -> None:
    # From Mon 2026-12-28: 12-29 (1) 12-30 (2) 12-31 (3); chinesecalendar stops at 2026.
    # Plain weekdays: 2027-01-01 Fri (4), 01-04..08 (5..9), 01-11 (10) → 2027-01-11.
    pid = major_lead(county, "2026-12-28")
    assert shown(county, pid, at("2026-12-28"))["deadline"] == "2027-01-11"
    board = status_board(county.at(at("2026-12-28")))
    assert any("no official holiday calendar for 2027" in w for w in board.warnings)

    calendar = tmp_path / "calendar.yaml"
    calendar.write_text("2027:\n  holidays: [2027-01-01]\n  workdays: []\n", encoding="utf-8")
    declared = make_runtime(county.settings.database_url, tmp_path, calendar_file=str(calendar))
    # With 元旦 declared: 2027-01-04..08 (4..8), 01-11 (9), 01-12 (10) → 2027-01-12.
    other = major_lead(declared, "2026-12-28", name="华北冷链物流中心")  # one name per unit
    assert shown(declared, other, at("2026-12-28"))["deadline"] == "2027-01-12"
    assert not any("2027" in w for w in status_board(declared.at(at("2026-12-28"))).warnings)
    declared.close()


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("2027: {holidays: [not-a-date]}\n", "expected a date"),
        ("2027: {holidays: [2026-12-31]}\n", "is not in 2027"),
        ("2027: {vacations: []}\n", "expected holidays"),
        ("[1, 2]\n", "expected years as keys"),
    ],
)
def test_a_bad_county_calendar_is_one_clear_line(tmp_path: Path, content: str, message: str) -> None:
    calendar = tmp_path / "calendar.yaml"
    calendar.write_text(content, encoding="utf-8")
    run = Cli(f"sqlite:///{tmp_path / 'f.db'}", tmp_path)
    result = run("init", env={"FOLLOWUP_CALENDAR_FILE": str(calendar)})
    assert result.code == 2
    assert len(result.err.splitlines()) == 1 and message in result.err


def test_staleness_raises_its_own_warning(county: Runtime) -> None:
    view = ledger.add_project(
        county.at(at("2026-06-01")),
        ProjectInput(name="康源中药饮片", officer="lina", unit="chengguan", values={"investor": "康源"}),
        stage="talks",
        since=at("2026-06-01", "00:00"),
        by=None,
    )
    # talks: staleness 10 working days → stale from 2026-06-15; deadline (90 days) 2026-08-30.
    assert shown(county, view.id, at("2026-06-14"))["stale_since"] is None
    assert shown(county, view.id, at("2026-06-15"))["stale_since"] == "2026-06-15"
    assert sweep(county, at("2026-06-15")).queued == 2
    assert queued(county) == [
        (view.id, "stale", "stale", 0, "lina"),
        (view.id, "stale", "stale", 0, "wangjun"),
    ]
    moves.log(county.at(at("2026-06-16")), view.id, by="lina", text="投资方回复下周考察", on=at("2026-06-16"))
    assert shown(county, view.id, at("2026-06-20"))["stale_since"] is None
    assert sweep(county, at("2026-06-20")).queued == 0
    # 06-16 + 10 working days, 端午 (06-19) not counted: 06-17, 06-18, 06-22..26, 06-29, 06-30, 07-01
    assert sweep(county, at("2026-06-30")).queued == 0
    assert sweep(county, at("2026-07-01")).queued == 2
    assert sweep(county, at("2026-07-15")).queued == 2  # the repeat after 10 more quiet working days


def test_a_stage_change_ends_the_ladder_and_the_sweep_only_looks_at_due_projects(county: Runtime) -> None:
    pid = major_lead(county, "2026-09-28")
    # investment lead from 10-16: deadline 11-15, blue 11-08, stale after 5 working days (10-23)
    quiet = ledger.add_project(
        county.at(at("2026-10-16")),
        ProjectInput(name="金穗杂粮深加工", officer="lina", unit="chengguan"),
        stage="lead",
        since=at("2026-10-16", "00:00"),
        by=None,
    )
    assert quiet.to_dict()["next_escalation_at"] == "2026-10-23T00:00:00+08:00"
    moves.log(county.at(at("2026-10-16")), pid, by="lina", text="对接中", on=at("2026-10-16"))
    result = sweep(county, at("2026-10-17"))
    assert (result.looked_at, result.queued) == (1, 3)  # the quiet project is not even looked at
    assert {r[0] for r in queued(county)} == {pid}
    moves.advance(
        county.at(at("2026-10-18")),
        Move(pid, "talks", by="lina", values={"investor": "伊禾集团"}, on=at("2026-10-18")),
    )
    assert shown(county, pid, at("2026-10-20"))["level"] is None
    before = len(queued(county))
    assert sweep(county, at("2026-10-20")).queued == len(queued(county)) - before
    assert all(r[0] != pid or r[1] != "deadline" for r in queued(county)[before:])


def test_sweep_and_status_through_the_cli(cli: Cli) -> None:
    cli.ok("unit", "add", "u1", "--name", "城关镇")
    cli.ok("official", "add", "o1", "--name", "李娜", "--email", "o1@example.gov.cn", "--unit", "u1")
    cli.ok(
        "official", "add", "h1", "--name", "王军", "--email", "h1@example.gov.cn", "--unit", "u1", "--head"
    )
    cli.ok(
        "project",
        "add",
        "--name",
        "伊禾乳制品",
        "--officer",
        "o1",
        "--unit",
        "u1",
        "--since",
        "2026-09-01",
        "--now",
        "2026-09-01T10:00",
    )
    # lead: 30 calendar days → 2026-10-01; yellow from 10-02 (→ officer and unit head)
    dry = cli.ok("sweep", "--now", "2026-10-02T09:00", "--dry-run", "--json").json()
    assert [(p["level"], p["role"]) for p in dry["planned"]] == [
        ("yellow", "case_officer"),
        ("yellow", "unit_head"),
        ("stale", "case_officer"),
        ("stale", "unit_head"),
    ]
    assert cli.ok("sweep", "--now", "2026-10-02T09:00", "--json").json()["queued"] == 4
    assert cli.ok("sweep", "--now", "2026-10-02T09:05", "--json").json()["queued"] == 0
    board = cli.ok("status", "--now", "2026-10-02T09:00", "--json").json()
    assert board["totals"]["yellow"] == 1 and board["totals"]["stale"] == 1
    assert board["units"][0]["name"] == "城关镇"
    shown = cli.ok("project", "show", "1", "--json", "--now", "2026-10-02T09:00").json()
    assert (shown["level"], shown["deadline"], shown["deadline_basis"]) == ("yellow", "2026-10-01", "limit")
    listed = cli.ok("outbox", "--json").json()
    assert [(r["level"], r["recipient"]["key"], r["status"]) for r in listed] == [
        ("yellow", "o1", "pending"),
        ("yellow", "h1", "pending"),
        ("stale", "o1", "pending"),
        ("stale", "h1", "pending"),
    ]
