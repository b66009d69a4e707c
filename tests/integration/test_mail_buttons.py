"""A mail's buttons (app.buttons): with ``FOLLOWUP_WEB_URL`` set, the warning, 督办 and weekly mails
swept and sent through the CLI (in-process, into the real maildir) carry signed links instead of shell
commands, each for its recipient and one project; opened in the real web app (in-process, same
database and secret key) each signs that recipient in for that project only, and only until it
expires. Without the address the mails keep their commands and carry no link."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage

import pytest
from starlette.testclient import TestClient

from followup.app import access
from followup.app.runtime import Runtime
from followup.settings import load_settings
from followup.web import create_app
from tests.county import SMALL
from tests.helpers import Cli
from tests.integration.test_delivery import body
from tests.integration.test_mail_rules import mails
from tests.integration.test_supervision import RED_DAY, talks

WEB = "https://zsj.example.gov.cn"
LINK = re.compile(re.escape(WEB) + r"(/a/[A-Za-z0-9_.\-]+)")
BUTTON = re.compile(r"^\s*(\S+)：" + re.escape(WEB) + r"(/a/\S+)$", re.M)
RED_AT = datetime(2026, 5, 8, 2, 0, tzinfo=UTC)  # RED_DAY 10:00 in Asia/Shanghai
REPLY_AT = datetime(2026, 5, 15, 1, 0, tzinfo=UTC)  # 2026-05-15 09:00


@pytest.fixture
def county(any_cli: Cli) -> Cli:
    return SMALL.seed_cli(any_cli)


def scenario(run: Cli, env: dict[str, str]) -> tuple[int, int]:
    """Project 1 (lina's, led by 刘强) reaches red on RED_DAY (a 督办 notice is issued), project 2
    (lina's too) is quiet; the red mails go, Monday's weekly mails, and on 05-15 the reminders of the
    missing reply. Every send with ``env``; the two projects' ids."""
    first = talks(run, "伊禾乳业")
    second = int(
        run.ok("project", "add", "--name", "金穗杂粮", "--officer", "lina", "--unit", "chengguan",
               "--since", "2026-05-04", "--now", "2026-05-04T10:00").out
    )  # fmt: skip
    run.ok("sweep", "--now", RED_DAY)
    run.ok("send", "--now", RED_DAY, env=env)
    run.ok("digest", "--now", "2026-05-11T08:31")
    run.ok("send", "--now", "2026-05-11T08:31", env=env)
    run.ok("sweep", "--now", "2026-05-15T09:00")
    run.ok("send", "--now", "2026-05-15T09:00", env={**env, "FOLLOWUP_LINK_DAYS": "2"})
    return first, second


@contextmanager
def web_runtime(run: Cli, at: datetime) -> Iterator[Runtime]:
    """A runtime as the web app runs it: the CLI's database and data folder (its secret key)."""
    settings = load_settings(
        {"database_url": run.url, "data_dir": run.env["FOLLOWUP_DATA_DIR"], "web_url": WEB}
    )
    rt = Runtime.open(settings).at(at)
    try:
        yield rt
    finally:
        rt.close()


def links(mail: EmailMessage) -> tuple[list[str], list[str]]:
    """The paths of the web app's links in the text part and in the HTML part."""
    return LINK.findall(body(mail, "plain")), LINK.findall(body(mail, "html"))


def buttons(mail: EmailMessage) -> dict[str, str]:
    """The text part's buttons of a mail about one project: {label: path}."""
    return {label: path for label, path in BUTTON.findall(body(mail, "plain"))}


def open_link(rt: Runtime, path: str) -> tuple[int, str, str | None]:
    """Open a link in a fresh browser: (status, Location, the session cookie it set)."""
    with TestClient(create_app(rt), base_url="https://testserver", follow_redirects=False) as client:
        answer = client.get(path)
        return answer.status_code, answer.headers.get("location", ""), answer.cookies.get("fu_session")


def parts(path: str) -> tuple[int, int, str]:
    official, project, action, _expires, _mac = path.removeprefix("/a/").split(".")
    return int(official), int(project), action


def test_every_mail_carries_buttons_signed_for_its_reader_and_project(county: Cli) -> None:
    scenario(county, {"FOLLOWUP_WEB_URL": WEB})
    got = mails(county)
    assert set(got) == {"lina", "wangjun", "liuqiang", "xuli"}
    opened = 0
    with web_runtime(county, RED_AT + timedelta(minutes=5)) as rt:
        for key, theirs in got.items():
            who = SMALL.id_of(key)
            for mail in theirs:
                text, html = links(mail)
                assert text and sorted(set(text)) == sorted(set(html)), mail["Subject"]
                plain = body(mail, "plain")
                assert "followup log" not in plain and "followup reply" not in plain
                assert "followup extend" not in plain and "--by" not in plain
                for path in set(text):
                    official, project, action = parts(path)
                    assert official == who  # the recipient's own link
                    status, where, session = open_link(rt, path)
                    assert status == 303, (key, path)
                    assert where == f"/projects/{project}" + ("" if action == "view" else f"#{action}")
                    viewer = access.viewer(rt, session)
                    assert viewer is not None and (viewer.id, viewer.scope) == (who, project)
                    opened += 1
    assert opened >= 20


def test_buttons_fit_the_reader_and_open_only_their_project(county: Cli) -> None:
    first, second = scenario(county, {"FOLLOWUP_WEB_URL": WEB})
    got = mails(county)
    red = {key: next(m for m in got[key] if "红灯" in str(m["Subject"])) for key in got}
    assert list(buttons(red["lina"])) == ["记录进展", "申请延期", "回复督办", "查看项目"]
    assert list(buttons(red["wangjun"])) == ["记录进展", "申请延期", "回复督办", "查看项目"]
    assert list(buttons(red["liuqiang"])) == ["查看项目", "记录进展", "申请延期", "回复督办"]
    assert list(buttons(red["xuli"])) == ["查看项目"]
    assert {parts(p)[1:] for p in buttons(red["lina"]).values()} == {
        (first, "log"), (first, "extend"), (first, "reply"), (first, "view")
    }  # fmt: skip
    html = body(red["lina"], "html")
    assert re.search(r'<a href="' + re.escape(WEB) + r'/a/[^"]+" style="[^"]+">记录进展</a>', html)
    # the weekly mail lists lina's two projects, each with its view and log links
    weekly = next(m for m in got["lina"] if "周调度" in str(m["Subject"]))
    assert {parts(p)[1:] for p in links(weekly)[0]} >= {
        (first, "view"), (first, "log"), (second, "view"), (second, "log")
    }  # fmt: skip
    # the supervision office's summary: the red project's page
    summary = next(m for m in got["xuli"] if "督办周报" in str(m["Subject"]))
    assert (first, "view") in {parts(p)[1:] for p in links(summary)[0]}
    # the missing reply: the unit head is asked to reply, from the web
    overdue = next(m for m in got["wangjun"] if "回复逾期" in str(m["Subject"]))
    assert list(buttons(overdue)) == ["回复督办", "查看项目"]
    with web_runtime(county, RED_AT + timedelta(minutes=5)) as rt:
        status, _where, session = open_link(rt, buttons(red["lina"])["记录进展"])
        assert status == 303 and session
        with TestClient(create_app(rt), base_url="https://testserver", follow_redirects=False) as client:
            client.cookies.set("fu_session", session)
            assert client.get(f"/projects/{first}").status_code == 200
            other = client.get(f"/projects/{second}")  # lina's own, but not this link's project
            assert other.status_code == 303 and other.headers["location"].startswith("/signin")
            assert "金穗杂粮" not in other.text


def test_an_altered_link_is_refused(county: Cli) -> None:
    scenario(county, {"FOLLOWUP_WEB_URL": WEB})
    red = next(m for m in mails(county)["lina"] if "红灯" in str(m["Subject"]))
    path = buttons(red)["记录进展"]
    official, rest = path.removeprefix("/a/").split(".", 1)
    assert int(official) == SMALL.id_of("lina")
    with web_runtime(county, RED_AT + timedelta(minutes=5)) as rt:
        assert open_link(rt, path)[0] == 303
        as_head = f"/a/{SMALL.id_of('wangjun')}.{rest}"  # lina's link, claimed by someone else
        status, _where, session = open_link(rt, as_head)
        assert (status, session) == (400, None)
        pid, tail = rest.split(".", 1)
        assert open_link(rt, f"/a/{official}.{int(pid) + 1}.{tail}")[0] == 400  # another project
        assert open_link(rt, path[:-2] + ("AA" if not path.endswith("AA") else "BB"))[0] == 400


def test_links_expire_after_link_days(county: Cli) -> None:
    scenario(county, {"FOLLOWUP_WEB_URL": WEB})
    got = mails(county)
    red = buttons(next(m for m in got["lina"] if "红灯" in str(m["Subject"])))["查看项目"]
    with web_runtime(county, RED_AT) as rt:
        assert open_link(rt.at(RED_AT + timedelta(days=14, minutes=-1)), red)[0] == 303
        assert open_link(rt.at(RED_AT + timedelta(days=14, minutes=1)), red)[0] == 400
        # the reminders of 05-15 were sent with FOLLOWUP_LINK_DAYS=2
        late = buttons(next(m for m in got["wangjun"] if "回复逾期" in str(m["Subject"])))["回复督办"]
        assert open_link(rt.at(REPLY_AT + timedelta(days=2, minutes=-1)), late)[0] == 303
        assert open_link(rt.at(REPLY_AT + timedelta(days=2, minutes=1)), late)[0] == 400


def test_without_a_web_address_the_mails_keep_their_commands(county: Cli) -> None:
    scenario(county, {})
    got = mails(county)
    assert set(got) == {"lina", "wangjun", "liuqiang", "xuli"}
    for theirs in got.values():
        for mail in theirs:
            assert "/a/" not in body(mail, "plain") and "/a/" not in body(mail, "html")
            assert "https://" not in body(mail, "plain") and "<a href" not in body(mail, "html")
    red = body(next(m for m in got["lina"] if "红灯" in str(m["Subject"])), "plain")
    assert 'followup log 1 "跟进情况" --by lina' in red
    weekly = body(next(m for m in got["lina"] if "周调度" in str(m["Subject"])), "plain")
    assert 'followup log <项目编号> "跟进情况" --by lina' in weekly
    overdue = body(next(m for m in got["wangjun"] if "回复逾期" in str(m["Subject"])), "plain")
    assert 'followup reply 督〔2026〕第1号 "情况说明" --by wangjun' in overdue
