"""Workflow files: every kind of malformed file is refused with its key, line and a useful message.

Each malformed case is a small edit of ``VALID`` (one defect per case), so that a case can only fail
for the reason it names. The files are parsed by followup.lifecycle; the CLI part runs ``followup
workflow check/show/list`` in-process, which never opens (nor creates) the database. No database.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from followup.errors import WorkflowError
from followup.lifecycle import load_workflow_file, parse_workflow
from tests.helpers import Cli

HEAD = """\
name: mini
label: 最小流程
staleness: {working_days: 20}
"""

STAGES = """\
stages:
  - key: lead
    label: 线索
    limit: {days: 30}
  - key: talks
    label: 洽谈
    limit: {days: 90}
    requires: [investor]
    contract_deadline: contract_start
  - key: done
    label: 投产
    final: true
    records: production_on
"""

MOVES = """\
moves:
  - {from: lead, to: talks}
  - {from: talks, to: [done, lead]}
"""

SIDES = """\
hold:
  label: 暂缓
  from: [lead, talks]
terminate:
  from: [lead, talks, on_hold]
"""

LADDER = """\
ladder:
  - level: blue
    label: 提示
    at: {days: -7}
    notify: [case_officer]
  - level: yellow
    label: 黄灯
    at: {days: 1}
    notify: [case_officer, unit_head]
    repeat: {days: 7}
