"""The read pages (web/pages.py over app/dashboard.py): the board, the project list and its export,
"my projects", the outbox, /ping — each page's content checked against projects entered through the
use cases in known states, on SQLite and PostgreSQL."""

from __future__ import annotations

import io
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime

import pytest
from openpyxl import load_workbook
from sqlalchemy import event

from followup.app import access, escalation, ledger, moves, organisation
from followup.app.ledger import ProjectInput
from followup.app.runtime import Runtime
from followup.web import pages
from tests.helpers import NOW
from tests.web.conftest import Browser


def at(day: str) -> datetime:
    return datetime.fromisoformat(f"{day}T00:00:00+08:00")


def enter(
    rt: Runtime,
    name: str,
    since: str,
    *,
    workflow: str = "major",
    unit: str = "chengguan",
    officer: str = "lina",
    leader: str | None = "liuqiang",
    chain: str | None = None,
) -> int:
    """A project at 线索 since ``since``, entered now (its light stored as of now)."""
    values: dict[str, str | None] = {}
    if leader:
        values["leader"] = leader
    if chain:
        values["chain"] = chain
    data = ProjectInput(name=name, officer=officer, unit=unit, workflow=workflow, values=values)
    return ledger.add_project(rt, data, stage="lead", since=at(since), by=None).id


@dataclass(frozen=True)
class Scene:
    rt: Runtime
    red: int  # major lead overdue past the red rung
    top: int  # major lead overdue past 约谈
    due: int  # investment lead whose deadline falls within the week
    calm: int  # investment lead entered today: green
    held: int  # on hold, expected back within the fortnight
    other: int  # the bureau's own project, in charge of nobody


@pytest.fixture
def scene(web_rt: Runtime) -> Scene:
    rt = web_rt
    organisation.add_official(rt, "zhaomin", name="赵敏", email="zhaomin@example.gov.cn", unit="bureau",
                              roles=("operator",))  # fmt: skip
    red = enter(rt, "红灯乳业项目", "2026-05-01")
    top = enter(rt, "约谈冷链项目", "2026-03-01")
    due = enter(rt, "本周到期食品项目", "2026-05-05", workflow="investment", chain="健康食品")
    calm = enter(rt, "新线索项目", "2026-06-01", workflow="investment", leader=None)
    held = enter(rt, "暂缓纺织项目", "2026-05-20", workflow="investment")
    moves.advance(rt, moves.Move(held, "on_hold", by="lina", note="企业资金调整", until=date(2026, 6, 8)))
    other = enter(rt, "局属物流项目", "2026-06-01", workflow="investment", unit="bureau", officer="xuli",
                  leader=None)  # fmt: skip
    escalation.sweep(rt)
    return Scene(rt, red, top, due, calm, held, other)


def signed(browser: Callable[[], Browser], key: str) -> Browser:
    return browser().sign_in(key)


def section(page: str, anchor: str) -> str:
    """The part of a page from the heading ``id=anchor`` to the next heading."""
    start = page.index(f'id="{anchor}"')
    end = page.find("<h2", start)
    return page[start : end if end > 0 else None]


def linked_ids(html: str) -> set[int]:
    return {int(n) for n in re.findall(r'href="/projects/(\d+)"', html)}


def test_the_board_shows_lights_red_list_due_holds_funnel_and_figures(
    scene: Scene, browser: Callable[[], Browser]
) -> None:
    levels = {p.id: p.level for p in ledger.list_projects(scene.rt, ledger.ProjectFilter())}
    assert levels[scene.red] == "red" and levels[scene.top] == "top"  # the scene is what it says
    page = signed(browser, "lina").get("/")
    assert page.status_code == 200
    text = page.text
    assert linked_ids(section(text, "red")) == {scene.red, scene.top}
    red_part = section(text, "red")
    assert red_part.index(f"/projects/{scene.top}") < red_part.index(f"/projects/{scene.red}")  # 约谈 first
    assert linked_ids(section(text, "due")) == {scene.due}
    assert linked_ids(section(text, "holds")) == {scene.held}
    # lights by unit: 城关镇 has one red, one 约谈 (and the held one is not green yet)
    row = re.search(r"<tr><td><a href=\"/projects\?unit=chengguan\">城关镇人民政府</a></td>(.*?)</tr>", text)
    assert row is not None
    cells = re.findall(r"<td[^>]*>(?:<a [^>]*>)?(\d+)", row.group(1))
    green, blue, yellow, red, top, total = map(int, cells)
    assert (red, top) == (1, 1) and total == 5
    assert green + blue + yellow == 3
    # funnel: the five 城关镇 projects and the bureau's one, by stage, with bars as classes
    funnel = section(text, "funnel")
    assert re.search(r"线索</a></td><td>5</td>", funnel) and re.search(r"暂缓</a></td><td>1</td>", funnel)
    assert 'class="bar w-100"' in funnel and "style=" not in text
    assert "签约率" in section(text, "figures") or "signing" in section(text, "figures").lower()


def test_the_board_is_made_again_after_its_seconds(scene: Scene, browser: Callable[[], Browser]) -> None:
    b = signed(browser, "xuli")
    first = b.get("/").text
    assert f'/projects/{scene.red}"' in section(first, "red")
    ledger.void_project(scene.rt, scene.red, by="lina", reason="录入错误")
    assert f'/projects/{scene.red}"' in section(b.get("/").text, "red")  # the same board, cached
    b.client.app.state.board_cache.seconds = 0  # type: ignore[attr-defined]
    assert f'/projects/{scene.red}"' not in section(b.get("/").text, "red")


