"""Requests on the web (``web.requests``): the case officer asks through the 申请延期 form, the leader
in charge approves through the approval form and the deadline moves; a form without its CSRF token and
an official acting on someone else's project are refused (403) with nothing written."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

from followup.app import ledger, requests
from followup.app.ledger import ProjectInput
from followup.app.runtime import Runtime
from tests.web.conftest import Browser


def _project(rt: Runtime, leader: str | None, name: str = "乳品加工") -> int:
    values: dict[str, str | None] = {"investor": "伊禾", **({"leader": leader} if leader else {})}
    view = ledger.add_project(
        rt, ProjectInput(name=name, officer="lina", unit="chengguan", values=values), stage="talks"
    )
    return view.id


def test_the_officer_asks_and_the_leader_approves(web_rt: Runtime, browser: Callable[[], Browser]) -> None:
    pid = _project(web_rt, "liuqiang")
    officer = browser().sign_in("lina")
    page = officer.get(f"/projects/{pid}").text
    assert 'id="extend"' in page and 'name="direct"' not in page and 'id="approve"' not in page
    asked = officer.post_form(
        f"/projects/{pid}",
        f"/projects/{pid}/request",
        {"kind": "extension", "days": "30", "reason": "决策延后"},
    )
    assert asked.status_code == 200 and str(asked.url).endswith("done=request")
    (pending,) = requests.pending_for(web_rt, pid)
    assert (pending.requested_by.key, pending.days) == ("lina", 30)
    leader = browser().sign_in("liuqiang")
    page = leader.get(f"/projects/{pid}").text
    assert 'id="approve"' in page and 'name="direct"' in page and "决策延后" in page
    decided = leader.post_form(
        f"/projects/{pid}", f"/requests/{pending.id}/decide", {"decision": "approve", "note": "同意"}
    )
    assert decided.status_code == 200 and str(decided.url).endswith("done=decision")
    assert ledger.get_project(web_rt, pid).deadline == date(2026, 9, 29)
    history = ledger.history(web_rt, pid)
    assert [(e.kind, e.entered_by) for e in history][-2:] == [("extend", "web"), ("decision", "web")]
    assert "已批准" in decided.text or "approved" in decided.text


def test_a_form_without_its_token_is_refused(web_rt: Runtime, browser: Callable[[], Browser]) -> None:
    pid = _project(web_rt, "liuqiang")
    officer = browser().sign_in("lina")
    refused = officer.client.post(
        f"/projects/{pid}/request", data={"kind": "extension", "days": "30", "reason": "x"}
    )
    assert refused.status_code == 403
    assert requests.requests_of(web_rt, pid) == []
    asked = requests.ask(web_rt, pid, by="lina", kind="extension", reason="x", days=3)
    leader = browser().sign_in("liuqiang")
    refused = leader.client.post(f"/requests/{asked.id}/decide", data={"decision": "approve"})
    assert refused.status_code == 403
    assert requests.pending_for(web_rt, pid)[0].status == "pending"


def test_someone_elses_project_is_refused(web_rt: Runtime, browser: Callable[[], Browser]) -> None:
    pid = _project(web_rt, None)  # no leader in charge: liuqiang has no say in it
    asked = requests.ask(web_rt, pid, by="lina", kind="extension", reason="x", days=3)
    leader = browser().sign_in("liuqiang")
    page = f"/projects/{_project(web_rt, 'liuqiang', '光伏组件')}"  # a page of theirs, for a valid token
    refused = leader.post_form(page, f"/requests/{asked.id}/decide", {"decision": "approve"})
    assert refused.status_code == 403
    assert leader.post_form(page, f"/projects/{pid}/request", {"days": "5", "reason": "x"}).status_code == 403
    assert leader.post_form(page, "/requests/999/decide", {"decision": "approve"}).status_code == 403
    assert requests.pending_for(web_rt, pid)[0].status == "pending"
    office = browser().sign_in("xuli")  # the supervision office may decide; it may not ask
    assert (
        office.post_form(
            f"/projects/{pid}", f"/projects/{pid}/request", {"days": "5", "reason": "x"}
        ).status_code
        == 403
    )
    rejected = office.post_form(f"/projects/{pid}", f"/requests/{asked.id}/decide", {"decision": "reject"})
    assert rejected.status_code == 200
    assert requests.requests_of(web_rt, pid)[0].status == "rejected"
