"""Input in the county's words through the CLI (issue 8), on SQLite and PostgreSQL: stages by label,
officials and units by name, fields by label or alias, dates and amounts as a county writes them — each
form accepted, each ambiguous or unknown one refused in one line (exit 2 or 4) with the candidates — and
the commands a warning mail suggests work when pasted."""

from __future__ import annotations

import email
import re
import shlex
from email import policy
from pathlib import Path

import pytest

from tests.county import SMALL
from tests.helpers import Cli, snapshot

NOW = "2026-06-01 10:00"  # the county's own form of an instant, in the configured zone


@pytest.fixture
def county(any_cli: Cli) -> Cli:
    """The small county, entered through the CLI, and a namesake: a second 王军, in the bureau."""
    SMALL.seed_cli(any_cli)
    any_cli.ok(
        *(
            "official",
            "add",
            "wangjun2",
            "--name",
            "王军",
            "--email",
            "wj2@example.gov.cn",
            "--unit",
            "bureau",
        )
    )
    return any_cli


def add(run: Cli, name: str, *extra: str) -> int:
    args = ("project", "add", "--name", name, "--officer", "李娜", "--unit", "城关镇", "--now", NOW)
    return int(run.ok(*args, *extra).out)


def shown(run: Cli, pid: int) -> dict[str, object]:
    data: dict[str, object] = run.ok("project", "show", str(pid), "--json").json()
    return data


def refused(run: Cli, *args: str, code: int, chinese: bool = False) -> str:
    """Run a command that must be refused: one line, ``code``, nothing written; the line (``chinese``:
    in the default language, Simplified Chinese)."""
    before = snapshot(run.url)
    result = run(*args, env={"FOLLOWUP_LANG": ""} if chinese else None)
    assert (result.code, result.out) == (code, ""), result.err
    assert len(result.err.splitlines()) == 1 and result.err.startswith("错误：" if chinese else "error: ")
    assert snapshot(run.url) == before
    return result.err.strip()


def test_stages_by_label_through_a_whole_life(county: Cli) -> None:
    pid = add(county, "伊禾乳制品加工")
    county.ok("advance", str(pid), "洽谈", "--by", "李娜", "--set", "投资方=伊禾集团", "--now", NOW)
    county.ok(
        *("advance", str(pid), "暂缓", "--by", "lina", "--note", "资金调整", "--until", "2026年7月1日"),
        *("--now", "2026/06/05 09:00"),
    )
    assert shown(county, pid)["held_stage"] == "talks"
    county.ok("advance", str(pid), "洽谈", "--by", "lina", "--now", "2026.06.10")  # resumes
    county.ok("advance", str(pid), "签约", "--by", "lina", "--set", "金额=5000万", "--now", "2026-06-11")
    county.ok("advance", str(pid), "落地", "--by", "lina", "--set", "用地=80亩", "--now", "2026-06-12")
    county.ok("advance", str(pid), "退出", "--by", "刘强", "--note", "另选址", "--now", "2026-06-13")
    project = shown(county, pid)
    assert (project["stage"], project["amount"], project["land"]) == ("terminated", 5000, 80)
    moves = [
        (e["from"], e["to"], e["by"]["key"]) for e in county.ok("history", str(pid), "--json").json()[1:]
    ]
    assert moves == [
        ("lead", "talks", "lina"),
        ("talks", "on_hold", "lina"),
        ("on_hold", "talks", "lina"),
        ("talks", "signing", "lina"),
        ("signing", "land_prep", "lina"),
        ("land_prep", "terminated", "liuqiang"),
    ]


def test_an_ambiguous_official_lists_both_with_their_keys(county: Cli) -> None:
    pid = str(add(county, "伊禾乳制品加工"))
    message = refused(county, "log", pid, "跟进", "--by", "王军", "--now", NOW, code=2)
    assert message == (
        "error: --by official '王军' is ambiguous: wangjun (王军, 城关镇人民政府), "
        "wangjun2 (王军, 县投资促进局); give the key"
    )
    county.ok("log", pid, "跟进", "--by", "wangjun2", "--now", NOW)
    # once one of them has left office, the name means the one still serving
    county.ok("official", "deactivate", "wangjun2")
    county.ok("log", pid, "再跟进", "--by", "王军", "--now", NOW)
    assert county.ok("history", pid, "--json").json()[-1]["by"] == {"key": "wangjun", "name": "王军"}


