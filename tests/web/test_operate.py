"""The bureau operator on the web (issue 10): a project entered through the form (a Chinese amount
read as the CLI reads it) and changed; a refused input shown in its form with nothing written; the
ledger imported — a dry run that writes nothing, its confirmation, a ledger with bad cells reported
and not imported; every page refused to anyone but an operator, every form without its token."""

from __future__ import annotations

import io
import re
import shutil
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from decimal import Decimal
from html.parser import HTMLParser
from pathlib import Path

import openpyxl
import pytest

from followup.app import ledger, organisation
from followup.app.ledger import ProjectFilter, ProjectInput
from followup.app.runtime import Runtime
from followup.app.views import ProjectView
from followup.web import operate
from tests.county import SMALL
from tests.helpers import make_runtime, snapshot
from tests.integration.test_import import LEADERS, OFFICERS, SAMPLE, UNITS
from tests.web.conftest import Browser, csrf_of

#: the day the sample ledger was filled in (2026-11-20 10:00 in the county)
SAMPLE_DAY = datetime(2026, 11, 20, 2, 0, tzinfo=UTC)
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


class FormValues(HTMLParser):
    """What a browser would send for the form posting to ``action``: each text input's value, each
    select's chosen option (a checkbox only when checked)."""

    def __init__(self, action: str) -> None:
        super().__init__()
        self.action, self.inside, self.select = action, False, ""
        self.values: dict[str, str] = {}

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "form":
            self.inside = a.get("action") == self.action
        elif not self.inside:
            return
        elif tag == "input" and a.get("type") != "checkbox" and a.get("name"):
            self.values[a["name"]] = a.get("value", "")
        elif tag == "select":
            self.select = a["name"]
            self.values.setdefault(self.select, "")
        elif tag == "option" and "selected" in a:
            self.values[self.select] = a.get("value", "")

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self.inside = False


def form_values(page: str, action: str) -> dict[str, str]:
    parser = FormValues(action)
    parser.feed(page)
    return parser.values


def projects(rt: Runtime) -> list[ProjectView]:
    return ledger.list_projects(rt, ProjectFilter(include_ended=True))


NEW = {
    "name": "装配式建材",
    "officer": "lina",
    "unit": "chengguan",
    "stage": "signing",
    "since": "2026-05-08",
    "investor": "伊禾集团",
    "amount": "1.2亿",
    "signed_on": "2026-05-08",
    "leader": "liuqiang",
    "chain": "绿色建材",
}


def added(rt: Runtime) -> int:
    """Project 乳品加工 at 洽谈 (talks), which requires its investor."""
    data = ProjectInput(name="乳品加工", officer="lina", unit="chengguan", values={"investor": "伊禾"})
    return ledger.add_project(rt, data, stage="talks").id


# --------------------------------------------------------------------------- add and edit


