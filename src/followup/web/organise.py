"""The bureau operator's organisation pages and ledger actions (issue 10: "everything the CLI does"):

- units (``unit add/list/update/deactivate``): ``/units`` lists them with the add form, each with its
  rename form and its deactivation;
- officials (``official add/list/update/deactivate``): ``/officials`` lists them (unit, head, roles, in
  office) with the add form; ``/officials/{key}`` changes one or records that they left office, their
  active projects handed over to a successor (the signed-in operator recorded as who did it);
- on the project page (``project_part``): money in place (``followup funds``), a termination with its
  reason (``followup terminate``) and the voiding of a project entered by mistake (``project void``).

Only officials holding the operator role, fully signed in, reach these (others: 403). Each form is
checked for its CSRF token; a refused input re-renders its form with the one-line reason and what was
typed, and nothing is written. History names the signed-in operator, entered through the web.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from followup.app import funds, ledger, moves, organisation
from followup.app.access import ProjectFacts, Viewer
from followup.app.runtime import Runtime
from followup.app.views import OfficialView
from followup.domain.kinds import HELD_ROLES, Role, UnitKind
from followup.domain.timeutil import parse_instant
from followup.domain.workflow import TERMINATED
from followup.errors import FollowupError, InvalidInput
from followup.i18n import N_, _
from followup.web import common

UNITS = "organise_units.html.j2"
OFFICIALS = "organise_officials.html.j2"
OFFICIAL = "organise_official.html.j2"
PROJECT = "organise_project.html.j2"
#: the operator's block on the project page (台账操作)
TEMPLATE = "project_operate.html.j2"
#: what separates the aliases typed in one field (马县长、张常委)
_ALIASES = re.compile(r"[,，、;；\s]+")


async def _attempt(use_case: Callable[..., Any], *args: Any, **kwargs: Any) -> str | None:
    """Run ``use_case`` in the threadpool: None when done, else the one line of a refused input."""
    try:
        await run_in_threadpool(use_case, *args, **kwargs)
    except FollowupError as exc:
        common.shown_refusal(exc)
        return str(exc)
    return None


def _kinds() -> list[tuple[str, str]]:
    return [(str(k), k.label) for k in UnitKind]


# --------------------------------------------------------------------------- units


def _units_page(request: Request, typed: dict[str, str] | None = None, error: str | None = None) -> Response:
    context = {
        "units": organisation.list_units(common.runtime(request), include_inactive=True),
        "kinds": _kinds(),
        "kind_labels": dict(_kinds()),
        "values": typed or {},
        "error": error,
        "done": request.query_params.get("done") if error is None else None,
    }
    return common.render(request, UNITS, context, status=400 if error else 200)


def units_page(request: Request) -> Response:
    common.operator(request)
    return _units_page(request)


async def unit_add(request: Request) -> Response:
    common.operator(request)
    form = await common.checked_form(request)
    typed = {"form": "add", **{k: common.field(form, k) for k in ("key", "name", "kind")}}
    rt = common.runtime(request)
    refused = await _attempt(organisation.add_unit, rt, typed["key"], typed["name"], typed["kind"])
    if refused:
        return await run_in_threadpool(_units_page, request, typed, refused)
    return RedirectResponse("/units?done=added", status_code=303)


async def unit_edit(request: Request) -> Response:
    common.operator(request)
    form = await common.checked_form(request)
    key = request.path_params["key"]
    typed = {"form": f"unit:{key}", "name": common.field(form, "name"), "kind": common.field(form, "kind")}
    rt = common.runtime(request)
    refused = await _attempt(
        organisation.update_unit, rt, key, name=typed["name"], kind=typed["kind"] or None
    )
    if refused:
        return await run_in_threadpool(_units_page, request, typed, refused)
    return RedirectResponse("/units?done=edited", status_code=303)


async def unit_deactivate(request: Request) -> Response:
    common.operator(request)
    await common.checked_form(request)
    key = request.path_params["key"]
    refused = await _attempt(organisation.update_unit, common.runtime(request), key, active=False)
    if refused:
        return await run_in_threadpool(_units_page, request, {"form": f"unit:{key}"}, refused)
    return RedirectResponse("/units?done=deactivated", status_code=303)


# --------------------------------------------------------------------------- officials


def _choices(rt: Runtime, unit: str = "") -> dict[str, Any]:
    """The forms' options: active units (and the official's own, though deactivated), the roles one
    holds, the active officials (successors)."""
    units = organisation.list_units(rt, include_inactive=True)
    return {
        "units": [u for u in units if u.active or u.key == unit],
        "roles": [(str(r), shown) for r, shown in HELD_ROLES.items()],
        "role_labels": {str(r): r.label for r in Role},
        "successors": organisation.list_officials(rt),
    }


def _official_typed(form: FormData) -> dict[str, Any]:
    """What an official's form says: its text fields stripped, the head box, the roles ticked."""
    typed: dict[str, Any] = {k: common.field(form, k) for k in ("key", "name", "email", "unit", "aliases")}
    typed["head"] = common.field(form, "head") == "1"
    typed["roles"] = sorted({r for r in form.getlist("roles") if isinstance(r, str)})
    typed["allow_duplicate"] = common.field(form, "allow_duplicate") == "1"
    return typed


