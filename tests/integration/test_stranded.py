"""One bad project never blocks the others (issue 7, High 1): a project whose workflow does not load —
a county file missing from the daemon's environment, a name smuggled in as a path before names were
checked — or whose stage the workflow no longer has is skipped loudly by the sweep, warned about by
``status``, still listed and shown, and can be moved to another workflow, placed in a stage, or
terminated. The CLI in-process on SQLite and PostgreSQL; a ``--now`` typo far in the future is
refused by writing commands.
"""

from __future__ import annotations

import logging
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from followup.app.runtime import Runtime
from followup.paths import shipped_dir
from tests.helpers import Cli, make_runtime, snapshot

NOW = "2026-06-01T10:00:00+08:00"


@pytest.fixture
def county_cli(county: Runtime, db_url: str, tmp_path: Path) -> Cli:
    """The CLI over the small county, with a county workflow folder holding ``fast`` (a copy of the
    shipped investment workflow) in FOLLOWUP_WORKFLOW_DIR."""
    folder = tmp_path / "county-workflows"
    folder.mkdir()
    write_fast(folder)
    run = Cli(db_url, tmp_path)
    run.env["FOLLOWUP_WORKFLOW_DIR"] = str(folder)
    return run


def write_fast(folder: Path, *, rename: tuple[str, str] | None = None) -> None:
    text_ = (shipped_dir("workflows") / "investment.yaml").read_text(encoding="utf-8")
    text_ = text_.replace("name: investment", "name: fast")
    if rename is not None:  # a stage key renamed everywhere the file names it
        old, new = rename
        text_ = re.sub(rf"\b{old}\b", new, text_)
    (folder / "fast.yaml").write_text(text_, encoding="utf-8")


def add(run: Cli, name: str, *extra: str) -> int:
    """A ledger line in since April and quiet since then: due for a look (stale) on the sweep at NOW."""
    args = ["project", "add", "--name", name, "--officer", "lina", "--unit", "chengguan"]
    quiet = ("--since", "2026-04-01", "--last-followup", "2026-04-01")
    return int(run.ok(*args, *quiet, "--now", NOW, *extra).out)


def without_county_folder(run: Cli) -> Cli:
    """The same database from an environment without the county's workflow folder (the daemon's)."""
    return Cli(run.url, Path(run.env["FOLLOWUP_DATA_DIR"]).parent)


def sweep(run: Cli) -> dict[str, object]:
    result = run.ok("sweep", "--now", NOW, "--json")
    data: dict[str, object] = result.json()
    return data


def test_a_missing_workflow_file_blocks_nobody_else(
    county_cli: Cli, caplog: pytest.LogCaptureFixture
) -> None:
    ours = add(county_cli, "标准流程项目")
    theirs = add(county_cli, "县里流程项目", "--workflow", "fast")
    bare = without_county_folder(county_cli)

    with caplog.at_level(logging.WARNING, logger="followup"):
        swept = sweep(bare)
    assert swept["skipped"] == [theirs] and swept["looked_at"] == 2
    assert isinstance(swept["queued"], int) and swept["queued"] > 0  # the other project was swept
    warned = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warned) == 1
    assert warned[0].startswith(
        f"sweep skipped 1 project(s) ({theirs}): its workflow cannot be loaded: no workflow named 'fast'"
    )
    assert f"followup project edit {theirs} --workflow NAME" in warned[0]
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="followup"):
        again = sweep(bare)
    assert (again["skipped"], again["queued"]) == ([theirs], 0)  # loud again, queued once only
    assert len(caplog.records) == 1

    board = bare.ok("status", "--now", NOW, "--json").json()
    stranded = [w for w in board["warnings"] if "is not escalated" in w]
    assert stranded == [
        f"project {theirs} (县里流程项目) is not escalated: its workflow cannot be loaded: no workflow named "
        f"'fast'; known: investment, major; move it with `followup project edit {theirs} --workflow NAME "
        f"[--stage STAGE]` or end it with `followup terminate {theirs}`"
    ]
    lights = board["totals"]
    assert sum(lights[k] for k in ("green", "blue", "yellow", "red", "top")) == 1  # ours only

    listed = {p["id"]: p for p in bare.ok("project", "list", "--json").json()}
    assert listed[ours]["problem"] is None and listed[ours]["level"] is not None
    assert (listed[theirs]["stage"], listed[theirs]["stage_label"]) == ("lead", "lead")
    assert listed[theirs]["problem"].startswith("its workflow cannot be loaded")
    assert "not escalated: " in bare.ok("project", "show", str(theirs)).out
    assert [p["id"] for p in bare.ok("project", "list", "--workflow", "fast", "--json").json()] == [theirs]

    refused = bare("advance", str(theirs), "talks", "--by", "lina", "--set", "investor=x", "--now", NOW)
    assert refused.code == 2 and len(refused.err.splitlines()) == 1
    assert refused.err.startswith(f"error: project {theirs} cannot move: its workflow cannot be loaded")

    bare.ok("project", "edit", str(theirs), "--workflow", "investment", "--by", "wangjun", "--now", NOW)
    repaired = sweep(bare)
    assert repaired["skipped"] == [] and isinstance(repaired["queued"], int) and repaired["queued"] > 0
    assert not any(
        "is not escalated" in w for w in bare.ok("status", "--now", NOW, "--json").json()["warnings"]
    )