def test_unknown_names_suggest_the_closest(county: Cli) -> None:
    pid = str(add(county, "伊禾乳制品加工"))
    assert refused(county, "log", pid, "跟进", "--by", "李那", "--now", NOW, code=4) == (
        "error: unknown --by official '李那'; did you mean lina (李娜)? see `followup official list`"
    )
    assert refused(county, "project", "list", "--unit", "城关乡", code=4).startswith(
        "error: unknown unit '城关乡'; did you mean chengguan (城关镇人民政府)?"
    )
    assert refused(county, "advance", pid, "签字", "--by", "lina", "--now", NOW, code=2).startswith(
        "error: unknown stage '签字' in workflow investment; did you mean signing (签约)? stages: lead (线索)"
    )
    message = refused(
        county, "advance", pid, "洽谈", "--by", "lina", "--set", "投资人=x", "--now", NOW, code=2
    )
    assert message.startswith("error: unknown field '投资人'; did you mean investor (投资方)")


def test_ambiguous_and_unknown_words_are_refused_in_chinese_with_the_candidates(county: Cli) -> None:
    pid = str(add(county, "伊禾乳制品加工"))
    talks = str(add(county, "华北冷链物流中心", "--stage", "洽谈", "--investor", "华北集团"))
    county.ok("unit", "add", "hexi", "--name", "河西镇人民政府", "--kind", "township")
    cases = [
        (("log", pid, "跟进", "--by", "王军"), 2, ["王军", "wangjun（王军，城关镇人民政府）", "wangjun2"]),
        (("log", pid, "跟进", "--by", "李那"), 4, ["李那", "lina（李娜）"]),
        (("project", "list", "--unit", "城关乡"), 4, ["城关乡", "chengguan（城关镇人民政府）"]),
        (("project", "list", "--unit", "人民政府"), 2, ["chengguan（城关镇人民政府）", "hexi（河西镇"]),
        (("advance", pid, "签字", "--by", "lina"), 2, ["签字", "signing（签约）", "lead（线索）"]),
        (("advance", pid, "洽谈", "--by", "lina", "--set", "投资人=x"), 2, ["投资人", "investor（投资方）"]),
        (("advance", talks, "签约", "--by", "lina"), 6, ["合同金额（万元）", "--set 合同金额="]),
        (("advance", pid, "签约", "--by", "lina"), 6, ["talks（洽谈）、on_hold（暂缓）"]),
        (("project", "edit", pid, "--set", "金额=5000元", "--by", "lina"), 2, ["5000元", "0.5万"]),
        (("log", pid, "跟进", "--by", "lina", "--on", "2026年13月1日"), 2, ["2026年13月1日"]),
    ]
    for args, code, expected in cases:
        now = ("--now", NOW) if args[0] != "project" or args[1] == "edit" else ()
        message = refused(county, *args, *now, code=code, chinese=True)
        assert all(part in message for part in expected), (args, message)
        assert not re.search(r"\b(unknown|ambiguous|did you mean|missing|bad)\b", message), message


def test_an_ambiguous_unit_part_lists_the_units(county: Cli) -> None:
    county.ok("unit", "add", "hexi", "--name", "河西镇人民政府", "--kind", "township")
    message = refused(county, "project", "list", "--unit", "人民政府", code=2)
    assert message == (
        "error: unit '人民政府' is ambiguous: chengguan (城关镇人民政府), hexi (河西镇人民政府); give the key"
    )
    assert county.ok("project", "list", "--unit", "河西镇", "--json").json() == []


def test_people_and_units_by_name_wherever_one_is_named(county: Cli) -> None:
    pid = add(
        county,
        "华北冷链物流中心",
        "--stage",
        "签约",
        "--since",
        "2026年5月6日",
        "--investor",
        "华北集团",
        "--amount",
        "1.2亿",
    )
    pid2 = add(county, "康源中药饮片", "--leader", "刘强")
    project = shown(county, pid)
    assert (project["stage"], project["stage_since"]) == ("signing", "2026-05-06T00:00:00+08:00")
    listed = county.ok("project", "list", "--officer", "李娜", "--unit", "城关镇人民政府", "--json").json()
    assert [p["id"] for p in listed] == [pid, pid2]
    assert [p["id"] for p in county.ok("project", "list", "--leader", "刘强", "--json").json()] == [pid2]
    assert [p["id"] for p in county.ok("project", "list", "--stage", "签约", "--json").json()] == [pid]
    county.ok(
        "official", "add", "sunli", "--name", "孙丽", "--email", "sunli@example.gov.cn", "--unit", "城关镇"
    )
    county.ok("official", "deactivate", "李娜", "--reassign-to", "孙丽", "--by", "wangjun", "--now", NOW)
    assert shown(county, pid)["officer"] == {"key": "sunli", "name": "孙丽"}
    assert shown(county, pid2)["officer"] == {"key": "sunli", "name": "孙丽"}
    county.ok("project", "edit", str(pid2), "--officer", "徐丽", "--unit", "县投资促进局", "--by", "刘强")
    edited = county.ok("history", str(pid2), "--json").json()[-1]
    assert edited["changes"] == {"officer": ["sunli", "xuli"], "unit": ["chengguan", "bureau"]}
    assert edited["by"] == {"key": "liuqiang", "name": "刘强"}


