"""Hygiene of the ledger (issue 8), through the CLI on SQLite and PostgreSQL: no project twice in a unit,
no address twice, every referring project listed, a project entered by mistake voided, who typed each
line of history (录入人), ``--by`` on every edit, reading commands that never make a database; and the
ledger's own clocks: ``extend --until`` and ``project add --last-followup``."""

from __future__ import annotations

import getpass
from pathlib import Path

import pytest

from tests.county import SMALL
from tests.helpers import Cli, snapshot

NOW = "2026-06-01 10:00"


@pytest.fixture
def county(any_cli: Cli) -> Cli:
    return SMALL.seed_cli(any_cli)


def add(run: Cli, name: str, *extra: str, unit: str = "chengguan") -> int:
    args = ("project", "add", "--name", name, "--officer", "lina", "--unit", unit, "--now", NOW)
    return int(run.ok(*args, *extra).out)


def refused(run: Cli, *args: str, code: int) -> str:
    before = snapshot(run.url)
    result = run(*args)
    assert (result.code, result.out) == (code, ""), result.err
    assert len(result.err.splitlines()) == 1, result.err
    assert snapshot(run.url) == before
    return result.err.strip()


def listed(run: Cli, *args: str) -> list[int]:
    return [p["id"] for p in run.ok("project", "list", *args, "--json").json()]


def test_a_project_twice_in_a_unit_is_refused_unless_meant(county: Cli) -> None:
    first = add(county, "伊禾乳制品加工")
    message = refused(
        county,
        *("project", "add", "--name", " 伊禾乳制品加工 ", "--officer", "lina", "--unit", "城关镇"),
        code=5,
    )
    assert message == (
        "error: unit 'chengguan' (城关镇人民政府) already has a project named '伊禾乳制品加工': "
        f"project {first}; if this is another one, give --allow-duplicate"
    )
    county.ok("unit", "add", "hexi", "--name", "河西镇人民政府", "--kind", "township")
    elsewhere = add(county, "伊禾乳制品加工", unit="hexi")  # another unit: another project
    second_phase = add(county, "伊禾乳制品加工", "--allow-duplicate")
    renamed = add(county, "伊禾二期")
    assert "already has a project named" in refused(
        county, "project", "edit", str(renamed), "--name", "伊禾乳制品加工", "--by", "wangjun", code=5
    )
    assert "already has a project named" in refused(
        county, "project", "edit", str(elsewhere), "--unit", "chengguan", "--by", "wangjun", code=5
    )
    county.ok("project", "edit", str(elsewhere), "--unit", "城关镇", "--by", "王军", "--allow-duplicate")
    assert len({first, elsewhere, second_phase, renamed}) == 4


def test_an_address_twice_is_refused_unless_meant(county: Cli) -> None:
    args = (
        "official",
        "add",
        "lina2",
        "--name",
        "李娜",
        "--email",
        "LINA@example.gov.cn",
        "--unit",
        "bureau",
    )
    assert refused(county, *args, code=5) == (
        "error: LINA@example.gov.cn is already the address of lina (李娜); "
        "if it really is shared, give --allow-duplicate"
    )
    assert "is already the address of lina (李娜)" in refused(
        county, "official", "update", "xuli", "--email", "lina@example.gov.cn", code=5
    )
    county.ok(*args, "--allow-duplicate")
    county.ok("official", "update", "xuli", "--email", "XULI@example.gov.cn")  # their own address


def test_deactivating_lists_every_project_that_still_refers(county: Cli) -> None:
    ids = [add(county, f"项目{n:02d}") for n in range(12)]
    message = refused(county, "unit", "deactivate", "chengguan", code=5)
    assert message.startswith(
        "error: unit 'chengguan' (城关镇人民政府) is still responsible for 12 active projects: "
    )
    assert f": {', '.join(map(str, ids))}; move them first" in message
    message = refused(county, "official", "deactivate", "lina", code=5)
    assert f"still follows 12 active projects: {', '.join(map(str, ids))}; give --reassign-to" in message
    assert "writes their history: give --by OFFICIAL" in refused(
        county, "official", "deactivate", "lina", "--reassign-to", "wangjun", code=2
    )