def test_the_list_filters_and_pages(scene: Scene, browser: Callable[[], Browser]) -> None:
    b = signed(browser, "wangjun")

    def listed(query: str) -> set[int]:
        page = b.get(f"/projects?{query}")
        assert page.status_code == 200
        return linked_ids(page.text)

    everyone = {scene.red, scene.top, scene.due, scene.calm, scene.held, scene.other}
    assert listed("") == everyone
    assert listed("unit=bureau") == {scene.other}
    assert listed("light=red") == {scene.red}
    assert listed("light=top") == {scene.top}
    assert listed("stage=on_hold") == {scene.held}
    assert listed("leader=liuqiang") == {scene.red, scene.top, scene.due, scene.held}
    assert listed("chain=%E5%81%A5%E5%BA%B7%E9%A3%9F%E5%93%81") == {scene.due}  # 健康食品
    assert listed("q=冷链") == {scene.top}
    assert listed("q=%25") == set()  # a LIKE wildcard is a plain character
    assert listed("unit=chengguan&light=red&q=乳业") == {scene.red}
    assert listed("unit=nosuchunit") == set()
    # pages of 50
    for n in range(55):
        enter(scene.rt, f"批量项目{n:02}", "2026-06-01", workflow="investment", unit="bureau", officer="xuli",
              leader=None)  # fmt: skip
    first, second = b.get("/projects?unit=bureau").text, b.get("/projects?unit=bureau&page=2").text
    assert len(linked_ids(first)) == 50 and len(linked_ids(second)) == 6
    assert not linked_ids(first) & linked_ids(second)
    assert "第 1 / 2 页" in first and 'href="/projects?unit=bureau&amp;page=2"' in first


def test_the_export_is_the_filtered_ledger_as_xlsx(scene: Scene, browser: Callable[[], Browser]) -> None:
    b = signed(browser, "xuli")
    answer = b.get("/projects/export.xlsx?unit=chengguan&light=red")
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("application/vnd.openxmlformats")
    assert "attachment" in answer.headers["content-disposition"]
    sheet = load_workbook(io.BytesIO(answer.content)).active
    assert sheet is not None
    values = [[c for c in row] for row in sheet.iter_rows(values_only=True)]
    names = {cell for row in values for cell in row if isinstance(cell, str) and cell.endswith("项目")}
    assert names == {"红灯乳业项目"}
    everything = load_workbook(io.BytesIO(b.get("/projects/export.xlsx?unit=chengguan").content)).active
    assert everything is not None
    found = {c for row in everything.iter_rows(values_only=True) for c in row if isinstance(c, str)}
    assert {"红灯乳业项目", "约谈冷链项目", "本周到期食品项目", "新线索项目", "暂缓纺织项目"} <= found
    assert "局属物流项目" not in found


def test_my_projects_are_the_officials_own_most_urgent_first(
    scene: Scene, browser: Callable[[], Browser]
) -> None:
    def mine(key: str) -> list[int]:
        page = signed(browser, key).get("/my")
        assert page.status_code == 200
        return [int(n) for n in re.findall(r'href="/projects/(\d+)"', page.text.split("<main>")[1])]

    lina = mine("lina")  # case officer of the five 城关镇 projects
    assert set(lina) == {scene.red, scene.top, scene.due, scene.calm, scene.held}
    assert lina[:2] == [scene.top, scene.red]
    assert set(mine("wangjun")) == set(lina)  # head of the unit
    assert set(mine("liuqiang")) == {scene.red, scene.top, scene.due, scene.held}  # leader in charge
    assert mine("xuli") == [scene.other]


def test_the_outbox_is_for_operators(scene: Scene, browser: Callable[[], Browser]) -> None:
    assert signed(browser, "xuli").get("/outbox").status_code == 403
    assert signed(browser, "lina").get("/outbox").status_code == 403
    page = signed(browser, "zhaomin").get("/outbox")
    assert page.status_code == 200
    assert "系统提示" in page.text
    # the sweep queued notifications for the red and 约谈 projects: they are listed
    assert f'href="/projects/{scene.top}"' in page.text and f'href="/projects/{scene.red}"' in page.text


@pytest.mark.parametrize("path", ["/", "/projects", "/projects/export.xlsx", "/my", "/outbox"])
def test_a_mail_links_session_and_no_session_are_sent_to_sign_in(
    scene: Scene, browser: Callable[[], Browser], path: str
) -> None:
    anonymous = browser()
    answer = anonymous.client.get(path, follow_redirects=False)
    assert answer.status_code == 303 and answer.headers["location"].startswith("/signin?next=")
    scoped = browser()
    link = access.action_path(scene.rt.settings, 1, scene.red, "log", NOW)  # lina, one project
    assert scoped.client.get(link).status_code == 200
    assert scoped.client.get(f"/projects/{scene.red}").status_code == 200
    answer = scoped.client.get(path, follow_redirects=False)
    assert answer.status_code == 303 and answer.headers["location"].startswith("/signin")


def test_ping_needs_no_sign_in_and_no_database(web_rt: Runtime, browser: Callable[[], Browser]) -> None:
    b = browser().sign_in("lina")
    statements: list[str] = []

    def seen(conn: object, cursor: object, statement: str, *args: object) -> None:
        statements.append(statement)

    event.listen(web_rt.store.engine, "before_cursor_execute", seen)
    try:
        assert b.get("/my").status_code == 200
        assert statements  # the listener hears what a page asks of the database
        statements.clear()
        page = b.get("/ping")
    finally:
        event.remove(web_rt.store.engine, "before_cursor_execute", seen)
    assert page.status_code == 200 and "运行正常" in page.text
    assert statements == []
    assert browser().get("/ping").status_code == 200  # nor a sign-in
    assert pages.width(0, 10) == "w-0" and pages.width(10, 10) == "w-100" and pages.width(1, 1000) == "w-5"
