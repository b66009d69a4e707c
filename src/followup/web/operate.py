"""The bureau operator's pages: what the CLI does, on the web (issue 10) — enter a project (``project
add``), change one (``project edit``), and import a ledger (``followup import``): first a dry run that
shows what would be created and changed, the first sweep's forecast and the bad cells, then, on
confirmation, the same file imported for real (all or nothing, as the use case does).

Only officials holding the operator role reach these pages (others: 403). A refused input re-renders
its form with the one-line reason and what was typed; nothing is written. An uploaded ledger is kept
under the data directory by its SHA-256 for an hour (:data:`KEEP_SECONDS`): the confirmation carries
the hash, never a path, and the file is deleted once imported.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import time
from decimal import Decimal
from pathlib import Path
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData, UploadFile
from starlette.requests import Request
from starlette.responses import FileResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from followup.app import ledger, ledgerbook, ledgerio, organisation
from followup.app.access import Viewer
from followup.app.runtime import Runtime
from followup.app.views import ProjectView
from followup.domain.fields import PROJECT_FIELDS
from followup.domain.kinds import Role
from followup.domain.timeutil import parse_instant
from followup.errors import (
    AccessDenied,
    FollowupError,
    InvalidInput,
    UnknownProject,
)
from followup.i18n import N_, _
from followup.web import common
from followup.web.common import acting, project_id

FORM = "operate_project.html.j2"
IMPORT = "operate_import.html.j2"
#: how long an uploaded ledger waits for its confirmation (seconds)
KEEP_SECONDS = 3600
#: the largest ledger file taken (MB): a county's ledger of thousands of lines is a few MB
IMPORT_LIMIT_MB = 50
_SHA = re.compile(r"[0-9a-f]{64}")
_CHUNK = 1 << 20
#: the form's fields beside the ledger's (add: stage, since, last follow-up; edit: stage, note)
_PROJECT_KEYS = ("name", "officer", "unit", "workflow")


# --------------------------------------------------------------------------- the project form


def _plain(value: Any) -> str:
    """A stored value as the form shows it (and takes it back unchanged)."""
    if value is None:
        return ""
    if isinstance(value, Decimal):
        return f"{value.normalize():f}"
    if hasattr(value, "isoformat"):
        return str(value.isoformat())
    return str(value)


def _choices(rt: Runtime, current: dict[str, str]) -> dict[str, Any]:
    """The selects' options: active officials, units and leaders (and the project's own, though
    deactivated), the workflows, the default workflow's stages; each (key, what is shown)."""
    officials = organisation.list_officials(rt, include_inactive=True)
    units = organisation.list_units(rt, include_inactive=True)
    keep = set(current.values())
    workflow = rt.workflows.get(rt.settings.default_workflow)
    return {
        "officials": [(o.key, f"{o.name}（{o.unit_name}）") for o in officials if o.active or o.key in keep],
        "units": [(u.key, u.name) for u in units if u.active or u.key in keep],
        "leaders": [
            (o.key, o.name) for o in officials if Role.LEADER in o.roles and (o.active or o.key in keep)
        ],
        "workflows": rt.workflows.names(),
        "default_workflow": rt.settings.default_workflow,
        "stages": [(key, workflow.label_of(key)) for key in workflow.stages],
    }


def _fields() -> list[dict[str, str]]:
    return [{"key": k, "label": s.label, "kind": s.kind, "hint": s.short} for k, s in PROJECT_FIELDS.items()]


def _typed(form: FormData, extra: tuple[str, ...]) -> dict[str, str]:
    """What the form says, by field name (stripped; '' when left empty); a field the form does not
    send at all is left out (an edit then leaves it as it is)."""
    names = (*_PROJECT_KEYS, *extra, *PROJECT_FIELDS)
    return {name: common.field(form, name) for name in names if name in form}


def _form_page(
    request: Request,
    values: dict[str, str],
    *,
    project: ProjectView | None = None,
    error: str | None = None,
    status: int = 200,
) -> Response:
    rt = common.runtime(request)
    context = {
        "values": values,
        "project": project,
        "error": error,
        "fields": _fields(),
        "choices": _choices(rt, {k: values.get(k, "") for k in ("officer", "unit", "leader")}),
    }
    return common.render(request, FORM, context, status=status)


def add_form(request: Request) -> Response:
    common.operator(request)
    return _form_page(request, {"workflow": common.runtime(request).settings.default_workflow})


