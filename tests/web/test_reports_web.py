"""The leaders' pages on the web (``web.reports``): the figures worked out from the projects entered, each
with its definition, and the same report downloaded as xlsx and as the standalone page; the chain map
with its empty links (招商缺口); the monthly bulletins listed by month and downloaded (PDF, xlsx); the
reporting rounds with their 填报率, opened and closed by an operator or the supervision office and
refused to a case officer; a mail link's session sent to sign in."""

from __future__ import annotations

import html
import io
import re
from collections.abc import Callable
from datetime import UTC, datetime

import openpyxl
import pytest

from followup import i18n
from followup.app import access, ledger, organisation, report, rounds
from followup.app.ledger import ProjectInput
from followup.app.runtime import Runtime
from tests.county import SMALL
from tests.helpers import NOW, snapshot
from tests.web.conftest import Browser

PAGES = ("/report", "/chains", "/bulletins", "/rounds")


def _add(rt: Runtime, name: str, stage: str, since: datetime, **values: str) -> int:
    fields: dict[str, str | None] = dict(values)
    data = ProjectInput(name=name, officer="lina", unit="chengguan", values=fields)
    return ledger.add_project(rt, data, stage=stage, since=since).id


@pytest.fixture
def county(web_rt: Runtime) -> dict[str, int]:
    """Two signed projects (one of them has broken ground), a third still in talks; the operator."""
    organisation.add_official(
        web_rt, "caozuo", name="操作员", email="caozuo@example.gov.cn", unit="bureau", roles=("operator",)
    )
    return {
        "signed": _add(
            web_rt,
            "液态奶项目",
            "signing",
            datetime(2026, 3, 16, 2, 0, tzinfo=UTC),
            investor="某乳业",
            amount="2000",
            chain="乳品加工",
            chain_link="液态奶",
        ),
        "started": _add(
            web_rt,
            "屠宰场",
            "groundbreaking",
            datetime(2026, 4, 10, 2, 0, tzinfo=UTC),
            investor="某牧业",
            amount="800",
            land="30",
        ),
        "talks": _add(web_rt, "杂粮加工", "talks", datetime(2026, 5, 6, 2, 0, tzinfo=UTC), investor="某食品"),
    }


def _row(page: str, row_id: str) -> str:
    found = re.search(rf'<tr id="{row_id}">(.*?)</tr>', page, re.S)
    assert found, f"no row {row_id}"
    return found.group(1)


def test_the_report_page_shows_the_figures_with_their_definitions(
    web_rt: Runtime, county: dict[str, int], browser: Callable[[], Browser]
) -> None:
    i18n.use("zh_CN")
    page = browser().sign_in("liuqiang").get("/report")
    assert page.status_code == 200 and 'href="/report"' in page.text  # the nav
    start = _row(page.text, "figure-start_rate")
    assert "开工率" in start and "50.0%" in start and "1 / 2" in start  # 2 signed, 1 started
    definition = next(f.definition for f in report.build_report(web_rt).figures if f.key == "start_rate")
    assert definition and html.escape(definition) in start
    assert "共 3 个项目" in page.text
    grouped = browser().sign_in("lina").get("/report", params={"by": "unit", "cohort": "2026"})
    assert grouped.status_code == 200 and "城关镇人民政府" in grouped.text
    assert 'href="/report.xlsx?cohort=2026&amp;by=unit"' in grouped.text
    bad = browser().sign_in("lina").get("/report", params={"cohort": "20x6"})
    assert bad.status_code == 400 and "20x6" in bad.text and 'id="figure-start_rate"' not in bad.text


def test_the_report_downloads_as_xlsx_and_as_a_standalone_page(
    county: dict[str, int], browser: Callable[[], Browser]
) -> None:
    i18n.use("zh_CN")
    leader = browser().sign_in("liuqiang")
    book = leader.get("/report.xlsx", params={"as_of": "2026-06-01"})
    assert book.status_code == 200 and book.headers["content-disposition"].startswith("attachment;")
    sheet = openpyxl.load_workbook(io.BytesIO(book.content)).worksheets[0]
    rows = {row[0]: row for row in sheet.iter_rows(values_only=True) if row and row[0]}
    assert rows["开工率"][1:4] == (0.5, 1, 2)
    page = leader.get("/report.html")
    assert page.status_code == 200 and page.headers["content-disposition"].startswith("attachment;")
    assert "开工率" in page.text and "50.0%" in page.text


