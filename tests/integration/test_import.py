"""The ledger (台账) in and out (issue 9): ``followup import`` of ledgers built the way counties build
them (title rows over merged cells, 序号 and 备注, dates typed as text, units in amounts, 小计/合计 rows,
a sheet of instructions), the real sample ledger, at least 25 kinds of bad line — each reported, the
database unchanged —, re-import (updates with history, never duplicates), export → import with no
change, the dry run's forecast against the real sweep, and ``followup funds``."""

from __future__ import annotations

import shutil
from collections import Counter
from datetime import date, datetime
from pathlib import Path
from typing import Any

import openpyxl
import pytest

from tests.helpers import Cli, snapshot

NOW = "2026-11-20 10:00"
SAMPLE = Path(__file__).resolve().parents[1] / "data" / "county-ledger-sample.xlsx"

UNITS = (
    ("bureau", "县投资促进服务中心", "department"),
    ("beishan", "北山乡人民政府", "township"),
    ("nongye", "县农业农村局", "department"),
    ("gongxin", "县工业和信息化局", "department"),
    ("kaifaqu", "经济开发区管委会", "department"),
    ("chengguan", "城关镇人民政府", "township"),
    ("county", "县人民政府", "department"),
)
OFFICERS = (
    ("sunqiang", "孙强", "beishan"),
    ("zhouli", "周丽", "nongye"),
    ("wugang", "吴刚", "gongxin"),
    ("zhaomin", "赵敏", "kaifaqu"),
    ("chenjing", "陈静", "chengguan"),
    ("wanglei", "王磊", "kaifaqu"),
)
LEADERS = (("ma", "马明", "马县长"), ("zhang", "张伟", "张常委"), ("li", "李强", "李副县长"))


def seed(cli: Cli) -> Cli:
    """The units and officials the sample ledger names; the leaders by their titles (aliases), unit
    heads and the supervision office so that the forecast has several roles to name."""
    for key, name, kind in UNITS:
        cli.ok("unit", "add", key, "--name", name, "--kind", kind)
    cli.ok("official", "add", "op", "--name", "操作员", "--email", "op@example.gov.cn", "--unit", "bureau")
    for key, name, unit in OFFICERS:
        cli.ok("official", "add", key, "--name", name, "--email", f"{key}@example.gov.cn", "--unit", unit)
    cli.ok(
        "official", "add", "head", "--name", "钱主任", "--email", "head@example.gov.cn", "--unit", "chengguan"
    )
    for key, name, alias in LEADERS:
        cli.ok(
            *("official", "add", key, "--name", name, "--email", f"{key}@example.gov.cn", "--unit", "county"),
            *("--role", "leader", "--alias", alias),
        )
    cli.ok(
        *("official", "add", "ducha", "--name", "督查室", "--email", "ducha@example.gov.cn"),
        *("--unit", "county", "--role", "supervision"),
    )
    return cli


@pytest.fixture
def county(cli: Cli) -> Cli:
    return seed(cli)


@pytest.fixture
def any_county(any_cli: Cli) -> Cli:
    return seed(any_cli)


HEADER = [
    "序号",
    "项目名称",
    "投资主体",
    "所属产业链",
    "总投资（万元）",
    "用地面积（亩）",
    "目前进度",
    "责任单位",
    "责任人",
    "联系电话",
    "包抓领导",
    "签约时间",
    "计划开工时间",
    "最新进展",
    "最近跟进日期",
    "备注",
]