def test_a_name_smuggled_in_as_a_path_is_refused_and_an_old_one_can_be_terminated(
    county_cli: Cli, db_url: str, tmp_path: Path
) -> None:
    before = snapshot(db_url)
    evil = "../../../../elsewhere/evil"
    for args in (
        ["project", "add", "--name", "x", "--officer", "lina", "--unit", "chengguan", "--workflow", evil],
        ["project", "list", "--workflow", evil],
        ["workflow", "show", evil],
    ):
        result = county_cli(*args)
        assert result.code == 2, result.err
        assert result.err.startswith(f"error: bad workflow name '{evil}'")
        assert len(result.err.splitlines()) == 1
    assert snapshot(db_url) == before

    # a row written before names were checked: the sweep, the board and the ledger carry on
    ours = add(county_cli, "标准流程项目")
    poisoned = add(county_cli, "录入错误的项目")
    engine = create_engine(db_url)
    with engine.begin() as conn:
        conn.execute(
            text("UPDATE projects SET workflow = :w WHERE id = :id"),
            {"w": "../../../../elsewhere/evil", "id": poisoned},
        )
    engine.dispose()
    swept = sweep(county_cli)
    assert swept["skipped"] == [poisoned]
    assert county_cli.ok("project", "show", str(ours)).out
    warnings = county_cli.ok("status", "--now", NOW, "--json").json()["warnings"]
    assert any(
        w.startswith(f"project {poisoned} (录入错误的项目) is not escalated: its workflow") for w in warnings
    )

    county_cli.ok("terminate", str(poisoned), "--by", "wangjun", "--reason", "录入错误", "--now", NOW)
    shown = county_cli.ok("project", "show", str(poisoned), "--json").json()
    assert shown["stage"] == "terminated" and shown["next_escalation_at"] is None
    assert not any(
        "is not escalated" in w for w in county_cli.ok("status", "--now", NOW, "--json").json()["warnings"]
    )
    assert sweep(county_cli)["skipped"] == []


