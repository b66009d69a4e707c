"""The leaders' pages: the figures (指标, ``followup report``), the industry-chain map (产业链,
``followup chains``), the monthly bulletins (月通报, ``followup bulletin``) and the reporting rounds
(调度, ``followup round``) — for every fully signed-in official to read; a round opened and closed by the
bureau's operators and the supervision office.

- ``GET /report?as_of=&cohort=&by=``: the figures as of a day (``app.report.build_report``, the CLI's
  use case), each with its definition beside it; ``/report.xlsx`` and ``/report.html`` give the same
  report as the CLI's files (attachments: the standalone page keeps its inline styles, which the
  site's Content-Security-Policy would block on a page of the site).
- ``GET /chains?as_of=``: per chain and link, the projects by stage; the empty links (招商缺口) marked.
- ``GET /bulletins``: the months with a bulletin (``app.bulletin_months``) and
  ``/bulletins/2026-10.pdf|.xlsx|.html`` made by ``app.bulletin_files`` (seconds: WeasyPrint).
- ``GET /rounds``: every round with its 填报率 by unit (``app.rounds``); ``POST /rounds/open`` and
  ``POST /rounds/{period}/close`` for operators and the supervision office (else 403).

A mail link's session (one project) is sent to sign in; nothing here touches the database itself.
"""

from __future__ import annotations

import re
import tempfile
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from followup.app import bulletin, bulletin_files, organisation, report, report_files, rounds
from followup.app.access import Viewer
from followup.app.bulletin_months import bulletin_months
from followup.app.report import Figure, ReportView
from followup.app.report_chains import chains_report
from followup.domain.kinds import Light, Role
from followup.domain.timeutil import local_day, parse_day
from followup.errors import AccessDenied, InvalidInput, NotFound
from followup.i18n import _
from followup.web import common
from followup.web.common import acting
from followup.web.pages import XLSX, width

#: who may open and close a reporting round
ROUND_KEEPERS = frozenset({Role.OPERATOR, Role.SUPERVISION})
_FILE = re.compile(r"([0-9]{4}-[0-9]{2})\.(pdf|xlsx|html)")
_HTML = "text/html; charset=utf-8"


def attachment(content: bytes, media_type: str, ascii_name: str, name: str) -> Response:
    """A download: ``name`` (may be Chinese) with an ASCII fallback for old browsers."""
    disposition = f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(name)}"
    return Response(content, media_type=media_type, headers={"Content-Disposition": disposition})


# --------------------------------------------------------------------------- the figures


def _choice(request: Request) -> dict[str, str]:
    """What the form asked for (as typed, stripped, bounded)."""
    params = request.query_params
    return {name: (params.get(name) or "").strip()[:40] for name in ("as_of", "cohort", "by")}


def _asked(chosen: dict[str, str]) -> dict[str, Any]:
    """The report's arguments from the form's fields; InvalidInput on a bad one."""
    cohort: int | None = None
    if chosen["cohort"]:
        try:
            cohort = int(chosen["cohort"])
        except ValueError:
            cohort = 0
        if not 1900 <= cohort <= 2200:
            raise InvalidInput(
                _("bad cohort year {value!r}: expected a year such as 2026").format(value=chosen["cohort"])
            )
    by = chosen["by"] or None
    if by is not None and by not in report.GROUPINGS:
        raise InvalidInput(
            _("bad grouping {by!r}; allowed: {allowed}").format(by=by, allowed=", ".join(report.GROUPINGS))
        )
    as_of = parse_day(chosen["as_of"], what=_("as-of date")) if chosen["as_of"] else None
    return {"as_of": as_of, "cohort": cohort, "by": by}


def _number(value: Decimal | int) -> str:
    return common.money(value) if isinstance(value, Decimal) else str(value)


def _rows(figures: list[Figure]) -> list[dict[str, str]]:
    return [
        {
            "key": f.key,
            "label": f.label,
            "percent": f.percent,
            "fraction": f"{_number(f.numerator)} / {_number(f.denominator)}",
            "definition": f.definition,
        }
        for f in figures
    ]


def _report_context(view: ReportView) -> dict[str, Any]:
    """What the page shows of a report: its figures as rows, the funnel as bars, the lights by unit."""
    most = max((n for _k, _label, n in view.funnel), default=0)
    return {
        "view": view,
        "figures": _rows(view.figures),
        "indicators": _rows(view.indicators),
        "groups": [(g.name, g.key, _rows(g.figures)) for g in view.groups],
        "times": [
            (t.label, t.n, report_files.days(t.median), report_files.days(t.p90)) for t in view.stage_times
        ],
        "funnel": [(label, n, width(n, most)) for _k, label, n in view.funnel],
        "light_names": [light.label for light in Light],
        "lights": [(u.name, [getattr(u, light) for light in Light]) for u in view.lights],
    }


def report_page(request: Request) -> Response:
    common.full_sign_in(request)
    rt = common.runtime(request)
    chosen = _choice(request)
    context: dict[str, Any] = {"chosen": chosen, "groupings": report.GROUPINGS, "error": None, "r": None}
    try:
        view = report.build_report(rt, **_asked(chosen))
    except InvalidInput as exc:
        context["error"] = str(exc)
        return common.render(request, "reports_report.html.j2", context, status=400)
    query = urlencode({k: v for k, v in chosen.items() if v})
    context.update(r=_report_context(view), query=f"?{query}" if query else "")
    return common.render(request, "reports_report.html.j2", context)


