"""The web app's security against what people type (issue 10): HTML and script in every user field is
escaped on the pages; SQL injection strings are inert; the sign-in form tells nothing about which
addresses are known, and mails at most five links an hour to one address."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, date, datetime

import pytest

from followup.app import escalation, ledger, organisation, problems
from followup.app.ledger import ProjectInput
from followup.app.runtime import Runtime
from tests.helpers import NOW
from tests.web.security_support import Town, link_secrets, mails, town


def script(n: int) -> str:
    return f"<script>alert({n})</script>"


def escaped(n: int) -> str:
    return f"&lt;script&gt;alert({n})&lt;/script&gt;"


@pytest.fixture
def county(web_rt: Runtime) -> Iterator[Town]:
    yield town(web_rt, a_name=script(1))


def noticed_project(county: Town) -> int:
    """A project of 李娜's, in talks since January, swept red on 2026-05-08: a 督办 notice to reply to."""
    county.clock.now = datetime(2026, 5, 1, 2, tzinfo=UTC)
    data = ProjectInput(
        name="红灯项目", officer="lina", unit="chengguan", values={"leader": "liuqiang", "investor": "伊禾"}
    )
    pid = ledger.add_project(county.rt, data, stage="talks", since=datetime(2026, 1, 5, 2, tzinfo=UTC)).id
    county.clock.now = datetime(2026, 5, 8, 2, tzinfo=UTC)
    assert escalation.sweep(county.rt).notices
    county.clock.now = NOW
    return pid


def test_html_in_every_user_field_is_escaped_on_the_project_page(county: Town) -> None:
    rt = county.rt
    organisation.add_official(
        rt, "evil", name=script(2), email="evil@example.gov.cn", unit="bureau", roles=("operator",)
    )
    problems.add_problem(
        rt, county.a, level="general", owner="chengguan", due=date(2026, 6, 30), by="xuli", text=script(3)
    )
    evil = county.browser("evil")
    assert evil.post_form(
        f"/projects/{county.a}", f"/projects/{county.a}/log", {"text": script(4)}
    ).is_success
    page = evil.get(f"/projects/{county.a}").text
    assert "<script" not in page
    for n in (1, 2, 3, 4):  # project name, official name, problem text, follow-up text
        assert escaped(n) in page, n

    noticed = noticed_project(county)
    wangjun = county.browser("wangjun")
    form = wangjun.get(f"/projects/{noticed}").text
    notice = re.search(r'name="notice" value="(\d+)"', form)
    assert notice, "no reply form on the project page"
    replied = wangjun.post_form(
        f"/projects/{noticed}", f"/projects/{noticed}/reply", {"notice": notice.group(1), "text": script(5)}
    )
    assert replied.is_success
    page = wangjun.get(f"/projects/{noticed}").text
    assert "<script" not in page and escaped(5) in page


def test_html_in_what_a_page_echoes_is_escaped(county: Town) -> None:
    lina = county.browser("lina")
    refused = lina.post_form(
        f"/projects/{county.a}", f"/projects/{county.a}/move", {"target": script(6)}, follow_redirects=False
    )
    assert refused.status_code == 400 and "<script" not in refused.text
    sent = county.browser().post_form("/signin", "/signin", {"email": script(7)})
    assert sent.status_code == 200 and "<script" not in sent.text and escaped(7) in sent.text


def test_html_in_user_fields_is_escaped_on_the_lists(county: Town) -> None:
    operator = county.browser("zhouyan")
    lists = {path: operator.get(path) for path in ("/", "/projects", "/my", f"/projects?q={script(8)}")}
    for path, response in lists.items():
        assert response.status_code == 200, path
        assert "<script" not in response.text, path
    assert escaped(1) in lists["/projects"].text


INJECTIONS = (
    "' OR '1'='1",
    "lina@example.gov.cn' OR 1=1 --",
    "x'; DROP TABLE officials; --",
    '" OR ""="',
    "lina@example.gov.cn'/*",
)


def test_sql_injection_strings_are_inert(county: Town) -> None:
    who = county.browser()
    pages = set()
    for attempt in INJECTIONS:
        answer = who.post_form("/signin", "/signin", {"email": attempt})
        assert answer.status_code == 200
        pages.add(answer.text.replace(attempt.replace("'", "&#39;").replace('"', "&#34;"), "ADDRESS"))
    assert len(pages) == 1 and mails(county.rt) == []
    assert len(organisation.list_officials(county.rt)) == 7

    lina = county.browser("lina")
    text = "'); DROP TABLE projects; -- \" OR 1=1 /*"
    assert lina.post_form(f"/projects/{county.a}", f"/projects/{county.a}/log", {"text": text}).is_success
    assert county.notes(county.a) == [text]  # stored verbatim
    assert [ledger.show_project(county.rt, p).project.name for p in (county.a2, county.b)] == [
        "华北冷链",
        "河西光伏",
    ]
    assert lina.get(f"/projects/{county.a} OR 1=1").status_code == 403
    for params in ({"q": "' OR '1'='1"}, {"q": "华北冷链' --"}, {"unit": "chengguan' OR '1'='1"}):
        search = lina.get("/projects", params=params)
        # nothing matches, nothing breaks
        assert search.status_code == 200 and f'href="/projects/{county.a2}"' not in search.text, params
    assert f'href="/projects/{county.a2}"' in lina.get("/projects", params={"q": "华北"}).text


def test_an_unknown_address_learns_nothing(county: Town) -> None:
    # gone from office: as unknown as a stranger
    organisation.deactivate_official(county.rt, "zhaomin", reassign_to="sunhao", by="zhouyan")
    answers = {}
    for address in (
        "lina@example.gov.cn",
        "nobody@example.gov.cn",
        "zhaomin@example.gov.cn",
        "LINA@example.gov.cn",
    ):
        answer = county.browser().post_form("/signin", "/signin", {"email": address})
        answers[address] = (answer.status_code, answer.text.replace(address, "ADDRESS"))
    assert len(set(answers.values())) == 1
    got = [str(m["To"]) for m in mails(county.rt)]
    assert len(got) == 2 and all("lina@example.gov.cn" in to for to in got)


def test_at_most_five_links_an_hour_to_one_address(county: Town) -> None:
    who = county.browser()
    answers = {who.post_form("/signin", "/signin", {"email": "lina@example.gov.cn"}).text for _ in range(8)}
    assert len(answers) == 1  # the same page, whether a mail went or not
    assert len(link_secrets(county.rt)) == 5
    # another address is not held back by lina's
    who.post_form("/signin", "/signin", {"email": "wangjun@example.gov.cn"})
    assert len(link_secrets(county.rt)) == 6
    county.clock.advance(minutes=59)
    who.post_form("/signin", "/signin", {"email": "lina@example.gov.cn"})
    assert len(link_secrets(county.rt)) == 6
    county.clock.advance(minutes=2)  # an hour after the first five
    who.post_form("/signin", "/signin", {"email": "lina@example.gov.cn"})
    assert len(link_secrets(county.rt)) == 7
