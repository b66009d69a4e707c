"""The web app (``followup web``): a Starlette application over the use cases, its pages rendered on the
server and working without JavaScript, every asset served from the package (intranets have no
internet).

Every response carries the security headers (a Content-Security-Policy without inline script, no
framing, no referrer: a mail's link never leaks through a Referer). Errors become one page each, in
Chinese: not signed in → the sign-in page; not allowed → 403; a refused input → 400 with its one line.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Awaitable, Callable

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.base import BaseHTTPMiddleware
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles

from followup.app.runtime import Runtime
from followup.errors import AccessDenied, FollowupError, LinkRefused, NotFound
from followup.i18n import _
from followup.web import common

log = logging.getLogger("followup.web")

HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "form-action 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'"
    ),
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
    "Cache-Control": "no-store",
}


class Guard(BaseHTTPMiddleware):
    """Security headers on every answer, and the browser's CSRF seed cookie when it has none."""

    async def dispatch(
        self, request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        had = request.cookies.get(common.SEED_COOKIE)
        request.state.seed = had or secrets.token_urlsafe(32)
        response = await call_next(request)
        for name, value in HEADERS.items():
            if name == "Cache-Control" and request.url.path.startswith("/static/"):
                continue
            response.headers.setdefault(name, value)
        given = any(c.startswith(common.SEED_COOKIE + "=") for c in response.headers.getlist("set-cookie"))
        if not had and not given:  # a sign-in gives its own new seed: not a second one beside it
            response.set_cookie(
                common.SEED_COOKIE,
                request.state.seed,
                httponly=True,
                samesite="lax",
                secure=common.secure(request),
                path="/",
            )
        return response


def _error_page(request: Request, exc: Exception, status: int, title: str) -> Response:
    return common.render(request, "error.html.j2", {"title": title, "message": str(exc)}, status=status)


async def _on_sign_in(request: Request, exc: Exception) -> Response:
    return common.sign_in_redirect(request)


async def _on_link(request: Request, exc: Exception) -> Response:
    return _error_page(request, exc, 400, _("This link cannot be used"))


async def _on_denied(request: Request, exc: Exception) -> Response:
    return _error_page(request, exc, 403, _("Not allowed"))


async def _on_missing(request: Request, exc: Exception) -> Response:
    return _error_page(request, exc, 404, _("Not found"))


async def _on_refused(request: Request, exc: Exception) -> Response:
    return _error_page(request, exc, 400, _("Not done"))


async def _on_crash(request: Request, exc: Exception) -> Response:
    """An unexpected error: logged with its traceback, answered with a page that says nothing of it (this
    handler runs outside the middleware, so it sets the security headers itself)."""
    log.error("%s %s failed", request.method, request.url.path, exc_info=exc)
    response = PlainTextResponse(
        _("Something went wrong on the server; please try again later."), status_code=500
    )
    response.headers.update(HEADERS)
    return response


async def _on_http(request: Request, exc: Exception) -> Response:
    status = getattr(exc, "status_code", 500)
    if status == 404:
        return _error_page(request, Exception(_("There is no such page.")), 404, _("Not found"))
    return PlainTextResponse(str(getattr(exc, "detail", "")), status_code=status)


def routes() -> list[BaseRoute]:
    """Every page and form, gathered from the modules that define them."""
    from followup.web import auth, evidence, operate, organise, pages, project, reports, requests, supervise

    found: list[BaseRoute] = [Route("/health", lambda request: PlainTextResponse("ok"))]
    for module in (auth, pages, operate, organise, project, requests, evidence, supervise, reports):
        found.extend(module.ROUTES)
    found.append(Mount("/static", app=StaticFiles(packages=[("followup.web", "static")]), name="static"))
    return found


def create_app(rt: Runtime) -> Starlette:
    """The web app over ``rt`` (its clock, its database)."""
    from starlette.exceptions import HTTPException

    app = Starlette(
        routes=routes(),
        middleware=[Middleware(Guard)],
        exception_handlers={
            common.NeedSignIn: _on_sign_in,
            LinkRefused: _on_link,
            AccessDenied: _on_denied,
            NotFound: _on_missing,
            FollowupError: _on_refused,
            HTTPException: _on_http,
            500: _on_crash,
        },
    )
    app.state.runtime = rt
    app.state.templates = common.templates()
    return app
