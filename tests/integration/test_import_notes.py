"""The ledger import says which dates it took as the import day (issue 9): a line at 签约 with no
签约时间, at 投产 with no 实际投产日期, a known project placed at 开工 with no 实际开工日期 is not
refused (a county may not know the date), but listed after the summary, in the dry run and the real
run, and in --json.
The ledgers are built as tests/integration/test_import.py builds them: a title, a 填报单位 row and the
header, so that the first line is row 4."""

from __future__ import annotations

from pathlib import Path

from tests.helpers import Cli
from tests.integration.test_import import HEADER, NOW, county, imported, ledger, line, projects

__all__ = ["county"]  # the fixture


def test_dates_taken_as_the_import_day_are_listed(county: Cli, tmp_path: Path) -> None:
    first = [
        line("甲项目", 目前进度="签约", 金额=5000),  # row 4: no 签约时间
        line("乙项目", 目前进度="签约", 金额=6000, 签约时间="2026-10-08"),  # row 5: given
        line("丙项目", 目前进度="洽谈"),  # row 6: no date of its own to give
        line("丁项目", 目前进度="投产", 金额=8000, 用地=30, 签约时间="2025-03-01"),  # row 7: no 实际投产日期
        line("戊项目", 目前进度="洽谈", 金额=3000, 签约时间="2026-09-01"),  # row 8: signed_on known
    ]
    path = ledger(tmp_path / "v1.xlsx", first)
    dry = imported(county, path, "--dry-run")
    assert [(n["row"], n["name"], n["what"], n["field"], n["day"]) for n in dry["notes"]] == [
        (4, "甲项目", "recorded", "signed_on", "2026-11-20"),
        (7, "丁项目", "recorded", "production_on", "2026-11-20"),
    ]
    text = county.ok("import", str(path), "--by", "op", "--now", NOW, "--dry-run").out
    summary = text.index("would import v1.xlsx")
    listed = text.index("2 lines had no date for their stage; the import day was taken:")
    assert summary < listed
    assert "  row 4 project 甲项目: no 签约日期 given, so 签约日期 is the import day 2026-11-20\n" in text
    assert (
        "  row 7 project 丁项目: no 实际投产日期 given, so 实际投产日期 is the import day 2026-11-20\n"
        in text
    )
    assert "乙项目: no" not in text and "丙项目: no" not in text
    assert projects(county) == []

    done = county.ok("import", str(path), "--by", "op", "--now", NOW).out
    assert done.index("imported v1.xlsx") < done.index("  row 4 project 甲项目: no 签约日期 given")
    rows = {p["name"]: p for p in projects(county)}
    assert rows["甲项目"]["signed_on"] == "2026-11-20" and rows["乙项目"]["signed_on"] == "2026-10-08"
    assert rows["丁项目"]["production_on"] == "2026-11-20"

    # known projects placed further by a ledger without the stage's date column
    header = [h for h in HEADER if h != "签约时间"]
    second = [
        line("丙项目", 目前进度="开工", 金额=4000, 用地=20),  # no 实际开工日期: recorded as today
        line("戊项目", 目前进度="签约"),  # its 签约日期 is known: only the day it entered 签约
    ]
    result = imported(county, ledger(tmp_path / "v2.xlsx", second, header=header))
    assert [(n["row"], n["project_id"], n["what"], n["field"], n["stage"]) for n in result["notes"]] == [
        (4, rows["丙项目"]["id"], "recorded", "started_on", "groundbreaking"),
        (5, rows["戊项目"]["id"], "stage", "signed_on", "signing"),
    ]
    again = county.ok("import", str(tmp_path / "v2.xlsx"), "--by", "op", "--now", NOW).out
    assert "had no date" not in again  # placed already: nothing taken this time
    moved = {p["name"]: p for p in projects(county)}
    assert moved["丙项目"]["started_on"] == "2026-11-20" and moved["戊项目"]["signed_on"] == "2026-09-01"
