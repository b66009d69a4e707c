"""Hostile or careless workflow and calendar files (issue 7): plain YAML only, bounded limits, no trap
cycles, labels that are safe in a mail header and on a terminal, workflow names that are never paths.

Each case is a small edit of tests.unit.test_workflow_check's ``VALID`` file; no database.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from followup.errors import ConfigError, UnknownWorkflow, WorkflowError
from followup.lifecycle import WorkflowRegistry, load_workflow_file, parse_workflow
from followup.lifecycle.calendar_file import load_county_calendar
from tests.unit.test_workflow_check import VALID, edit, line_of

FILE = "county/mini.yaml"


def refusal(text: str) -> WorkflowError:
    with pytest.raises(WorkflowError) as caught:
        parse_workflow(text, FILE)
    assert "\n" not in str(caught.value)
    return caught.value


# --------------------------------------------------------------------------- plain YAML only


def laughs(levels: int, width: int = 10) -> str:
    """A "billion laughs" document: each level an alias list of the one before (width**levels nodes)."""
    lines = ['a0: &a0 "lol"']
    for i in range(1, levels + 1):
        lines.append(f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * width) + "]")
    return VALID + "\n".join(lines).replace("a0:", "x_a0:", 1) + "\n"


def test_a_billion_laughs_file_is_refused_at_its_first_anchor_before_any_expansion() -> None:
    # 10**5 nodes here (the had 10**9): small enough that code which expands it finishes
    text = laughs(5)
    exc = refusal(text)
    assert exc.line == line_of(text, 'x_a0: &a0 "lol"')
    assert exc.detail == "bad YAML: anchor &a0: anchors and aliases are not allowed; write the value out"


def test_a_recursive_alias_is_one_line_not_a_recursion_error() -> None:
    text = edit(VALID, "  - {from: lead, to: talks}\n", "  - &loop [*loop]\n  - {from: lead, to: talks}\n")
    exc = refusal(text)
    assert exc.line == line_of(text, "&loop")
    assert "anchor &loop" in exc.detail


def test_an_alias_alone_is_refused_too() -> None:
    text = edit(VALID, "staleness: {working_days: 20}\n", "staleness: *somewhere\n")
    assert refusal(text).detail.startswith("bad YAML: ")  # an undefined alias: the parser's own error


@pytest.mark.parametrize(
    ("value", "tag"),
    [
        ("!tag 30", "!tag"),
        ("!!str 30", "tag:yaml.org,2002:str"),
        ("!!python/object/apply:os.system ['true']", "tag:yaml.org,2002:python/object/apply:os.system"),
        ("!<tag:example.com,2026:x> 30", "tag:example.com,2026:x"),
    ],
)
def test_tags_are_refused_with_their_line(value: str, tag: str) -> None:
    text = edit(VALID, "label: 最小流程\n", f"label: 最小流程\ndescription: {value}\n")
    exc = refusal(text)
    assert (exc.file, exc.line) == (FILE, line_of(text, "description:"))
    assert exc.detail == f"bad YAML: tag {tag}: tags are not allowed; write plain values"
    assert str(exc) == f"{FILE}:{exc.line}: bad YAML: tag {tag}: tags are not allowed; write plain values"


def test_nesting_is_bounded() -> None:
    from followup.lifecycle.yamlfile import MAX_DEPTH

    deep = "[" * (MAX_DEPTH + 5) + "]" * (MAX_DEPTH + 5)
    exc = refusal(edit(VALID, "label: 最小流程\n", f"label: 最小流程\ndescription: {deep}\n"))
    assert exc.detail == f"bad YAML: nested deeper than {MAX_DEPTH} levels"
    very_deep = "[" * 100_000 + "]" * 100_000  # no RecursionError, no crash of the parser
    assert "nest" in refusal(f"description: {very_deep}\n").detail


def test_a_huge_file_is_refused_before_it_is_read(tmp_path: Path) -> None:
    from followup.lifecycle.yamlfile import MAX_BYTES

    text = VALID + "# " + "x" * MAX_BYTES + "\n"
    assert refusal(text).detail == f"bad YAML: the file is larger than {MAX_BYTES // 1024} KiB"
    path = tmp_path / "mini.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(WorkflowError, match=r"the file is larger than 256 KiB$"):
        load_workflow_file(path)


# --------------------------------------------------------------------------- bounded limits


@pytest.mark.parametrize(
    ("old", "new", "key", "message"),
    [
        ("limit: {days: 90}", "limit: {days: 99999999999}", "stages[1].limit.days", "at most 3650 days"),
        (
            "limit: {days: 90}",
            "limit: {working_days: 5000000}",
            "stages[1].limit.working_days",
            "at most 2500",
        ),
        ("limit: {days: 90}", "limit: {months: 121}", "stages[1].limit.months", "at most 120 months"),
        ("limit: {days: 90}", "limit: {days: 3651}", "stages[1].limit.days", "at most 3650 days"),
        ("at: {days: -7}", "at: {days: -3651}", "ladder[0].at.days", "at most 3650 days"),
        (
            "repeat: {days: 7}",
            "repeat: {working_days: 2501}",
            "ladder[1].repeat.working_days",
            "at most 2500",
        ),
        (
            "staleness: {working_days: 20}",
            "staleness: {months: 1000}",
            "staleness.months",
            "at most 120 months",
        ),
    ],
)
def test_limits_are_bounded(old: str, new: str, key: str, message: str) -> None:
    exc = refusal(edit(VALID, old, new))
    assert exc.key == key
    assert message in exc.detail


def test_the_bounds_themselves_are_allowed() -> None:
    text = edit(VALID, "limit: {days: 90}", "limit: {working_days: 2500}")
    text = edit(text, "limit: {days: 30}", "limit: {months: 120}")
    text = edit(text, "at: {days: -7}", "at: {days: -3650}")
    wf = parse_workflow(text, FILE)
    assert [s.limit.to_dict() if s.limit else None for s in wf.stages.values()] == [
        {"months": 120},
        {"working_days": 2500},
        None,
    ]


# --------------------------------------------------------------------------- trap cycles


def test_a_trap_cycle_without_a_way_to_a_final_stage_is_refused() -> None:
    text = edit(
        VALID,
        "    contract_deadline: contract_start\n",
        "    contract_deadline: contract_start\n"
        "  - key: limbo\n    label: 搁置\n    limit: {days: 30}\n"
        "  - key: purgatory\n    label: 再议\n    limit: {days: 30}\n",
    )
    text = edit(
        text,
        "  - {from: lead, to: talks}\n",
        "  - {from: lead, to: [talks, limbo]}\n  - {from: limbo, to: purgatory}\n"
        "  - {from: purgatory, to: limbo}\n",
    )
    exc = refusal(text)
    assert exc.key == "stages[2]"
    assert exc.line == line_of(text, "key: limbo")
    assert exc.detail == (
        "stage 'limbo' has no path to a final stage: its moves only lead among stages that never finish"
    )


# --------------------------------------------------------------------------- labels


@pytest.mark.parametrize(
    ("old", "new", "key", "message"),
    [
        ("label: 提示", r'label: "提\N示"', "ladder[0].label", "without control characters (U+0085 at 1)"),
        ("label: 提示", r'label: "提\L示"', "ladder[0].label", "without control characters (U+2028 at 1)"),
        ("label: 黄灯", r'label: "黄灯\P"', "ladder[1].label", "without control characters (U+2029 at 2)"),
        ("label: 洽谈", r'label: "\e[2J洽谈"', "stages[1].label", "without control characters (U+001B at 0)"),
        ("label: 线索", r'label: "线\u200b索"', "stages[0].label", "invisible characters"),
        ("label: 线索", r'label: "\u202e索线"', "stages[0].label", "invisible characters"),
        ("label: 最小流程", r'label: "\ufeff最小流程"', "label", "invisible characters"),
        (
            "label: 提示",
            "label: 提示 =?utf-8?q?=0D=0ABcc:_evil@attacker.test?=",
            "ladder[0].label",
            "must not contain a mail encoded word",
        ),
        ("label: 暂缓", r'label: "\u3164\u3164"', "hold.label", "must contain a visible character"),
        ("label: 洽谈", f"label: {'长' * 101}", "stages[1].label", "a label is at most 100 characters"),
    ],
)
def test_labels_are_safe_in_a_mail_header_and_on_a_terminal(
    old: str, new: str, key: str, message: str
) -> None:
    exc = refusal(edit(VALID, old, new))
    assert exc.key == key
    assert message in exc.detail
    assert "\x1b" not in str(exc) and "\u2028" not in str(exc) and "\x85" not in str(exc)


# --------------------------------------------------------------------------- names are never paths


def test_a_workflow_name_is_never_joined_into_a_path(tmp_path: Path) -> None:
    county = tmp_path / "county" / "workflows"
    county.mkdir(parents=True)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "evil.yaml").write_text(VALID.replace("name: mini", "name: evil"), encoding="utf-8")
    registry = WorkflowRegistry(county)
    for name in (
        "../../elsewhere/evil",
        "../../../../elsewhere/evil",
        "/etc/passwd",
        "Investment",
        "in vest",
    ):
        with pytest.raises(
            UnknownWorkflow, match=r"^bad workflow name .*: a workflow is named by lower-case"
        ):
            registry.get(name)
    assert registry.problem("../../elsewhere/evil") is not None
    assert registry.get("investment").name == "investment"


def test_a_broken_workflow_fails_only_its_own_lookups(tmp_path: Path) -> None:
    (tmp_path / "broken.yaml").write_text("name: broken\nstages: [\n", encoding="utf-8")
    registry = WorkflowRegistry(tmp_path)
    problem = registry.problem("broken")
    assert isinstance(problem, WorkflowError) and "bad YAML" in str(problem)
    assert registry.problem("investment") is None
    assert {"lead", "production", "on_hold"} <= registry.all_states()  # the broken one is left out
    (tmp_path / "broken.yaml").write_text(VALID.replace("name: mini", "name: broken"), encoding="utf-8")
    assert registry.problem("broken") is not None  # remembered …
    registry.forget_failures()
    assert registry.problem("broken") is None  # … until a long-lived process looks again


# --------------------------------------------------------------------------- the county calendar file


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (
            "2027: &y {holidays: [2027-01-01]}\n2028: *y\n",
            ":1: anchor &y: anchors and aliases are not allowed",
        ),
        ("2027: {holidays: [!!python/name:os.system 2027-01-01]}\n", ":1: tag tag:yaml.org,2002:python/name"),
        (
            "2027: {holidays: [{from: 2027-01-01, to: 9999-12-31}]}\n",
            "2027-01-01 to 9999-12-31 is not in 2027",
        ),
        ("99999: {holidays: []}\n", "under a year from 1900 to 2199"),
        ("true: {holidays: []}\n", "under a year from 1900 to 2199"),
    ],
)
def test_a_hostile_calendar_file_is_one_line(tmp_path: Path, content: str, message: str) -> None:
    path = tmp_path / "calendar.yaml"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_county_calendar(path)
    assert message in str(caught.value)
    assert "\n" not in str(caught.value)


def test_workflow_list_shows_the_good_ones_and_names_the_broken(tmp_path: Path) -> None:
    from tests.helpers import Cli

    county = tmp_path / "county"
    county.mkdir()
    (county / "fast.yaml").write_text(VALID.replace("name: mini", "name: fast"), encoding="utf-8")
    (county / "broken.yaml").write_text(
        VALID.replace("name: mini", "name: broken") + "x: &a 1\n", encoding="utf-8"
    )
    run = Cli(f"sqlite:///{tmp_path / 'never-created.db'}", tmp_path)
    listed = run("workflow", "list", env={"FOLLOWUP_WORKFLOW_DIR": str(county)})
    assert listed.code == 3
    assert [line.split("\t")[0] for line in listed.out.splitlines()] == [
        "fast",
        "investment (default)",
        "major",
    ]
    line = VALID.count("\n") + 1
    assert listed.err.splitlines() == [
        f"error: {county / 'broken.yaml'}:{line}: bad YAML: anchor &a: anchors and aliases are not allowed; "
        "write the value out"
    ]
