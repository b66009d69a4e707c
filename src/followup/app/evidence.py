"""Evidence (以图为证): photos of the site, signed agreements and meeting minutes attached to a follow-up
(跟进记录), a stage move or a problem's closing (销号).

A file is judged by its content, never by its name: JPEG, PNG and WebP images (which Pillow must open,
verify and decode whole, so a truncated photo is refused) and PDF documents, up to
``settings.upload_limit`` MB. Every file is checked before the transaction that records it begins, so a
bad file writes nothing. Files live under ``<data_dir>/evidence/<sha[:2]>/<sha>``, named by the SHA-256
of their content: the same photo uploaded twice is stored once, and a file left behind by a rolled-back
transaction is harmless. Images get a thumbnail ``<sha>.thumb.jpg`` (at most 320 px, turned upright by
its EXIF orientation, EXIF not kept). Each attachment is an ``Attachment`` row written in the same
transaction as the line of history (or the problem) it belongs to.
"""

from __future__ import annotations

import hashlib
import io
import os
import tempfile
import unicodedata
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import NamedTuple

from sqlalchemy import select
from sqlalchemy.orm import Session

from followup.app import records
from followup.app.runtime import Runtime
from followup.app.views import Ref, View
from followup.domain.timeutil import in_zone
from followup.errors import InvalidInput, NotFound
from followup.i18n import _
from followup.store.models import Attachment, Official, Project, ProjectEvent

#: content type → the file name endings it goes by (the first is the one given when the name lacks it)
TYPES = {
    "image/jpeg": (".jpg", ".jpeg"),
    "image/png": (".png",),
    "image/webp": (".webp",),
    "application/pdf": (".pdf",),
}
_ENDINGS = {ending for endings in TYPES.values() for ending in endings}
#: what Pillow must call an image of each type
_PILLOW_FORMATS = {"image/jpeg": "JPEG", "image/png": "PNG", "image/webp": "WEBP"}
THUMB_PX = 320
MAX_FILES = 20
MAX_NAME = 200
DEFAULT_LIMIT_MB = 10


@dataclass(frozen=True)
class Upload:
    """A file as it arrived: the name its sender gave it and its bytes."""

    filename: str
    data: bytes = field(repr=False)


@dataclass(frozen=True)
class Checked:
    """An upload that passed :func:`check`: its sanitised name, its type by content, its digest."""

    filename: str
    content_type: str
    sha256: str
    data: bytes = field(repr=False)

    @property
    def is_image(self) -> bool:
        return self.content_type.startswith("image/")


@dataclass(frozen=True)
class AttachmentView(View):
    """One attachment as the project page lists it."""

    id: int
    project_id: int
    event_id: int | None
    problem_id: int | None
    filename: str
    content_type: str
    size: int
    uploaded_by: Ref | None
    uploaded_at: datetime
    #: the kind of the history line it belongs to (follow-up, move, problem closed), if any
    kind: str | None
    #: the stage the line moved to (for a move)
    to_stage: str | None

    @property
    def is_image(self) -> bool:
        return self.content_type.startswith("image/")


class StoredFile(NamedTuple):
    """Where an attachment's file (or its thumbnail) is, what it is, the name to give it, whose it is."""

    path: Path
    content_type: str
    filename: str
    project_id: int


# --------------------------------------------------------------------------- checking


def sniff(data: bytes) -> str | None:
    """The content type by the file's first bytes (its magic number), or None."""
    if data.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    if data.startswith(b"%PDF-"):
        return "application/pdf"
    return None


def check_size(filename: str, size: int, limit_mb: int = DEFAULT_LIMIT_MB) -> None:
    """Refuse an empty file or one over ``limit_mb`` MB (callers may check the size before reading)."""
    name = shown_name(filename)
    if size <= 0:
        raise InvalidInput(_("{name}: the file is empty").format(name=name))
    if size > limit_mb * 1024 * 1024:
        raise InvalidInput(
            _("{name} is {size:.1f} MB: the largest file accepted is {limit} MB").format(
                name=name, size=size / 1024 / 1024, limit=limit_mb
            )
        )


