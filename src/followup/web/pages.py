"""The read pages: the board (驾驶舱), the project list with its filters and its export, "my projects",
the outbox with the system's warnings (operators), and ``/ping`` (the layout alone: the benchmark's
baseline). Every read is a use case (``app.dashboard``, ``app.report``, ``app.board``); nothing here
touches the database itself.

The board is what every official opens first, so it is read at most once per ``BOARD_SECONDS`` per web
worker and the month's figures (``report.build_report``: a pass over the whole history, seconds at
100k projects) at most once per ``FIGURES_SECONDS``; while one request refreshes them, the others are
given the copy they replace. The page says when its numbers are from.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from datetime import datetime
from typing import Any, Generic, TypeVar
from urllib.parse import quote, urlencode

from markupsafe import Markup
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from followup.app import board as status
from followup.app import dashboard, report
from followup.app.dashboard import ListQuery
from followup.domain.kinds import Light, NoticeKind, NoticeStatus
from followup.domain.timeutil import in_zone
from followup.errors import AccessDenied
from followup.web import common

#: how long a web worker shows the same board, and the same month's figures (seconds)
BOARD_SECONDS = 30.0
FIGURES_SECONDS = 600.0
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

T = TypeVar("T")


class Cached(Generic[T]):
    """One value per web worker, made again at most once per ``seconds``: while one thread makes it
    again, the others get the one it replaces (only the very first request waits)."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self._lock = threading.Lock()
        self._value: tuple[T, datetime] | None = None
        self._made = -math.inf
        self.generation = 0  # how many times it was made: what is derived from it is kept by this

    def get(self, make: Callable[[], T], now: Callable[[], datetime]) -> tuple[T, datetime]:
        """The value and when it was made (``now`` then)."""
        kept = self._value
        if kept is not None and time.monotonic() - self._made < self.seconds:
            return kept
        if not self._lock.acquire(blocking=kept is None):
            assert kept is not None
            return kept  # another request is making it again
        try:
            if self._value is None or time.monotonic() - self._made >= self.seconds:
                self._value = (make(), now())
                self._made = time.monotonic()
                self.generation += 1
            return self._value
        finally:
            self._lock.release()


def _cache(request: Request, name: str, seconds: float) -> Cached[Any]:
    """The app's cache ``name`` (made on first use; the lock keeps two threads from making two)."""
    state = request.app.state
    with _MAKING:
        found: Cached[Any] | None = getattr(state, name, None)
        if found is None:
            found = Cached(seconds)
            setattr(state, name, found)
    return found


_MAKING = threading.Lock()


def _lights() -> list[tuple[str, str]]:
    return [(str(light), light.label) for light in Light]


def width(n: int, most: int) -> str:
    """The CSS class of a bar ``n`` long where ``most`` fills the width: w-0 … w-100 in steps of 5."""
    if most <= 0 or n <= 0:
        return "w-0"
    return f"w-{max(5, round(n * 20 / most) * 5)}"


def board_page(request: Request) -> Response:
    common.full_sign_in(request)
    rt = common.runtime(request)
    now = lambda: in_zone(rt.now(), rt.zone)  # noqa: E731
    boards, figuring = (
        _cache(request, "board_cache", BOARD_SECONDS),
        _cache(request, "figures_cache", FIGURES_SECONDS),
    )
    seen, seen_at = boards.get(lambda: dashboard.board(rt), now)
    made = lambda: report.build_report(rt, with_lights=False)  # noqa: E731
    figures, figures_at = figuring.get(made, now)
    key = (boards.generation, figuring.generation)  # a new board or new figures: a new body
    kept = getattr(request.app.state, "board_body", None)
    if kept is None or kept[0] != key:  # rendered once per board and figures made, not per request
        context = {
            "b": seen,
            "b_at": seen_at,
            "r": figures,
            "r_at": figures_at,
            "lights": _lights(),
            "width": width,
            "funnel_most": max((n for _, _, n in figures.funnel), default=0),
            "stage_most": max(seen.totals.stages.values(), default=0),
        }
        body = Markup(common.templates().get_template("board_body.html.j2").render(context))
        kept = request.app.state.board_body = (key, body)
    return common.render(request, "board.html.j2", {"body": kept[1]})


def _query(request: Request) -> ListQuery:
    params = request.query_params
    return ListQuery(**{name: (params.get(name) or "").strip()[:200] for name in _FILTERS})


_FILTERS = ("unit", "stage", "light", "leader", "chain", "q")


def _page(request: Request) -> int:
    try:
        return max(1, min(int(request.query_params.get("page", "1")), 100_000))
    except ValueError:
        return 1


def projects_page(request: Request) -> Response:
    common.full_sign_in(request)
    rt = common.runtime(request)
    query, page = _query(request), _page(request)
    now = lambda: in_zone(rt.now(), rt.zone)  # noqa: E731
    found = dashboard.project_list(rt, query, page)
    pages = max(1, math.ceil(found.total / dashboard.PAGE_SIZE))
    chosen = {name: getattr(query, name) for name in _FILTERS if getattr(query, name)}
    context = {
        "found": found,
        "query": query,
        "page": page,
        "pages": pages,
        "filters": urlencode(chosen),
        "choices": _cache(request, "choices_cache", BOARD_SECONDS).get(lambda: dashboard.choices(rt), now)[0],
        "lights": _lights(),
    }
    return common.render(request, "projects.html.j2", context)


def export_page(request: Request) -> Response:
    common.full_sign_in(request)
    rt = common.runtime(request)
    content = dashboard.export_xlsx(rt, _query(request))
    day = in_zone(rt.now(), rt.zone).strftime("%Y%m%d")
    name = f"项目台账-{day}.xlsx"
    disposition = f"attachment; filename=\"ledger-{day}.xlsx\"; filename*=UTF-8''{quote(name)}"
    return Response(content, media_type=XLSX, headers={"Content-Disposition": disposition})


def my_page(request: Request) -> Response:
    who = common.full_sign_in(request)
    rt = common.runtime(request)
    found = dashboard.my_projects(rt, who.id, unit_id=who.unit_id, is_head=who.is_head)
    return common.render(request, "my.html.j2", {"found": found, "today": dashboard.today(rt)})


def outbox_page(request: Request) -> Response:
    who = common.full_sign_in(request)
    if not who.operator:
        raise AccessDenied()
    rt = common.runtime(request)
    rows = status.list_outbox(rt, limit=200)
    warnings = status.status_board(rt).warnings
    context = {
        "rows": list(reversed(rows)),
        "warnings": warnings,
        "NoticeKind": NoticeKind,
        "NoticeStatus": NoticeStatus,
        "Light": Light,
    }
    return common.render(request, "outbox.html.j2", context)


def ping_page(request: Request) -> Response:
    """The layout and nothing else: no sign-in, no database (the benchmark's baseline)."""
    return common.render(request, "ping.html.j2")


ROUTES: list[BaseRoute] = [
    Route("/", board_page),
    Route("/projects", projects_page),
    Route("/projects/export.xlsx", export_page),
    Route("/my", my_page),
    Route("/outbox", outbox_page),
    Route("/ping", ping_page),
]