"""

VALID = HEAD + STAGES + MOVES + SIDES + LADDER

STAGE_KEYS = "lead, talks, done"
TOP_KEYS = "name, label, description, stages, moves, hold, terminate, ladder, staleness"
UNITS = "working_days, days, months"
ROLES = "case_officer, unit_head, leader, supervision, principal"


def edit(text: str, old: str, new: str) -> str:
    """Replace the one occurrence of ``old``: a case must not silently edit nothing or too much."""
    assert text.count(old) == 1, f"{old!r} occurs {text.count(old)} times in the valid workflow"
    return text.replace(old, new)


def line_of(text: str, needle: str) -> int:
    """The 1-based line of the one line of ``text`` that contains ``needle``."""
    found = [i for i, line in enumerate(text.splitlines(), start=1) if needle in line]
    assert len(found) == 1, f"{needle!r} is on lines {found}"
    return found[0]


def test_the_valid_workflow_is_valid() -> None:
    wf = parse_workflow(VALID, "mini.yaml")
    assert list(wf.stages) == ["lead", "talks", "done"]
    assert wf.moves == {"lead": ("talks",), "talks": ("done", "lead")}
    assert wf.hold_from == ("lead", "talks")
    assert wf.terminate_from == ("lead", "talks", "on_hold")
    assert [level.key for level in wf.ladder] == ["blue", "yellow"]


# Each case: the edits applied to VALID (or a whole text), the key path, a part of the message and
# the line (None: no line; a str: the line of the edited text that contains it; an int: that line).
E = tuple[str, str]
CASES = [
    # ---- YAML itself
    pytest.param(
        [("    label: 洽谈\n", "   label: 洽谈\n")],
        None,
        "bad YAML: did not find expected '-' indicator",
        "   label: 洽谈",
        id="yaml-indent",
    ),
    pytest.param(
        [("    limit: {days: 90}\n", "\tlimit: {days: 90}\n")],
        None,
        "bad YAML: found a tab character",
        "\tlimit",
        id="yaml-tab",
    ),
    pytest.param(
        [("label: 最小流程\n", "label: 最小: 流程\n")],
        None,
        "bad YAML: mapping values are not allowed",
        "最小: 流程",
        id="yaml-colon",
    ),
    pytest.param(
        "", "(top)", "the file is empty; expected a mapping with name, stages, moves", None, id="empty"
    ),
    pytest.param("# nothing here yet\n", "(top)", "the file is empty", None, id="only-comment"),
    pytest.param(
        "- lead\n- talks\n", "(top)", f"expected a mapping with keys {TOP_KEYS}", 1, id="top-is-a-list"
    ),
    pytest.param(
        "investment\n", "(top)", f"expected a mapping with keys {TOP_KEYS}", 1, id="top-is-a-scalar"
    ),
    pytest.param(
        [("label: 最小流程\n", "label: 最小流程\nlabel: 另一个\n")],
        "label",
        "duplicate key 'label'",
        "另一个",
        id="duplicate-top-level-key",
    ),
    # ---- top level
    pytest.param([(STAGES, "")], "(top)", "missing 'stages'", 1, id="missing-stages"),
    pytest.param([(MOVES, "")], "(top)", "missing 'moves'", 1, id="missing-moves"),
    pytest.param([("name: mini\n", "")], "(top)", "missing 'name'", 1, id="missing-name"),
    pytest.param(
        [("label: 最小流程\n", "label: 最小流程\nowner: 招商局\n")],
        "owner",
        f"unknown key 'owner'; allowed: {TOP_KEYS}",
        "owner:",
        id="unknown-top-key",
    ),
    pytest.param(
        [("name: mini\n", "name: Mini Flow\n")],
        "name",
        "bad name 'Mini Flow': use lower-case letters, digits and _",
        1,
        id="bad-name",
    ),
    pytest.param(
        [(STAGES, "stages: []\n")],
        "stages",
        "expected a list of stages",
        "stages: []",
        id="stages-empty-list",
    ),
    pytest.param(
        [(MOVES, "moves: {lead: talks}\n")],
        "moves",
        "expected a list of {from: STAGE, to: STAGE or [STAGES]}",
        "moves:",
        id="moves-not-a-list",
    ),
    # ---- stages
    pytest.param(
        [("  - key: talks\n", '  - key: "lead"\n')],
        "stages[1].key",
        "duplicate stage 'lead' (also stages[0])",
        '"lead"',
        id="duplicate-stage",
    ),
    pytest.param(
        [("    label: 洽谈\n", "    label: 洽谈\n    label: 商谈\n")],
        "stages[1].label",
        "duplicate key 'label'",
        "label: 商谈",
        id="duplicate-yaml-key",
    ),
    pytest.param(
        [("key: talks", "key: on_hold")],
        "stages[1].key",
        "'on_hold' is reserved for the side state; pick another name",
        "key: on_hold",
        id="reserved-on-hold",
    ),
    pytest.param(
        [("key: talks", "key: terminated")],
        "stages[1].key",
        "'terminated' is reserved for the side state",
        "key: terminated",
        id="reserved-terminated",
    ),
    pytest.param(
        [("key: talks", "key: land prep")],
        "stages[1].key",
        "bad name 'land prep': use lower-case letters, digits and _ (e.g. land_prep)",
        "key: land prep",
        id="stage-key-with-space",
    ),
    pytest.param(
        [("key: talks", "key: Talks")],
        "stages[1].key",
        "bad name 'Talks': use lower-case letters",
        "key: Talks",
        id="stage-key-upper-case",
    ),
    pytest.param(
        [("key: talks", "key: 2talks")],
        "stages[1].key",
        "bad name '2talks'",
        "key: 2talks",
        id="stage-key-starts-with-digit",
    ),
    pytest.param(
        [("  - key: talks\n    label: 洽谈\n", "  - label: 洽谈\n")],
        "stages[1]",
        "missing 'key'",
        "label: 洽谈",
        id="missing-stage-key",
    ),
    pytest.param(
        [("    label: 洽谈\n", "")], "stages[1]", "missing 'label'", "key: talks", id="missing-label"
    ),
    pytest.param(
        [("    label: 洽谈\n", '    label: ""\n')],
        "stages[1].label",
        "expected a non-empty text",
        'label: ""',
        id="empty-label",
    ),
    pytest.param(
        [("    label: 洽谈\n", '    label: "洽\\n谈"\n')],
        "stages[1].label",
        "a label must be one line",
        'label: "洽',
        id="two-line-label",
    ),
    pytest.param(
        [("    records: production_on\n", "    deadline: 2026-01-01\n")],
        "stages[2].deadline",
        "unknown key 'deadline'; allowed: key, label, limit",
        "deadline: 2026",
        id="unknown-stage-key",
    ),
    pytest.param(
        [("    final: true\n", "    final: 'yes'\n")],
        "stages[2].final",
        "expected true or false",
        "final:",
        id="final-not-a-boolean",
    ),
    pytest.param(
        [("    limit: {days: 90}\n", "")],
        "stages[1]",
        "a stage that is not final needs a limit, e.g. limit: {days: 90}",
        "key: talks",
        id="non-final-without-limit",
    ),
    pytest.param(
        [("  - {from: talks, to: [done, lead]}\n", "")],
        "stages[1]",
        "stage 'talks' is not final but no move leaves it",
        "key: talks",
        id="no-move-out",
    ),
    pytest.param(
        [("{from: lead, to: talks}", "{from: lead, to: done}")],
        "stages[1]",
        "stage 'talks' is unreachable from the first stage 'lead'",
        "key: talks",
        id="unreachable-stage",
    ),
    # no final stage: the last stage gets a limit and a way out instead (else other checks fire)
    pytest.param(
        [
            ("    final: true\n", "    limit: {days: 10}\n"),
            (
                "  - {from: talks, to: [done, lead]}\n",
                "  - {from: talks, to: [done, lead]}\n  - {from: done, to: talks}\n",
            ),
        ],
        "stages",
        "no stage is final (final: true)",
        "key: lead",
        id="no-final-stage",
    ),
    # ---- limits
    pytest.param(
        [("limit: {days: 90}", "limit: {weeks: 12}")],
        "stages[1].limit.weeks",
        f"unknown unit 'weeks'; allowed: {UNITS}",
        "weeks",
        id="limit-unit-weeks",
    ),
    pytest.param(
        [("limit: {days: 90}", "limit: {days: 0}")],
        "stages[1].limit.days",
        "expected a positive number of days, got 0",
        "{days: 0}",
        id="limit-zero",
    ),
    pytest.param(
        [("limit: {days: 90}", "limit: {months: -3}")],
        "stages[1].limit.months",
        "expected a positive number of months, got -3",
        "{months: -3}",
        id="limit-negative",
    ),
    pytest.param(
        [("limit: {days: 90}", "limit: {days: 1.5}")],
        "stages[1].limit.days",
        "expected a whole number of days, got 1.5",
        "{days: 1.5}",
        id="limit-fraction",
    ),
    pytest.param(
        [("limit: {days: 90}", "limit: {days: ninety}")],
        "stages[1].limit.days",
        "expected a whole number of days, got 'ninety'",
        "ninety",
        id="limit-text",
    ),
    pytest.param(
        [("limit: {days: 90}", "limit: {days: true}")],
        "stages[1].limit.days",
        "expected a whole number of days, got True",
        "{days: true}",
        id="limit-boolean",
    ),
    pytest.param(
        [("limit: {days: 90}", "limit: {days: 60, months: 1}")],
        "stages[1].limit",
        f"expected one of {UNITS} with a whole number, e.g. {{days: 30}}",
        "months: 1",
        id="limit-two-units",
    ),
    pytest.param(
        [("limit: {days: 90}", "limit: 90")],
        "stages[1].limit",
        f"expected one of {UNITS} with a whole number",
        "limit: 90",
        id="limit-bare-number",
    ),
    pytest.param(
        [("staleness: {working_days: 20}", "staleness: {hours: 30}")],
        "staleness.hours",
        f"unknown unit 'hours'; allowed: {UNITS}",
        "hours",
        id="top-staleness-unit",
    ),
    # ---- fields
    pytest.param(
        [("requires: [investor]", "requires: [investor, budget]")],
        "stages[1].requires[1]",
        "unknown field 'budget'; allowed: investor, investor_contact, amount",
        "budget",
        id="requires-unknown-field",
    ),
    pytest.param(
        [("contract_deadline: contract_start", "contract_deadline: contract_end")],
        "stages[1].contract_deadline",
        "unknown date field 'contract_end'; allowed: signed_on, contract_start, "
        "contract_production, started_on, production_on",
        "contract_end",
        id="contract-deadline-unknown",
    ),
    pytest.param(
        [("contract_deadline: contract_start", "contract_deadline: amount")],
        "stages[1].contract_deadline",
        "unknown date field 'amount'",
        "contract_deadline: amount",
        id="contract-deadline-not-a-date",
    ),
    pytest.param(
        [("records: production_on", "records: produced_on")],
        "stages[2].records",
        "unknown date field 'produced_on'",
        "produced_on",
        id="records-unknown",
    ),
    # ---- moves
    pytest.param(
        [("{from: lead, to: talks}", "{from: lead, to: talk}")],
        "moves[0].to",
        f"unknown stage 'talk'; stages: {STAGE_KEYS}",
        "to: talk}",
        id="move-to-unknown",
    ),
    pytest.param(
        [("to: [done, lead]", "to: [done, lede]")],
        "moves[1].to[1]",
        f"unknown stage 'lede'; stages: {STAGE_KEYS}",
        "lede",
        id="move-to-list-unknown",
    ),
    pytest.param(
        [("{from: talks, to: [done, lead]}", "{from: talk, to: [done, lead]}")],
        "moves[1].from",
        f"unknown stage 'talk'; stages: {STAGE_KEYS}",
        "from: talk,",
        id="move-from-unknown",
    ),
    pytest.param(
        [(MOVES, MOVES + "  - {from: done, to: lead}\n")],
        "moves[2].from",
        "'done' is final: no move can leave it",
        "from: done",
        id="move-from-final",
    ),
    pytest.param(
        [("{from: lead, to: talks}", "{from: lead, to: [talks, lead]}")],
        "moves[0].to",
        "a move from 'lead' to itself",
        "[talks, lead]",
        id="move-to-itself",
    ),
    pytest.param(
        [("{from: lead, to: talks}", "{from: lead, to: [talks, talks]}")],
        "moves[0].to",
        "duplicate move lead -> talks",
        "[talks, talks]",
        id="duplicate-move",
    ),
    pytest.param(
        [("{from: lead, to: talks}", "{from: lead}")],
        "moves[0]",
        "missing 'to'",
        "{from: lead}",
        id="move-missing-to",
    ),
    pytest.param(
        [("{from: lead, to: talks}", "{from: lead, to: talks, when: soon}")],
        "moves[0].when",
        "unknown key 'when'; allowed: from, to",
        "when: soon",
        id="move-unknown-key",
    ),
    # ---- hold and terminate
    pytest.param(
        [("  from: [lead, talks]\n", "  from: [lead, talk]\n")],
        "hold.from[1]",
        f"unknown stage 'talk'; stages: {STAGE_KEYS}",
        "[lead, talk]",
        id="hold-from-unknown",
    ),
    pytest.param(
        [("  from: [lead, talks]\n", "  from: [lead, on_hold]\n")],
        "hold.from[1]",
        f"unknown stage 'on_hold'; stages: {STAGE_KEYS}",
        "[lead, on_hold]",
        id="hold-from-on-hold",
    ),
    pytest.param(
        [("  from: [lead, talks]\n", "  from: [lead, done]\n")],
        "hold.from[1]",
        "'done' is final",
        "[lead, done]",
        id="hold-from-final",
    ),
    pytest.param(
        [("from: [lead, talks, on_hold]", "from: [lead, done, on_hold]")],
        "terminate.from[1]",
        "'done' is final",
        "[lead, done, on_hold]",
        id="terminate-from-final",
    ),
    pytest.param(
        [("from: [lead, talks, on_hold]", "from: [lead, talks, paused]")],
        "terminate.from[2]",
        f"unknown stage 'paused'; stages: {STAGE_KEYS}, on_hold",
        "paused",
        id="terminate-from-unknown",
    ),
    # ---- ladder
    pytest.param(
        [("notify: [case_officer, unit_head]", "notify: [case_officer, mayor]")],
        "ladder[1].notify[1]",
        f"unknown role 'mayor'; allowed: {ROLES}",
        "mayor",
        id="ladder-unknown-role",
    ),
    pytest.param(
        [("notify: [case_officer]", "notify: []")],
        "ladder[0].notify",
        f"name at least one role: {ROLES}",
        "notify: []",
        id="ladder-no-role",
    ),
    pytest.param(
        [("level: yellow", 'level: "blue"')],
        "ladder[1].level",
        "duplicate level 'blue'",
        '"blue"',
        id="ladder-duplicate-level",
    ),
    pytest.param(
        [("    at: {days: 1}\n", "")],
        "ladder[1]",
        "missing 'at'",
        "level: yellow",
        id="ladder-level-missing-at",
    ),
    pytest.param(
        [("at: {days: -7}", "at: {weeks: -1}")],
        "ladder[0].at.weeks",
        f"unknown unit 'weeks'; allowed: {UNITS}",
        "weeks",
        id="ladder-at-weeks",
    ),
    pytest.param(
        [("repeat: {days: 7}", "repeat: {days: 0}")],
        "ladder[1].repeat.days",
        "expected a positive number of days, got 0",
        "repeat:",
        id="ladder-repeat-zero",
    ),
    pytest.param(
        [("    label: 黄灯\n", "    label: 黄灯\n    colour: yellow\n")],
        "ladder[1].colour",
        "unknown key 'colour'; allowed: level, label, at, notify, repeat",
        "colour",
        id="ladder-unknown-key",
    ),
    pytest.param(
        [(LADDER, "ladder: []\n")], "ladder", "expected a list of levels", "ladder: []", id="ladder-empty"
    ),
]


@pytest.mark.parametrize(("edits", "key", "message", "line"), CASES)
def test_malformed_workflow(
    edits: list[E] | str, key: str | None, message: str, line: int | str | None
) -> None:
    if isinstance(edits, str):
        text = edits
    else:
        text = VALID
        for old, new in edits:
            text = edit(text, old, new)
    expected_line = line_of(text, line) if isinstance(line, str) else line

    with pytest.raises(WorkflowError) as caught:
        parse_workflow(text, "counties/mini.yaml")
    exc = caught.value
    assert exc.file == "counties/mini.yaml"
    assert exc.key == key
    assert message in exc.detail
    assert exc.line == expected_line
    where = "counties/mini.yaml" + (f":{expected_line}" if expected_line else "")
    prefix = f"{where}: {key}: " if key else f"{where}: "
    assert str(exc) == prefix + exc.detail
    assert "\n" not in str(exc)


def test_name_must_match_the_file_name(tmp_path: Path) -> None:
    (tmp_path / "mini.yaml").write_text(VALID, encoding="utf-8")
    assert load_workflow_file(tmp_path / "mini.yaml").name == "mini"

    path = tmp_path / "other.yaml"
    path.write_text(VALID, encoding="utf-8")
    with pytest.raises(WorkflowError) as caught:
        load_workflow_file(path)
    exc = caught.value
    assert (exc.file, exc.key, exc.line) == (str(path), "name", 1)
    assert exc.detail == "name 'mini' must match the file name 'other'"
    assert str(exc) == f"{path}:1: name: name 'mini' must match the file name 'other'"


def test_a_missing_file_is_named(tmp_path: Path) -> None:
    path = tmp_path / "nowhere.yaml"
    with pytest.raises(WorkflowError) as caught:
        load_workflow_file(path)
    assert (caught.value.file, caught.value.key, caught.value.line) == (str(path), None, None)
    assert str(caught.value) == f"{path}: no such file"


# --------------------------------------------------------------------------- the CLI


@pytest.fixture
def run(tmp_path: Path) -> Cli:
    """The CLI (in-process); ``workflow`` commands never open the database (it is not initialised)."""
    return Cli(f"sqlite:///{tmp_path / 'never-created.db'}", tmp_path)


def _write(folder: Path, stem: str, text: str) -> Path:
    path = folder / f"{stem}.yaml"
    path.write_text(text.replace("name: mini\n", f"name: {stem}\n"), encoding="utf-8")
    return path


def test_cli_check_reports_each_bad_file_on_one_line(run: Cli, tmp_path: Path) -> None:
    good = _write(tmp_path, "good", VALID)
    weeks = _write(tmp_path, "weeks", edit(VALID, "limit: {days: 90}", "limit: {weeks: 12}"))
    broken = _write(tmp_path, "broken", edit(VALID, "    label: 洽谈\n", "   label: 洽谈\n"))

    result = run("workflow", "check", str(good), str(weeks), str(broken))
    assert result.code == 3, result.err
    assert f"{good}: ok (good: 3 stages, 2 ladder levels)" in result.out
    lines = result.err.splitlines()
    assert len(lines) == 2, result.err
    assert all(line.startswith("error: ") for line in lines)
    weeks_line = line_of(weeks.read_text(encoding="utf-8"), "{weeks: 12}")
    assert lines[0] == (
        f"error: {weeks}:{weeks_line}: stages[1].limit.weeks: unknown unit 'weeks'; allowed: {UNITS}"
    )
    broken_line = line_of(broken.read_text(encoding="utf-8"), "   label: 洽谈")
    assert lines[1].startswith(f"error: {broken}:{broken_line}: bad YAML: ")
    assert not (tmp_path / "never-created.db").exists()


def test_cli_check_one_good_one_bad(run: Cli, tmp_path: Path) -> None:
    good = _write(tmp_path, "good", VALID)
    bad = _write(tmp_path, "bad", edit(VALID, "notify: [case_officer]", "notify: [mayor]"))
    result = run("workflow", "check", str(good), str(bad))
    assert result.code == 3
    assert result.err.splitlines() == [
        f"error: {bad}:{line_of(bad.read_text(encoding='utf-8'), 'mayor')}: ladder[0].notify[0]: "
        f"unknown role 'mayor'; allowed: {ROLES}"
    ]
    assert result.out.splitlines() == [f"{good}: ok (good: 3 stages, 2 ladder levels)"]


def test_cli_check_names_the_file_whose_name_does_not_match(run: Cli, tmp_path: Path) -> None:
    path = tmp_path / "county.yaml"
    path.write_text(VALID, encoding="utf-8")
    result = run("workflow", "check", str(path))
    assert result.code == 3
    assert result.err == (f"error: {path}:1: name: name 'mini' must match the file name 'county'\n")


def test_cli_check_the_shipped_workflows(run: Cli) -> None:
    shipped = Path(__file__).resolve().parents[2] / "workflows"
    result = run("workflow", "check", str(shipped / "investment.yaml"), str(shipped / "major.yaml"))
    assert result.code == 0, result.err
    assert result.err == ""
    assert result.out.splitlines() == [
        f"{shipped / 'investment.yaml'}: ok (investment: 6 stages, 4 ladder levels)",
        f"{shipped / 'major.yaml'}: ok (major: 6 stages, 4 ladder levels)",
    ]


INVESTMENT_STAGES = [
    ("lead", "线索"),
    ("talks", "洽谈"),
    ("signing", "签约"),
    ("land_prep", "落地/供地"),
    ("groundbreaking", "开工"),
    ("production", "投产"),
]


def test_cli_show_json(run: Cli) -> None:
    result = run("workflow", "show", "investment", "--json")
    assert result.code == 0, result.err
    data = json.loads(result.out)
    assert data["name"] == "investment"
    assert data["label"] == "招商引资项目标准流程"
    assert [(s["key"], s["label"]) for s in data["stages"]] == INVESTMENT_STAGES
    assert [s["final"] for s in data["stages"]] == [False] * 5 + [True]
    talks = data["stages"][1]
    assert talks["limit"] == {"days": 90} and talks["requires"] == ["investor"]
    assert data["stages"][2]["limit"] == {"working_days": 40}
    assert data["stages"][3]["contract_deadline"] == "contract_start"
    assert data["stages"][5]["limit"] is None
    assert [level["level"] for level in data["ladder"]] == ["blue", "yellow", "red", "top"]
    assert data["ladder"][0]["at"] == {"days": -7}
    assert data["ladder"][3]["notify"][-1] == "principal"
    assert {"from": "talks", "to": ["signing", "lead"]} in data["moves"]
    hold = data["hold"]
    assert (hold["label"], hold["from"]) == (
        "暂缓",
        ["lead", "talks", "signing", "land_prep", "groundbreaking"],
    )
    assert [(level["level"], level["at"]) for level in hold["ladder"]] == [
        ("yellow", {"working_days": 1}),
        ("red", {"working_days": 20}),
        ("top", {"days": 60}),
    ]
    assert data["terminate"]["from"][-1] == "on_hold"


def test_cli_show_mermaid(run: Cli) -> None:
    result = run("workflow", "show", "--mermaid")
    assert result.code == 0, result.err
    lines = result.out.splitlines()
    assert lines[:4] == ["---", "title: 招商引资项目标准流程 (investment)", "---", "stateDiagram-v2"]
    edges = {line.strip() for line in lines if "-->" in line}
    assert "lead --> talks: 洽谈" in edges
    assert "talks --> lead: 线索" in edges
    assert "on_hold --> signing: 恢复" in edges
    assert "[*] --> lead" in edges
    assert not any(line.startswith("production -->") for line in edges)
    assert not any(line.startswith("terminated -->") for line in edges)
    for key, label in INVESTMENT_STAGES:
        assert f'state "{label} {key}" as {key}' in result.out


def test_cli_show_plain(run: Cli) -> None:
    result = run("workflow", "show")
    assert result.code == 0, result.err
    assert result.out.splitlines()[0].startswith("招商引资项目标准流程 (investment)")
    rows = {line.split()[0]: line.split() for line in result.out.splitlines()[2:8]}
    assert [(key, rows[key][1]) for key, _ in INVESTMENT_STAGES] == INVESTMENT_STAGES
    assert re.search(  # fields and moves by their labels
        r"^talks\s+洽谈\s+90天\s+10个工作日\s+投资方\s+签约, 线索, 暂缓, 终止$",
        result.out,
        re.MULTILINE,
    )
    assert "(final)" in rows["production"][-1]
    assert "暂缓 (on_hold) from: 线索, 洽谈, 签约, 落地/供地, 开工" in result.out
    assert re.search(
        r"^  red\s+红灯\s+20个工作日 overdue\s+→ 责任人, 责任单位负责人, 包联领导, 督查室;", result.out, re.M
    )


def test_cli_show_unknown_workflow(run: Cli) -> None:
    result = run("workflow", "show", "nosuch")
    assert result.code == 3
    assert result.err == "error: no workflow named 'nosuch'; known: investment, major\n"


HOLD_LADDER = """\
  ladder:
    - {level: yellow, label: 暂缓到期, at: {working_days: 1}, notify: [case_officer],
       repeat: {working_days: 5}}