def _aliases(text: str) -> list[str]:
    return [a for a in _ALIASES.split(text) if a]


def _officials_page(
    request: Request, typed: dict[str, Any] | None = None, error: str | None = None
) -> Response:
    rt = common.runtime(request)
    context = {
        "officials": organisation.list_officials(rt, include_inactive=True),
        "choices": _choices(rt),
        "values": typed or {"roles": []},
        "error": error,
        "done": request.query_params.get("done") if error is None else None,
        "moved": request.query_params.get("moved", ""),
    }
    return common.render(request, OFFICIALS, context, status=400 if error else 200)


def officials_page(request: Request) -> Response:
    common.operator(request)
    return _officials_page(request)


def _add_official(rt: Runtime, typed: dict[str, Any]) -> OfficialView:
    return organisation.add_official(
        rt,
        typed["key"],
        name=typed["name"],
        email=typed["email"],
        unit=typed["unit"],
        head=typed["head"],
        roles=typed["roles"],
        allow_duplicate=typed["allow_duplicate"],
        aliases=_aliases(typed["aliases"]),
    )


async def official_add(request: Request) -> Response:
    common.operator(request)
    form = await common.checked_form(request)
    typed = _official_typed(form)
    refused = await _attempt(_add_official, common.runtime(request), typed)
    if refused:
        return await run_in_threadpool(_officials_page, request, typed, refused)
    return RedirectResponse("/officials?done=added", status_code=303)


def _current(view: OfficialView) -> dict[str, Any]:
    """An official as their edit form shows them."""
    return {
        "key": view.key,
        "name": view.name,
        "email": view.email,
        "unit": view.unit,
        "aliases": "、".join(view.aliases),
        "head": view.head,
        "roles": sorted(view.roles),
        "allow_duplicate": False,
    }


def _official_page(
    request: Request,
    key: str,
    typed: dict[str, Any] | None = None,
    error: str | None = None,
    form: str = "",
    leaving: dict[str, str] | None = None,
) -> Response:
    rt = common.runtime(request)
    view = organisation.get_official(rt, key)  # none such: 404
    context = {
        "o": view,
        "choices": _choices(rt, view.unit),
        "values": typed or _current(view),
        "error": error,
        "form": form,
        "leaving": leaving or {},
        "done": request.query_params.get("done") if error is None else None,
    }
    return common.render(request, OFFICIAL, context, status=400 if error else 200)


def official_page(request: Request) -> Response:
    common.operator(request)
    return _official_page(request, request.path_params["key"])


def _edit_official(rt: Runtime, key: str, typed: dict[str, Any]) -> OfficialView:
    """``official update`` with what differs from what the form showed."""
    shown = _current(organisation.get_official(rt, key))
    changed = {k: v for k, v in typed.items() if k in shown and k != "key" and v != shown[k]}
    changed.pop("allow_duplicate", None)
    if not changed:
        raise InvalidInput(_("nothing to change: the form is as it was"))
    return organisation.update_official(
        rt,
        key,
        name=changed.get("name"),
        email=changed.get("email"),
        unit=changed.get("unit"),
        head=changed.get("head"),
        roles=changed.get("roles"),
        allow_duplicate=typed["allow_duplicate"],
        aliases=_aliases(changed["aliases"]) if "aliases" in changed else None,
    )


async def official_edit(request: Request) -> Response:
    common.operator(request)
    form = await common.checked_form(request)
    key = request.path_params["key"]
    typed = {**_official_typed(form), "key": key}
    refused = await _attempt(_edit_official, common.acting(request), key, typed)
    if refused:
        return await run_in_threadpool(_official_page, request, key, typed, refused, "edit")
    return RedirectResponse(f"/officials/{key}?done=edited", status_code=303)


async def official_deactivate(request: Request) -> Response:
    """Record that an official left office, their active projects handed to the chosen successor."""
    who = common.operator(request)
    form = await common.checked_form(request)
    key = request.path_params["key"]
    successor = common.field(form, "successor") or None
    rt = common.acting(request)
    try:
        _, moved = await run_in_threadpool(
            organisation.deactivate_official, rt, key, reassign_to=successor, by=who.key
        )
    except FollowupError as exc:  # re-rendered: an official that does not exist gets 404 there
        common.shown_refusal(exc)
        typed = {"successor": successor or ""}
        return await run_in_threadpool(_official_page, request, key, None, str(exc), "deactivate", typed)
    return RedirectResponse(f"/officials?done=deactivated&moved={len(moved)}", status_code=303)


