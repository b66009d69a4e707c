"""The CLI end to end, in-process (``main(argv)``), on a real SQLite file and a real PostgreSQL schema.

The organisation is entered through the use cases (``county``: tests.county.SMALL) or through the CLI;
every command then runs as a user types it, and its output, JSON, exit code, one-line error and the
rows left in the database are checked. The installed console script is covered by tests/e2e/test_smoke.py.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from followup.app.runtime import Runtime
from tests.county import SMALL
from tests.helpers import Cli, clean_environment, make_runtime, pg_schema, snapshot

NOW = "2026-06-01T10:00:00+08:00"


@pytest.fixture
def county_cli(county: Runtime, db_url: str, tmp_path: Path) -> Cli:
    """The CLI (in-process) over a database whose organisation was entered through the use cases."""
    return Cli(db_url, tmp_path)


def test_organisation_through_the_cli(any_cli: Cli) -> None:
    SMALL.seed_cli(any_cli)
    units = any_cli.ok("unit", "list", "--json").json()
    assert [(u["key"], u["kind"]) for u in units] == [("bureau", "department"), ("chengguan", "township")]
    officials = {o["key"]: o for o in any_cli.ok("official", "list", "--json").json()}
    assert officials["wangjun"]["head"] is True
    assert officials["liuqiang"]["roles"] == ["leader"]
    assert officials["lina"]["email"] == "lina@example.gov.cn"
    any_cli.ok("official", "update", "lina", "--role", "leader", "--role", "supervision")
    assert any_cli.ok("official", "show", "lina", "--json").json()["roles"] == ["leader", "supervision"]
    any_cli.ok("unit", "update", "bureau", "--name", "县投资促进局（招商局）")
    assert "县投资促进局（招商局）" in any_cli.ok("unit", "list").out
    assert "--reassign-to" in any_cli.ok("official", "deactivate", "--help").out


def add(run: Cli, *extra: str, name: str = "伊禾乳制品加工") -> int:
    out = run.ok(
        "project",
        "add",
        "--name",
        name,
        "--officer",
        "lina",
        "--unit",
        "chengguan",
        "--now",
        NOW,
        *extra,
    ).out
    return int(out.strip())


def test_project_add_prints_id_and_show_json(county_cli: Cli) -> None:
    first = add(county_cli)
    second = add(
        county_cli,
        "--stage",
        "signing",
        "--since",
        "2026-05-06",
        "--investor",
        "伊禾集团",
        "--amount",
        "12000.5",
        "--leader",
        "liuqiang",
        "--chain",
        "乳品加工",
        "--land",
        "80",
        name="华北冷链物流中心",
    )
    assert (first, second) == (1, 2)
    shown = county_cli.ok("project", "show", str(second), "--json").json()
    assert shown["id"] == 2
    assert shown["stage"] == "signing"
    assert shown["stage_label"] == "签约"
    assert shown["stage_since"] == "2026-05-06T00:00:00+08:00"
    # signing: 40 working days from 2026-05-06 (no holiday after 劳动节 until 端午 on 2026-06-19)
    assert shown["deadline"] == "2026-07-01"
    assert shown["amount"] == 12000.5
    assert shown["signed_on"] == "2026-05-06"  # recorded by entering signing
    assert shown["leader"] == {"key": "liuqiang", "name": "刘强"}
    assert shown["officer"] == {"key": "lina", "name": "李娜"}
    text = county_cli.ok("project", "show", "2").out
    assert "签约 (signing) since 2026-05-06 00:00\n" in text  # no T, no offset (issue 8)
    assert "deadline: 2026-07-01" in text
    assert "合同金额（万元）: 12,000.50\n" in text and "用地（亩）: 80\n" in text


def test_list_filters_and_json(county_cli: Cli) -> None:
    add(county_cli)
    add(county_cli, "--stage", "talks", "--investor", "华北集团", "--chain", "云服务", name="华北云数据中心")
    county_cli.ok("unit", "add", "hexi", "--name", "河西镇人民政府", "--kind", "township")
    county_cli.ok(
        "official", "add", "sunli", "--name", "孙丽", "--email", "sunli@example.gov.cn", "--unit", "hexi"
    )
    county_cli.ok(
        "project", "add", "--name", "河西冷链", "--officer", "sunli", "--unit", "hexi", "--now", NOW
    )
    everything = county_cli.ok("project", "list", "--json").json()
    assert [p["id"] for p in everything] == [1, 2, 3]
    for item in everything:
        assert {"id", "name", "stage", "stage_since", "deadline"} <= set(item)
    assert [p["id"] for p in county_cli.ok("project", "list", "--stage", "talks", "--json").json()] == [2]
    assert [p["id"] for p in county_cli.ok("project", "list", "--unit", "hexi", "--json").json()] == [3]
    assert [p["id"] for p in county_cli.ok("project", "list", "--officer", "lina", "--json").json()] == [1, 2]
    assert [p["id"] for p in county_cli.ok("project", "list", "--chain", "云服务", "--json").json()] == [2]
    table = county_cli.ok("project", "list").out
    assert "伊禾乳制品加工" in table and "线索" in table and "3 projects" in table


def test_full_lifecycle_with_hold_resume_and_history(county_cli: Cli) -> None:
    pid = str(add(county_cli))
    run = county_cli
    refused = run("advance", pid, "talks", "--by", "lina", "--now", NOW)
    assert refused.code == 6
    assert refused.err.strip() == (
        "error: cannot enter 洽谈 (talks): missing 投资方 (investor); "
        "record with --set 投资方=VALUE or `followup project edit`"
    )
    run.ok("advance", pid, "talks", "--by", "lina", "--set", "investor=伊禾集团", "--now", NOW)
    run.ok("log", pid, "投资方来县考察，初步确定选址。", "--by", "lina", "--now", "2026-06-05T09:00")
    run.ok(
        "hold",
        pid,
        "--by",
        "lina",
        "--reason",
        "投资方资金调整",
        "--until",
        "2026-08-01",
        "--now",
        "2026-06-10T09:00",
    )
    held = run.ok("project", "show", pid, "--json").json()
    assert held["stage"] == "on_hold" and held["held_stage"] == "talks" and held["deadline"] is None
    # talks entered 2026-06-01 (90 days → 2026-08-30); held 06-10 → 07-10 = 30 days → 2026-09-29
    run.ok("resume", pid, "--by", "wangjun", "--now", "2026-07-10T09:00")
    resumed = run.ok("project", "show", pid, "--json").json()
    assert resumed["stage"] == "talks"
    assert resumed["deadline"] == "2026-09-29"
    run.ok(
        "advance",
        pid,
        "signing",
        "--by",
        "lina",
        "--set",
        "amount=5000",
        "--on",
        "2026-07-20",
        "--now",
        "2026-07-21T09:00",
    )
    run.ok("terminate", pid, "--by", "wangjun", "--reason", "投资方撤资", "--now", "2026-08-01T09:00")
    ended = run.ok("project", "show", pid, "--json").json()
    assert ended["stage"] == "terminated" and ended["end_reason"] == "投资方撤资"
    assert run.ok("project", "list", "--json").json() == []
    assert [p["id"] for p in run.ok("project", "list", "--all", "--json").json()] == [1]
    again = run("advance", pid, "talks", "--by", "lina", "--now", "2026-08-02T09:00")
    assert again.code == 6 and "allowed: none" in again.err

    events = run.ok("history", pid, "--json").json()
    assert [(e["kind"], e["from"], e["to"]) for e in events] == [
        ("created", None, "lead"),
        ("move", "lead", "talks"),
        ("followup", "talks", "talks"),
        ("move", "talks", "on_hold"),
        ("move", "on_hold", "talks"),
        ("move", "talks", "signing"),
        ("move", "signing", "terminated"),
    ]
    assert events[3]["note"] == "投资方资金调整" and events[3]["changes"] == {"until": "2026-08-01"}
    assert events[4]["by"] == {"key": "wangjun", "name": "王军"}
    assert events[5]["at"] == "2026-07-20T00:00:00+08:00"
    assert events[5]["changes"]["signed_on"] == [None, "2026-07-20"]
    table = run.ok("history", pid).out
    assert "洽谈 → 签约" in table and "投资方撤资" in table  # stages by their labels


def test_edit_records_history_and_recomputes_contract_deadline(county_cli: Cli) -> None:
    pid = str(
        add(
            county_cli,
            "--stage",
            "land_prep",
            "--since",
            "2026-04-01",
            "--investor",
            "甲",
            "--amount",
            "3000",
            "--land",
            "45",
        )
    )
    before = county_cli.ok("project", "show", pid, "--json").json()
    assert before["deadline"] == "2026-07-30"  # 120 days
    county_cli.ok(
        "project",
        "edit",
        pid,
        "--contract-start",
        "2026年9月15日",
        "--by",
        "wangjun",
        "--note",
        "补充协议",
        "--now",
        NOW,
    )
    after = county_cli.ok("project", "show", pid, "--json").json()
    assert after["deadline"] == "2026-09-15" and after["contract_start"] == "2026-09-15"
    last = county_cli.ok("history", pid, "--json").json()[-1]
    assert last["kind"] == "edit" and last["note"] == "补充协议"
    assert last["changes"] == {
        "contract_start": [None, "2026-09-15"],
        "deadline": ["2026-07-30", "2026-09-15"],
    }


def test_deactivate_official_reassigns_with_history(county_cli: Cli) -> None:
    pid = str(add(county_cli))
    refused = county_cli("official", "deactivate", "lina", "--now", NOW)
    assert refused.code == 5 and "--reassign-to" in refused.err
    county_cli.ok(
        "official", "add", "sunli", "--name", "孙丽", "--email", "sunli@example.gov.cn", "--unit", "chengguan"
    )
    county_cli.ok("official", "deactivate", "lina", "--reassign-to", "sunli", "--by", "wangjun", "--now", NOW)
    assert county_cli.ok("project", "show", pid, "--json").json()["officer"]["key"] == "sunli"
    event = county_cli.ok("history", pid, "--json").json()[-1]
    assert event["kind"] == "reassign" and event["changes"] == {"officer": ["lina", "sunli"]}
    listed = {o["key"]: o for o in county_cli.ok("official", "list", "--all", "--json").json()}
    assert listed["lina"]["active"] is False
    assert "lina" not in {o["key"] for o in county_cli.ok("official", "list", "--json").json()}
    refused = county_cli("official", "delete", "lina")
    assert refused.code == 5 and "deactivate" in refused.err
    left = county_cli("advance", pid, "talks", "--by", "lina", "--set", "investor=x", "--now", NOW)
    assert left.code == 2 and "left office" in left.err


# ----------------------------------------------------------------------------- bad input

BAD_INPUT = [
    # (args, exit code, a fragment of the one-line message)
    (["project", "show", "99"], 4, "unknown project 99"),
    (["advance", "99", "talks", "--by", "lina"], 4, "unknown project 99"),
    (["advance", "1", "talks", "--by", "nobody"], 4, "unknown --by official 'nobody'"),
    (["advance", "1", "moon", "--by", "lina"], 2, "unknown stage 'moon'"),
    (["advance", "1", "signing", "--by", "lina"], 6, "cannot move from 线索 (lead) to 签约 (signing)"),
    (
        ["advance", "1", "talks", "--by", "lina", "--set", "investor=x", "--on", "2026-13-01"],
        2,
        "bad --on '2026-13-01'",
    ),
    (
        ["advance", "1", "talks", "--by", "lina", "--set", "investor=x", "--on", "2027-01-01"],
        2,
        "is in the future",
    ),
    (["advance", "1", "talks", "--by", "lina", "--set", "color=red"], 2, "unknown field 'color'"),
    (
        ["project", "add", "--name", "x", "--officer", "lina", "--unit", "nowhere"],
        4,
        "unknown unit 'nowhere'",
    ),
    (
        ["project", "add", "--name", "x", "--officer", "ghost", "--unit", "chengguan"],
        4,
        "unknown officer 'ghost'",
    ),
    (
        ["project", "add", "--name", "x", "--officer", "lina", "--unit", "chengguan", "--stage", "moon"],
        2,
        "unknown stage 'moon'",
    ),
    (
        ["project", "add", "--name", "x", "--officer", "lina", "--unit", "chengguan", "--amount", "5000元"],
        2,
        "bad amount '5000元': amounts are in 万元",
    ),
    (
        ["project", "add", "--name", "x", "--officer", "lina", "--unit", "chengguan", "--amount", "-5"],
        2,
        "bad amount '-5'",
    ),
    (
        ["project", "add", "--name", "x", "--officer", "lina", "--unit", "chengguan", "--since", "yesterday"],
        2,
        "bad --since 'yesterday'",
    ),
    (
        ["project", "add", "--name", "x\ny", "--officer", "lina", "--unit", "chengguan"],
        2,
        "project name must be one line",
    ),
    (
        ["project", "add", "--name", "x", "--officer", "lina", "--unit", "chengguan", "--stage", "signing"],
        2,
        "needs 投资方 (investor)",
    ),
    (
        ["project", "add", "--name", "x", "--officer", "lina", "--unit", "chengguan", "--leader", "lina"],
        2,
        "is not a county leader",
    ),
    (
        ["project", "add", "--name", "x", "--officer", "lina", "--unit", "chengguan", "--workflow", "nope"],
        3,
        "no workflow named 'nope'",
    ),
    (["unit", "add", "chengguan", "--name", "重复"], 5, "unit 'chengguan' already exists"),
    (["unit", "add", "bad key", "--name", "x"], 2, "bad unit key 'bad key'"),
    (
        ["official", "add", "lina", "--name", "x", "--email", "x@example.gov.cn", "--unit", "bureau"],
        5,
        "official 'lina' already exists",
    ),
    (
        [
            "official",
            "add",
            "zz",
            "--name",
            "x",
            "--email",
            "x@example.gov.cn\nBcc: all@example.com",
            "--unit",
            "bureau",
        ],
        2,
        "bad email address",
    ),
    (
        ["official", "add", "zz", "--name", "张\r\n三", "--email", "zz@example.gov.cn", "--unit", "bureau"],
        2,
        "name must be one line",
    ),
    (
        ["official", "add", "zz", "--name", "x", "--email", "not-an-address", "--unit", "bureau"],
        2,
        "bad email address 'not-an-address'",
    ),
    (
        [
            "official",
            "add",
            "zz",
            "--name",
            "x",
            "--email",
            "zz@example.gov.cn",
            "--unit",
            "bureau",
            "--role",
            "king",
        ],
        2,
        "unknown role 'king'",
    ),
    (
        ["hold", "1", "--by", "lina", "--reason", "r", "--until", "2026-05-01", "--now", NOW],
        2,
        "--until 2026-05-01 must be after the day of the move",
    ),
    (["log", "1", "   ", "--by", "lina"], 2, "follow-up text must not be empty"),
    (["resume", "1", "--by", "lina"], 2, "project 1 is not on hold"),
    (["project", "list", "--stage", "moon"], 2, "unknown stage 'moon'"),
    (["project", "edit", "1", "--unit", "nowhere", "--by", "wangjun"], 4, "unknown unit 'nowhere'"),
    (["project", "edit", "1", "--by", "wangjun"], 2, "nothing to change"),
    (["project", "edit", "1", "--name", "y"], 2, "Missing option '--by'"),
    (["project", "show", "abc"], 2, "'abc' is not a valid integer"),
    (["--timezone", "Mars/Base", "project", "list"], 2, "timezone 'Mars/Base' is not a known"),
]


@contextmanager
def _database(backend: str, folder: Path) -> Iterator[str]:
    """An empty SQLite file, or a fresh PostgreSQL schema dropped afterwards (as conftest's ``db_url``)."""
    if backend == "sqlite":
        yield f"sqlite:///{folder / 'followup.db'}"
        return
    with pg_schema() as url:
        yield url


@pytest.fixture(scope="module", params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def refusing_cli(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cli]:
    """The small county and project 1 (``add``), on SQLite and on PostgreSQL, shared by the bad-input
    cases of this module (a migration per case made this file twice as slow). Each case checks that it
    left every row as it found it, so a case that wrote anything fails itself, by name."""
    folder = tmp_path_factory.mktemp("refusals")
    with _database(request.param, folder) as url:
        with pytest.MonkeyPatch.context() as env:  # as conftest's _clean_env, which has not run yet
            clean_environment(env, folder)
            runtime = SMALL.seed(make_runtime(url, folder))
            runtime.close()
            run = Cli(url, folder)
            add(run)
        yield run


@pytest.mark.parametrize(
    ("args", "code", "fragment"), BAD_INPUT, ids=[" ".join(a)[:60] for a, _, _ in BAD_INPUT]
)
def test_bad_input_one_line_nonzero_and_nothing_written(
    refusing_cli: Cli, args: list[str], code: int, fragment: str
) -> None:
    before = snapshot(refusing_cli.url)
    result = refusing_cli(*args)
    after = snapshot(refusing_cli.url)
    assert result.code == code, result.err
    lines = result.err.splitlines()
    assert len(lines) == 1, result.err
    assert lines[0].startswith("error: ")
    assert fragment in lines[0]
    assert result.out == ""
    assert after == before


def test_uninitialised_database_is_one_line(sqlite_url: str, tmp_path: Path) -> None:
    run = Cli(sqlite_url, tmp_path)
    result = run("project", "list")
    assert result.code == 7
    assert result.err == f"error: there is no database at {tmp_path / 'followup.db'}: run `followup init`\n"
    (tmp_path / "followup.db").touch()  # a file that is not a followup database (yet)
    result = run("project", "list")
    assert result.code == 7
    assert (
        result.err.strip()
        == "error: the database is not initialised (or is out of date): run `followup init`"
    )


def test_an_unreachable_database_is_one_line(tmp_path: Path) -> None:
    result = Cli("postgresql://postgres@127.0.0.1:1/nowhere", tmp_path)("project", "list")
    assert result.code == 7
    assert len(result.err.splitlines()) == 1
    assert result.err.startswith("error: cannot connect to postgresql+psycopg://postgres@127.0.0.1:1/nowhere")
