"""The 调度未报 mail's buttons (app.buttons): with ``FOLLOWUP_WEB_URL`` set, the mail of a unit behind in a
reporting round — swept and sent through the CLI (in-process, into the real maildir) — carries a
填报进展 link per project not reported instead of the shell command; each opens that project's report
form for its reader only, and the report given there counts in ``round status``'s 填报率."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest
from starlette.testclient import TestClient

from followup.web import create_app
from tests.county import SMALL
from tests.helpers import Cli
from tests.integration.test_delivery import body
from tests.integration.test_mail_buttons import WEB, buttons, open_link, parts, web_runtime
from tests.integration.test_mail_rules import mails
from tests.integration.test_supervision import talks

SENT_AT = datetime(2026, 5, 13, 1, 15, tzinfo=UTC)  # 2026-05-13 09:15 in Asia/Shanghai
CSRF = re.compile(r'name="csrf" value="([^"]+)"')


@pytest.fixture
def county(any_cli: Cli) -> Cli:
    return SMALL.seed_cli(any_cli)


def behind(run: Cli, env: dict[str, str]) -> tuple[int, int]:
    """城关镇 is asked for two projects in the round of 2026-05 (due 05-12) and reports one; the sweep of
    05-13 owes its head a 调度未报 mail, sent with ``env``. The projects' ids (reported, not)."""
    one = talks(run, "伊禾乳业", since="2026-04-20", now="2026-04-20T10:00")
    two = talks(run, "华北冷链", since="2026-04-20", now="2026-04-20T10:00")
    run.ok("round", "open", "--month", "2026-05", "--due", "2026-05-12", "--units", "城关镇",
           "--by", "xuli", "--now", "2026-05-06T09:00")  # fmt: skip
    run.ok("round", "report", "2026-05", str(one), "--by", "wangjun", "--progress", "推进中",
           "--now", "2026-05-07T09:00")  # fmt: skip
    run.ok("sweep", "--now", "2026-05-13T09:00")
    run.ok("send", "--now", "2026-05-13T09:10", env=env)
    return one, two


def test_a_round_mail_carries_a_report_button_per_project_not_reported(county: Cli) -> None:
    _one, two = behind(county, {"FOLLOWUP_WEB_URL": WEB})
    (mail,) = [m for m in mails(county)["wangjun"] if "调度未报" in str(m["Subject"])]
    plain = body(mail, "plain")
    assert "followup round report" not in plain and "--by" not in plain
    found = buttons(mail)
    assert list(found) == ["填报进展·华北冷链"]
    path = found["填报进展·华北冷链"]
    assert parts(path) == (SMALL.id_of("wangjun"), two, "report")
    assert path in body(mail, "html")
    with web_runtime(county, SENT_AT) as rt:
        status, where, session = open_link(rt, path)
        assert (status, where) == (303, f"/projects/{two}#report") and session
        with TestClient(create_app(rt), base_url="https://testserver", follow_redirects=False) as client:
            client.cookies.set("fu_session", session)
            page = client.get(f"/projects/{two}")
            assert page.status_code == 200 and 'id="report"' in page.text
            token = CSRF.search(page.text)
            assert token is not None
            done = client.post(
                f"/projects/{two}/report",
                data={"csrf": token.group(1), "period": "2026-05", "progress": "已完成设备招标"},
            )
            assert done.status_code == 303 and done.headers["location"] == f"/projects/{two}?done=report"
    state = county.ok("round", "status", "2026-05", "--json", "--now", "2026-05-13T10:00").json()
    assert (state["asked"], state["reported"], state["rate"]) == (2, 2, 100.0)
    report = [e for e in county.ok("history", str(two), "--json").json() if e["kind"] == "report"]
    assert report[0]["note"] == "已完成设备招标" and report[0]["by"]["key"] == "wangjun"


def test_without_a_web_address_the_round_mail_keeps_its_command(county: Cli) -> None:
    behind(county, {})
    (mail,) = [m for m in mails(county)["wangjun"] if "调度未报" in str(m["Subject"])]
    plain = body(mail, "plain")
    assert "followup round report 2026-05 <项目> --by wangjun" in plain and "/a/" not in plain
