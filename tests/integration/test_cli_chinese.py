"""The CLI speaks Simplified Chinese by default (issue 8): every command's help, click's own words, errors,
confirmations and the values in tables; English with FOLLOWUP_LANG=en. Identifiers and option names stay
English; logs stay English."""

from __future__ import annotations

import inspect
import re
from collections.abc import Iterator

import click
import pytest

from followup.cli.root import cli as root
from tests.county import SMALL
from tests.helpers import Cli

NOW = "2026-06-01 10:00"
ZH = {"FOLLOWUP_LANG": ""}  # unset: the default language


def chinese(text: str) -> bool:
    return any("\u4e00" <= c <= "\u9fff" for c in text)


def command_paths() -> Iterator[tuple[list[str], click.Command]]:
    def walk(command: click.Command, path: list[str]) -> Iterator[tuple[list[str], click.Command]]:
        yield path, command
        if isinstance(command, click.Group):
            for name in sorted(command.list_commands(click.Context(command))):
                sub = command.get_command(click.Context(command), name)
                assert sub is not None
                yield from walk(sub, [*path, name])

    root.load_all()
    yield from walk(root, [])


@pytest.fixture
def county(cli: Cli) -> Cli:
    SMALL.seed_cli(cli)
    cli.ok("project", "add", "--name", "伊禾乳业", "--officer", "李娜", "--unit", "城关镇", "--now", NOW)
    cli.ok("advance", "1", "洽谈", "--by", "lina", "--set", "投资方=伊禾集团", "--now", NOW)
    cli.ok("log", "1", "投资方来县考察。", "--by", "lina", "--now", NOW)
    return cli


def test_every_command_help_is_chinese_and_no_english_help_text_is_left(cli: Cli) -> None:
    checked = 0
    for path, command in command_paths():
        out = cli.ok(*path, "--help", env=ZH).out
        assert out.startswith("用法：") and "选项:" in out, path
        english = [inspect.cleandoc(command.help or "")]
        english += [p.help for p in command.params if getattr(p, "help", None)]  # type: ignore[attr-defined]
        for text in english:
            first = text.split("\n")[0][:40]
            if re.search(r"[a-z]{3,} [a-z]{3,}", first):  # a sentence, not a name or a code span
                assert first not in out, (path, first)
        for line in out.splitlines():
            if re.match(r"^  -", line) and len(line.split("  ")) > 2:  # an option with a help text
                assert chinese(line) or "--" in line.split()[-1], (path, line)
        checked += 1
    assert checked > 30


def test_click_words_and_errors_are_chinese_one_line_and_exit_non_zero(county: Cli) -> None:
    cases = [
        (["project", "show", "99"], "没有编号为 99 的项目"),
        (["log", "1", "x"], "缺少选项"),
        (["nosuch"], "没有"),
        (["advance", "1", "签约", "--by", "nobody", "--now", NOW], "nobody"),
        (["project", "add", "--name", "x", "--officer", "lina", "--unit", "城关镇", "--since", "13/40"], ""),
        (["extend", "1", "--days", "abc", "--by", "liuqiang", "--reason", "r"], "整数"),
    ]
    for args, expected in cases:
        result = county(*args, env=ZH)
        assert result.code != 0, args
        lines = result.err.strip().splitlines()
        assert lines[-1].startswith("错误："), (args, result.err)
        assert chinese(lines[-1]) and expected in result.err, (args, result.err)
        assert not any(line.startswith(("Error", "error:", "Usage")) for line in lines), args


def test_tables_show_values_in_chinese_and_english_when_asked(county: Cli) -> None:
    county.ok("sweep", "--now", "2026-09-20 10:00")
    zh = {
        "history": county.ok("history", "1", env=ZH).out,
        "outbox": county.ok("outbox", env=ZH).out,
        "officials": county.ok("official", "list", env=ZH).out,
        "units": county.ok("unit", "list", env=ZH).out,
        "show": county.ok("project", "show", "1", "--now", "2026-09-20 10:00", env=ZH).out,
        "workflow": county.ok("workflow", "show", "investment", env=ZH).out,
    }
    assert "录入" in zh["history"] and "阶段变更" in zh["history"] and "线索 → 洽谈" in zh["history"]
    assert "跟进" in zh["history"] and "created" not in zh["history"]
    assert "待发送" in zh["outbox"] and "期限预警" in zh["outbox"] and "pending" not in zh["outbox"]
    assert re.search(r"黄灯|红灯|提示", zh["outbox"]) and "yellow" not in zh["outbox"]
    assert "是" in zh["officials"] and "乡镇" in zh["units"] and "township" not in zh["units"]
    assert "阶段：洽谈" in zh["show"] and "截止日期" in zh["show"]
    assert "洽谈" in zh["workflow"] and "预警梯度" in zh["workflow"]
    en = county.ok("history", "1").out
    assert "created" in en and "stage change" in en and "录入" not in en


def test_the_installed_command_alone_prints_chinese_help(installed: Cli) -> None:
    alone = installed(env=ZH)
    assert alone.code == 0 and alone.err == ""
    assert alone.out.startswith("用法： followup") and "命令:" in alone.out and "巡检" in alone.out
    refused = installed("project", "show", "7", env=ZH)
    assert refused.code != 0 and refused.err.startswith("错误：")
    assert len(refused.err.strip().splitlines()) == 1