"""


def test_hold_may_declare_its_own_ladder() -> None:
    text = edit(VALID, "hold:\n  label: 暂缓\n", "hold:\n  label: 暂缓\n" + HOLD_LADDER)
    wf = parse_workflow(text, "mini.yaml")
    (level,) = wf.hold_ladder
    assert (level.key, level.label, level.at.to_dict()) == ("yellow", "暂缓到期", {"working_days": 1})
    assert wf.ladder_for("on_hold") == wf.hold_ladder and wf.ladder_for("lead") == wf.ladder
    assert (
        parse_workflow(VALID, "mini.yaml").ladder_for("on_hold") == parse_workflow(VALID, "mini.yaml").ladder
    )
    bad = edit(text, "notify: [case_officer],\n", "notify: [mayor],\n")
    with pytest.raises(WorkflowError) as caught:
        parse_workflow(bad, "mini.yaml")
    assert caught.value.key == "hold.ladder[0].notify[0]" and "unknown role 'mayor'" in str(caught.value)


def test_calendar_day_staleness_is_advised_against() -> None:
    from followup.lifecycle.checker import staleness_advice

    assert staleness_advice(parse_workflow(VALID, "mini.yaml")) == []
    calendar = parse_workflow(
        edit(VALID, "staleness: {working_days: 20}", "staleness: {days: 14}"), "mini.yaml"
    )
    advice = staleness_advice(calendar)
    assert len(advice) == 2 and advice[0].startswith(
        "stage lead (线索): staleness {days: 14} counts calendar days"
    )
    assert advice[0].endswith("e.g. staleness: {working_days: 10}")


def test_cli_check_warns_about_calendar_day_staleness_and_succeeds(run: Cli, tmp_path: Path) -> None:
    path = tmp_path / "mini.yaml"
    path.write_text(edit(VALID, "staleness: {working_days: 20}", "staleness: {days: 30}"), encoding="utf-8")
    result = run("workflow", "check", str(path))
    assert result.code == 0
    assert result.out == f"{path}: ok (mini: 3 stages, 2 ladder levels)\n"
    warnings = result.err.splitlines()
    assert len(warnings) == 2 and all(w.startswith(f"warning: {path}: stage ") for w in warnings)
    assert "holidays included" in warnings[0] and "{working_days: 21}" in warnings[0]
