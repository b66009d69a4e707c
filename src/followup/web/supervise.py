"""Supervision (督办) on the project page: issue a 督办 notice, add a problem (问题清单), report in a
reporting round (调度).

- ``POST /projects/{id}/notice``: the supervision office or a principal leader issues a numbered
  notice asking the responsible unit for a written reply (``app.notices.issue``; access ``notice``).
- ``POST /projects/{id}/problem``: whoever follows or oversees the project opens a problem with its
  level (一般/协调/重大), owning unit, due date and text (``app.problems.add_problem``; access
  ``problem``).
- ``POST /projects/{id}/report``: while an open round asks for the project and it has not reported,
  the case officer, the unit head, the leader in charge or an overseer enters its report — progress
  this period, problems, next step, funds in place (万元) — (``app.rounds.report``; access ``report``).
  A 调度未报 mail's 填报进展 button lands on ``#report``.

Each is checked on the server (CSRF, then ``access.may`` for the project), then handed to the same use
case the CLI calls, with the signed-in official as ``by`` and ``web`` as who entered it.
"""

from __future__ import annotations

from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from followup.app import access, notices, organisation, problems, round_asks, rounds
from followup.app.access import ProjectFacts, Viewer
from followup.app.runtime import Runtime
from followup.domain.timeutil import parse_day
from followup.errors import InvalidInput
from followup.i18n import _
from followup.web import common

TEMPLATE = "project_supervise.html.j2"


def project_part(rt: Runtime, viewer: Viewer, facts: ProjectFacts) -> dict[str, Any]:
    """What this part adds to the project page's context: which of its forms ``viewer`` gets, and what
    they offer (the problem levels and units, the rounds waiting for the project's report)."""
    project_id = facts.id  # its owners, read once by the project page
    can = {action: access.may(viewer, action, facts) for action in ("notice", "problem", "report")}
    waiting = round_asks.awaiting(rt, project_id) if can["report"] else []
    if not (can["notice"] or can["problem"] or waiting):
        return {}
    return {
        "template": TEMPLATE,
        "can_notice": can["notice"],
        "can_problem": can["problem"],
        "rounds": waiting,
        "levels": problems.PROBLEM_LEVELS,
        "units": organisation.list_units(rt) if can["problem"] else [],
        "reply_days": rt.settings.notice_reply_days,
    }


async def issue_notice(request: Request) -> Response:
    """Issue a 督办 notice on the project (the supervision office, a principal leader)."""
    pid, form, who = await common.posted(request, "notice")
    days = common.whole(common.field(form, "reply_days"), _("number of working days"))
    text = common.field(form, "text")
    await run_in_threadpool(
        notices.issue, common.acting(request), pid, by=who.key, text=text, reply_days=days
    )
    return common.back_to_project(pid, "notice")


async def add_problem(request: Request) -> Response:
    """Open a problem (问题清单) on the project."""
    pid, form, who = await common.posted(request, "problem")
    due_text = common.field(form, "due")
    if not due_text:
        raise InvalidInput(_("give the date the problem is to be solved by"))
    due = parse_day(due_text, what=_("due date"))
    await run_in_threadpool(
        problems.add_problem,
        common.acting(request),
        pid,
        level=common.field(form, "level"),
        owner=common.field(form, "owner"),
        due=due,
        by=who.key,
        text=common.field(form, "text"),
    )
    return common.back_to_project(pid, "problem_added")


async def round_report(request: Request) -> Response:
    """Enter the project's report in an open round (调度)."""
    pid, form, who = await common.posted(request, "report")
    period = common.field(form, "period")
    if not period:
        raise InvalidInput(_("choose the round to report in"))
    await run_in_threadpool(
        rounds.report,
        common.acting(request),
        period,
        pid,
        by=who.key,
        progress=common.field(form, "progress"),
        problems=common.field(form, "problems") or None,
        next_step=common.field(form, "next_step") or None,
        funds=common.field(form, "funds") or None,
    )
    return common.back_to_project(pid, "report")


ROUTES: list[BaseRoute] = [
    Route("/projects/{project_id}/notice", issue_notice, methods=["POST"]),
    Route("/projects/{project_id}/problem", add_problem, methods=["POST"]),
    Route("/projects/{project_id}/report", round_report, methods=["POST"]),
]
