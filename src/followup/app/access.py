"""Who is at the web app, and what they may do: sign-in links, sessions, mails' action links, and the
rules of each role. No web framework here: ``followup.web`` is the shell that calls it.

- **Sign-in link** (登录链接): an official types their e-mail address and gets a one-time link, valid
  30 minutes, single use; at most ``SIGNIN_PER_HOUR`` per address per hour. An unknown address gets
  the same answer and no mail.
- **Session**: a fresh random secret on every sign-in (so no one can hand a victim a session they
  know: no fixation), kept as its digest, valid ``SESSION_HOURS``; signing out ends it.
- **Action link** (a mail's button): ``/a/<official>.<project>.<action>.<expiry>.<HMAC>`` signed with
  the county's secret key, valid ``link_days``; it opens a session that reaches that project only.

Every secret carries 256 bits (``secrets.token_urlsafe(32)``, HMAC-SHA256); tokens are stored as their
SHA-256 digest only, so a copy of the database signs no one in.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import func, select, update

from followup.app.runtime import Runtime
from followup.domain.kinds import Role
from followup.domain.timeutil import as_utc
from followup.errors import InvalidInput, LinkRefused
from followup.i18n import _
from followup.settings import Settings
from followup.store.models import Official, Project, WebToken

SIGNIN_MINUTES = 30
SIGNIN_PER_HOUR = 5
SESSION_HOURS = 12
SIGNIN, SESSION = "signin", "session"
#: what a mail's button opens: the project page at that form
ACTIONS = ("view", "log", "extend", "reply", "approve", "report")


@dataclass(frozen=True)
class Viewer:
    """The signed-in official, as the rules need them. ``scope``: the one project a session opened by
    an action link reaches (None: a full sign-in)."""

    id: int
    key: str
    name: str
    unit_id: int
    is_head: bool
    roles: frozenset[str]
    scope: int | None = None

    @property
    def operator(self) -> bool:
        return Role.OPERATOR in self.roles


@dataclass(frozen=True)
class ProjectFacts:
    """What the rules look at of a project: whose it is."""

    id: int
    unit_id: int
    officer_id: int
    leader_id: int | None


#: what each relation to a project allows
_FOLLOWS = frozenset({"read", "log", "move", "request", "reply", "close_problem", "problem", "report"})
_LEADS = _FOLLOWS | {"approve"}
_OVERSEES = frozenset({"read", "approve", "notice", "problem", "report"})


def may(viewer: Viewer, action: str, project: ProjectFacts) -> bool:
    """Whether ``viewer`` may do ``action`` to ``project``: the case officer and the unit's head act on
    their unit's projects; the leader in charge on the projects in their charge, and approves; the
    supervision office and principal leaders read all, approve and issue notices; operators do all.
    ``problem`` (open a problem, 问题清单) and ``report`` (a round's report, 调度) go with following a
    project and with overseeing it."""
    if viewer.scope is not None and viewer.scope != project.id:
        return False
    if viewer.operator:
        return True
    allowed: set[str] = set()
    if viewer.id == project.officer_id or (viewer.is_head and viewer.unit_id == project.unit_id):
        allowed |= _FOLLOWS
    if viewer.id == project.leader_id:
        allowed |= _LEADS
    if viewer.roles & {Role.SUPERVISION, Role.PRINCIPAL}:
        allowed |= _OVERSEES
    return action in allowed


def facts(rt: Runtime, project_id: int) -> ProjectFacts | None:
    """The project's owners, or None when there is no such project (or it was voided)."""
    with rt.store.reading() as session:
        row = session.execute(
            select(Project.id, Project.unit_id, Project.officer_id, Project.leader_id).where(
                Project.id == project_id, Project.voided_at.is_(None)
            )
        ).first()
    return None if row is None else ProjectFacts(*row)


def signing_key(settings: Settings) -> bytes:
    """The county's secret key: ``FOLLOWUP_SECRET_KEY``, else ``<data_dir>/secret_key``, made once
    (readable by its owner only). Either must hold at least 32 characters: a short key is guessed."""
    if settings.secret_key:
        if len(settings.secret_key.strip()) < 32:
            raise InvalidInput(_("FOLLOWUP_SECRET_KEY is too short: give at least 32 random characters"))
        return settings.secret_key.encode("utf-8")
    path = settings.data_dir / "secret_key"
    if not path.exists():
        _make_key(path)
    key = path.read_text(encoding="ascii").strip()
    if len(key) < 32:
        raise InvalidInput(
            _("the secret key in {path} is too short: remove it to make a new one").format(path=path)
        )
    return key.encode("ascii")


def _make_key(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fresh = path.with_suffix(".new")
    fresh.write_text(secrets.token_hex(32) + "\n", encoding="ascii")
    fresh.chmod(0o600)
    try:
        os.link(fresh, path)  # atomic: the first process's key stands
    except FileExistsError:  # another process made it first: theirs stands
        pass
    finally:
        fresh.unlink(missing_ok=True)


def digest(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def _store_token(
    rt: Runtime, purpose: str, official_id: int, project_id: int | None, expires: datetime
) -> str:
    secret = secrets.token_urlsafe(32)
    now = rt.now()
    with rt.store.transaction() as session:
        session.add(
            WebToken(
                purpose=purpose,
                digest=digest(secret),
                official_id=official_id,
                project_id=project_id,
                created_at=now,
                expires_at=expires,
            )
        )
    return secret


@dataclass(frozen=True)
class SignIn:
    """A sign-in link made for an official: whom to mail it to, and its secret."""

    official_id: int
    name: str
    email: str
    secret: str


def request_sign_in(rt: Runtime, email: str) -> SignIn | None:
    """A one-time sign-in link for the active official with this address, or None: an unknown address,
    or one that asked too often this hour. The caller answers both alike."""
    address = email.strip().lower()
    if not address or len(address) > 320:
        return None
    now = rt.now()
    with rt.store.reading() as session:
        person = session.scalars(
            select(Official).where(func.lower(Official.email) == address, Official.active.is_(True))
        ).first()
        if person is None:
            return None
        asked = session.scalar(
            select(func.count())
            .select_from(WebToken)
            .where(
                WebToken.official_id == person.id,
                WebToken.purpose == SIGNIN,
                WebToken.created_at > now - timedelta(hours=1),
            )
        )
        found = (person.id, person.name, person.email)
    if (asked or 0) >= SIGNIN_PER_HOUR:
        return None
    secret = _store_token(rt, SIGNIN, found[0], None, now + timedelta(minutes=SIGNIN_MINUTES))
    return SignIn(found[0], found[1], found[2], secret)


def redeem_sign_in(rt: Runtime, secret: str, replacing: str | None = None) -> str:
    """Use a sign-in link once: a new session's secret. ``replacing``: the session the browser had,
    ended here. Raises LinkRefused for a link unknown, expired or used."""
    now = rt.now()
    with rt.store.transaction() as session:
        used = session.execute(
            update(WebToken)
            .where(
                WebToken.digest == digest(secret),
                WebToken.purpose == SIGNIN,
                WebToken.used_at.is_(None),
                WebToken.expires_at > now,
            )
            .values(used_at=now)
            .returning(WebToken.official_id)
        ).first()
        if used is None:
            raise LinkRefused()
        official_id = used[0]
    end_session(rt, replacing)
    return _store_token(rt, SESSION, official_id, None, now + timedelta(hours=SESSION_HOURS))


def sign_in_holder(rt: Runtime, secret: str) -> str | None:
    """The name of the official a live sign-in link is for (the page asking to confirm), else None."""
    now = rt.now()
    with rt.store.reading() as session:
        return session.scalar(
            select(Official.name)
            .join(WebToken, WebToken.official_id == Official.id)
            .where(
                WebToken.digest == digest(secret),
                WebToken.purpose == SIGNIN,
                WebToken.used_at.is_(None),
                WebToken.expires_at > now,
            )
        )


def viewer(rt: Runtime, secret: str | None) -> Viewer | None:
    """The official a session's secret belongs to, if it is live and they are still in office."""
    if not secret:
        return None
    now = rt.now()
    with rt.store.reading() as session:
        row = session.execute(
            select(WebToken.project_id, Official)
            .join(Official, WebToken.official_id == Official.id)
            .where(
                WebToken.digest == digest(secret),
                WebToken.purpose == SESSION,
                WebToken.used_at.is_(None),
                WebToken.expires_at > now,
                Official.active.is_(True),
            )
        ).first()
        if row is None:
            return None
        scope, person = row
        return Viewer(
            person.id, person.key, person.name, person.unit_id, person.is_head, frozenset(person.roles), scope
        )


def end_session(rt: Runtime, secret: str | None) -> None:
    """Sign out: the session's secret opens nothing any more."""
    if not secret:
        return
    with rt.store.transaction() as session:
        session.execute(
            update(WebToken)
            .where(WebToken.digest == digest(secret), WebToken.purpose == SESSION, WebToken.used_at.is_(None))
            .values(used_at=rt.now())
        )


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def _sign(key: bytes, payload: str) -> str:
    return _b64(hmac.new(key, payload.encode("ascii"), hashlib.sha256).digest())


def action_path(settings: Settings, official_id: int, project_id: int, action: str, now: datetime) -> str:
    """The path of a mail's button for one reader and one project (``/a/…``), valid ``link_days``."""
    if action not in ACTIONS:
        raise ValueError(f"unknown action {action!r}")
    expires = int((as_utc(now) + timedelta(days=max(1, int(settings.link_days)))).timestamp())
    payload = f"{official_id}.{project_id}.{action}.{expires}"
    return f"/a/{payload}.{_sign(signing_key(settings), payload)}"


def action_url(
    settings: Settings, official_id: int, project_id: int, action: str, now: datetime
) -> str | None:
    """The full address of a mail's button, or None when the web app has no public address."""
    if not settings.web_url:
        return None
    return settings.web_url + action_path(settings, official_id, project_id, action, now)


@dataclass(frozen=True)
class Opened:
    """A checked action link: the session it opened, the project and the form it asks for."""

    session: str
    project_id: int
    action: str


def open_action_link(rt: Runtime, token: str, replacing: str | None = None) -> Opened:
    """Check a mail's button (signature, expiry, the official still in office) and open a session that
    reaches its project only. Raises LinkRefused."""
    parts = token.split(".")
    if len(parts) != 5 or not all(p.isdigit() for p in parts[:2]) or not parts[3].isdigit():
        raise LinkRefused()
    payload, signature = ".".join(parts[:4]), parts[4]
    if not hmac.compare_digest(_sign(signing_key(rt.settings), payload), signature):
        raise LinkRefused()
    official_id, project_id, action, expires = int(parts[0]), int(parts[1]), parts[2], int(parts[3])
    now = rt.now()
    if action not in ACTIONS or as_utc(now).timestamp() >= expires:
        raise LinkRefused()
    with rt.store.reading() as session:
        active = session.scalar(select(Official.active).where(Official.id == official_id))
    if not active:
        raise LinkRefused()
    end_session(rt, replacing)
    until = min(now + timedelta(hours=SESSION_HOURS), datetime.fromtimestamp(expires, tz=now.tzinfo))
    return Opened(_store_token(rt, SESSION, official_id, project_id, until), project_id, action)


def csrf_token(settings: Settings, seed: str) -> str:
    """The token a form must carry, bound to the browser's own random cookie ``seed``."""
    return _sign(signing_key(settings), "csrf." + seed)


def csrf_valid(settings: Settings, seed: str | None, token: str | None) -> bool:
    if not seed or not token:
        return False
    return hmac.compare_digest(csrf_token(settings, seed), token)
