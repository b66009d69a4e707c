"""The bureau operator's organisation and ledger actions on the web (``web.organise``): units added,
renamed and deactivated; officials added, changed and recorded as having left office with their projects
handed over; on the project page, money in place, a termination and a voiding — each written with the
signed-in operator and ``web``; a refused input shown again in its form with nothing written; every
form refused (403) to anyone but an operator, and to a form without its token."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal

from followup.app import ledger, organisation
from followup.app.ledger import ProjectFilter, ProjectInput
from followup.app.runtime import Runtime
from followup.domain.workflow import TERMINATED
from tests.helpers import snapshot
from tests.web.conftest import Browser, csrf_of

NEW_OFFICIAL = {
    "key": "zhaomin",
    "name": "赵敏",
    "email": "zhaomin@example.gov.cn",
    "unit": "bureau",
    "aliases": "赵局、赵局长",
    "head": "1",
}


def added(rt: Runtime, name: str = "乳品加工") -> int:
    """A project at 洽谈 (talks) followed by lina, led by liuqiang."""
    data = ProjectInput(
        name=name, officer="lina", unit="chengguan", values={"investor": "伊禾", "leader": "liuqiang"}
    )
    return ledger.add_project(rt, data, stage="talks").id


def last_line(rt: Runtime, pid: int) -> tuple[str, str | None, str | None, str | None]:
    line = ledger.history(rt, pid)[-1]
    return line.kind, line.by.key if line.by else None, line.entered_by, line.note


def units(rt: Runtime) -> dict[str, tuple[str, str, bool]]:
    return {u.key: (u.name, u.kind, u.active) for u in organisation.list_units(rt, include_inactive=True)}


# --------------------------------------------------------------------------- units


def test_an_operator_adds_renames_and_deactivates_a_unit(op: Browser, operator_rt: Runtime) -> None:
    page = op.get("/units")
    assert page.status_code == 200 and "城关镇人民政府" in page.text
    assert 'href="/officials"' in page.text  # the operator's nav: 组织机构
    done = op.post_form("/units", "/units", {"key": "xinxing", "name": "新兴镇人民政府", "kind": "township"})
    assert done.status_code == 200 and "单位已添加" in done.text
    assert units(operator_rt)["xinxing"] == ("新兴镇人民政府", "township", True)

    renamed = op.post_form("/units", "/units/xinxing/edit", {"name": "新兴镇", "kind": "department"})
    assert renamed.status_code == 200 and "单位已修改" in renamed.text
    assert units(operator_rt)["xinxing"] == ("新兴镇", "department", True)
    gone = op.post_form("/units", "/units/xinxing/deactivate", {})
    assert gone.status_code == 200 and "单位已停用" in gone.text
    assert units(operator_rt)["xinxing"] == ("新兴镇", "department", False)


def test_a_refused_unit_is_shown_in_its_form_and_nothing_is_written(
    op: Browser, operator_rt: Runtime
) -> None:
    added(operator_rt)
    url = operator_rt.settings.database_url
    before = snapshot(url)
    duplicate = op.post_form("/units", "/units", {"key": "chengguan", "name": "另一个镇", "kind": "township"})
    assert duplicate.status_code == 400
    assert 'class="error"' in duplicate.text and "already exists" in duplicate.text
    assert 'value="另一个镇"' in duplicate.text  # what was typed is kept
    bad_key = op.post_form("/units", "/units", {"key": "新 镇", "name": "新镇", "kind": "township"})
    assert bad_key.status_code == 400 and "bad unit key" in bad_key.text
    busy = op.post_form("/units", "/units/chengguan/deactivate", {})  # it answers for a project
    assert busy.status_code == 400 and "still responsible for 1 active project" in busy.text
    empty = op.post_form("/units", "/units/chengguan/edit", {"name": "", "kind": "township"})
    assert empty.status_code == 400 and 'class="error"' in empty.text
    assert snapshot(url) == before


# --------------------------------------------------------------------------- officials


def test_an_operator_adds_and_changes_an_official(op: Browser, operator_rt: Runtime) -> None:
    page = op.get("/officials")
    assert page.status_code == 200 and "李娜" in page.text and "督查室" in page.text  # roles shown
    token = csrf_of(page.text)
    data = {"csrf": token, **NEW_OFFICIAL, "roles": ["operator", "leader"]}
    done = op.client.post("/officials", data=data)
    assert done.status_code == 200 and "人员已添加" in done.text
    new = organisation.get_official(operator_rt, "zhaomin")
    assert (new.name, new.email, new.unit, new.head, new.active) == (
        "赵敏",
        "zhaomin@example.gov.cn",
        "bureau",
        True,
        True,
    )
    assert (sorted(new.roles), new.aliases) == (["leader", "operator"], ("赵局", "赵局长"))

    form = op.get("/officials/zhaomin")
    assert form.status_code == 200 and 'value="zhaomin@example.gov.cn"' in form.text
    assert 'name="roles" value="operator" checked' in form.text
    change = {"name": "赵敏", "email": "zm@example.gov.cn", "unit": "chengguan", "aliases": "赵局"}
    edited = op.client.post("/officials/zhaomin/edit", data={"csrf": token, **change, "roles": "leader"})
    assert edited.status_code == 200 and "已保存修改" in edited.text
    now = organisation.get_official(operator_rt, "zhaomin")
    assert (now.email, now.unit, now.head, now.roles, now.aliases) == (
        "zm@example.gov.cn",
        "chengguan",
        False,
        ("leader",),
        ("赵局",),
    )


def test_a_refused_official_is_shown_in_its_form_and_nothing_is_written(
    op: Browser, operator_rt: Runtime
) -> None:
    url = operator_rt.settings.database_url
    token = csrf_of(op.get("/officials").text)
    before = snapshot(url)
    for bad, words in (
        ({"email": "zhaomin-at-example"}, "bad email address"),
        ({"key": "lina"}, "already exists"),
        ({"email": "LINA@example.gov.cn"}, "already the address of"),
    ):
        refused = op.client.post("/officials", data={"csrf": token, **NEW_OFFICIAL, **bad, "roles": "leader"})
        assert refused.status_code == 400 and words in refused.text, bad
        assert 'value="赵敏"' in refused.text and 'value="赵局、赵局长"' in refused.text
        assert 'name="roles" value="leader" checked' in refused.text
        assert snapshot(url) == before
    shown = {"name": "李娜", "email": "lina@example.gov.cn", "unit": "chengguan", "aliases": ""}
    same = op.client.post("/officials/lina/edit", data={"csrf": token, **shown})
    assert same.status_code == 400 and "nothing to change" in same.text
    wrong = op.client.post("/officials/lina/edit", data={"csrf": token, **shown, "email": "x@@y"})
    assert wrong.status_code == 400 and "bad email address" in wrong.text and 'value="x@@y"' in wrong.text
    assert snapshot(url) == before
    assert op.get("/officials/nobody").status_code == 404


def test_an_official_leaves_and_hands_over_their_projects(op: Browser, operator_rt: Runtime) -> None:
    pid = added(operator_rt)
    url = operator_rt.settings.database_url
    before = snapshot(url)
    refused = op.post_form("/officials/lina", "/officials/lina/deactivate", {"successor": ""})
    assert refused.status_code == 400 and "still follows 1 active project" in refused.text
    assert snapshot(url) == before
    done = op.post_form("/officials/lina", "/officials/lina/deactivate", {"successor": "wangjun"})
    assert done.status_code == 200 and "1 个在办项目已移交" in done.text
    assert organisation.get_official(operator_rt, "lina").active is False
    assert ledger.get_project(operator_rt, pid).officer.key == "wangjun"
    assert last_line(operator_rt, pid)[:3] == ("reassign", "caozuo", "web")
    assert "已离任" in op.get("/officials").text
    assert 'action="/officials/lina/deactivate"' not in op.get("/officials/lina").text


# --------------------------------------------------------------------------- on the project page


def test_an_operator_records_funds_from_the_project_page(op: Browser, operator_rt: Runtime) -> None:
    pid = added(operator_rt)
    page = op.get(f"/projects/{pid}")
    assert "台账操作" in page.text and f'action="/projects/{pid}/funds"' in page.text
    done = op.post_form(
        f"/projects/{pid}", f"/projects/{pid}/funds", {"amount": "0.12亿", "on": "2026-05-20"}
    )
    assert done.status_code == 200 and done.url.path == f"/projects/{pid}"
    assert ledger.get_project(operator_rt, pid).funds_in_place == Decimal(1200)
    assert last_line(operator_rt, pid)[:3] == ("funds", "caozuo", "web")
    assert ledger.history(operator_rt, pid)[-1].at.date().isoformat() == "2026-05-20"  # the day it arrived

    url = operator_rt.settings.database_url
    before = snapshot(url)
    for typed, words in (
        ({"amount": "-500"}, "-500"),
        ({"amount": "0"}, "must be more than 0"),
        ({"amount": "5000元"}, "amounts are in 万元"),
        ({"amount": "500", "on": "2026-07-01"}, "in the future"),
    ):
        refused = op.post_form(f"/projects/{pid}", f"/projects/{pid}/funds", {"note": "县财政", **typed})
        assert refused.status_code == 400 and 'class="error"' in refused.text, typed
        assert words in refused.text and 'value="县财政"' in refused.text
    assert snapshot(url) == before


def test_an_operator_terminates_a_project_with_its_reason(op: Browser, operator_rt: Runtime) -> None:
    pid = added(operator_rt)
    url = operator_rt.settings.database_url
    before = snapshot(url)
    empty = op.post_form(f"/projects/{pid}", f"/projects/{pid}/terminate", {"reason": ""})
    assert empty.status_code == 400 and "reason" in empty.text
    assert snapshot(url) == before
    done = op.post_form(f"/projects/{pid}", f"/projects/{pid}/terminate", {"reason": "投资方撤资"})
    assert done.status_code == 200
    p = ledger.get_project(operator_rt, pid)
    assert p.stage == TERMINATED
    assert last_line(operator_rt, pid) == ("move", "caozuo", "web", "投资方撤资")
    assert f'action="/projects/{pid}/funds"' not in done.text  # a terminated project takes no funds


def test_an_operator_voids_a_project_only_when_confirmed(op: Browser, operator_rt: Runtime) -> None:
    pid = added(operator_rt)
    keep = added(operator_rt, "另一个项目")
    url = operator_rt.settings.database_url
    before = snapshot(url)
    unconfirmed = op.post_form(f"/projects/{pid}", f"/projects/{pid}/void", {"reason": "重复录入"})
    assert unconfirmed.status_code == 400 and "tick the box" in unconfirmed.text
    assert 'value="重复录入"' in unconfirmed.text
    assert snapshot(url) == before
    done = op.post_form(f"/projects/{pid}", f"/projects/{pid}/void", {"reason": "重复录入", "confirm": "1"})
    assert done.status_code == 200 and "项目已作废" in done.text
    assert [p.id for p in ledger.list_projects(operator_rt, ProjectFilter())] == [keep]
    assert last_line(operator_rt, pid) == ("void", "caozuo", "web", "重复录入")
    assert op.get(f"/projects/{pid}").status_code == 403  # gone from every page
    token = csrf_of(op.get(f"/projects/{keep}").text)
    again = op.client.post(f"/projects/{pid}/void", data={"csrf": token, "reason": "x", "confirm": "1"})
    assert again.status_code == 403


# --------------------------------------------------------------------------- who may


def test_only_an_operator_reaches_these_forms(operator_rt: Runtime, browser: Callable[[], Browser]) -> None:
    pid = added(operator_rt)
    url = operator_rt.settings.database_url
    for key in ("lina", "wangjun", "liuqiang", "xuli"):  # officer, head, leader, supervision
        b = browser().sign_in(key)
        page = b.get(f"/projects/{pid}").text
        assert "台账操作" not in page and 'href="/officials"' not in page
        token = csrf_of(page)
        before = snapshot(url)
        for path in ("/units", "/officials", "/officials/lina"):
            assert b.get(path).status_code == 403, (key, path)
        posts = {
            "/units": {"key": "xinxing", "name": "新兴镇", "kind": "township"},
            "/units/chengguan/edit": {"name": "改名", "kind": "township"},
            "/units/bureau/deactivate": {},
            "/officials": {**NEW_OFFICIAL},
            "/officials/xuli/edit": {"name": "改名", "email": "xuli@example.gov.cn", "unit": "bureau"},
            "/officials/xuli/deactivate": {},
            f"/projects/{pid}/funds": {"amount": "500"},
            f"/projects/{pid}/terminate": {"reason": "撤资"},
            f"/projects/{pid}/void": {"reason": "误录", "confirm": "1"},
        }
        for path, data in posts.items():
            assert b.client.post(path, data={"csrf": token, **data}).status_code == 403, (key, path)
        assert snapshot(url) == before
    anonymous = browser().client.get("/units", follow_redirects=False)
    assert anonymous.status_code == 303 and anonymous.headers["location"].startswith("/signin")


def test_a_form_without_its_token_is_refused(op: Browser, operator_rt: Runtime) -> None:
    pid = added(operator_rt)
    url = operator_rt.settings.database_url
    before = snapshot(url)
    posts = {
        "/units": {"key": "xinxing", "name": "新兴镇", "kind": "township"},
        "/units/chengguan/edit": {"name": "改名", "kind": "township"},
        "/units/bureau/deactivate": {},
        "/officials": {**NEW_OFFICIAL},
        "/officials/xuli/edit": {"name": "改名", "email": "xuli@example.gov.cn", "unit": "bureau"},
        "/officials/xuli/deactivate": {},
        f"/projects/{pid}/funds": {"amount": "500"},
        f"/projects/{pid}/terminate": {"reason": "撤资"},
        f"/projects/{pid}/void": {"reason": "误录", "confirm": "1"},
    }
    for path, data in posts.items():
        assert op.client.post(path, data=data).status_code == 403, path
        assert op.client.post(path, data={**data, "csrf": "forged"}).status_code == 403, path
    assert snapshot(url) == before
    assert op.client.post("/projects/abc/funds", data={"amount": "1"}).status_code == 403
    assert op.get(f"/projects/{pid}").status_code == 200  # the project page's route is still its own
