"""Evidence (以图为证) on real databases, SQLite and PostgreSQL: a follow-up with a photo writes its row,
its file and a thumbnail; the same content is stored once; 开工 cannot be entered without evidence (and a
refusal writes nothing); a problem's 销号 carries its evidence; the CLI takes ``--evidence FILE``."""

from __future__ import annotations

from pathlib import Path

import pytest
from PIL import Image
from sqlalchemy import select

from followup.app import evidence, ledger, moves, problems
from followup.app.evidence import Upload
from followup.app.ledger import ProjectInput
from followup.app.moves import Move
from followup.app.runtime import Runtime
from followup.errors import GuardFailed, InvalidInput, NotFound
from followup.settings import Settings, load_settings
from followup.store.models import Attachment
from tests.county import SMALL
from tests.helpers import NOW, Cli, snapshot

DATA = Path(__file__).parent.parent / "data"
PHOTO = Upload("开工现场.jpg", (DATA / "site-photo.jpg").read_bytes())
MINUTES = Upload("协调会纪要.pdf", (DATA / "minutes.pdf").read_bytes())


def settings_of(cli: Cli) -> Settings:
    return load_settings({"database_url": cli.url, "data_dir": cli.env["FOLLOWUP_DATA_DIR"]})


def stored(rt: Runtime) -> list[Path]:
    """Every file under the evidence folder (thumbnails included), by name."""
    folder = rt.settings.data_dir / "evidence"
    return sorted(p for p in folder.rglob("*") if p.is_file()) if folder.exists() else []


def rows(rt: Runtime) -> list[Attachment]:
    with rt.store.reading() as session:
        return list(session.scalars(select(Attachment).order_by(Attachment.id)))


@pytest.fixture
def at_land(county: Runtime) -> int:
    """A project at 落地/供地 (land_prep), one move from 开工."""
    values = {"investor": "伊禾", "amount": "5000", "land": "50"}
    data = ProjectInput(name="乳品加工", officer="lina", unit="chengguan", values=values)
    return ledger.add_project(county, data, stage="land_prep").id


def test_a_follow_up_with_a_photo_writes_its_row_file_and_thumbnail(county: Runtime, at_land: int) -> None:
    event = moves.log(county, at_land, by="lina", text="现场踏勘", evidence=[PHOTO])
    [row] = rows(county)
    assert (row.project_id, row.event_id, row.problem_id) == (at_land, event.id, None)
    assert (row.filename, row.content_type, row.size) == ("开工现场.jpg", "image/jpeg", len(PHOTO.data))
    assert row.uploaded_by_id is not None and row.uploaded_at == NOW
    path = county.settings.data_dir / "evidence" / row.sha256[:2] / row.sha256
    assert path.read_bytes() == PHOTO.data
    with Image.open(path.with_name(f"{row.sha256}.thumb.jpg")) as thumb:
        assert thumb.format == "JPEG" and max(thumb.size) <= 320
    assert not [p for p in path.parent.iterdir() if p.name.startswith(".upload-")]  # no temp file left

    [shown] = evidence.attachments_of(county, at_land)
    assert (shown.id, shown.kind, shown.uploaded_by and shown.uploaded_by.key) == (row.id, "followup", "lina")
    found = evidence.open_file(county, row.id)
    assert (found.path, found.content_type, found.filename, found.project_id) == (
        path,
        "image/jpeg",
        "开工现场.jpg",
        at_land,
    )
    assert evidence.open_file(county, row.id, thumb=True).content_type == "image/jpeg"


def test_the_same_content_is_stored_once(county: Runtime, at_land: int) -> None:
    moves.log(county, at_land, by="lina", text="第一次", evidence=[PHOTO])
    moves.log(county, at_land, by="wangjun", text="第二次", evidence=[Upload("again.jpeg", PHOTO.data)])
    first, second = rows(county)
    assert first.sha256 == second.sha256 and first.event_id != second.event_id
    assert second.filename == "again.jpeg"
    assert [p.name for p in stored(county)] == [first.sha256, f"{first.sha256}.thumb.jpg"]


def test_groundbreaking_without_evidence_is_refused_and_writes_nothing(county: Runtime, at_land: int) -> None:
    before = snapshot(county.settings.database_url)
    with pytest.raises(GuardFailed, match=r"entering 开工 \(groundbreaking\) needs evidence"):
        moves.advance(county, Move(at_land, "groundbreaking", by="lina"))
    with pytest.raises(GuardFailed, match="needs evidence"):  # by its label too
        moves.advance(county, Move(at_land, "开工", by="lina"))
    text_named_jpg = Upload("现场.jpg", "这不是照片".encode())
    with pytest.raises(InvalidInput, match=r"现场\.jpg is not a photo or PDF"):
        moves.advance(county, Move(at_land, "groundbreaking", by="lina", evidence=(PHOTO, text_named_jpg)))
    assert snapshot(county.settings.database_url) == before
    assert stored(county) == []  # a bad file is refused before anything is stored


