"""Supervision on the web (``web.supervise``): the supervision office issues a numbered 督办 notice, an
official who follows the project adds a problem (问题清单), the unit reports in an open round (调度) —
each from the project page, recorded with the signed-in official and ``web``; an official who may not
is refused (403) with nothing written; a bad input is the 400 page with its one line."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from pathlib import Path

from followup.app import ledger, notices, problems, rounds
from followup.app.ledger import ProjectInput
from followup.app.runtime import Runtime
from followup.app.supervision import Red
from followup.store.models import Project
from tests.helpers import Cli, snapshot
from tests.web.conftest import Browser


def _project(rt: Runtime, leader: str | None = "liuqiang", name: str = "乳品加工") -> int:
    values: dict[str, str | None] = {"investor": "伊禾", **({"leader": leader} if leader else {})}
    view = ledger.add_project(
        rt, ProjectInput(name=name, officer="lina", unit="chengguan", values=values), stage="talks"
    )
    return view.id


def _last(rt: Runtime, pid: int) -> tuple[str, str | None, str | None]:
    line = ledger.history(rt, pid)[-1]
    return line.kind, line.by.key if line.by else None, line.entered_by


def test_the_supervision_office_issues_a_numbered_notice(
    web_rt: Runtime, browser: Callable[[], Browser]
) -> None:
    pid = _project(web_rt)
    with web_rt.store.transaction() as session:  # the sweep's notice at red comes first: 第1号
        row = session.get(Project, pid)
        assert row is not None
        red = Red(pid, row.unit_id, row.stage_seq, f"d{row.deadline_version}")
        assert notices.issue_notices(web_rt, session, [red], web_rt.now()) == ["督〔2026〕第1号"]
    office = browser().sign_in("xuli")
    assert 'id="notice"' in office.get(f"/projects/{pid}").text
    done = office.post_form(
        f"/projects/{pid}", f"/projects/{pid}/notice", {"text": "请于月底前落实用地", "reply_days": "3"}
    )
    assert done.status_code == 200 and str(done.url).endswith("done=notice")
    assert "督〔2026〕第2号" in done.text and "请于月底前落实用地" in done.text
    manual = notices.project_notices(web_rt, pid)[-1]
    assert (manual.number, manual.level, manual.unit.key) == ("督〔2026〕第2号", "manual", "chengguan")
    assert manual.reply_due == date(2026, 6, 4)  # Monday 06-01 + 3 working days
    assert _last(web_rt, pid) == ("notice", "xuli", "web")
    # the unit replies to it from the same page, as to the sweep's notice
    head = browser().sign_in("wangjun")
    replied = head.post_form(
        f"/projects/{pid}", f"/projects/{pid}/reply", {"notice": str(manual.id), "text": "已落实"}
    )
    assert replied.status_code == 200
    assert notices.project_notices(web_rt, pid)[-1].reply_text == "已落实"


def test_a_notice_is_refused_to_who_may_not_issue_one(
    web_rt: Runtime, browser: Callable[[], Browser], db_url: str
) -> None:
    pid = _project(web_rt)
    for key in ("lina", "liuqiang"):  # the case officer, the leader in charge: they follow, not oversee
        who = browser().sign_in(key)
        page = who.get(f"/projects/{pid}").text
        assert 'id="notice"' not in page
        before = snapshot(db_url)
        refused = who.post_form(f"/projects/{pid}", f"/projects/{pid}/notice", {"text": "越权督办"})
        assert refused.status_code == 403
        assert snapshot(db_url) == before
    office = browser().sign_in("xuli")
    bad = office.post_form(f"/projects/{pid}", f"/projects/{pid}/notice", {"text": "x", "reply_days": "99"})
    assert bad.status_code == 400 and "99" in bad.text
    assert notices.project_notices(web_rt, pid) == []


def test_the_case_officer_adds_a_problem(web_rt: Runtime, browser: Callable[[], Browser]) -> None:
    pid = _project(web_rt)
    officer = browser().sign_in("lina")
    page = officer.get(f"/projects/{pid}").text
    assert 'id="problem"' in page and 'value="coordination"' in page
    done = officer.post_form(
        f"/projects/{pid}",
        f"/projects/{pid}/problem",
        {"level": "coordination", "owner": "bureau", "due": "2026-06-15", "text": "用地指标未落实"},
    )
    assert done.status_code == 200 and str(done.url).endswith("done=problem_added")
    (problem,) = problems.open_problems(web_rt, pid)
    assert (problem.level, problem.owner.key, problem.due_on, problem.text) == (
        "coordination",
        "bureau",
        date(2026, 6, 15),
        "用地指标未落实",
    )
    assert problem.opened_by is not None and problem.opened_by.key == "lina"
    assert _last(web_rt, pid) == ("problem", "lina", "web")
    bad = officer.post_form(
        f"/projects/{pid}",
        f"/projects/{pid}/problem",
        {"level": "urgent", "owner": "bureau", "due": "2026-06-15", "text": "x"},
    )
    assert bad.status_code == 400 and "urgent" in bad.text
    assert len(problems.open_problems(web_rt, pid)) == 1


def test_a_problem_is_refused_to_an_official_of_another_project(
    web_rt: Runtime, browser: Callable[[], Browser], db_url: str
) -> None:
    pid = _project(web_rt, leader=None)  # 刘强 leads nothing here: he may not even read it
    leader, officer = browser().sign_in("liuqiang"), browser().sign_in("lina")
    before = snapshot(db_url)
    refused = leader.post_form(
        "/my",
        f"/projects/{pid}/problem",
        {"level": "general", "owner": "chengguan", "due": "2026-06-15", "text": "越权"},
    )
    assert refused.status_code == 403
    assert snapshot(db_url) == before
    no_token = officer.client.post(
        f"/projects/{pid}/problem",
        data={"level": "general", "owner": "chengguan", "due": "2026-06-15", "text": "x"},
    )
    assert no_token.status_code == 403
    assert snapshot(db_url) == before


def test_the_unit_reports_in_an_open_round(
    web_rt: Runtime, browser: Callable[[], Browser], db_url: str, tmp_path: Path
) -> None:
    pid = _project(web_rt)
    other = _project(web_rt, name="冷链物流")
    officer = browser().sign_in("lina")
    assert 'id="report"' not in officer.get(f"/projects/{pid}").text  # no round open
    rounds.open_round(web_rt, month="2026-06", by="xuli", due=date(2026, 6, 8))
    assert 'id="report"' in officer.get(f"/projects/{pid}").text
    done = officer.post_form(
        f"/projects/{pid}",
        f"/projects/{pid}/report",
        {
            "period": "2026-06",
            "progress": "完成用地预审",
            "problems": "指标紧张",
            "next_step": "报批",
            "funds": "500",
        },
    )
    assert done.status_code == 200 and str(done.url).endswith("done=report")
    assert 'id="report"' not in done.text  # reported: the form is gone
    assert _last(web_rt, pid) == ("report", "lina", "web")
    state = (
        Cli(db_url, tmp_path).ok("round", "status", "2026-06", "--json", "--now", "2026-06-01T11:00").json()
    )
    assert (state["asked"], state["reported"], state["rate"]) == (2, 1, 50.0)
    assert [(u["unit"]["key"], u["rate"], u["missing"]) for u in state["units"]] == [
        ("chengguan", 50.0, [other])
    ]
    again = officer.post_form(
        f"/projects/{other}", f"/projects/{pid}/report", {"period": "2026-06", "progress": "再报"}
    )
    assert again.status_code == 400 and "already reported" in again.text


def test_a_round_report_is_refused_to_who_may_not_report(
    web_rt: Runtime, browser: Callable[[], Browser], db_url: str
) -> None:
    pid = _project(web_rt, leader=None)
    rounds.open_round(web_rt, month="2026-06", by="xuli")
    stranger = browser().sign_in("liuqiang")
    assert stranger.get(f"/projects/{pid}").status_code == 403
    before = snapshot(db_url)
    refused = stranger.post_form("/my", f"/projects/{pid}/report", {"period": "2026-06", "progress": "越权"})
    assert refused.status_code == 403
    assert snapshot(db_url) == before
    assert rounds.status(web_rt, "2026-06").reported == 0
