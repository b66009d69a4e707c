"""Evidence (以图为证): the files attached to follow-ups, stage moves and problems' closing, served to
whoever may read their project, and listed on the project page. The uploads themselves arrive with the
project page's forms (``web.project``) and are checked and stored by ``app.evidence``."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from starlette.datastructures import FormData, UploadFile
from starlette.requests import Request
from starlette.responses import FileResponse, Response
from starlette.routing import BaseRoute, Route

from followup.app import access
from followup.app import evidence as files
from followup.app.access import ProjectFacts, Viewer
from followup.app.evidence import Upload
from followup.app.runtime import Runtime
from followup.errors import AccessDenied, NotFound
from followup.web import common

TEMPLATE = "project_evidence.html.j2"
#: the browser may keep a file a while: it never changes (named by its content) but is not public
CACHE = "private, max-age=3600"


def _serve(request: Request, *, thumb: bool) -> Response:
    """The file (or its thumbnail) of the attachment in the path, for someone who may read its project;
    an unknown attachment is as absent as one they may not see (403); a PDF has no thumbnail (404)."""
    common.signed_in(request)
    rt = common.runtime(request)
    try:
        attachment_id = int(request.path_params["attachment_id"])
        found = files.open_file(rt, attachment_id)
    except (ValueError, NotFound):
        raise AccessDenied() from None
    common.allowed(request, "read", found.project_id)
    if thumb:
        found = files.open_file(rt, attachment_id, thumb=True)
    name = found.filename
    if thumb:
        name = name.rsplit(".", 1)[0] + ".thumb.jpg"
    # images open in the page; a PDF is downloaded rather than rendered under this site's origin
    disposition = "inline" if found.content_type.startswith("image/") else "attachment"
    return FileResponse(
        found.path,
        media_type=found.content_type,
        filename=name,
        content_disposition_type=disposition,
        headers={"Cache-Control": CACHE},
    )


def evidence_file(request: Request) -> Response:
    return _serve(request, thumb=False)


def evidence_thumb(request: Request) -> Response:
    return _serve(request, thumb=True)


async def uploads(form: FormData, limit_mb: int) -> tuple[Upload, ...]:
    """The files of a form's ``files`` inputs (an input left empty sends an empty part: skipped); a
    file over the limit is refused before it is read into memory."""
    parts = _files(form.getlist("files"))
    out = []
    try:
        for part in parts:
            if not part.filename and not part.size:
                continue
            if part.size is not None:
                files.check_size(part.filename or "", part.size, limit_mb)
            data = await part.read()
            if data or part.filename:
                out.append(Upload(part.filename or "", data))
    finally:
        for part in parts:
            await part.close()  # the spooled temporary files
    return tuple(out)


def _files(values: Iterable[Any]) -> list[UploadFile]:
    return [v for v in values if isinstance(v, UploadFile)]


def project_part(rt: Runtime, viewer: Viewer, facts: ProjectFacts) -> dict[str, Any]:
    """What this part adds to the project page's context: whether the viewer may upload (they may record
    a follow-up), the stages that need evidence, and the project's attachments (its template lists them)."""
    project_id = facts.id  # its owners, read once by the project page
    required = files.required_stages(rt, project_id)
    return {
        "upload": access.may(viewer, "log", facts),
        "required": list(required),
        "required_labels": list(required.values()),
        "template": TEMPLATE,
        "items": files.attachments_of(rt, project_id),
    }


ROUTES: list[BaseRoute] = [
    Route("/evidence/{attachment_id}", evidence_file, methods=["GET"]),
    Route("/evidence/{attachment_id}/thumb", evidence_thumb, methods=["GET"]),
]