def test_a_project_entered_by_mistake_is_voided(county: Cli) -> None:
    kept = add(county, "伊禾乳制品加工", "--stage", "洽谈", "--since", "2026-01-05", "--investor", "伊禾")
    wrong = add(county, "伊禾乳制品", "--stage", "洽谈", "--since", "2026-01-05", "--investor", "伊禾")
    county.ok("sweep", "--now", NOW)  # both overdue: warnings queued for both
    county.ok("project", "void", str(wrong), "--by", "王军", "--reason", "重复录入", "--now", NOW)
    assert listed(county) == [kept] and listed(county, "--stage", "terminated") == []
    assert listed(county, "--all") == [kept, wrong]
    shown = county.ok("project", "show", str(wrong), "--json").json()
    assert shown["voided_at"] == "2026-06-01T10:00:00+08:00" and shown["stage"] == "terminated"
    assert (
        "voided: 2026-06-01 10:00 (entered by mistake); reason: 重复录入"
        in county.ok("project", "show", str(wrong)).out
    )
    board = county.ok("status", "--now", NOW, "--json").json()
    assert sum(board["totals"][light] for light in ("green", "blue", "yellow", "red", "top")) == 1
    later = county.ok("sweep", "--now", "2026-07-01 10:00", "--dry-run", "--json").json()
    assert {item["project_id"] for item in later["planned"]} == {kept}
    sent = county.ok("send", "--any-time", "--now", NOW, "--json").json()
    assert sent["obsolete"] >= 1  # what was queued for it is never sent
    event = county.ok("history", str(wrong), "--json").json()[-1]
    assert (event["kind"], event["from"], event["to"], event["note"]) == (
        "void",
        "talks",
        "terminated",
        "重复录入",
    )
    assert event["by"]["key"] == "wangjun"
    assert refused(county, "log", str(wrong), "跟进", "--by", "lina", "--now", NOW, code=2) == (
        f"error: project {wrong} was voided (entered by mistake): it takes no more changes"
    )
    assert "was voided" in refused(
        county, "project", "void", str(wrong), "--by", "wangjun", "--reason", "x", code=2
    )
    add(county, "伊禾乳制品")  # its name is free again


def test_every_line_of_history_says_who_typed_it(county: Cli) -> None:
    pid = str(add(county, "伊禾乳制品加工"))
    county.ok("advance", pid, "洽谈", "--by", "lina", "--set", "投资方=伊禾", "--now", NOW)
    county.ok("project", "edit", pid, "--chain", "乳品加工", "--by", "wangjun", "--now", NOW)
    events = county.ok("history", pid, "--json").json()
    assert [e["entered_by"] for e in events] == [getpass.getuser()] * 3
    assert [e["by"] and e["by"]["key"] for e in events] == [None, "lina", "wangjun"]
    lines = county.ok("history", pid).out.splitlines()
    assert "  by  " in lines[0] and "entered by" in lines[0]
    assert all(getpass.getuser() in line for line in lines[1:])
    county.ok("log", pid, "电话跟进", "--by", "lina", "--now", NOW, env={"LOGNAME": "zhangsan"})
    assert county.ok("history", pid, "--json").json()[-1]["entered_by"] == "zhangsan"
    other = county(
        "project", "edit", pid, "--chain", "云服务", "--now", NOW, env={"USER": "clerk", "LOGNAME": "clerk"}
    )
    assert other.code == 2 and "Missing option '--by'" in other.err  # every edit names who made it


