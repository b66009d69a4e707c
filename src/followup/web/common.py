"""What every page and form of the web app shares: the runtime, who is signed in, the CSRF check, the
rendering of a page, and the one place errors become pages.

Cookies: ``fu_session`` holds a session's secret (``app.access``); ``fu_seed`` is a random value of the
browser's own that each form's CSRF token is signed over. Both are HttpOnly, SameSite=Lax, and Secure
when the app is reached over https.
"""

from __future__ import annotations

import functools
import re
import secrets
from collections.abc import Mapping
from dataclasses import replace
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any
from urllib.parse import quote

import jinja2
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from followup.app import access
from followup.app.runtime import Runtime
from followup.domain.kinds import label_of
from followup.domain.shown import amount_text
from followup.errors import AccessDenied, DeliveryError, FollowupError, InvalidInput, StoreError
from followup.i18n import _

SESSION_COOKIE = "fu_session"
SEED_COOKIE = "fu_seed"
#: a path of this app a sign-in may return to: one leading slash, no scheme, no backslash (no open redirect)
_LOCAL_PATH = re.compile(r"/(?![/\\])[A-Za-z0-9/_\-.~%]*(\?[A-Za-z0-9_\-.~%=&+]*)?")


class NeedSignIn(Exception):
    """The page needs a signed-in official: the app answers with the sign-in page."""


def runtime(request: Request) -> Runtime:
    rt: Runtime = request.app.state.runtime
    return rt


def seed(request: Request) -> str:
    """The browser's CSRF seed (made by the middleware when it had none)."""
    value: str = request.state.seed
    return value


def viewer(request: Request) -> access.Viewer | None:
    """The signed-in official, read once per request."""
    if not hasattr(request.state, "viewer"):
        request.state.viewer = access.viewer(runtime(request), request.cookies.get(SESSION_COOKIE))
    found: access.Viewer | None = request.state.viewer
    return found


def signed_in(request: Request) -> access.Viewer:
    """The signed-in official, or the sign-in page (NeedSignIn)."""
    found = viewer(request)
    if found is None:
        raise NeedSignIn()
    return found


def full_sign_in(request: Request) -> access.Viewer:
    """A signed-in official whose session reaches everything they may see (not a mail link's one
    project): the board, the lists, "my projects"."""
    found = signed_in(request)
    if found.scope is not None:
        raise NeedSignIn()
    return found


#: who entered a line of history written from the web (beside the signed-in official as ``by``)
ENTERED_BY = "web"


def acting(request: Request) -> Runtime:
    """The runtime for a web action: history names the signed-in official, entered through the web."""
    return replace(runtime(request), operator=ENTERED_BY)


def project_id(request: Request) -> int:
    """The project a path names; a path that names none is refused as a project one may not see."""
    try:
        return int(request.path_params["project_id"])
    except ValueError:
        raise AccessDenied() from None


async def posted(request: Request, action: str) -> tuple[int, FormData, access.Viewer]:
    """A form posted about a project: its id, the form (its CSRF token checked) and the signed-in
    official, if they may do ``action`` to it (else AccessDenied, or the sign-in page)."""
    pid = project_id(request)
    form = await checked_form(request)
    who = await run_in_threadpool(allowed, request, action, pid)
    return pid, form, who


def operator(request: Request) -> access.Viewer:
    """The signed-in bureau operator (a full sign-in); anyone else: AccessDenied."""
    who = full_sign_in(request)
    if not who.operator:
        raise AccessDenied()
    return who


def back_to_project(project_id: int, done: str) -> RedirectResponse:
    """After a form on the project page: the page again, saying what was ``done``."""
    return RedirectResponse(f"/projects/{project_id}?done={done}", status_code=303)


def whole(text: str, what: str) -> int | None:
    """A whole number typed in a form (None when left empty); else InvalidInput naming ``what``."""
    if not text:
        return None
    try:
        return int(text)
    except ValueError:
        raise InvalidInput(
            _("bad {what} {text!r}: expected a whole number").format(what=what, text=text)
        ) from None


