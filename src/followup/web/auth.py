"""Signing in and out: the sign-in link by mail, a mail's action link, signing out.

A sign-in link is confirmed with a button (a POST) rather than used on opening: mail scanners that
open every link would otherwise spend it before the official does.
"""

from __future__ import annotations

from starlette.background import BackgroundTask
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from followup.app import access, signin_mail
from followup.app.runtime import Runtime
from followup.errors import LinkRefused
from followup.web import common


def sign_in_page(request: Request) -> Response:
    target = common.local_path(request.query_params.get("next"))
    return common.render(request, "signin.html.j2", {"next": target})


async def ask_for_link(request: Request) -> Response:
    form = await common.checked_form(request)
    address = common.field(form, "email")
    rt = common.runtime(request)
    base = rt.settings.web_url or str(request.base_url).rstrip("/")
    target = common.local_path(common.field(form, "next"))
    # The same answer, as fast, whether the address is known or not: the link is made and mailed after
    # the page has gone (a slow mail server would otherwise tell a known address by the wait).
    page = common.render(request, "signin_sent.html.j2", {"email": address})
    page.background = BackgroundTask(_mail_link, rt, address, base, target)
    return page


def _mail_link(rt: Runtime, address: str, base: str, target: str) -> None:
    made = access.request_sign_in(rt, address)
    if made is not None:
        signin_mail.send_sign_in(rt, made, base, target)


def confirm_page(request: Request) -> Response:
    secret = request.path_params["secret"]
    name = access.sign_in_holder(common.runtime(request), secret)
    if name is None:
        raise LinkRefused()
    target = common.local_path(request.query_params.get("next"))
    return common.render(request, "signin_confirm.html.j2", {"name": name, "secret": secret, "next": target})


async def use_link(request: Request) -> Response:
    form = await common.checked_form(request)
    rt = common.runtime(request)
    session = await run_in_threadpool(
        access.redeem_sign_in, rt, request.path_params["secret"], request.cookies.get(common.SESSION_COOKIE)
    )
    response = RedirectResponse(common.local_path(common.field(form, "next")), status_code=303)
    common.set_session(request, response, session)
    return response


def open_action(request: Request) -> Response:
    """A mail's button: open the project's page, signed in for that project only."""
    rt = common.runtime(request)
    opened = access.open_action_link(
        rt, request.path_params["token"], request.cookies.get(common.SESSION_COOKIE)
    )
    anchor = "" if opened.action == "view" else f"#{opened.action}"
    response = RedirectResponse(f"/projects/{opened.project_id}{anchor}", status_code=303)
    common.set_session(request, response, opened.session)
    return response


async def sign_out(request: Request) -> Response:
    await common.checked_form(request)
    access.end_session(common.runtime(request), request.cookies.get(common.SESSION_COOKIE))
    response = RedirectResponse("/signin", status_code=303)
    common.set_session(request, response, None)
    return response


ROUTES: list[BaseRoute] = [
    Route("/signin", sign_in_page, methods=["GET"]),
    Route("/signin", ask_for_link, methods=["POST"]),
    Route("/signin/{secret}", confirm_page, methods=["GET"]),
    Route("/signin/{secret}", use_link, methods=["POST"]),
    Route("/a/{token}", open_action, methods=["GET"]),
    Route("/signout", sign_out, methods=["POST"]),
]
