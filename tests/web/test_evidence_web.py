"""Evidence (以图为证) through the web app: a photo uploaded with the follow-up form is listed on the project
page and its thumbnail served to the case officer; 开工 needs a file in the move form; a bad file writes
nothing; an official without rights to the project gets 403 for its files."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import pytest

from followup.app import evidence, ledger
from followup.app.ledger import ProjectInput
from followup.app.runtime import Runtime
from tests.helpers import snapshot
from tests.web.conftest import Browser

DATA = Path(__file__).parent.parent / "data"
PHOTO = (DATA / "site-photo.jpg").read_bytes()
PDF = (DATA / "minutes.pdf").read_bytes()


@pytest.fixture
def project(web_rt: Runtime) -> int:
    """lina's project (城关镇) at 落地/供地, one move from 开工."""
    values = {"investor": "伊禾", "amount": "5000", "land": "50"}
    data = ProjectInput(name="乳品加工", officer="lina", unit="chengguan", values=values)
    return ledger.add_project(web_rt, data, stage="land_prep").id


def test_a_photo_uploaded_with_a_follow_up_is_shown_and_served(
    web_rt: Runtime, browser: Callable[[], Browser], project: int
) -> None:
    lina = browser().sign_in("lina")
    page = lina.get(f"/projects/{project}").text
    assert 'name="files"' in page and "开工" in page
    sent = lina.post_form(
        f"/projects/{project}",
        f"/projects/{project}/log",
        {"text": "现场踏勘，土方施工中"},
        files=[("files", ("工地 现场.jpg", PHOTO, "image/jpeg")), ("files", ("", b"", "image/jpeg"))],
    )
    assert sent.status_code == 200 and "已记录进展" in sent.text
    [item] = evidence.attachments_of(web_rt, project)
    assert (item.filename, item.kind) == ("工地 现场.jpg", "followup")
    assert f'src="/evidence/{item.id}/thumb"' in sent.text and "佐证材料" in sent.text

    thumb = lina.get(f"/evidence/{item.id}/thumb")
    assert thumb.status_code == 200 and thumb.headers["content-type"] == "image/jpeg"
    assert thumb.content.startswith(b"\xff\xd8\xff") and thumb.content != PHOTO
    assert thumb.headers["content-disposition"].startswith("inline; filename*=utf-8''")
    assert thumb.headers["x-content-type-options"] == "nosniff"
    original = lina.get(f"/evidence/{item.id}")
    assert original.content == PHOTO and original.headers["content-type"] == "image/jpeg"
    # the supervision office reads every project, so its files too
    assert browser().sign_in("xuli").get(f"/evidence/{item.id}/thumb").status_code == 200


def test_an_official_without_rights_gets_403(
    web_rt: Runtime, browser: Callable[[], Browser], project: int
) -> None:
    lina = browser().sign_in("lina")
    lina.post_form(
        f"/projects/{project}",
        f"/projects/{project}/log",
        {"text": "纪要"},
        files=[("files", ("纪要.pdf", PDF, "application/pdf"))],
    )
    [item] = evidence.attachments_of(web_rt, project)
    stranger = browser().sign_in("liuqiang")  # a leader, but not of this project
    for path in (f"/evidence/{item.id}", f"/evidence/{item.id}/thumb", "/evidence/999", "/evidence/x"):
        assert stranger.get(path).status_code == 403, path
    anonymous = browser().client.get(f"/evidence/{item.id}", follow_redirects=False)
    assert anonymous.status_code == 303 and anonymous.headers["location"].startswith("/signin")
    pdf = lina.get(f"/evidence/{item.id}")
    assert pdf.headers["content-type"] == "application/pdf" and pdf.content == PDF
    assert pdf.headers["content-disposition"].startswith("attachment;")
    assert lina.get(f"/evidence/{item.id}/thumb").status_code == 404  # a PDF has no thumbnail


def test_groundbreaking_needs_a_file_in_the_move_form(
    web_rt: Runtime, browser: Callable[[], Browser], project: int
) -> None:
    lina = browser().sign_in("lina")
    page = lina.get(f"/projects/{project}").text
    assert re.search(r'id="files-groundbreaking"[^>]* required', page)
    before = snapshot(web_rt.settings.database_url)
    target = {"target": "groundbreaking"}
    refused = lina.post_form(f"/projects/{project}", f"/projects/{project}/move", target)
    assert refused.status_code == 400 and "needs evidence" in refused.text
    text_as_jpg = [("files", ("现场.jpg", "不是照片".encode(), "image/jpeg"))]
    bad = lina.post_form(
        f"/projects/{project}", f"/projects/{project}/move", {"target": "groundbreaking"}, files=text_as_jpg
    )
    assert bad.status_code == 400 and "现场.jpg is not a photo or PDF" in bad.text
    assert snapshot(web_rt.settings.database_url) == before
    moved = lina.post_form(
        f"/projects/{project}",
        f"/projects/{project}/move",
        {"target": "groundbreaking"},
        files=[("files", ("开工.jpg", PHOTO, "image/jpeg"))],
    )
    assert moved.status_code == 200 and "阶段已变更" in moved.text
    assert [a.kind for a in evidence.attachments_of(web_rt, project)] == ["move"]
