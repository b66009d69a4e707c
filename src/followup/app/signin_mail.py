"""The sign-in mail: a one-time link, sent at once (not through the outbox: an official waiting at the
sign-in page cannot wait for the next delivery round, nor for working hours)."""

from __future__ import annotations

import logging
import secrets
from urllib.parse import quote

from followup.app.access import SIGNIN_MINUTES, SignIn
from followup.app.runtime import Runtime
from followup.domain.timeutil import show_short
from followup.mail.message import OutgoingMessage, make_message_id, message_domain
from followup.mail.templates import render
from followup.mail.transport import transport_for

log = logging.getLogger("followup.web")


def send_sign_in(rt: Runtime, made: SignIn, base_url: str, next_path: str = "/my") -> None:
    """Mail ``made``'s link to its official. A failure is logged, not shown: the page answers the same
    whatever happens, and the official can ask again."""
    url = f"{base_url}/signin/{made.secret}"
    if next_path != "/my":
        url += f"?next={quote(next_path, safe='/')}"
    now = rt.now()
    context = {
        "name": made.name,
        "url": url,
        "minutes": SIGNIN_MINUTES,
        "now": show_short(now, rt.zone),
    }
    subject, text, html = render("signin", context, rt.settings)
    message = OutgoingMessage(
        message_id=make_message_id("signin-" + secrets.token_hex(8), message_domain(rt.settings)),
        to_name=made.name,
        to_email=made.email,
        subject=subject,
        text=text,
        html=html,
    )
    try:
        with transport_for(rt.settings, now=now) as transport:
            transport.send(message)
    except Exception:  # the official sees the same page; the log says why no mail came
        log.exception("the sign-in mail to official %s could not be sent", made.official_id)
