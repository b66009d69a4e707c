"""The project page (项目详情) and the forms on it: record a follow-up (记录进展), move a stage with
the fields it requires, reply to a 督办 notice (回复督办), close a problem (销号). Each form is checked
on the server against the signed-in official's rights, then handed to the same use case the CLI
calls, with the official as ``--by`` and ``web`` as who entered it."""

from __future__ import annotations

from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from followup.app import access, ledger, moves, notices, problems
from followup.app.runtime import Runtime
from followup.domain.fields import PROJECT_FIELDS
from followup.domain.kinds import EventKind
from followup.domain.workflow import ON_HOLD, TERMINATED
from followup.errors import AccessDenied, InvalidInput
from followup.i18n import _
from followup.web import common
from followup.web import evidence as web_evidence
from followup.web import organise as web_organise
from followup.web import requests as web_requests
from followup.web import supervise as web_supervise
from followup.web.common import acting, project_id


def _moves(rt: Runtime, view: Any) -> list[dict[str, Any]]:
    """The stages the project may move to, each with the fields it requires (for the form)."""
    workflow = rt.workflows.get(view.workflow) if view.problem is None else None
    if workflow is None:
        return []
    found = []
    for target in workflow.allowed_from(view.stage, view.held_stage):
        if target in (ON_HOLD, TERMINATED):
            continue  # a hold is asked for and approved; an ending is the bureau's (CLI)
        stage = workflow.stages.get(target)
        needs = [
            {"key": key, "label": PROJECT_FIELDS[key].label, "kind": PROJECT_FIELDS[key].kind}
            for key in (stage.requires if stage else ())
            if key in PROJECT_FIELDS and getattr(view, key, None) is None
        ]
        found.append({"key": target, "label": workflow.label_of(target), "needs": needs})
    return found


def project_page(request: Request) -> Response:
    pid = project_id(request)
    who, facts = common.allowed_with_facts(request, "read", pid)
    rt = common.runtime(request)
    detail = ledger.show_project(rt, pid)
    rights = {
        action: access.may(who, action, facts)
        for action in ("log", "move", "request", "reply", "close_problem", "approve")
    }
    context = {
        "detail": detail,
        "p": detail.project,
        "history": list(reversed(ledger.history(rt, pid))),
        "moves": _moves(rt, detail.project) if rights["move"] else [],
        "rights": rights,
        "EventKind": EventKind,
        "done": request.query_params.get("done"),
        # what the requests (申请/审批) and the evidence (以图为证) add to the page
        "requests": web_requests.project_part(rt, who, facts),
        "evidence": web_evidence.project_part(rt, who, facts),
        "supervise": web_supervise.project_part(rt, who, facts),
        "organise": web_organise.project_part(rt, who, facts),
    }
    return common.render(request, "project.html.j2", context)


async def record_log(request: Request) -> Response:
    pid, form, who = await common.posted(request, "log")
    text = common.field(form, "text")
    rt = acting(request)
    files = await web_evidence.uploads(form, rt.settings.upload_limit)
    await run_in_threadpool(moves.log, rt, pid, by=who.key, text=text, evidence=files)
    return common.back_to_project(pid, "log")


async def move_stage(request: Request) -> Response:
    pid, form, who = await common.posted(request, "move")
    target = common.field(form, "target")
    if not target:
        raise InvalidInput(_("choose the stage to move to"))
    values = {
        key: common.field(form, f"field_{key}")
        for key in PROJECT_FIELDS
        if common.field(form, f"field_{key}")
    }
    rt = acting(request)
    files = await web_evidence.uploads(form, rt.settings.upload_limit)
    note = common.field(form, "note") or None
    move = moves.Move(pid, target, by=who.key, note=note, values=values, evidence=files)
    await run_in_threadpool(moves.advance, rt, move)
    return common.back_to_project(pid, "move")


async def reply_notice(request: Request) -> Response:
    pid, form, who = await common.posted(request, "reply")
    number = common.field(form, "notice")
    rt = acting(request)
    found = [n for n in await run_in_threadpool(notices.project_notices, rt, pid) if str(n.id) == number]
    if not found:
        raise AccessDenied()
    await run_in_threadpool(notices.reply, rt, found[0].number, by=who.key, text=common.field(form, "text"))
    return common.back_to_project(pid, "reply")


async def close_problem(request: Request) -> Response:
    pid, form, who = await common.posted(request, "close_problem")
    rt = acting(request)
    problem = common.field(form, "problem")
    if not any(str(p.id) == problem for p in await run_in_threadpool(problems.open_problems, rt, pid)):
        raise AccessDenied()
    files = await web_evidence.uploads(form, rt.settings.upload_limit)
    resolution = common.field(form, "resolution")
    await run_in_threadpool(
        problems.close_problem, rt, int(problem), by=who.key, resolution=resolution, evidence=files
    )
    return common.back_to_project(pid, "problem")


ROUTES: list[BaseRoute] = [
    Route("/projects/{project_id}", project_page, methods=["GET"]),
    Route("/projects/{project_id}/log", record_log, methods=["POST"]),
    Route("/projects/{project_id}/move", move_stage, methods=["POST"]),
    Route("/projects/{project_id}/reply", reply_notice, methods=["POST"]),
    Route("/projects/{project_id}/close-problem", close_problem, methods=["POST"]),
]