def test_extend_until_a_date_and_warn_when_it_is_still_past(county: Cli) -> None:
    pid = str(add(county, "伊禾乳制品加工", "--stage", "洽谈", "--since", "2026-01-05", "--investor", "伊禾"))
    # talks: 90 days from 2026-01-05 → 2026-04-05, long past on 2026-06-01
    result = county(
        "extend", pid, "--until", "2026年5月1日", "--by", "徐丽", "--reason", "补充协议", "--now", NOW
    )
    assert (result.code, result.out) == (0, f"project {pid} deadline now 2026-05-01\n")
    assert result.err == (
        "warning: the new deadline 2026-05-01 is already past (today is 2026-06-01): "
        "its warnings start again at once\n"
    )
    result = county("extend", pid, "--until", "2026/07/01", "--by", "xuli", "--reason", "再延", "--now", NOW)
    assert (result.code, result.out, result.err) == (0, f"project {pid} deadline now 2026-07-01\n", "")
    assert refused(
        county, "extend", pid, "--until", "2026-06-30", "--by", "xuli", "--reason", "r", code=2
    ) == (
        "error: --until 2026-06-30 is not after the current deadline 2026-07-01: an extension moves it later"
    )
    both = ("extend", pid, "--days", "5", "--until", "2026-08-01", "--by", "xuli", "--reason", "r")
    assert "one of them" in refused(county, *both, code=2)
    assert county.ok("history", pid, "--json").json()[-1]["changes"] == {
        "deadline": ["2026-05-01", "2026-07-01"]
    }


def test_a_ledger_line_starts_its_quiet_clock_at_entry_or_at_its_last_follow_up(county: Cli) -> None:
    # entered in the morning at 洽谈 since January: not "150 days without follow-up" the same day
    fresh = add(county, "伊禾乳制品加工", "--stage", "talks", "--since", "2026-01-05", "--investor", "伊禾")
    assert county.ok("project", "show", str(fresh), "--json", "--now", NOW).json()["stale_since"] is None
    planned = county.ok("sweep", "--now", NOW, "--dry-run", "--json").json()["planned"]
    assert [p["kind"] for p in planned if p["kind"] == "stale"] == []
    quiet = add(
        county,
        *("华北冷链物流中心", "--stage", "洽谈", "--since", "2026-01-05", "--investor", "华北"),
        *("--last-followup", "2026年4月1日"),
    )
    assert county.ok("project", "show", str(quiet), "--json", "--now", NOW).json()["stale_since"] is not None
    planned = county.ok("sweep", "--now", NOW, "--dry-run", "--json").json()["planned"]
    assert {(p["project_id"], p["kind"]) for p in planned if p["kind"] == "stale"} == {(quiet, "stale")}
    created = county.ok("history", str(quiet), "--json").json()[0]
    assert created["changes"]["last_followup"] == "2026-04-01T00:00:00+08:00"
    assert "is in the future" in refused(
        county,
        *("project", "add", "--name", "x", "--officer", "lina", "--unit", "chengguan"),
        *("--last-followup", "2026-07-01", "--now", NOW),
        code=2,
    )


def test_a_project_moved_to_another_unit_is_recorded(county: Cli) -> None:
    # `project edit --unit` failed with "unexpected TypeError: Object of type Unit is not JSON serializable"
    pid = str(add(county, "伊禾乳制品加工"))
    county.ok("project", "edit", pid, "--unit", "bureau", "--by", "wangjun", "--now", NOW)
    assert county.ok("project", "show", pid, "--json").json()["unit"]["key"] == "bureau"
    assert county.ok("history", pid, "--json").json()[-1]["changes"] == {"unit": ["chengguan", "bureau"]}


def test_reading_commands_never_create_a_database(tmp_path: Path) -> None:
    data = tmp_path / "fresh"
    run = Cli(f"sqlite:///{data / 'followup.db'}", tmp_path)
    run.env["FOLLOWUP_DATA_DIR"] = str(data)
    for command in (
        ["project", "list"],
        ["project", "show", "1"],
        ["status"],
        ["outbox"],
        ["history", "1"],
        ["unit", "list"],
        ["official", "list"],
        ["sweep", "--dry-run"],
        ["workflow", "list"],
        ["workflow", "show"],
        [],
    ):
        run(*command)
        assert not data.exists(), command  # `project list` on a fresh data dir made followup.db
    result = run("project", "list")
    assert result.code == 7
    assert result.err == f"error: there is no database at {data / 'followup.db'}: run `followup init`\n"
    run.ok("init")
    assert (data / "followup.db").is_file()
    assert run.ok("project", "list", "--json").json() == []