# --------------------------------------------------------------------------- on the project page


def project_part(rt: Runtime, viewer: Viewer, facts: ProjectFacts) -> dict[str, Any]:
    """What this part adds to the project page's context (under ``organise``): the operator's forms —
    money in place, terminate, void —; nothing for anyone else or through a mail's link."""
    if not viewer.operator or viewer.scope is not None:
        return {}
    return {"template": TEMPLATE, "ended": TERMINATED, "form": "", "values": {}, "error": None}


def _checked(request: Request) -> tuple[Viewer, int]:
    """The operator and the project they act on (a project that does not exist, or was voided: 403,
    as on the project page)."""
    common.operator(request)
    pid = common.project_id(request)
    return common.allowed(request, "read", pid), pid


def _project_page(
    request: Request, pid: int, form: str, values: dict[str, str], error: str | None, done: str = ""
) -> Response:
    """The operator's block alone, for a refused input (400) or a voided project (no page of its own)."""
    rt = common.runtime(request)
    part = {"template": TEMPLATE, "ended": TERMINATED, "form": form, "values": values, "error": error}
    context = {"p": ledger.get_project(rt, pid), "organise": part, "done": done}
    return common.render(request, PROJECT, context, status=400 if error else 200)


def _record_funds(rt: Runtime, pid: int, who: Viewer, typed: dict[str, str]) -> None:
    """``followup funds`` with what the form says (the day: not in the future)."""
    day = typed["on"]
    on = parse_instant(day, rt.zone, what=N_("the day the money arrived")) if day else None
    if on is not None and on > rt.now():
        raise InvalidInput(_("the day the money arrived, {day}, is in the future").format(day=day))
    funds.record_funds(rt, pid, amount=typed["amount"], on=on, by=who.key, note=typed["note"] or None)


async def record_funds(request: Request) -> Response:
    who, pid = _checked(request)
    form = await common.checked_form(request)
    typed = {k: common.field(form, k) for k in ("amount", "on", "note")}
    refused = await _attempt(_record_funds, common.acting(request), pid, who, typed)
    if refused:
        return await run_in_threadpool(_project_page, request, pid, "funds", typed, refused)
    return RedirectResponse(f"/projects/{pid}?done=funds", status_code=303)


def _terminate(rt: Runtime, pid: int, who: Viewer, reason: str) -> None:
    if not reason:
        raise InvalidInput(_("give the reason the project ends"))
    moves.advance(rt, moves.Move(pid, TERMINATED, by=who.key, note=reason))


async def terminate(request: Request) -> Response:
    who, pid = _checked(request)
    form = await common.checked_form(request)
    typed = {"reason": common.field(form, "reason")}
    refused = await _attempt(_terminate, common.acting(request), pid, who, typed["reason"])
    if refused:
        return await run_in_threadpool(_project_page, request, pid, "terminate", typed, refused)
    return RedirectResponse(f"/projects/{pid}?done=terminated", status_code=303)


def _void(rt: Runtime, pid: int, who: Viewer, typed: dict[str, str]) -> None:
    if typed["confirm"] != "1":
        raise InvalidInput(_("tick the box to confirm that the project was entered by mistake"))
    if not typed["reason"]:
        raise InvalidInput(_("give the reason the project is voided"))
    ledger.void_project(rt, pid, by=who.key, reason=typed["reason"])


async def void(request: Request) -> Response:
    """Void a project entered by mistake: it leaves every page, so the answer is this block's page."""
    who, pid = _checked(request)
    form = await common.checked_form(request)
    typed = {"reason": common.field(form, "reason"), "confirm": common.field(form, "confirm")}
    refused = await _attempt(_void, common.acting(request), pid, who, typed)
    return await run_in_threadpool(
        _project_page, request, pid, "void", typed, refused, "" if refused else "voided"
    )


ROUTES: list[BaseRoute] = [
    Route("/units", units_page, methods=["GET"]),
    Route("/units", unit_add, methods=["POST"]),
    Route("/units/{key}/edit", unit_edit, methods=["POST"]),
    Route("/units/{key}/deactivate", unit_deactivate, methods=["POST"]),
    Route("/officials", officials_page, methods=["GET"]),
    Route("/officials", official_add, methods=["POST"]),
    Route("/officials/{key}", official_page, methods=["GET"]),
    Route("/officials/{key}/edit", official_edit, methods=["POST"]),
    Route("/officials/{key}/deactivate", official_deactivate, methods=["POST"]),
    Route("/projects/{project_id}/funds", record_funds, methods=["POST"]),
    Route("/projects/{project_id}/terminate", terminate, methods=["POST"]),
    Route("/projects/{project_id}/void", void, methods=["POST"]),
]
