"""What the CLI prints for people (issue 8): help when `followup` is typed alone, the stages in the help
of commands that take one, times without T and offset, amounts right-aligned with separators, tables
that fit the terminal (``COLUMNS``) without splitting a character — and ``--json`` as it was."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from followup.cli.output import text_width
from tests.county import SMALL
from tests.helpers import Cli

NOW = "2026-06-01 10:00"
ISO_INSTANT = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}")


@pytest.fixture
def ledger(cli: Cli) -> Cli:
    """The small county with two projects: 1 at 线索, 2 a signed ledger line with an amount."""
    SMALL.seed_cli(cli)
    cli.ok(
        "project", "add", "--name", "伊禾乳制品加工", "--officer", "lina", "--unit", "chengguan", "--now", NOW
    )
    cli.ok(
        *("project", "add", "--name", "华北冷链物流中心（一期）暨冷库扩建工程", "--officer", "lina"),
        *("--unit", "chengguan", "--stage", "签约", "--since", "2026-05-06", "--investor", "华北集团"),
        *("--amount", "1.2亿", "--leader", "刘强", "--land", "1200.5", "--now", NOW),
    )
    cli.ok(
        "log",
        "1",
        "投资方来县考察，初步确定选址，计划下月签订框架协议并报送准入会商。",
        "--by",
        "lina",
        "--now",
        NOW,
    )
    return cli


def test_a_command_alone_prints_its_help_and_succeeds(sqlite_url: str, tmp_path: Path) -> None:
    cli = Cli(sqlite_url, tmp_path)  # help needs no database
    for args in ([], ["project"], ["official"], ["outbox", "--help"]):
        result = cli(*args)
        assert (result.code, result.err) == (0, ""), args
        assert result.out.startswith("Usage: followup") and "Options:" in result.out


def test_the_help_of_a_command_taking_a_stage_lists_keys_and_labels(sqlite_url: str, tmp_path: Path) -> None:
    cli = Cli(sqlite_url, tmp_path)
    for command in (["advance"], ["project", "add"], ["project", "list"], ["project", "edit"]):
        out = cli.ok(*command, "--help").out
        assert "Stages of workflow investment (type the key or the label):" in out
        listed = re.findall(r"^  (\w+) +(\S+)$", out[out.index("Stages of workflow") :], re.M)
        assert listed == [
            ("lead", "线索"),
            ("talks", "洽谈"),
            ("signing", "签约"),
            ("land_prep", "落地/供地"),
            ("groundbreaking", "开工"),
            ("production", "投产"),
            ("on_hold", "暂缓"),
            ("terminated", "终止"),
        ], command
        # the default workflow's, whichever it is
        major = cli.ok(*command, "--help", env={"FOLLOWUP_DEFAULT_WORKFLOW": "major"}).out
        assert "Stages of workflow major" in major


def test_project_show_says_times_without_t_and_amounts_with_separators(ledger: Cli) -> None:
    out = ledger.ok("project", "show", "2").out
    assert not ISO_INSTANT.search(out) and "+08:00" not in out, out
    assert "stage: 签约 (signing) since 2026-05-06 00:00\n" in out
    assert "合同金额（万元）: 12,000\n" in out and "用地（亩）: 1,200.50\n" in out
    assert "签约日期: 2026-05-06\n" in out
    as_json = ledger.ok("project", "show", "2", "--json").json()  # --json keeps ISO 8601 and numbers
    assert as_json["stage_since"] == "2026-05-06T00:00:00+08:00" and as_json["amount"] == 12000
    assert as_json["land"] == 1200.5 and as_json["signed_on"] == "2026-05-06"


def test_the_list_right_aligns_amounts_and_keeps_whole_names_when_it_fits(ledger: Cli) -> None:
    lines = ledger.ok("project", "list").out.splitlines()
    assert lines[0].startswith("id  project name") and lines[0].endswith("amount (万元)")
    assert lines[2].endswith("  12,000") and text_width(lines[2]) == text_width(lines[0])
    assert "华北冷链物流中心（一期）暨冷库扩建工程" in lines[2]


def test_tables_fit_the_terminal_and_never_split_a_character(ledger: Cli) -> None:
    for columns in (100, 80, 60):
        env = {"COLUMNS": str(columns)}
        commands = [["history", "1"], ["official", "list"], ["status", "--now", NOW], ["unit", "list"]]
        if columns >= 80:  # ten columns: the project list needs 80 (less, and the terminal wraps it)
            commands.append(["project", "list"])
        for command in commands:
            out = ledger.ok(*command, env=env).out
            for line in out.splitlines():
                assert text_width(line) <= columns, (command, line)
        history = ledger.ok("history", "1", env=env).out
        notes = "".join(line.split("  ")[-1].strip() for line in history.splitlines()[2:])
        assert "报送准入会商。" in notes  # the note wraps, whole


def test_a_narrow_terminal_cuts_names_with_an_ellipsis_and_keeps_the_numbers(ledger: Cli) -> None:
    lines = ledger.ok("project", "list", env={"COLUMNS": "80"}).out.splitlines()
    assert (
        "华北冷链" in lines[2]
        and "…" in lines[2]
        and "华北冷链物流中心（一期）暨冷库扩建工程" not in lines[2]
    )
    assert lines[2].endswith("  12,000") and "2026-07-01" in lines[2]  # numbers and dates are never cut
    assert "since" not in lines[0]  # since when is left out first, then the leader in charge


def test_no_terminal_no_limit(ledger: Cli) -> None:
    """Output to a file or a pipe is never cut (no COLUMNS, not a terminal)."""
    assert "华北冷链物流中心（一期）暨冷库扩建工程" in ledger.ok("project", "list").out


def test_history_outbox_and_status_show_times_without_t(ledger: Cli) -> None:
    ledger.ok("sweep", "--now", "2026-08-01 09:00")
    for command in (["history", "2"], ["outbox"], ["status", "--now", NOW]):
        out = ledger.ok(*command).out
        assert not ISO_INSTANT.search(out) and "+08:00" not in out, (command, out)
    assert "project warning board 2026-06-01 10:00\n" in ledger.ok("status", "--now", NOW).out