def test_an_operator_adds_a_project_through_the_form_and_edits_it(op: Browser, operator_rt: Runtime) -> None:
    form = op.get("/projects/new")
    assert form.status_code == 200
    assert '<option value="lina">李娜（城关镇人民政府）</option>' in form.text  # officials as a select
    assert '<option value="liuqiang">刘强</option>' in form.text  # leaders only in the leader select
    assert 'href="/import"' in form.text and 'href="/projects/new"' in form.text  # the operator's nav
    data = {**form_values(form.text, "/projects/new"), **NEW}
    done = op.client.post("/projects/new", data=data)
    assert done.status_code == 200 and "项目已建立" in done.text
    [p] = projects(operator_rt)
    assert done.url.path == f"/projects/{p.id}"
    assert (p.name, p.stage, p.amount, p.investor) == ("装配式建材", "signing", Decimal(12000), "伊禾集团")
    assert (p.officer.key, p.unit.key, p.leader and p.leader.key) == ("lina", "chengguan", "liuqiang")
    assert p.stage_since.date().isoformat() == "2026-05-08"
    [entry] = ledger.history(operator_rt, p.id)
    assert (entry.by and entry.by.key, entry.entered_by) == ("caozuo", "web")
    assert f'href="/projects/{p.id}/edit"' in done.text  # the operator's link to the edit form

    page = op.get(f"/projects/{p.id}/edit")
    shown = form_values(page.text, f"/projects/{p.id}/edit")
    assert (shown["amount"], shown["leader"], shown["signed_on"], shown["officer"]) == (
        "12000",
        "liuqiang",
        "2026-05-08",
        "lina",
    )
    shown.update(amount="8000万", chain="", remarks="市级重点", note="按合同补充")
    edited = op.client.post(f"/projects/{p.id}/edit", data=shown)
    assert edited.status_code == 200 and "项目已修改" in edited.text
    [q] = projects(operator_rt)
    assert (q.amount, q.chain, q.remarks, q.investor) == (Decimal(8000), None, "市级重点", "伊禾集团")
    last = ledger.history(operator_rt, p.id)[-1]
    assert (last.kind, last.note, last.entered_by) == ("edit", "按合同补充", "web")
    assert last.changes == {
        "amount": [12000, 8000],
        "chain": ["绿色建材", None],
        "remarks": [None, "市级重点"],
    }


def test_a_refused_input_is_shown_in_its_form_and_nothing_is_written(
    op: Browser, operator_rt: Runtime
) -> None:
    url = operator_rt.settings.database_url
    token = csrf_of(op.get("/projects/new").text)
    before = snapshot(url)
    refused = op.client.post("/projects/new", data={"csrf": token, **NEW, "amount": "约5000"})
    assert refused.status_code == 400
    assert 'class="error"' in refused.text and "约5000" in refused.text
    assert 'value="装配式建材"' in refused.text  # what was typed is kept
    assert '<option value="lina" selected>' in refused.text
    assert snapshot(url) == before

    pid = added(operator_rt)
    page = op.get(f"/projects/{pid}/edit").text
    shown = form_values(page, f"/projects/{pid}/edit")
    before = snapshot(url)
    for bad, words in (({"investor": ""}, "cannot be cleared"), ({"signed_on": "2026-02-30"}, "2026-02-30")):
        again = op.client.post(f"/projects/{pid}/edit", data={**shown, **bad, "remarks": "保留"})
        assert again.status_code == 400 and words in again.text
        assert 'value="保留"' in again.text
        assert snapshot(url) == before
    same = op.client.post(f"/projects/{pid}/edit", data=shown)  # nothing changed: said, not written
    assert same.status_code == 400 and "nothing to change" in same.text
    assert snapshot(url) == before


def test_projects_new_is_not_taken_for_a_project_id(op: Browser, operator_rt: Runtime) -> None:
    pid = added(operator_rt)
    assert "新建项目" in op.get("/projects/new").text
    assert op.get(f"/projects/{pid}").status_code == 200
    assert op.get("/projects/abc/edit").status_code == 403
    assert op.get("/projects/999/edit").status_code == 404


# --------------------------------------------------------------------------- who may


def test_only_an_operator_reaches_these_pages(operator_rt: Runtime, browser: Callable[[], Browser]) -> None:
    pid = added(operator_rt)
    url = operator_rt.settings.database_url
    for key in ("lina", "wangjun", "liuqiang", "xuli"):  # officer, head, leader, supervision
        b = browser().sign_in(key)
        token = csrf_of(b.get("/my").text)
        assert 'href="/import"' not in b.get("/my").text
        assert f'href="/projects/{pid}/edit"' not in b.get(f"/projects/{pid}").text
        before = snapshot(url)
        for path in ("/projects/new", f"/projects/{pid}/edit", "/import", f"/import/{'0' * 64}/report.xlsx"):
            assert b.get(path).status_code == 403, (key, path)
        posts = {
            "/projects/new": {**NEW},
            f"/projects/{pid}/edit": {"name": "改名"},
            "/import/confirm": {"sha": "0" * 64},
        }
        for path, data in posts.items():
            assert b.client.post(path, data={"csrf": token, **data}).status_code == 403, (key, path)
        upload = b.client.post(
            "/import", data={"csrf": token}, files={"file": ("a.xlsx", SAMPLE.read_bytes())}
        )
        assert upload.status_code == 403
        assert snapshot(url) == before
    anonymous = browser().client.get("/projects/new", follow_redirects=False)
    assert anonymous.status_code == 303 and anonymous.headers["location"].startswith("/signin")