def ledger(
    path: Path,
    lines: list[dict[str, Any]],
    *,
    header: list[str] = HEADER,
    title_rows: bool = True,
    instructions: bool = True,
    subtotal_after: int | None = None,
) -> Path:
    """A ledger as a county office builds it: a merged title, a 填报单位/截止日期 row, the header, the
    lines numbered by 序号, a 小计 row (after line ``subtotal_after``), a blank row and a merged 合计
    row with a formula, and a second sheet of instructions."""
    book = openpyxl.Workbook()
    ws = book.active
    assert ws is not None
    ws.title = "重点项目台账"
    if title_rows:
        ws.append(["某县2026年招商引资重点项目推进台账"])
        ws.merge_cells(start_row=1, start_column=1, end_row=1, end_column=len(header))
        ws.append(["填报单位：县投资促进服务中心（盖章）"] + [None] * 11 + ["截止日期：2026年11月20日"])
        ws.merge_cells("A2:F2")
    ws.append(header)
    first = ws.max_row + 1
    for n, line in enumerate(lines, start=1):
        ws.append([n if h == "序号" else line.get(h) for h in header])
        if subtotal_after == n:
            ws.append(["城关镇小计", None, None, None, f"=SUM(E{first}:E{ws.max_row})"])
    ws.append([])
    ws.append(["合计", None, None, None, f"=SUM(E{first}:E{ws.max_row})"])
    ws.merge_cells(start_row=ws.max_row, start_column=1, end_row=ws.max_row, end_column=4)
    if instructions:
        notes = book.create_sheet("填报说明")
        notes.append(["1. 目前进度填写：线索、洽谈、签约、供地/落地、开工、投产之一。"])
        notes.append(["2. 金额单位为万元，亿元请换算。"])
    book.save(path)
    return path


#: the headers a keyword argument cannot spell (full-width brackets)
SHORT = {"金额": "总投资（万元）", "用地": "用地面积（亩）"}


def line(name: str, **cells: Any) -> dict[str, Any]:
    base = {"项目名称": name, "投资主体": "某食品集团", "责任单位": "城关镇人民政府", "责任人": "陈静"}
    base.update({SHORT.get(k, k): v for k, v in cells.items()})
    return base


def projects(cli: Cli) -> list[dict[str, Any]]:
    return list(cli.ok("project", "list", "--all", "--json", "--now", NOW).json())


def imported(cli: Cli, path: Path, *extra: str) -> dict[str, Any]:
    result = cli.ok("import", str(path), "--by", "op", "--now", NOW, "--json", *extra)
    return dict(result.json())


# --------------------------------------------------------------------------- a county's ledger


def test_a_county_ledger_is_read_as_counties_write_it(county: Cli, tmp_path: Path) -> None:
    path = ledger(
        tmp_path / "台账.xlsx",
        [
            line("有机杂粮深加工", 目前进度="洽谈中", 金额="5,000", 最近跟进日期="2026-8-3"),
            line(
                "装配式建材",
                目前进度="已签约",
                金额="1.2亿",
                签约时间="2026/4/8",
                计划开工时间="2026年9月12日",
                包抓领导="马县长",
                备注="市级重点",
                联系电话="138****1234",
            ),
            line(
                "枸杞精深加工",
                目前进度="供地",
                金额="8000万元",
                用地="50亩",
                签约时间=datetime(2026, 5, 20),
                计划开工时间="2026.05.20",
                包抓领导="张常委",
            ),
            line(
                "功能性食品",
                目前进度="开工建设",
                金额=30000,
                用地=120.5,
                签约时间="2026-06-30",
                最新进展="厂房主体封顶",
                最近跟进日期="2026年11月18日",
            ),
            line("奶牛养殖牧场", 目前进度="线索", 投资主体=None),
        ],
        subtotal_after=2,
    )
    result = imported(county, path)
    assert (result["rows"], result["skipped"], result["created"], result["changed"]) == (5, 3, 5, 0)
    assert result["sheet"] == "重点项目台账"
    assert result["unread_columns"] == ["联系电话"]
    by_name = {p["name"]: p for p in projects(county)}
    assert {n: p["stage"] for n, p in by_name.items()} == {
        "有机杂粮深加工": "talks",
        "装配式建材": "signing",
        "枸杞精深加工": "land_prep",
        "功能性食品": "groundbreaking",
        "奶牛养殖牧场": "lead",
    }
    signed = by_name["装配式建材"]
    assert (signed["amount"], signed["signed_on"], signed["contract_start"]) == (
        12000,
        "2026-04-08",
        "2026-09-12",
    )
    assert signed["leader"] == {"key": "ma", "name": "马明"}
    assert signed["remarks"] == "市级重点"
    assert signed["stage_since"].startswith("2026-04-08T00:00")  # placed as of its 签约日期
    land = by_name["枸杞精深加工"]
    assert (land["amount"], land["land"], land["signed_on"]) == (8000, 50, "2026-05-20")
    assert land["deadline"] == "2026-05-20"  # the contract's start date (合同约定开工日期)
    started = by_name["功能性食品"]
    assert (started["amount"], started["land"]) == (30000, 120.5)
    # no 实际开工日期: placed as of now (the day filled in), its quiet clock at the last follow-up
    assert (started["started_on"], started["last_activity_at"][:10]) == ("2026-11-20", "2026-11-18")
    talks = by_name["有机杂粮深加工"]
    assert (talks["amount"], talks["last_activity_at"][:10]) == (5000, "2026-08-03")  # the quiet clock
    history = county.ok("history", str(started["id"]), "--json").json()
    assert [e["kind"] for e in history] == ["created", "followup"]
    assert history[0]["note"] == "导入 台账.xlsx" and history[0]["by"]["key"] == "op"
    assert history[1]["note"] == "厂房主体封顶"
    assert history[0]["entered_by"]  # the operating-system user (录入人)