def _add(rt: Runtime, who: Viewer, typed: dict[str, str], allow_duplicate: bool) -> ProjectView:
    """``project add`` with what the form says."""
    given = {k: v for k, v in typed.items() if v}
    values: dict[str, str | None] = {k: v for k, v in given.items() if k in PROJECT_FIELDS}
    data = ledger.ProjectInput(
        name=given.get("name"),
        officer=given.get("officer"),
        unit=given.get("unit"),
        workflow=given.get("workflow"),
        values=values,
    )
    since = given.get("since")
    last = given.get("last_followup")
    return ledger.add_project(
        rt,
        data,
        stage=given.get("stage"),
        since=parse_instant(since, rt.zone, what=N_("stage reached on")) if since else None,
        by=who.key,
        last_followup=parse_instant(last, rt.zone, what=N_("last follow-up")) if last else None,
        allow_duplicate=allow_duplicate,
    )


async def add_post(request: Request) -> Response:
    who = common.operator(request)
    form = await common.checked_form(request)
    typed = _typed(form, ("stage", "since", "last_followup"))
    allow = common.field(form, "allow_duplicate") == "1"
    try:
        view = await run_in_threadpool(_add, acting(request), who, typed, allow)
    except FollowupError as exc:
        common.shown_refusal(exc, UnknownProject)
        return _form_page(request, typed, error=str(exc), status=400)
    return RedirectResponse(f"/projects/{view.id}?done=added", status_code=303)


def _current(view: ProjectView) -> dict[str, str]:
    """A project's values as its edit form shows them."""
    found = {"name": view.name, "officer": view.officer.key, "unit": view.unit.key}
    found["workflow"] = view.workflow
    found.update({k: _plain(v) for k, v in view.ledger_fields().items()})
    return found


def edit_form(request: Request) -> Response:
    common.operator(request)
    view = ledger.get_project(common.runtime(request), project_id(request))
    return _form_page(request, _current(view), project=view)


def _edit(rt: Runtime, pid: int, who: Viewer, typed: dict[str, str], note: str, allow: bool) -> ProjectView:
    """``project edit`` with what differs from what the form showed (a field left as it was is not
    given; a field emptied is cleared)."""
    shown = _current(ledger.get_project(rt, pid))
    changed = {k: v for k, v in typed.items() if k in shown and v != shown[k]}
    values: dict[str, str | None] = {k: v for k, v in changed.items() if k in PROJECT_FIELDS}
    data = ledger.ProjectInput(
        name=changed.get("name"),
        officer=changed.get("officer"),
        unit=changed.get("unit"),
        workflow=changed.get("workflow"),
        values=values,
        stage=typed.get("stage") or None,
    )
    return ledger.edit_project(rt, pid, data, by=who.key, note=note or None, allow_duplicate=allow)


async def edit_post(request: Request) -> Response:
    pid = project_id(request)
    who = common.operator(request)
    form = await common.checked_form(request)
    typed = _typed(form, ("stage",))
    note, allow = common.field(form, "note"), common.field(form, "allow_duplicate") == "1"
    try:
        await run_in_threadpool(_edit, acting(request), pid, who, typed, note, allow)
    except FollowupError as exc:
        common.shown_refusal(exc, UnknownProject)
        view = await run_in_threadpool(ledger.get_project, common.runtime(request), pid)
        return _form_page(request, {**typed, "note": note}, project=view, error=str(exc), status=400)
    return RedirectResponse(f"/projects/{pid}?done=edited", status_code=303)


# --------------------------------------------------------------------------- the ledger import


def _imports(rt: Runtime) -> Path:
    """Where uploaded ledgers wait for their confirmation: one folder per SHA-256."""
    return rt.settings.data_dir / "imports"


def _forget_old(root: Path) -> None:
    """Remove the uploads older than :data:`KEEP_SECONDS` (and half-written ones as old)."""
    if not root.is_dir():
        return
    limit = time.time() - KEEP_SECONDS
    for entry in root.iterdir():
        try:
            if entry.stat().st_mtime >= limit:
                continue
            if entry.is_dir():
                shutil.rmtree(entry)
            else:
                entry.unlink()
        except OSError:
            continue  # another worker removed it first


def _safe_name(filename: str) -> str:
    """The upload's own name, as the history's note gives it (导入 台账.xlsx): no folder, nothing but
    letters, digits and ``. - _ ( )``; an .xlsx or .csv (else refused, naming the file only)."""
    name = re.sub(r"[^\w.\-()（）]+", "_", filename.replace("\\", "/").rsplit("/", 1)[-1]).strip("._")[:120]
    if not name:
        raise InvalidInput(_("choose the ledger file to import (.xlsx or .csv)"))
    ledgerbook.kind_of(Path(name))
    return name