def test_a_stage_renamed_under_its_projects_is_reported_and_repairable(
    county_cli: Cli, tmp_path: Path, db_url: str
) -> None:
    moving = add(county_cli, "洽谈中", "--workflow", "fast", "--stage", "talks", "--investor", "伊禾")
    held = add(county_cli, "暂缓中", "--workflow", "fast", "--stage", "talks", "--investor", "华北")
    county_cli.ok(
        "hold", str(held), "--by", "lina", "--reason", "资金调整", "--until", "2026-08-01", "--now", NOW
    )
    write_fast(tmp_path / "county-workflows", rename=("talks", "negotiation"))

    from followup.app.escalation import stranded_projects  # the function status and the lead's mail use

    rt = make_runtime(db_url, tmp_path / "rt", workflow_dir=str(tmp_path / "county-workflows"))
    problems = {s.id: s.problem for s in stranded_projects(rt)}
    rt.close()
    assert problems == {
        moving: "workflow fast has no stage 'talks' (renamed or removed?)",
        held: "workflow fast has no stage 'talks', the stage it was held in",
    }
    assert sweep(county_cli)["skipped"] == [moving]  # on hold, nothing is owed: only a resume needs it
    warnings = county_cli.ok("status", "--now", NOW, "--json").json()["warnings"]
    assert sum("is not escalated" in w for w in warnings) == 2

    resume = county_cli("resume", str(held), "--by", "lina", "--now", NOW)
    assert resume.code == 2 and "cannot move: workflow fast has no stage 'talks'" in resume.err
    wrong = county_cli("project", "edit", str(moving), "--stage", "moon", "--by", "wangjun", "--now", NOW)
    assert wrong.code == 2 and "unknown stage 'moon' in workflow fast" in wrong.err
    fine = add(county_cli, "线索", "--workflow", "fast")
    misuse = county_cli(
        "project", "edit", str(fine), "--stage", "negotiation", "--by", "wangjun", "--now", NOW
    )
    assert misuse.code == 2 and "--stage only places a project whose stage its workflow lacks" in misuse.err

    county_cli.ok("project", "edit", str(moving), "--stage", "negotiation", "--by", "wangjun", "--now", NOW)
    county_cli.ok("project", "edit", str(held), "--stage", "negotiation", "--by", "wangjun", "--now", NOW)
    shown = county_cli.ok("project", "show", str(moving), "--json").json()
    assert (shown["stage"], shown["stage_label"], shown["problem"]) == ("negotiation", "洽谈", None)
    assert shown["deadline"] == "2026-06-30"  # 90 days from 2026-04-01, the day it entered the stage
    history = county_cli.ok("history", str(moving), "--json").json()
    assert history[-1]["changes"]["stage"] == ["talks", "negotiation"]
    county_cli.ok("resume", str(held), "--by", "lina", "--now", NOW)
    assert county_cli.ok("project", "show", str(held), "--json").json()["stage"] == "negotiation"
    assert sweep(county_cli)["skipped"] == []


def test_moving_to_a_workflow_without_the_stage_asks_for_it(county_cli: Cli) -> None:
    pid = add(county_cli, "洽谈中", "--workflow", "fast", "--stage", "talks", "--investor", "伊禾")
    folder = Path(county_cli.env["FOLLOWUP_WORKFLOW_DIR"])
    write_fast(folder, rename=("talks", "negotiation"))
    (folder / "fast.yaml").rename(folder / "quick.yaml")
    quick = (folder / "quick.yaml").read_text(encoding="utf-8").replace("name: fast", "name: quick")
    (folder / "quick.yaml").write_text(quick, encoding="utf-8")
    asked = county_cli("project", "edit", str(pid), "--workflow", "quick", "--by", "wangjun", "--now", NOW)
    assert asked.code == 2
    assert asked.err.startswith(f"error: workflow quick has no stage 'talks': give the stage project {pid}")
    county_cli.ok(
        "project",
        "edit",
        str(pid),
        "--workflow",
        "quick",
        "--stage",
        "negotiation",
        "--by",
        "wangjun",
        "--now",
        NOW,
    )
    shown = county_cli.ok("project", "show", str(pid), "--json").json()
    assert (shown["workflow"], shown["stage"], shown["problem"]) == ("quick", "negotiation", None)


# --------------------------------------------------------------------------- a --now typo