def test_a_header_in_yi_yuan_multiplies_bare_numbers_and_a_csv_with_a_bom_is_read(
    county: Cli, tmp_path: Path
) -> None:
    header = ["项目名称", "投资单位", "计划总投资(亿元)", "当前阶段", "牵头单位", "项目专员", "信息来源"]
    path = ledger(
        tmp_path / "yi.xlsx",
        [
            {
                "项目名称": "甲",
                "投资单位": "某公司",
                "计划总投资(亿元)": 1.5,
                "当前阶段": "洽谈",
                "牵头单位": "城关镇",
                "项目专员": "陈静",
                "信息来源": "以商招商",
            },
            {
                "项目名称": "乙",
                "投资单位": "某公司",
                "计划总投资(亿元)": "8000万元",
                "当前阶段": "洽谈",
                "牵头单位": "城关镇",
                "项目专员": "chenjing",
            },
        ],
        header=header,
        title_rows=False,
        instructions=False,
    )
    assert imported(county, path)["created"] == 2
    amounts = {p["name"]: p["amount"] for p in projects(county)}
    assert amounts == {"甲": 15000, "乙": 8000}  # 1.5 under 亿元; a cell's own unit wins
    csv_path = tmp_path / "ledger.csv"
    csv_path.write_text(
        "项目编号,项目名称,投资方,投资额,项目进度,责任单位,责任人\n"
        'C-1,丙,某公司,"5,000",已签约,城关镇人民政府,陈静\n',
        encoding="utf-8-sig",
    )
    result = imported(county, csv_path)
    assert result["created"] == 1
    third = next(p for p in projects(county) if p["name"] == "丙")
    assert (third["code"], third["amount"], third["stage"]) == ("C-1", 5000, "signing")


# --------------------------------------------------------------------------- the real sample


