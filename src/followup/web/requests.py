"""Extension and hold requests (申请延期, 申请暂缓) and their approval (审批) on the project page.

- ``POST /projects/{id}/request``: the case officer, the unit's head (or the leader in charge) asks for
  an extension (days, or a new deadline) or a hold (the expected restart date), with a reason; with
  ``direct`` an official who may approve extends the deadline at once instead (``moves.extend``).
- ``POST /requests/{id}/decide``: the leader in charge, the supervision office or a principal leader
  approves or rejects a pending request, with an optional note.

Each is checked on the server (CSRF, then ``access.may`` for the project), then handed to the use cases
of ``app.requests`` — which check the approver again by the workflow's rule (``moves.may_approve``).
A mail's 申请延期 button lands on ``#extend``, the request mail's 审批 button on ``#approve``.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from followup.app import access, moves
from followup.app import requests as app_requests
from followup.app.access import ProjectFacts, Viewer
from followup.app.runtime import Runtime
from followup.domain.timeutil import parse_day
from followup.errors import AccessDenied, InvalidInput, NotFound
from followup.i18n import _
from followup.web import common

TEMPLATE = "project_requests.html.j2"


def project_part(rt: Runtime, viewer: Viewer, facts: ProjectFacts) -> dict[str, Any]:
    """What this part adds to the project page's context: the requests, pending and decided, and which
    forms ``viewer`` gets (ask, extend directly, decide)."""
    project_id = facts.id  # its owners, read once by the project page
    found = app_requests.requests_of(rt, project_id)
    can_approve = access.may(viewer, "approve", facts) and moves.may_approve(
        facts.leader_id, viewer.id, viewer.roles
    )
    return {
        "template": TEMPLATE,
        "pending": [r for r in found if r.status == app_requests.PENDING],
        "decided": [r for r in found if r.status != app_requests.PENDING],
        "can_request": access.may(viewer, "request", facts),
        "can_approve": can_approve,
        **app_requests.forms(rt, project_id),
    }


def _project_id(request: Request, name: str) -> int:
    try:
        return int(request.path_params[name])
    except ValueError:
        raise AccessDenied() from None


def _day(text: str) -> date | None:
    return parse_day(text, what=_("date")) if text else None


async def ask(request: Request) -> Response:
    """Ask for an extension or a hold; or, for an approver with ``direct``, extend at once."""
    pid = _project_id(request, "project_id")
    form = await common.checked_form(request)
    direct = bool(common.field(form, "direct"))
    who = common.allowed(request, "approve" if direct else "request", pid)
    kind = common.field(form, "kind") or app_requests.EXTENSION
    reason = common.field(form, "reason")
    days, until = (
        common.whole(common.field(form, "days"), _("number of days")),
        _day(common.field(form, "until")),
    )
    rt = common.acting(request)
    if direct:
        if kind != app_requests.EXTENSION:
            raise InvalidInput(_("only an extension can be made directly"))
        await run_in_threadpool(moves.extend, rt, pid, by=who.key, reason=reason, days=days, until=until)
        return RedirectResponse(f"/projects/{pid}?done=extend", status_code=303)
    await run_in_threadpool(
        app_requests.ask, rt, pid, by=who.key, kind=kind, reason=reason, days=days, until=until
    )
    return RedirectResponse(f"/projects/{pid}?done=request", status_code=303)


async def decide(request: Request) -> Response:
    """Approve or reject a pending request of a project the signed-in official may approve for."""
    request_id = _project_id(request, "request_id")
    form = await common.checked_form(request)
    rt = common.acting(request)
    try:
        pid = await run_in_threadpool(app_requests.request_project, rt, request_id)
    except NotFound:
        raise AccessDenied() from None  # as absent as a request of someone else's project
    who = common.allowed(request, "approve", pid)
    decision = common.field(form, "decision")
    if decision not in ("approve", "reject"):
        raise InvalidInput(_("choose to approve or to reject the request"))
    note = common.field(form, "note") or None
    await run_in_threadpool(
        app_requests.decide, rt, request_id, by=who.key, approve=decision == "approve", note=note
    )
    return RedirectResponse(f"/projects/{pid}?done=decision", status_code=303)


ROUTES: list[BaseRoute] = [
    Route("/projects/{project_id}/request", ask, methods=["POST"]),
    Route("/requests/{request_id}/decide", decide, methods=["POST"]),
]