def test_groundbreaking_with_evidence_passes(county: Runtime, at_land: int) -> None:
    moved = moves.advance(county, Move(at_land, "groundbreaking", by="lina", evidence=(PHOTO, MINUTES)))
    assert moved.stage == "groundbreaking"
    move_line = ledger.history(county, at_land)[-1]
    photo, pdf = rows(county)
    assert photo.event_id == pdf.event_id == move_line.id
    assert (pdf.content_type, pdf.filename) == ("application/pdf", "协调会纪要.pdf")
    with pytest.raises(NotFound):  # a PDF has no thumbnail
        evidence.open_file(county, pdf.id, thumb=True)
    # 暂缓 and back to 开工: a resume returns to a stage already entered and needs no new evidence
    hold = Move(at_land, "on_hold", by="lina", note="资金调整", until=NOW.date().replace(year=NOW.year + 1))
    moves.advance(county, hold)
    assert moves.advance(county, Move(at_land, None, by="lina")).stage == "groundbreaking"
    with pytest.raises(GuardFailed, match=r"投产 \(production\) needs evidence"):
        moves.advance(county, Move(at_land, "production", by="lina"))


def test_a_problem_is_closed_with_its_evidence(county: Runtime, at_land: int) -> None:
    due = NOW.date().replace(year=NOW.year + 1)
    opened = problems.add_problem(
        county, at_land, level="coordination", owner="chengguan", due=due, by="lina", text="用地指标"
    )
    problems.close_problem(county, opened.id, by="wangjun", resolution="指标已落实", evidence=[MINUTES])
    [row] = rows(county)
    assert (row.problem_id, row.event_id) == (opened.id, ledger.history(county, at_land)[-1].id)
    assert row.content_type == "application/pdf"


def test_an_unknown_attachment_is_not_found(county: Runtime) -> None:
    with pytest.raises(NotFound):
        evidence.open_file(county, 12345)


def test_the_cli_takes_evidence_files(any_cli: Cli, tmp_path: Path) -> None:
    SMALL.seed_cli(any_cli)
    now = ("--now", "2026-05-04T10:00")
    who = ("--officer", "lina", "--unit", "chengguan")
    values = ("--investor", "伊禾", "--amount", "5000", "--land", "50")
    any_cli.ok("project", "add", "--name", "乳品加工", *who, "--stage", "land_prep", *values, *now)
    refused = any_cli("advance", "1", "开工", "--by", "lina", *now)
    assert refused.code == 6 and "needs evidence" in refused.err and "--evidence FILE" in refused.err
    photo = tmp_path / "照片.jpeg"
    photo.write_bytes(PHOTO.data)
    any_cli.ok("advance", "1", "开工", "--by", "lina", "--evidence", str(photo), *now)
    not_a_photo = tmp_path / "notes.png"
    not_a_photo.write_text("hello")
    bad = any_cli("log", "1", "跟进", "--by", "lina", "--evidence", str(not_a_photo), *now)
    assert bad.code == 2 and "notes.png is not a photo or PDF" in bad.err
    two = ("--evidence", str(photo), "--evidence", str(DATA / "minutes.pdf"))
    any_cli.ok("log", "1", "跟进", "--by", "lina", *two, *now)
    problem = ("--level", "一般", "--owner", "chengguan", "--due", "2026-06-01")
    any_cli.ok("problem", "add", "1", "水电未通", *problem, "--by", "lina", *now)
    closing = ("--resolution", "已通", "--evidence", str(photo))
    any_cli.ok("problem", "close", "1", "--by", "lina", *closing, *now)
    missing = any_cli("log", "1", "跟进", "--by", "lina", "--evidence", str(tmp_path / "none.jpg"), *now)
    assert missing.code == 2
    rt = Runtime.open(settings_of(any_cli))
    try:
        kinds = [(a.kind, a.filename, a.problem_id) for a in evidence.attachments_of(rt, 1)]
    finally:
        rt.close()
    assert sorted(kinds, key=repr) == sorted(
        [("move", "照片.jpeg", None), ("followup", "照片.jpeg", None), ("followup", "minutes.pdf", None),
         ("problem_closed", "照片.jpeg", 1)],
        key=repr,
    )  # fmt: skip