def test_a_form_without_its_token_is_refused(op: Browser, operator_rt: Runtime) -> None:
    pid = added(operator_rt)
    url = operator_rt.settings.database_url
    before = snapshot(url)
    assert op.client.post("/projects/new", data=NEW).status_code == 403
    assert op.client.post("/projects/new", data={**NEW, "csrf": "forged"}).status_code == 403
    assert op.client.post(f"/projects/{pid}/edit", data={"name": "改名"}).status_code == 403
    assert op.client.post("/import", files={"file": ("a.xlsx", SAMPLE.read_bytes())}).status_code == 403
    assert op.client.post("/import/confirm", data={"sha": "0" * 64}).status_code == 403
    assert snapshot(url) == before


# --------------------------------------------------------------------------- import


@pytest.fixture
def sample_county(db_url: str, tmp_path: Path) -> Iterator[Runtime]:
    """The small county with its operator and the units and officials the sample ledger names
    (tests/integration/test_import.py's county), on the day the sample was filled in."""
    rt = make_runtime(db_url, tmp_path, now=SAMPLE_DAY)
    SMALL.seed(rt)
    organisation.add_official(
        rt, "caozuo", name="操作员", email="caozuo@example.gov.cn", unit="bureau", roles=("operator",)
    )
    known = {u.key for u in organisation.list_units(rt)}
    for key, name, kind in UNITS:
        if key not in known:
            organisation.add_unit(rt, key, name, kind)
    for key, name, unit in OFFICERS:
        organisation.add_official(rt, key, name=name, email=f"{key}@example.gov.cn", unit=unit)
    for key, name, alias in LEADERS:
        organisation.add_official(
            rt,
            key,
            name=name,
            email=f"{key}@example.gov.cn",
            unit="county",
            roles=("leader",),
            aliases=(alias,),
        )
    yield rt
    rt.close()


@pytest.fixture
def sample_op(sample_county: Runtime) -> Browser:
    return Browser(sample_county).sign_in("caozuo")


def upload(b: Browser, path: Path):  # type: ignore[no-untyped-def]
    token = csrf_of(b.get("/import").text)
    return b.client.post(
        "/import", data={"csrf": token}, files={"file": (path.name, path.read_bytes(), XLSX)}
    )


def completed_sample(tmp_path: Path) -> Path:
    """The sample with the cells it cannot take filled in (as the integration test completes it)."""
    path = tmp_path / "sample.xlsx"
    shutil.copy(SAMPLE, path)
    book = openpyxl.load_workbook(path)
    ws = book.worksheets[0]
    for cell in ("C8", "C12", "C15"):
        ws[cell] = "某投资公司"
    ws["E20"] = "3000"
    for cell in ("O14", "O19", "O21"):
        ws[cell] = "2026年11月10日"
    book.save(path)
    return path


