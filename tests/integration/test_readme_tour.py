"""The README's tour works as typed, on today's real date (issue 8: three of its thirteen commands failed
on 2026-11-27 because they used mid-2026 dates without ``--now``).

The tour's block is read from README.md and run line by line in-process (tests.helpers.Cli) with the
real clock: ``export`` lines set the environment, ``# prints N`` checks what a line prints, and the
refused moves shown after the tour are run too and must say what the README says.
"""

from __future__ import annotations

import re
import shlex
from pathlib import Path

from tests.helpers import Cli

README = Path(__file__).resolve().parents[2] / "README.md"


def tour_block() -> list[str]:
    """The commands of the tour's first ``sh`` block, continuation lines joined, comments kept."""
    text = README.read_text(encoding="utf-8")
    section = text[text.index("## A tour") :]
    block = section[section.index("```sh\n") + 6 :]
    block = block[: block.index("```")]
    return [line for line in block.replace("\\\n", " ").splitlines() if line.strip()]


def refusals() -> list[tuple[str, str]]:
    """The tour's refused moves: (command, the error the README shows)."""
    text = README.read_text(encoding="utf-8")
    section = text[text.index("A refused move says why") :]
    block = section[section.index("```\n") + 4 :]
    lines = block[: block.index("```")].splitlines()
    return [(lines[i][2:], lines[i + 1]) for i in range(0, len(lines), 2)]


def run_tour(cli: Cli, tmp_path: Path) -> None:
    for line in tour_block():
        words = shlex.split(line, comments=True)
        if not words or words[0] == ".":
            continue  # activating the virtualenv: this test runs inside it
        if words[0] == "export":
            for assignment in words[1:]:
                name, _, value = assignment.partition("=")
                cli.env[name] = value.replace("$PWD", str(tmp_path))
            continue
        assert words[0] == "followup", line
        result = cli(*words[1:])
        assert result.code == 0, f"{line}\n→ exit {result.code}: {result.err}"
        printed = re.search(r"#\s*prints (\S+)", line)
        if printed:
            assert result.out.strip() == printed.group(1), line


def test_the_tour_runs_as_typed_today(tmp_path: Path) -> None:
    cli = Cli(f"sqlite:///{tmp_path / 'unused.db'}", tmp_path)
    del cli.env["FOLLOWUP_DATABASE_URL"]  # the tour's own data dir holds its database
    assert len(tour_block()) >= 20
    run_tour(cli, tmp_path)
    assert (tmp_path / "my-county" / "followup.db").is_file()
    listed = cli.ok("project", "list", "--json").json()
    assert [(p["id"], p["stage"], p["officer"]["key"]) for p in listed] == [(1, "signing", "sunli")]
    assert listed[0]["amount"] == 5000 and listed[0]["contract_start"] == "2026-09-15"
    ended = cli.ok("project", "show", "2", "--json").json()
    assert ended["stage"] == "terminated" and ended["amount"] == 12000  # 1.2亿
    for command, error in refusals():
        result = cli(*shlex.split(command)[1:])
        assert result.code == 6 and result.err.strip() == error, (command, result.err)