def test_the_chain_map_marks_the_empty_links(county: dict[str, int], browser: Callable[[], Browser]) -> None:
    page = browser().sign_in("lina").get("/chains").text
    gaps = re.findall(r'<tr class="gap">(.*?)</tr>', page, re.S)
    assert any("奶牛养殖" in g and "招商缺口" in g for g in gaps)
    assert not any("液态奶" in g for g in gaps)
    assert f'<a href="/projects/{county["signed"]}">' in page
    before = browser().sign_in("lina").get("/chains", params={"as_of": "2026-03-01"}).text
    assert any("液态奶" in g for g in re.findall(r'<tr class="gap">(.*?)</tr>', before, re.S))


def test_the_bulletins_are_listed_by_month_and_downloaded(
    county: dict[str, int], browser: Callable[[], Browser]
) -> None:
    office = browser().sign_in("xuli")
    page = office.get("/bulletins").text
    months = re.findall(r'<tr id="bulletin-([0-9-]+)">', page)
    assert months == ["2026-05", "2026-04", "2026-03"]  # the first line of history: 2026-03-16
    assert 'href="/bulletins/2026-05.pdf"' in page
    book = office.get("/bulletins/2026-05.xlsx")
    assert book.status_code == 200 and book.headers["content-disposition"].startswith("attachment;")
    assert openpyxl.load_workbook(io.BytesIO(book.content)).sheetnames
    pytest.importorskip("weasyprint")
    pdf = office.get("/bulletins/2026-05.pdf")
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF-")
    assert pdf.headers["content-type"] == "application/pdf"
    assert "bulletin-2026-05.pdf" in pdf.headers["content-disposition"]
    assert office.get("/bulletins/2026-13.pdf").status_code == 400
    assert office.get("/bulletins/latest.pdf").status_code == 404


def test_an_operator_opens_a_round_its_rate_follows_the_reports_and_the_office_closes_it(
    web_rt: Runtime, county: dict[str, int], browser: Callable[[], Browser], db_url: str
) -> None:
    officer = browser().sign_in("lina")
    assert 'action="/rounds/open"' not in officer.get("/rounds").text
    before = snapshot(db_url)
    refused = officer.post_form("/rounds", "/rounds/open", {"period": "2026-06", "units": "chengguan"})
    assert refused.status_code == 403 and snapshot(db_url) == before
    op = browser().sign_in("caozuo")
    opened = op.post_form(
        "/rounds", "/rounds/open", {"period": "2026-06", "due": "2026-06-05", "units": "chengguan"}
    )
    assert opened.status_code == 200 and str(opened.url).endswith("done=opened#round-2026-06")
    assert '<strong class="round-rate">0.0%</strong>' in opened.text and "0 / 应报 3" in opened.text
    rounds.report(web_rt, "2026-06", county["signed"], by="lina", progress="已完成设备招标")
    shown = officer.get("/rounds").text
    assert '<strong class="round-rate">33.3%</strong>' in shown
    assert "<td>城关镇人民政府</td><td>3</td><td>1</td><td>33.3%</td>" in shown
    assert officer.post_form("/rounds", "/rounds/2026-06/close", {}).status_code == 403
    closed = browser().sign_in("xuli").post_form("/rounds", "/rounds/2026-06/close", {})
    assert closed.status_code == 200 and "已结束" in closed.text
    assert rounds.status(web_rt, "2026-06").round.closed_at is not None
    again = op.post_form("/rounds", "/rounds/open", {"period": "2026-06"})
    assert again.status_code == 400  # one round per month


def test_a_mail_links_session_and_a_stranger_are_sent_to_sign_in(
    web_rt: Runtime, county: dict[str, int], browser: Callable[[], Browser]
) -> None:
    scoped = browser()
    link = access.action_path(web_rt.settings, SMALL.id_of("lina"), county["signed"], "log", NOW)
    opened = scoped.client.get(link, follow_redirects=False)  # the session of one project
    assert opened.status_code == 303
    seen = access.viewer(web_rt, scoped.client.cookies.get("fu_session"))
    assert seen is not None and seen.key == "lina" and seen.scope == county["signed"]
    stranger = browser()
    for path in (*PAGES, "/report.xlsx", "/bulletins/2026-05.pdf"):
        for who in (scoped, stranger):
            answer = who.client.get(path, follow_redirects=False)
            assert answer.status_code == 303, path
            assert answer.headers["location"].startswith("/signin?next=" + path)


def test_the_pages_carry_no_inline_style_or_script(
    county: dict[str, int], browser: Callable[[], Browser]
) -> None:
    op = browser().sign_in("caozuo")
    op.post_form("/rounds", "/rounds/open", {"period": "2026-06"})
    for path in (*PAGES, "/report?by=chain"):
        page = op.get(path)
        assert page.status_code == 200, path
        assert "style=" not in page.text and "<style" not in page.text and "<script" not in page.text, path
        assert "default-src 'self'" in page.headers["content-security-policy"]
    assert 'name="units" value="chengguan"' in op.get("/rounds").text  # the operator's form