def _report_file(request: Request) -> ReportView:
    common.full_sign_in(request)
    return report.build_report(common.runtime(request), **_asked(_choice(request)))


def report_xlsx(request: Request) -> Response:
    """The report as the CLI's workbook (``followup report --format xlsx``)."""
    view = _report_file(request)
    with tempfile.TemporaryDirectory(prefix="followup-report-") as folder:
        path = Path(folder) / "report.xlsx"
        report_files.write_xlsx(view, path)
        content = path.read_bytes()
    day = view.as_of.isoformat()
    return attachment(content, XLSX, f"report-{day}.xlsx", f"指标-{day}.xlsx")


def report_html(request: Request) -> Response:
    """The report as the CLI's standalone page (``followup report --format html``)."""
    view = _report_file(request)
    day = view.as_of.isoformat()
    page = report_files.render_html(view).encode("utf-8")
    return attachment(page, _HTML, f"report-{day}.html", f"指标-{day}.html")


# --------------------------------------------------------------------------- the chain map


def chains_page(request: Request) -> Response:
    common.full_sign_in(request)
    rt = common.runtime(request)
    typed = (request.query_params.get("as_of") or "").strip()[:40]
    as_of = parse_day(typed, what=_("as-of date")) if typed else None
    view = chains_report(rt, as_of=as_of)
    return common.render(request, "reports_chains.html.j2", {"c": view, "as_of": typed})


# --------------------------------------------------------------------------- the monthly bulletins


def bulletins_page(request: Request) -> Response:
    common.full_sign_in(request)
    rt = common.runtime(request)
    return common.render(request, "reports_bulletins.html.j2", {"months": bulletin_months(rt)})


def bulletin_file(request: Request) -> Response:
    """``/bulletins/2026-10.pdf`` (or .xlsx, .html): the bulletin as ``followup bulletin`` makes it."""
    common.full_sign_in(request)
    rt = common.runtime(request)
    match = _FILE.fullmatch(request.path_params["name"])
    if match is None:
        raise NotFound(_("There is no such page."))
    month, fmt = match.group(1), match.group(2)
    view = bulletin.build_bulletin(rt, month)
    content = bulletin_files.write(rt, view, fmt)
    media = _HTML if fmt == "html" else bulletin_files.CONTENT_TYPES[fmt]
    return attachment(content, media, f"bulletin-{view.month}.{fmt}", bulletin_files.file_name(view, fmt))


# --------------------------------------------------------------------------- reporting rounds (调度)


def keeps_rounds(viewer: Viewer) -> bool:
    """Whether ``viewer`` may open and close reporting rounds (operators, the supervision office)."""
    return bool(viewer.roles & ROUND_KEEPERS)


def _rate(value: float | None) -> str:
    return "—" if value is None else f"{value:.1f}%"


def rounds_page(request: Request) -> Response:
    who = common.full_sign_in(request)
    rt = common.runtime(request)
    keeper = keeps_rounds(who)
    today = local_day(rt.now(), rt.zone)
    context = {
        "rounds": list(reversed(rounds.list_rounds(rt))),
        "rate": _rate,
        "keeper": keeper,
        "units": organisation.list_units(rt) if keeper else [],
        "this_month": f"{today.year:04d}-{today.month:02d}",
        "done": request.query_params.get("done", ""),
    }
    return common.render(request, "reports_rounds.html.j2", context)


def _keeper(request: Request) -> Viewer:
    who = common.full_sign_in(request)
    if not keeps_rounds(who):
        raise AccessDenied()
    return who


def _due(text: str) -> date | None:
    return parse_day(text, what=_("due date")) if text else None


async def open_round(request: Request) -> Response:
    """Open the round of a month for its units (none chosen: every unit with a project)."""
    form = await common.checked_form(request)
    who = _keeper(request)
    month = common.field(form, "period")
    if not month:
        raise InvalidInput(_("give the month of the round, such as 2026-11"))
    units = [u.strip() for u in form.getlist("units") if isinstance(u, str) and u.strip()]
    view = await run_in_threadpool(
        rounds.open_round,
        acting(request),
        month=month,
        by=who.key,
        due=_due(common.field(form, "due")),
        units=units or None,
    )
    return RedirectResponse(f"/rounds?done=opened#round-{view.period}", status_code=303)


async def close_round(request: Request) -> Response:
    """Close a round: no more reports, no more reminders."""
    await common.checked_form(request)
    who = _keeper(request)
    period = rounds.period(str(request.path_params["period"]))
    view = await run_in_threadpool(rounds.close_round, acting(request), period, by=who.key)
    return RedirectResponse(f"/rounds?done=closed#round-{view.period}", status_code=303)


ROUTES: list[BaseRoute] = [
    Route("/report", report_page),
    Route("/report.xlsx", report_xlsx),
    Route("/report.html", report_html),
    Route("/chains", chains_page),
    Route("/bulletins", bulletins_page),
    Route("/bulletins/{name}", bulletin_file),
    Route("/rounds", rounds_page),
    Route("/rounds/open", open_round, methods=["POST"]),
    Route("/rounds/{period}/close", close_round, methods=["POST"]),
]