#: (what is typed, what is stored): each differs from the one before, so that each edit changes it
AMOUNTS = [
    ("amount=5000", 5000),
    ("amount=5,001", 5001),
    ("合同金额=5002万", 5002),
    ("合同金额（万元）=5003万元", 5003),
    ("金额=1.2亿", 12000),
    ("投资额=12,000.5", 12000.5),
]
DATES = ["2026-09-15", "2026/09/16", "2026.9.17", "2026年9月18日"]


def test_fields_by_label_or_alias_amounts_and_dates_in_the_county_s_forms(county: Cli) -> None:
    pid = str(add(county, "伊禾乳制品加工"))
    for typed, _ in AMOUNTS:
        county.ok("project", "edit", pid, "--set", typed, "--by", "wangjun", "--now", NOW)
    for typed in DATES:
        county.ok("project", "edit", pid, "--set", f"约定开工={typed}", "--by", "wangjun", "--now", NOW)
    county.ok("project", "edit", pid, "--amount", "3亿", "--land", "1,200亩", "--by", "wangjun", "--now", NOW)
    changes = [e["changes"] for e in county.ok("history", pid, "--json").json()[1:]]
    assert [c["amount"][1] for c in changes[: len(AMOUNTS)]] == [stored for _, stored in AMOUNTS]
    assert [c["contract_start"][1] for c in changes[len(AMOUNTS) : -1]] == [
        "2026-09-15",
        "2026-09-16",
        "2026-09-17",
        "2026-09-18",
    ]
    assert changes[-1] == {"amount": [12000.5, 30000], "land": [None, 1200]}


def test_a_refused_move_asks_for_the_field_in_the_county_s_words(county: Cli) -> None:
    pid = str(add(county, "伊禾乳制品加工", "--stage", "洽谈", "--investor", "伊禾"))
    message = refused(county, "advance", pid, "签约", "--by", "lina", "--now", NOW, code=6)
    assert message.endswith(
        "missing 合同金额（万元） (amount); record with --set 合同金额=VALUE or `followup project edit`"
    )
    county.ok("advance", pid, "签约", "--by", "lina", "--set", "合同金额=1.5亿", "--now", NOW)
    assert refused(county, "project", "edit", pid, "--set", "金额=5000元", "--by", "lina", code=2) == (
        "error: bad amount '5000元': amounts are in 万元 (write 0.5万 for 5000元)"
    )


def test_the_commands_a_warning_mail_suggests_work_when_pasted(cli: Cli, tmp_path: Path) -> None:
    """Whatever the mail's wording, a line ``followup …`` in it runs as pasted, a ``<阶段>`` placeholder
    filled with a stage's label."""
    SMALL.seed_cli(cli)
    pid = add(
        cli,
        "伊禾乳制品加工",
        "--stage",
        "洽谈",
        "--since",
        "2026-01-05",
        "--investor",
        "伊禾",
        "--amount",
        "5000",
    )
    cli.ok("sweep", "--now", NOW)
    cli.ok("send", "--any-time", "--now", NOW)
    maildir = tmp_path / "data" / "maildir" / "new"
    commands: list[str] = []
    for path in sorted(maildir.iterdir()):
        message = email.message_from_bytes(path.read_bytes(), policy=policy.default)
        if "lina@" not in str(message["To"]):
            continue
        body = message.get_body(preferencelist=("plain",))
        assert body is not None
        commands += re.findall(rf"followup (?:log|advance) {pid} [^\n]+", body.get_content())
    assert {c.split()[1] for c in commands} == {"log", "advance"}, commands
    for command in dict.fromkeys(commands):
        pasted = re.sub(r"<[^>]+>", "签约", command)
        result = cli(*shlex.split(pasted)[1:], "--now", NOW)
        assert result.code == 0, (pasted, result.err)
    assert shown(cli, pid)["stage"] == "signing"