def check(data: bytes, filename: str, *, limit_mb: int = DEFAULT_LIMIT_MB) -> str:
    """The content type of ``data`` judged by its content, or InvalidInput naming the file: not a JPEG,
    PNG, WebP image or PDF; an image Pillow cannot open, verify and decode whole; empty or too large."""
    check_size(filename, len(data), limit_mb)
    kind = sniff(data)
    if kind is None:
        raise InvalidInput(
            _(
                "{name} is not a photo or PDF: only JPEG, PNG and WebP images and PDF files are accepted"
            ).format(name=shown_name(filename))
        )
    if kind in _PILLOW_FORMATS and not _image_whole(data, _PILLOW_FORMATS[kind]):
        raise InvalidInput(
            _("{name}: the image is damaged or incomplete; upload it again").format(name=shown_name(filename))
        )
    return kind


def _ends_whole(data: bytes, wanted: str) -> bool:
    """Whether the file ends where its format says it does: Pillow alone cannot tell once anything in
    the process (WeasyPrint does, on import) sets ``ImageFile.LOAD_TRUNCATED_IMAGES``."""
    if wanted == "JPEG":
        return data.rstrip(b"\x00\r\n ").endswith(b"\xff\xd9")
    if wanted == "PNG":
        return data.endswith(b"IEND\xaeB`\x82")
    if wanted == "WEBP":
        return len(data) >= 12 and int.from_bytes(data[4:8], "little") + 8 <= len(data)
    return True


def _image_whole(data: bytes, wanted: str) -> bool:
    """Whether Pillow reads ``data`` as a whole image of format ``wanted`` (verify, then a full decode:
    verify alone passes a truncated JPEG)."""
    if not _ends_whole(data, wanted):
        return False
    from PIL import Image  # only when a file is uploaded: `followup advance` without one never loads it

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as probe:
                if probe.format != wanted:
                    return False
                probe.verify()
            with Image.open(io.BytesIO(data)) as image:
                image.load()
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombError):
        return False
    return True


def checked(rt: Runtime, uploads: Sequence[Upload]) -> list[Checked]:
    """Every upload checked (before any transaction): the files to store, or the first refusal."""
    if len(uploads) > MAX_FILES:
        raise InvalidInput(_("at most {most} files at a time").format(most=MAX_FILES))
    out = []
    for upload in uploads:
        kind = check(upload.data, upload.filename, limit_mb=rt.settings.upload_limit)
        out.append(
            Checked(
                filename=sanitised(upload.filename, kind),
                content_type=kind,
                sha256=hashlib.sha256(upload.data).hexdigest(),
                data=upload.data,
            )
        )
    return out


def shown_name(filename: str) -> str:
    """A file's name fit for a one-line message."""
    return sanitised(filename, None) or "?"


def sanitised(filename: str, content_type: str | None) -> str:
    """The name kept for a file: its last path part, without control characters, quotes or leading
    dots, at most 200 characters, ending as its content type does (``照片.pdf`` that is a PNG becomes
    ``照片.png``)."""
    base = filename.replace("\\", "/").rsplit("/", 1)[-1]
    base = "".join(" " if unicodedata.category(ch).startswith(("C", "Z")) else ch for ch in base)
    base = " ".join(base.replace('"', "").replace(";", " ").split()).lstrip(".")
    if content_type is None:
        return base[:MAX_NAME]
    stem, dot, tail = base.rpartition(".")
    ending = f".{tail.lower()}"
    if not (dot and stem and ending in _ENDINGS):  # no ending we know: the whole name is the stem
        stem = base
    if ending not in TYPES[content_type]:
        ending = TYPES[content_type][0]
    stem = stem or "evidence"
    return stem[: MAX_NAME - len(ending)] + ending


# --------------------------------------------------------------------------- storing


def root(rt: Runtime) -> Path:
    return rt.settings.data_dir / "evidence"


def file_path(rt: Runtime, sha256: str, *, thumb: bool = False) -> Path:
    return root(rt) / sha256[:2] / (f"{sha256}.thumb.jpg" if thumb else sha256)


def store(rt: Runtime, item: Checked) -> Path:
    """Write the file (and an image's thumbnail) under its digest, once: temp file and rename, so a
    reader never sees half a file. Done before the commit: a file whose row was rolled back is harmless."""
    path = file_path(rt, item.sha256)
    if not path.exists():
        _write_atomically(path, item.data)
    thumb = file_path(rt, item.sha256, thumb=True)
    if item.is_image and not thumb.exists():
        _write_atomically(thumb, thumbnail(item.data))
    return path