def test_the_sample_ledger_reports_exactly_the_cells_it_cannot_take(county: Cli, tmp_path: Path) -> None:
    """Every project line of the sample (17) is read and the 小计, blank and 合计 lines skipped; what
    cannot be taken without guessing is reported: the three dates without a year (11月10日), and the
    lines whose stage requires what they lack (洽谈 needs 投资方, 签约 合同金额): nothing is written."""
    path = tmp_path / "sample.xlsx"
    shutil.copy(SAMPLE, path)
    before = snapshot(county.url)
    result = county("import", str(path), "--by", "op", "--now", NOW, "--json")
    assert result.code == 2
    assert "7 problems in sample.xlsx: nothing was imported" in result.err
    data = result.json()
    assert (data["rows"], data["skipped"]) == (17, 3)
    reported = {(p["row"], p["column"], p["header"], p["value"]) for p in data["problems"]}
    assert reported == {
        (14, "O", "最近跟进日期", "11月10日"),
        (19, "O", "最近跟进日期", "11月10日"),
        (21, "O", "最近跟进日期", "11月10日"),
        (8, "C", "投资主体", ""),  # 洽谈 without 投资方
        (12, "C", "投资主体", ""),  # 落地 without 投资方
        (15, "C", "投资主体", ""),  # 开工建设 without 投资方
        (20, "E", "总投资（万元）", ""),  # 已签约 without 合同金额
    }
    assert all("no year" in p["problem"] for p in data["problems"] if p["column"] == "O")
    assert snapshot(county.url) == before
    report = openpyxl.load_workbook(tmp_path / "sample.errors.xlsx")
    marked = {c.coordinate for row in report.worksheets[0].iter_rows() for c in row if c.comment is not None}
    assert marked == {"O14", "O19", "O21", "C8", "C12", "C15", "E20"}
    assert report.worksheets[0]["O14"].fill.fgColor.rgb.endswith("FF8C8C")
    assert "no year" in report.worksheets[0]["O14"].comment.text
    assert report.sheetnames[-1] == "problems" and report["problems"].max_row == 8

    # completed where it could not be read, the sample imports whole: 17 projects
    book = openpyxl.load_workbook(path)
    ws = book.worksheets[0]
    for cell in ("C8", "C12", "C15"):
        ws[cell] = "某投资公司"
    ws["E20"] = "3000"
    for cell in ("O14", "O19", "O21"):
        ws[cell] = "2026年11月10日"
    book.save(path)
    assert imported(county, path)["created"] == 17
    assert len(projects(county)) == 17


# --------------------------------------------------------------------------- bad lines

#: (what is wrong, the line, the column letter(s) reported) — each kind of bad line once
BAD: list[tuple[str, dict[str, Any], set[str]]] = [
    ("a date without a year", line("b01", 最近跟进日期="11月10日"), {"O"}),
    ("a date without a day", line("b02", 目前进度="签约", 金额=100, 签约时间="2026年7月"), {"L"}),
    ("a day that does not exist", line("b03", 计划开工时间="2026-02-30"), {"M"}),
    ("a number where a date goes", line("b04", 计划开工时间=46000), {"M"}),
    ("words where a date goes", line("b05", 计划开工时间="下个月"), {"M"}),
    ("an amount in 元", line("b06", 金额="5000元"), {"E"}),
    ("an amount with words", line("b07", 金额="约5000"), {"E"}),
    ("a negative amount", line("b08", 金额=-100), {"E"}),
    ("an amount with three decimals", line("b09", 金额="1.234"), {"E"}),
    ("an area in words", line("b10", 用地="五十亩"), {"F"}),
    ("an unknown stage", line("b11", 目前进度="评估中"), {"G"}),
    ("an unknown unit", line("b12", 责任单位="火星乡"), {"H"}),
    ("an unknown officer", line("b13", 责任人="张三丰"), {"I"}),
    ("a leader who is no county leader", line("b14", 包抓领导="孙强"), {"K"}),
    ("an officer who left office", line("b15", 责任人="离任者"), {"I"}),
    (
        "a line without its project name",
        {"投资主体": "某公司", "责任单位": "城关镇人民政府", "责任人": "陈静"},
        {"B"},
    ),
    ("a new project without its unit", line("b17", 责任单位=None), {"H"}),
    ("a new project without its officer", line("b18", 责任人=None), {"I"}),
    ("签约 without 合同金额", line("b19", 目前进度="已签约"), {"E"}),
    ("a new project on hold", line("b20", 目前进度="暂缓"), {"G"}),
    ("a new project terminated", line("b21", 目前进度="终止"), {"G"}),
    ("a signing date in the future", line("b22", 目前进度="签约", 金额=100, 签约时间="2027-01-01"), {"L"}),
    ("a last follow-up in the future", line("b23", 最近跟进日期="2026-12-01"), {"O"}),
    ("the same project twice", line("b01"), {"B"}),
    ("a formula where an amount goes", line("b25", 金额="=E4*2"), {"E"}),
    ("an invisible character in a name", line("b26", 投资主体="某\u200b公司"), {"C"}),
    ("TRUE where an amount goes", line("b27", 金额=True), {"E"}),
    ("洽谈 without 投资方", line("b28", 目前进度="洽谈", 投资主体=None), {"C"}),
    ("a deactivated unit", line("b29", 责任单位="旧开发区"), {"H"}),
    ("an official two people are called", line("b30", 责任人="李娜"), {"I"}),
    ("a date of words and numbers", line("b31", 签约时间="2026年13月1日", 目前进度="签约", 金额=1), {"L"}),
]