def shown_refusal(exc: FollowupError, *also: type[FollowupError]) -> None:
    """Re-raise what is no refused input — not allowed, the database or mail failing, and ``also`` —:
    those get their own pages; a refused input is shown in its form (the caller's part)."""
    if isinstance(exc, (AccessDenied, StoreError, DeliveryError, *also)):
        raise exc


def allowed(request: Request, action: str, project_id: int) -> access.Viewer:
    """The signed-in official, if they may do ``action`` to the project; else AccessDenied (a project
    they may not see is as absent as one that does not exist)."""
    return allowed_with_facts(request, action, project_id)[0]


def allowed_with_facts(
    request: Request, action: str, project_id: int
) -> tuple[access.Viewer, access.ProjectFacts]:
    """:func:`allowed`, with the project's owners it was judged by (for a page that asks more of them)."""
    who = signed_in(request)
    if who.scope is not None and who.scope != project_id:
        raise NeedSignIn()  # a mail's link reaches its own project: anything else needs a full sign-in
    facts = access.facts(runtime(request), project_id)
    if facts is None or not access.may(who, action, facts):
        raise AccessDenied()
    return who, facts


async def checked_form(request: Request) -> FormData:
    """The posted form, if it carries this browser's CSRF token; else AccessDenied."""
    form = await request.form()
    token = form.get("csrf")
    if not access.csrf_valid(runtime(request).settings, request.cookies.get(SEED_COOKIE), _text(token)):
        raise AccessDenied(
            _("the form has expired or did not come from this site: reload the page and try again")
        )
    return form


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def field(form: FormData, name: str) -> str:
    """A text field of a form, stripped ('' when absent or a file)."""
    return (_text(form.get(name)) or "").strip()


def local_path(candidate: str | None, default: str = "/my") -> str:
    """``candidate`` if it is a path of this app, else ``default``: never another site."""
    if candidate and _LOCAL_PATH.fullmatch(candidate):
        return candidate
    return default


def sign_in_redirect(request: Request) -> RedirectResponse:
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return RedirectResponse(f"/signin?next={quote(local_path(target), safe='/')}", status_code=303)


def secure(request: Request) -> bool:
    web_url = runtime(request).settings.web_url or ""
    return request.url.scheme == "https" or web_url.startswith("https://")


def set_session(request: Request, response: Response, secret: str | None) -> None:
    """Give the browser its new session (and a new CSRF seed with it), or end it (None)."""
    if secret is None:
        response.delete_cookie(SESSION_COOKIE, path="/")
        return
    flags: dict[str, Any] = {"httponly": True, "samesite": "lax", "secure": secure(request), "path": "/"}
    response.set_cookie(SESSION_COOKIE, secret, **flags)
    response.set_cookie(SEED_COOKIE, secrets.token_urlsafe(32), **flags)


def render(
    request: Request, template: str, context: Mapping[str, Any] | None = None, status: int = 200
) -> HTMLResponse:
    """A page: ``template`` with the signed-in official, the form token and the county's name."""
    rt = runtime(request)
    env: jinja2.Environment = request.app.state.templates
    page = env.get_template(template).render(
        request=request,
        viewer=getattr(request.state, "viewer", None),
        csrf=access.csrf_token(rt.settings, seed(request)),
        county=rt.settings.county_name,
        now=rt.now().astimezone(rt.zone),
        **(context or {}),
    )
    return HTMLResponse(page, status_code=status)


@functools.lru_cache(maxsize=1)
def templates() -> jinja2.Environment:
    """The pages' templates (shipped in the package), escaping every value; one environment per process,
    so each template is compiled once."""
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("followup.web", "templates"),
        autoescape=True,
        trim_blocks=True,
        lstrip_blocks=True,
        undefined=jinja2.StrictUndefined,
    )
    env.filters.update(when=when, money=money, label=label)
    return env


def when(value: datetime | date | None) -> str:
    """``2026-11-20 09:30`` for a time already in the county's zone, ``2026-11-20`` for a day."""
    if value is None:
        return "—"
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M")
    return value.isoformat()


def money(value: Decimal | None) -> str:
    """万元 with thousands separators."""
    return "—" if value is None else amount_text(value)


def label(key: str | None, kind: type[StrEnum]) -> str:
    """A stored key as a person reads it (an enum member's ``label``)."""
    return "—" if key is None else label_of(kind, key)
