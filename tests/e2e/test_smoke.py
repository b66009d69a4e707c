"""Smoke tests of the installed ``followup`` console script, run as a subprocess on a real SQLite file.

What only a real process shows: the entry point is installed and importable, exit codes reach the
shell (``sys.exit(main())``), errors are one line on stderr, ``--json`` is clean JSON on stdout. The
behaviour itself is covered in-process by tests/integration/test_cli.py; keep this tier to a few calls.
"""

from __future__ import annotations

from importlib.metadata import version
from pathlib import Path

from tests.helpers import Cli

NOW = "2026-06-01T10:00:00+08:00"


def test_version(sqlite_url: str, tmp_path: Path) -> None:
    result = Cli(sqlite_url, tmp_path, subprocess=True)("--version")
    assert (result.code, result.err) == (0, "")
    assert result.out == f"followup, version {version('followup')}\n"


def test_a_small_lifecycle(installed: Cli) -> None:
    run = installed
    run.ok("unit", "add", "chengguan", "--name", "城关镇人民政府", "--kind", "township")
    run.ok(
        "official", "add", "lina", "--name", "李娜", "--email", "lina@example.gov.cn", "--unit", "chengguan"
    )
    added = run.ok(
        "project", "add", "--name", "伊禾乳制品加工", "--officer", "lina", "--unit", "chengguan", "--now", NOW
    )
    assert added.out == "1\n"
    refused = run("advance", "1", "talks", "--by", "lina", "--now", NOW)
    assert (refused.code, refused.out) == (6, "")
    assert refused.err == (
        "error: cannot enter 洽谈 (talks): missing 投资方 (investor); "
        "record with --set 投资方=VALUE or `followup project edit`\n"
    )
    # talks: 90 days from 2026-06-01
    moved = run.ok("advance", "1", "talks", "--by", "lina", "--set", "investor=伊禾集团", "--now", NOW)
    assert moved.out == "project 1 → 洽谈 (talks); deadline 2026-08-30\n"
    shown = run.ok("project", "show", "1", "--json").json()
    assert (shown["id"], shown["stage"], shown["investor"]) == (1, "talks", "伊禾集团")
    assert (shown["deadline"], shown["officer"]) == ("2026-08-30", {"key": "lina", "name": "李娜"})


def test_bad_input_is_one_line_and_exit_2(sqlite_url: str, tmp_path: Path) -> None:
    result = Cli(sqlite_url, tmp_path, subprocess=True)("project", "show", "abc")
    assert (result.code, result.out) == (2, "")
    lines = result.err.splitlines()
    assert len(lines) == 1, result.err
    assert lines[0].startswith("error: ") and "'abc' is not a valid integer" in lines[0]