def test_every_kind_of_bad_line_is_reported_and_nothing_is_written(county: Cli, tmp_path: Path) -> None:
    county.ok("unit", "add", "old", "--name", "旧开发区", "--kind", "department")
    county.ok("unit", "deactivate", "old")
    county.ok(
        "official", "add", "gone", "--name", "离任者", "--email", "gone@example.gov.cn", "--unit", "bureau"
    )
    county.ok("official", "deactivate", "gone")
    for key in ("lina1", "lina2"):
        county.ok(
            "official", "add", key, "--name", "李娜", "--email", f"{key}@example.gov.cn", "--unit", "bureau"
        )
    good = line("一个好项目", 目前进度="洽谈")
    path = ledger(tmp_path / "bad.xlsx", [good] + [bad for _what, bad, _cols in BAD])
    assert len(BAD) >= 25
    before = snapshot(county.url)
    result = county("import", str(path), "--by", "op", "--now", NOW, "--json")
    assert result.code == 2, result.err
    assert snapshot(county.url) == before
    problems = result.json()["problems"]
    first_row = 5  # title, 填报单位, header, the good line
    by_row: dict[int, set[str]] = {}
    for p in problems:
        by_row.setdefault(p["row"], set()).add(p["column"])
    for n, (what, _bad, columns) in enumerate(BAD):
        assert by_row.get(first_row + n) == columns, f"{what}: {by_row.get(first_row + n)}"
    assert first_row - 1 not in by_row  # the good line is not blamed
    assert len(problems) == len(BAD)
    assert all(p["problem"] for p in problems)
    # the terminal shows the table, the report marks each cell
    plain = county("import", str(path), "--by", "op", "--now", NOW)
    assert plain.code == 2 and "b22" not in plain.out and "2027-01-01" in plain.out
    report = openpyxl.load_workbook(tmp_path / "bad.errors.xlsx")
    assert report["problems"].max_row == len(BAD) + 1


def test_a_file_without_a_ledger_is_refused_in_one_line(county: Cli, tmp_path: Path) -> None:
    book = openpyxl.Workbook()
    book.active.append(["随便", "写点", "什么"])  # type: ignore[union-attr]
    book.save(tmp_path / "none.xlsx")
    result = county("import", str(tmp_path / "none.xlsx"), "--by", "op", "--now", NOW)
    assert result.code == 2 and "no ledger header found" in result.err
    (tmp_path / "x.xls").write_bytes(b"\xd0\xcf\x11\xe0")
    result = county("import", str(tmp_path / "x.xls"), "--by", "op", "--now", NOW)
    assert result.code == 2 and "save it as .xlsx" in result.err
    (tmp_path / "broken.xlsx").write_bytes(b"not a zip")
    result = county("import", str(tmp_path / "broken.xlsx"), "--by", "op", "--now", NOW)
    assert result.code == 2 and "cannot be read as an xlsx workbook" in result.err
    path = ledger(tmp_path / "ok.xlsx", [line("甲")])
    result = county("import", str(path), "--by", "op", "--now", NOW, "--sheet", "无此表")
    assert result.code == 2 and "has no sheet" in result.err
    result = county("import", str(path), "--by", "nobody", "--now", NOW)
    assert result.code == 4


# --------------------------------------------------------------------------- re-import