async def _store_upload(rt: Runtime, part: UploadFile) -> str:
    """Write the upload under the data directory, keyed by its SHA-256 (returned); refused when over
    :data:`IMPORT_LIMIT_MB` or not a ledger's kind of file."""
    name = _safe_name(part.filename or "")
    root = _imports(rt)
    root.mkdir(parents=True, exist_ok=True)
    _forget_old(root)
    digest, size = hashlib.sha256(), 0
    partial = root / f".{os.getpid()}-{time.monotonic_ns()}.part"
    try:
        with partial.open("wb") as out:
            while chunk := await part.read(_CHUNK):
                size += len(chunk)
                if size > IMPORT_LIMIT_MB << 20:
                    raise InvalidInput(
                        _("{name} is larger than {limit} MB").format(name=name, limit=IMPORT_LIMIT_MB)
                    )
                digest.update(chunk)
                out.write(chunk)
        if size == 0:
            raise InvalidInput(_("{name} is empty").format(name=name))
        sha = digest.hexdigest()
        folder = root / sha
        shutil.rmtree(folder, ignore_errors=True)
        (folder / "file").mkdir(parents=True)
        partial.replace(folder / "file" / name)
        return sha
    finally:
        partial.unlink(missing_ok=True)
        await part.close()


def _kept(rt: Runtime, sha: str) -> Path:
    """The kept upload of hash ``sha``, if it is still there and not older than an hour."""
    folder = _imports(rt) / sha
    found = sorted((folder / "file").glob("*")) if _SHA.fullmatch(sha) else []
    if not found or found[0].stat().st_mtime < time.time() - KEEP_SECONDS:
        raise InvalidInput(_("the uploaded ledger is no longer kept (after an hour): upload it again"))
    return found[0]


def _run_import(rt: Runtime, who: Viewer, sha: str, dry_run: bool) -> dict[str, Any]:
    """The import (or its dry run) of the kept upload ``sha``: the page's context. With bad cells the
    marked copy is written beside it (for its download); imported, the upload is deleted."""
    path = _kept(rt, sha)
    try:
        result, book, marks = ledgerio.import_ledger(rt, path, by=who.key, dry_run=dry_run)
    except InvalidInput as exc:  # not a workbook, no header: said without the data directory's path
        raise InvalidInput(str(exc).replace(str(path), path.name)) from None
    if result.problems:
        lines = [[p.sheet, str(p.row), p.column, p.header, p.value, p.problem] for p in result.problems]
        ledgerbook.write_report(book, marks, lines, path.parent.parent / "report.xlsx")
    elif not dry_run:
        shutil.rmtree(path.parent.parent, ignore_errors=True)
    return {"result": result, "sha": sha, "name": path.name, "describe": ledgerio.describe, "Role": Role}


def _import_page(request: Request, context: dict[str, Any], status: int = 200) -> Response:
    return common.render(request, IMPORT, {"result": None, "error": None, **context}, status=status)


def import_form(request: Request) -> Response:
    common.operator(request)
    return _import_page(request, {})


async def import_post(request: Request) -> Response:
    """The upload: kept by its hash, then a dry run (nothing written)."""
    who = common.operator(request)
    rt = acting(request)
    try:
        form = await common.checked_form(request)
        part = form.get("file")
        if not isinstance(part, UploadFile) or not part.filename:
            raise InvalidInput(_("choose the ledger file to import (.xlsx or .csv)"))
        sha = await _store_upload(rt, part)
        context = await run_in_threadpool(_run_import, rt, who, sha, True)
    except FollowupError as exc:
        common.shown_refusal(exc, UnknownProject)
        return _import_page(request, {"error": str(exc)}, status=400)
    finally:
        await request.close()  # the spooled upload, also when the form is refused
    return _import_page(request, context)


async def import_confirm(request: Request) -> Response:
    """The confirmation: the kept upload of the posted hash imported for real."""
    who = common.operator(request)
    form = await common.checked_form(request)
    try:
        context = await run_in_threadpool(_run_import, acting(request), who, common.field(form, "sha"), False)
    except FollowupError as exc:
        common.shown_refusal(exc, UnknownProject)
        return _import_page(request, {"error": str(exc)}, status=400)
    return _import_page(request, context)


def import_report(request: Request) -> Response:
    """The marked copy of a refused ledger (its bad cells red, each with why; a sheet listing them)."""
    common.operator(request)
    sha = request.path_params["sha"]
    found = _imports(common.runtime(request)) / sha / "report.xlsx" if _SHA.fullmatch(sha) else None
    if found is None or not found.is_file():
        raise AccessDenied()
    return FileResponse(
        found,
        media_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        filename=f"ledger-errors-{sha[:8]}.xlsx",
    )


ROUTES: list[BaseRoute] = [
    Route("/projects/new", add_form, methods=["GET"]),
    Route("/projects/new", add_post, methods=["POST"]),
    Route("/projects/{project_id}/edit", edit_form, methods=["GET"]),
    Route("/projects/{project_id}/edit", edit_post, methods=["POST"]),
    Route("/import", import_form, methods=["GET"]),
    Route("/import", import_post, methods=["POST"]),
    Route("/import/confirm", import_confirm, methods=["POST"]),
    Route("/import/{sha}/report.xlsx", import_report, methods=["GET"]),
]