def test_a_now_far_ahead_is_refused_by_writing_commands_unless_a_replay_is_declared(
    county_cli: Cli, db_url: str
) -> None:
    pid = add(county_cli, "伊禾乳业")
    before = snapshot(db_url)
    for args in (
        ["sweep", "--now", "2062-06-01"],
        ["digest", "--now", "2062-06-01"],
        ["log", str(pid), "跟进", "--by", "lina", "--now", "2062-06-01"],
        ["project", "add", "--name", "x", "--officer", "lina", "--unit", "chengguan", "--now", "2062-06-01"],
        ["unit", "add", "hexi", "--name", "河西镇", "--now", "2062-06-01"],
    ):
        result = county_cli(*args)
        assert result.code == 2, (args, result.err)
        assert len(result.err.splitlines()) == 1
        assert result.err.startswith("error: --now '2062-06-01' is more than a day ahead of the real clock")
        assert result.err.rstrip().endswith("to replay a scenario, set FOLLOWUP_REPLAY=1")
    assert county_cli("sweep", env={"FOLLOWUP_NOW": "2062-06-01"}).code == 2
    assert snapshot(db_url) == before
    # reading commands may look ahead; a declared replay may write (three days ahead: quick to assess)
    soon = (datetime.now(UTC) + timedelta(days=3)).isoformat(timespec="seconds")
    assert county_cli("sweep", "--now", soon).code == 2
    county_cli.ok("status", "--now", soon)
    county_cli.ok("project", "list", "--now", soon)
    county_cli.ok("sweep", "--dry-run", "--now", soon)
    assert snapshot(db_url) == before
    county_cli.ok("sweep", "--now", soon, env={"FOLLOWUP_REPLAY": "1"})
    county_cli.ok("log", str(pid), "跟进", "--by", "lina", "--now", soon, env={"FOLLOWUP_REPLAY": "1"})


def test_names_stored_before_the_rules_never_drive_the_terminal(county_cli: Cli, db_url: str) -> None:
    pid = add(county_cli, "伊禾")
    engine = create_engine(db_url)
    with engine.begin() as conn:
        conn.execute(
            text("UPDATE projects SET name = :n, investor = :i"),
            {"n": "伊禾\x1b[2J\u2028乳业", "i": "\x9b31m"},
        )
    engine.dispose()
    for args in (("project", "list"), ("project", "show", str(pid))):
        out = county_cli.ok(*args).out
        assert "\x1b" not in out and "\u2028" not in out and "\x9b" not in out
        assert "伊禾\\x1b[2J\\u2028乳业" in out


def test_the_supervision_office_is_told_once_and_not_after_the_repair(
    county_cli: Cli, tmp_path: Path
) -> None:
    import mailbox
    from email import policy
    from email.parser import BytesParser

    add(county_cli, "标准流程项目")
    theirs = add(county_cli, "县里流程项目", "--workflow", "fast")
    bare = without_county_folder(county_cli)
    monday = "2026-06-01T10:00:00+08:00"
    sweep(bare)
    sweep(bare)  # said again in the log, queued once
    stranded = [r for r in bare.ok("outbox", "--json").json() if r["kind"] == "stranded"]
    assert [(r["project_id"], r["recipient"]["key"], r["role"]) for r in stranded] == [
        (theirs, "xuli", "supervision")
    ]
    bare.ok("send", "--now", monday)
    box = mailbox.Maildir(tmp_path / "data" / "maildir", factory=None, create=False)
    mails = [BytesParser(policy=policy.default).parsebytes(box.get_bytes(k)) for k in box.iterkeys()]
    to_office = [m for m in mails if "xuli@" in str(m["To"]) and "系统告警" in str(m["Subject"])]
    assert len(to_office) == 1
    assert str(to_office[0]["Subject"]) == "【系统告警】1个项目无法督办：县里流程项目"
    text_ = to_office[0].get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assert f"#{theirs} 县里流程项目" in text_ and "no workflow named 'fast'" in text_
    assert f"followup project edit {theirs} --workflow NAME" in text_

    # a notice queued, then the project repaired before it goes: it is not sent
    later = "2026-06-02T10:00:00+08:00"
    third = add(county_cli, "另一个县里流程项目", "--workflow", "fast")
    sweep(bare)
    bare.ok("project", "edit", str(third), "--workflow", "investment", "--by", "wangjun", "--now", later)
    bare.ok("send", "--now", later)
    statuses = {
        r["project_id"]: r["status"] for r in bare.ok("outbox", "--json").json() if r["kind"] == "stranded"
    }
    assert statuses == {theirs: "sent", third: "obsolete"}