def test_reimport_updates_with_history_and_never_duplicates(any_county: Cli, tmp_path: Path) -> None:
    cli = any_county
    first = [
        line("甲项目", 目前进度="洽谈", 金额=5000),
        line("乙项目", 目前进度="签约", 金额="1亿", 签约时间="2026-10-08", 最新进展="已签约"),
    ]
    path = ledger(tmp_path / "v1.xlsx", first)
    assert imported(cli, path)["created"] == 2
    again = imported(cli, path)
    assert (again["created"], again["changed"], again["unchanged"]) == (0, 0, 2)
    text = cli.ok("import", str(path), "--by", "op", "--now", NOW).out
    assert "0 created, 0 changed" in text
    ids = {p["name"]: p["id"] for p in projects(cli)}

    second = [
        line("甲项目", 目前进度="已签约", 金额=6000, 签约时间="2026-11-02", 备注="加快"),
        line("乙项目", 目前进度="签约", 金额="1亿", 签约时间="2026-10-08", 最新进展="土地预审已完成"),
    ]
    result = imported(cli, ledger(tmp_path / "v2.xlsx", second))
    assert (result["created"], result["changed"]) == (0, 2)
    rows = {p["name"]: p for p in projects(cli)}
    assert len(rows) == 2
    a = rows["甲项目"]
    assert (a["stage"], a["amount"], a["remarks"], a["signed_on"]) == ("signing", 6000, "加快", "2026-11-02")
    assert a["stage_since"].startswith("2026-11-20T10:00")  # never before it entered 洽谈 (imported now)
    history = cli.ok("history", str(ids["甲项目"]), "--json").json()
    assert [e["kind"] for e in history] == ["created", "edit", "move"]
    edit, move = history[1], history[2]
    assert edit["note"] == "导入 v2.xlsx" and edit["by"]["key"] == "op"
    assert edit["changes"]["amount"] == [5000, 6000]
    assert (move["from"], move["to"], move["note"]) == ("talks", "signing", "导入 v2.xlsx")
    b = cli.ok("history", str(ids["乙项目"]), "--json").json()
    assert [e["kind"] for e in b] == ["created", "followup", "followup"]
    assert b[-1]["note"] == "土地预审已完成"
    final = imported(cli, ledger(tmp_path / "v2.xlsx", second))
    assert (final["created"], final["changed"]) == (0, 0)

    # matched by 项目编号 when there is one: a renamed project is the same project
    coded = [dict(line("丙项目", 目前进度="洽谈"), 项目编号="2026-007")]
    header = ["项目编号", *HEADER]
    imported(cli, ledger(tmp_path / "c1.xlsx", coded, header=header))
    renamed = [dict(line("丙项目（一期）", 目前进度="洽谈"), 项目编号="2026-007")]
    result = imported(cli, ledger(tmp_path / "c2.xlsx", renamed, header=header))
    assert (result["created"], result["changed"]) == (0, 1)
    assert [p["name"] for p in projects(cli) if p["code"] == "2026-007"] == ["丙项目（一期）"]


def test_a_ledger_cannot_hold_or_end_a_known_project(county: Cli, tmp_path: Path) -> None:
    path = ledger(tmp_path / "a.xlsx", [line("甲项目", 目前进度="洽谈")])
    imported(county, path)
    before = snapshot(county.url)
    result = county(
        "import",
        str(ledger(tmp_path / "b.xlsx", [line("甲项目", 目前进度="暂缓")])),
        "--by",
        "op",
        "--now",
        NOW,
    )
    assert result.code == 2 and "followup hold 1" in result.out.replace("\n", "")
    assert snapshot(county.url) == before


# --------------------------------------------------------------------------- export