def test_a_dry_run_shows_what_it_would_do_and_writes_nothing_then_the_confirmation_imports(
    sample_op: Browser, sample_county: Runtime, tmp_path: Path
) -> None:
    rt = sample_county
    url = rt.settings.database_url
    path = completed_sample(tmp_path)
    before = snapshot(url)
    dry = upload(sample_op, path)
    assert dry.status_code == 200, dry.text
    assert "将新建 17 个项目，更新 0 个，0 个不变；跳过 3 行" in dry.text
    assert "导入后第一次巡检" in dry.text and "确认导入" in dry.text
    assert dry.text.count("<tr><td>") >= 17  # a line per project to be created
    assert str(rt.settings.data_dir) not in dry.text  # the confirmation carries a hash, never a path
    sha = re.search(r'name="sha" value="([0-9a-f]{64})"', dry.text)
    assert sha is not None
    assert snapshot(url) == before  # the dry run wrote nothing
    kept = rt.settings.data_dir / "imports" / sha.group(1)
    assert kept.is_dir()

    done = sample_op.client.post("/import/confirm", data={"csrf": csrf_of(dry.text), "sha": sha.group(1)})
    assert done.status_code == 200 and "已导入 sample.xlsx" in done.text and "新建 17 个项目" in done.text
    found = projects(rt)
    assert len(found) == 17
    entry = ledger.history(rt, found[0].id)[0]
    assert (entry.note, entry.by and entry.by.key, entry.entered_by) == ("导入 sample.xlsx", "caozuo", "web")
    assert not kept.exists()  # imported: the upload is deleted
    again = sample_op.client.post("/import/confirm", data={"csrf": csrf_of(dry.text), "sha": sha.group(1)})
    assert again.status_code == 400 and "upload it again" in again.text
    assert len(projects(rt)) == 17


def test_an_upload_is_kept_an_hour_only(sample_op: Browser, sample_county: Runtime, tmp_path: Path) -> None:
    import os
    import time

    dry = upload(sample_op, completed_sample(tmp_path))
    sha = re.search(r'name="sha" value="([0-9a-f]{64})"', dry.text)
    assert sha is not None
    [kept] = (sample_county.settings.data_dir / "imports" / sha.group(1) / "file").iterdir()
    old = time.time() - operate.KEEP_SECONDS - 5
    os.utime(kept, (old, old))
    late = sample_op.client.post("/import/confirm", data={"csrf": csrf_of(dry.text), "sha": sha.group(1)})
    assert late.status_code == 400 and "upload it again" in late.text
    bad = sample_op.client.post("/import/confirm", data={"csrf": csrf_of(dry.text), "sha": "../../etc"})
    assert bad.status_code == 400
    assert projects(sample_county) == []


def test_a_ledger_with_bad_cells_is_reported_and_nothing_imported(
    sample_op: Browser, sample_county: Runtime, tmp_path: Path
) -> None:
    url = sample_county.settings.database_url
    path = tmp_path / "sample.xlsx"
    shutil.copy(SAMPLE, path)
    before = snapshot(url)
    refused = upload(sample_op, path)
    assert refused.status_code == 200
    assert "sample.xlsx 有 7 处问题，未导入任何内容" in refused.text
    assert "<td>14</td><td>O 最近跟进日期</td><td>11月10日</td>" in refused.text
    assert "<td>20</td><td>E 总投资（万元）</td>" in refused.text
    assert "确认导入" not in refused.text and 'name="sha"' not in refused.text
    assert snapshot(url) == before
    link = re.search(r'href="(/import/[0-9a-f]{64}/report\.xlsx)"', refused.text)
    assert link is not None
    report = sample_op.get(link.group(1))
    assert report.status_code == 200 and report.headers["content-type"] == XLSX
    book = openpyxl.load_workbook(io.BytesIO(report.content))
    marked = {c.coordinate for row in book.worksheets[0].iter_rows() for c in row if c.comment is not None}
    assert marked == {"O14", "O19", "O21", "C8", "C12", "C15", "E20"}


def test_a_file_that_is_no_ledger_is_refused_in_the_form(sample_op: Browser, sample_county: Runtime) -> None:
    token = csrf_of(sample_op.get("/import").text)
    for name, content, words in (
        ("notes.txt", b"hello", ".xlsx or a .csv"),
        ("broken.xlsx", b"not a zip", "cannot be read"),
    ):
        refused = sample_op.client.post("/import", data={"csrf": token}, files={"file": (name, content)})
        assert refused.status_code == 400 and words in refused.text, refused.text
        assert str(sample_county.settings.data_dir) not in refused.text
        assert 'type="file"' in refused.text  # the form again
