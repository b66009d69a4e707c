"""How a ledger line finds its stored project when its 项目编号 says one thing and its name and unit
another (issue 9): a line is matched by 项目编号 when the database knows it, else by name and unit.
A 项目编号 that belongs to another project than the one the line's name and unit name (a code
conflict), or to a voided project, is not guessed at: the line is refused, its 项目编号 cell reported
(in Chinese by default) and marked in the report, and nothing is imported.

The ledgers are built as tests/integration/test_import.py builds them (a title, a 填报单位 row and the
header: the first line is row 4), with a 项目编号 column first (column A)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import openpyxl

from tests.helpers import Cli, snapshot
from tests.integration.test_import import HEADER, NOW, county, imported, ledger, line, projects

__all__ = ["county"]  # the fixture

CODED = ["项目编号", *HEADER]
ZH = {"FOLLOWUP_LANG": ""}  # unset: the county's language


def coded(code: str | None, name: str, **cells: Any) -> dict[str, Any]:
    return {**line(name, 目前进度="洽谈", **cells), "项目编号": code}


def refused(cli: Cli, path: Path) -> list[dict[str, Any]]:
    """The problems of an import the CLI refuses (exit 2), in the county's language; nothing written."""
    before = snapshot(cli.url)
    result = cli("import", str(path), "--by", "op", "--now", NOW, "--json", env=ZH)
    assert result.code == 2, result.err
    assert snapshot(cli.url) == before
    return list(result.json()["problems"])


def marked(report: Path) -> dict[str, str]:
    """The cells the report of bad cells marks, with their comment."""
    ws = openpyxl.load_workbook(report).worksheets[0]
    return {c.coordinate: c.comment.text for row in ws.iter_rows() for c in row if c.comment is not None}


def test_a_code_of_another_project_than_the_name_and_unit_name_is_refused(
    county: Cli, tmp_path: Path
) -> None:
    first = [
        coded("2026-001", "甲项目"),  # project 1
        coded("2026-002", "乙项目"),  # project 2
        coded(None, "丙项目"),  # project 3: no 项目编号 yet
        coded("2026-004", "甲项目", 责任单位="北山乡人民政府", 责任人="孙强"),  # project 4: 甲 of 北山乡
    ]
    assert imported(county, ledger(tmp_path / "v1.xlsx", first, header=CODED))["created"] == 4
    stored = {(p["code"], p["name"], p["unit"]["key"]): p["id"] for p in projects(county)}
    assert stored == {
        ("2026-001", "甲项目", "chengguan"): 1,
        ("2026-002", "乙项目", "chengguan"): 2,
        (None, "丙项目", "chengguan"): 3,
        ("2026-004", "甲项目", "beishan"): 4,
    }
    second = [
        coded("2026-002", "乙项目", 备注="无误"),  # row 4: a good line (project 2)
        coded("2026-001", "丙项目"),  # row 5: 甲's number, 丙's name and unit
        coded("2026-009", "乙项目"),  # row 6: a number nobody has, 乙's name (whose number is 2026-002)
        coded("2026-004", "甲项目"),  # row 7: 北山乡's 甲 moved to 城关镇, which has a 甲 already
    ]
    path = ledger(tmp_path / "v2.xlsx", second, header=CODED)
    problems = refused(county, path)
    by_row = {p["row"]: p for p in problems}
    assert sorted(by_row) == [5, 6, 7] and len(problems) == 3
    where = [(by_row[r]["column"], by_row[r]["header"], by_row[r]["value"]) for r in (5, 6, 7)]
    assert where == [
        ("A", "项目编号", "2026-001"),
        ("A", "项目编号", "2026-009"),
        ("I", "责任单位", "城关镇人民政府"),  # the unit it would move to has a 甲项目
    ]
    conflict = by_row[5]["problem"]
    assert "项目 1" in conflict and "项目 3" in conflict and "丙项目" in conflict, conflict
    assert "请更正项目编号或项目名称" in conflict, conflict  # what to do, in Chinese
    assert by_row[6]["problem"] == "项目 2（乙项目）的项目编号是 2026-002，不是 2026-009"
    assert by_row[7]["problem"] == "城关镇人民政府 已有名为 甲项目 的项目：项目 1"
    cells = marked(tmp_path / "v2.errors.xlsx")
    assert set(cells) == {"A5", "A6", "I7"} and cells["A5"] == conflict
    assert [(p["code"], p["name"]) for p in projects(county) if p["id"] == 1] == [("2026-001", "甲项目")]


def test_a_code_of_a_voided_project_is_refused(county: Cli, tmp_path: Path) -> None:
    first = [coded("2026-001", "甲项目"), coded("2026-002", "乙项目")]
    imported(county, ledger(tmp_path / "v1.xlsx", first, header=CODED))
    county.ok("project", "void", "1", "--by", "op", "--reason", "重复录入", "--now", NOW)
    again = [
        coded("2026-002", "乙项目"),  # row 4: a good line
        coded("2026-001", "甲项目", 备注="仍在台账上"),  # row 5: the voided project, still in the ledger
        coded("2026-001", "甲项目（新）"),  # row 6: a new project given the voided one's number
    ]
    path = ledger(tmp_path / "v2.xlsx", again, header=CODED)
    problems = refused(county, path)
    assert [(p["row"], p["column"], p["value"]) for p in problems] == [
        (5, "A", "2026-001"),
        (6, "A", "2026-001"),
    ]
    assert all(p["problem"] == "项目编号 2026-001 属于已作废的项目 1：请为本项目另编一个" for p in problems)
    assert set(marked(tmp_path / "v2.errors.xlsx")) == {"A5", "A6"}
    shown = county.ok("project", "show", "1", "--json").json()
    assert (shown["name"], shown["remarks"], shown["voided_at"] is not None) == ("甲项目", None, True)
    plain = county("import", str(path), "--by", "op", "--now", NOW, env=ZH)  # the terminal's table
    assert plain.code == 2 and "已作废" in plain.out and "2026-001" in plain.out