@pytest.mark.parametrize("suffix", [".xlsx", ".csv"])
def test_export_then_import_changes_nothing(any_county: Cli, tmp_path: Path, suffix: str) -> None:
    cli = any_county
    cli.ok(
        "official", "add", "namesake", "--name", "陈静", "--email", "cj2@example.gov.cn", "--unit", "bureau"
    )
    path = ledger(
        tmp_path / "in.xlsx",
        [
            line(
                "甲",
                目前进度="洽谈",
                金额="1,234.56",
                最近跟进日期="2026-11-02",
                责任人="chenjing",
                最新进展="第一行\n第二行",
            ),
            line(
                "乙",
                目前进度="已投产",
                金额="1.2亿",
                用地="50亩",
                包抓领导="马县长",
                责任人="namesake",
                签约时间="2026-01-05",
            ),
            line("丙", 目前进度="供地", 金额=800, 用地=12.5, 计划开工时间="2026-03-01", 责任人="chenjing"),
        ],
    )
    imported(cli, path)
    cli.ok("hold", "3", "--by", "op", "--until", "2027-01-10", "--reason", "资金未落实", "--now", NOW)
    out = tmp_path / f"ledger{suffix}"
    assert "3 projects written" in cli.ok("export", str(out), "--now", NOW).out
    before = snapshot(cli.url)
    result = imported(cli, out)
    assert (result["created"], result["changed"], result["unchanged"]) == (0, 0, 3)
    assert snapshot(cli.url) == before
    if suffix == ".xlsx":
        ws = openpyxl.load_workbook(out).worksheets[0]
        assert ws.freeze_panes == "A4"
        assert "招商引资项目台账" in str(ws["A1"].value) and "A1" in str(ws.merged_cells)
        headers = [c.value for c in ws[3]]
        assert headers[:3] == ["序号", "项目编号", "项目名称"]
        amount = ws.cell(row=4, column=headers.index("合同金额（万元）") + 1).value
        assert amount == pytest.approx(1234.56)
        signed = ws.cell(row=5, column=headers.index("签约日期") + 1).value
        assert isinstance(signed, datetime) and signed.date() == date(2026, 1, 5)
        officer = [ws.cell(row=r, column=headers.index("责任人") + 1).value for r in (4, 5)]
        assert officer == ["陈静（chenjing）", "陈静（namesake）"]  # a shared name carries its key
        light = ws.cell(row=6, column=headers.index("预警") + 1)  # 丙: on hold, past its contract date
        lights = {p["name"]: p["level"] for p in projects(cli)}
        if lights["丙"]:
            assert light.fill.fgColor.rgb.endswith(("FF8C8C", "FFEB9C", "BDD7EE", "C00000"))
        assert ws.column_dimensions["C"].width >= 6
    else:
        assert out.read_bytes().startswith(b"\xef\xbb\xbf")


def test_the_template_lists_the_headers_and_is_read_back(county: Cli, tmp_path: Path) -> None:
    out = tmp_path / "template.xlsx"
    county.ok("export", str(out), "--template", "--now", NOW)
    book = openpyxl.load_workbook(out)
    assert len(book.sheetnames) == 2
    variants = {row[0]: row[1] for row in book.worksheets[1].iter_rows(values_only=True)}
    assert "投资主体" in variants["投资方"] and "包联领导" in variants["包抓领导"]
    result = county("import", str(out), "--by", "op", "--now", NOW, "--json")
    # the example names people the county does not have: reported, not guessed
    assert result.code == 2
    assert {p["header"] for p in result.json()["problems"]} == {"责任人"}


# --------------------------------------------------------------------------- the dry run


def test_the_dry_run_writes_nothing_and_predicts_the_first_sweep(any_county: Cli, tmp_path: Path) -> None:
    cli = any_county
    cli.ok("official", "update", "chenjing", "--head")
    path = ledger(
        tmp_path / "day-one.xlsx",
        [
            line("逾期签约", 目前进度="已签约", 金额=5000, 签约时间="2026-03-15", 包抓领导="张常委"),
            line("久未跟进", 目前进度="洽谈", 最近跟进日期="2026-09-01"),
            line("刚刚签约", 目前进度="签约", 金额=100, 签约时间="2026-11-18"),
            line(
                "供地逾期", 目前进度="供地", 金额=100, 用地=10, 计划开工时间="2026-06-30", 包抓领导="马县长"
            ),
        ],
    )
    before = snapshot(cli.url)
    dry = imported(cli, path, "--dry-run")
    assert snapshot(cli.url) == before
    assert (dry["created"], dry["dry_run"]) == (4, True)
    assert [p["action"] for p in dry["planned"]] == ["create"] * 4
    predicted = {m["key"]: m["notifications"] for m in dry["mails"]}
    assert sum(predicted.values()) == dry["notifications"] > 0
    assert {"zhang", "ma", "chenjing"} <= set(predicted)
    text = cli.ok("import", str(path), "--by", "op", "--now", NOW, "--dry-run").out
    assert "would import day-one.xlsx" in text and "the first sweep after it would queue" in text

    imported(cli, path)
    planned = cli.ok("sweep", "--dry-run", "--json", "--now", NOW).json()["planned"]
    assert dict(Counter(p["recipient_key"] for p in planned)) == predicted
    assert cli.ok("sweep", "--json", "--now", NOW).json()["queued"] == dry["notifications"]