def thumbnail(data: bytes) -> bytes:
    """A JPEG at most 320 px wide and high, upright by its EXIF orientation, without EXIF."""
    from PIL import Image, ImageOps

    with Image.open(io.BytesIO(data)) as opened:
        image = ImageOps.exif_transpose(opened)
        image.thumbnail((THUMB_PX, THUMB_PX))
        if image.mode != "RGB":
            flat = Image.new("RGB", image.size, "white")
            rgba = image.convert("RGBA")
            flat.paste(rgba, mask=rgba.getchannel("A"))
            image = flat
        out = io.BytesIO()
        image.save(out, "JPEG", quality=80)  # no exif= given: none is written
        return out.getvalue()


def _write_atomically(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, temp = tempfile.mkstemp(dir=path.parent, prefix=".upload-")
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        os.replace(temp, path)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise


def attach(
    rt: Runtime,
    session: Session,
    items: Sequence[Checked],
    *,
    project_id: int,
    by: Official | None,
    now: datetime,
    event_id: int | None = None,
    problem_id: int | None = None,
) -> None:
    """Store the files and add their rows, inside the caller's transaction (after its history line was
    flushed, so that ``event_id`` is known)."""
    for item in items:
        store(rt, item)
        session.add(
            Attachment(
                project_id=project_id,
                event_id=event_id,
                problem_id=problem_id,
                sha256=item.sha256,
                filename=item.filename,
                content_type=item.content_type,
                size=len(item.data),
                uploaded_by_id=by.id if by else None,
                uploaded_at=now,
            )
        )


# --------------------------------------------------------------------------- reading


def attachments_of(rt: Runtime, project_id: int) -> list[AttachmentView]:
    """A project's attachments, newest first, with the kind of history line each belongs to."""
    with rt.store.reading() as session:
        rows = session.execute(
            select(Attachment, ProjectEvent.kind, ProjectEvent.to_stage, Official)
            .outerjoin(ProjectEvent, ProjectEvent.id == Attachment.event_id)
            .outerjoin(Official, Official.id == Attachment.uploaded_by_id)
            .where(Attachment.project_id == project_id)
            .order_by(Attachment.uploaded_at.desc(), Attachment.id.desc())
        ).all()
        return [
            AttachmentView(
                id=a.id,
                project_id=a.project_id,
                event_id=a.event_id,
                problem_id=a.problem_id,
                filename=a.filename,
                content_type=a.content_type,
                size=a.size,
                uploaded_by=records.ref(who),
                uploaded_at=in_zone(a.uploaded_at, rt.zone),
                kind=kind,
                to_stage=to_stage,
            )
            for a, kind, to_stage, who in rows
        ]


def open_file(rt: Runtime, attachment_id: int, *, thumb: bool = False) -> StoredFile:
    """Where attachment ``attachment_id``'s file (or its thumbnail: images only) is; NotFound when there
    is no such attachment, no thumbnail, or the file is missing from the data directory."""
    with rt.store.reading() as session:
        row = session.get(Attachment, attachment_id)
        if row is None:
            raise NotFound(_("unknown attachment {id}").format(id=attachment_id))
        found = StoredFile(
            file_path(rt, row.sha256, thumb=thumb),
            "image/jpeg" if thumb else row.content_type,
            row.filename,
            row.project_id,
        )
    if (thumb and not row.content_type.startswith("image/")) or not found.path.is_file():
        raise NotFound(_("the file of attachment {id} is not there").format(id=attachment_id))
    return found


def required_stages(rt: Runtime, project_id: int) -> dict[str, str]:
    """The stages of the project's workflow that require evidence to be entered, key → label (none when
    its workflow does not load)."""
    with rt.store.reading() as session:
        name = session.scalar(select(Project.workflow).where(Project.id == project_id))
    if name is None or rt.workflows.problem(name) is not None:
        return {}
    stages = rt.workflows.get(name).stages.values()
    return {stage.key: stage.label for stage in stages if stage.requires_evidence}


def uploads_from(paths: Sequence[Path]) -> tuple[Upload, ...]:
    """Files named on the command line (``--evidence FILE``) as uploads, named as they are on disk."""
    return tuple(Upload(path.name, path.read_bytes()) for path in paths)