# --------------------------------------------------------------------------- aliases and funds


def test_an_alias_names_an_official_everywhere_and_is_kept_unique(county: Cli) -> None:
    shown = county.ok("official", "show", "ma", "--json").json()
    assert shown["aliases"] == ["马县长"]
    result = county(
        "official",
        "add",
        "ma2",
        "--name",
        "马二",
        "--email",
        "ma2@example.gov.cn",
        "--unit",
        "county",
        "--alias",
        "马县长",
    )
    assert result.code == 5 and "马县长" in result.err
    county.ok("official", "update", "ma", "--alias", "马县长", "--alias", "老马")
    assert county.ok("official", "show", "ma", "--json").json()["aliases"] == ["马县长", "老马"]
    pid = county.ok(
        "project",
        "add",
        "--name",
        "甲",
        "--officer",
        "陈静",
        "--unit",
        "chengguan",
        "--leader",
        "老马",
        "--now",
        NOW,
    ).out.strip()
    assert county.ok("project", "show", pid, "--json").json()["leader"]["key"] == "ma"
    county.ok("official", "update", "ma", "--no-aliases")
    assert county.ok("official", "show", "ma", "--json").json()["aliases"] == []


def test_funds_add_the_money_that_arrived_with_history(any_county: Cli) -> None:
    cli = any_county
    pid = cli.ok(
        "project",
        "add",
        "--name",
        "甲",
        "--officer",
        "chenjing",
        "--unit",
        "chengguan",
        "--stage",
        "签约",
        "--investor",
        "某公司",
        "--amount",
        "1亿",
        "--now",
        NOW,
    ).out.strip()
    out = cli.ok("funds", pid, "--amount", "2,000", "--on", "2026-11-10", "--by", "op", "--now", NOW).out
    assert "2,000 万元 in place on 2026-11-10" in out and "20.0% of 10,000 万元" in out
    result = cli.ok(
        "funds", pid, "--amount", "0.1亿", "--by", "op", "--note", "第二笔", "--now", NOW, "--json"
    )
    assert (result.json()["before"], result.json()["after"]) == (2000, 3000)
    assert cli.ok("project", "show", pid, "--json").json()["funds_in_place"] == 3000
    events = [e for e in cli.ok("history", pid, "--json").json() if e["kind"] == "funds"]
    assert [e["changes"]["funds_in_place"] for e in events] == [[None, 2000], [2000, 3000]]
    assert events[0]["at"].startswith("2026-11-10T00:00") and events[1]["note"] == "第二笔"
    before = snapshot(cli.url)
    for args, code in (
        (("--amount", "0"), 2),
        (("--amount", "-5"), 2),
        (("--amount", "5000元"), 2),
        (("--amount", "100", "--on", "2026-12-01"), 2),
        (("--amount", "100", "--by", "nobody"), 4),
    ):
        full = ("funds", pid, *args) if "--by" in args else ("funds", pid, *args, "--by", "op")
        assert cli(*full, "--now", NOW).code == code, args
    assert cli("funds", "999", "--amount", "1", "--by", "op", "--now", NOW).code == 4
    cli.ok("terminate", pid, "--by", "op", "--reason", "投资方撤资", "--now", NOW)
    result = cli("funds", pid, "--amount", "1", "--by", "op", "--now", NOW)
    assert result.code == 2 and "terminated" in result.err
    assert snapshot(cli.url)["projects"] != before["projects"]  # only the termination changed it
