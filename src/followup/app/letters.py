"""From claimed outbox rows to messages: what no longer goes out, what waits, one mail per recipient.

Before anything is grouped, each claimed notification is judged (:func:`_judge`):

- **obsolete** when its project has moved on since it was queued (``NoticeKey.is_obsolete``: the
  official is told about the project as it is, never about a state it has left), when it is
  *superseded* — a newer notification of the same ladder to the same person exists, not obsolete and not
  failed (after a weekend the 【提示】 queued on Sunday and the 【黄灯】 queued on Monday: only the 【黄灯】
  goes) — and when a weekly mail has nothing to report;
- **waiting** when it is a repeat that comes sooner than its interval after the last delivery of its
  ladder to that person, or on the working day right after that delivery: repeats follow deliveries,
  not due dates (a ledger line entered overdue, a repeat due during a holiday and delivered after it,
  a 3-day repeat over a weekend, are never told again the next working day).

The rest becomes one mail per recipient: every warning, one block per project (``app.blocks``), and that
recipient's weekly mail when it is in the batch (Monday's digest and that morning's warnings are one
mail), at most ``warnings_per_message`` warnings each (a crash resends at most one message: a bounded
one); stranded-project alerts go in their own mail. A message's Message-ID derives from the random
nonces of its notifications (stored when they were queued), so the same group is the same message on a
retry and two databases never make the same id. A group that was handed over once (its Message-ID stored
right before: a crash, a refusal, an unknown outcome) goes again as that same message: same group, same
id, judged only for obsolescence. Anything that goes wrong building one message (a context, a template)
is that message's permanent failure (``Built.broken``), never the batch's. The notifications of an
official who chose the chat only (``--notify chat``) whose card carries them are set aside first
(``Built.by_chat``, ``app.chat_only``): no mail.
"""

from __future__ import annotations

import hashlib
import logging
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from email.utils import parseaddr
from typing import Any

from sqlalchemy import select

from followup.app import blocks, chat_only, records, supervision_mail
from followup.app.blocks import Warning
from followup.app.buttons import Links, view
from followup.app.escalation import digest_round
from followup.app.runtime import Runtime
from followup.app.weekly import weekly_contexts
from followup.domain.kinds import NoticeKind, Role
from followup.domain.limits import Limit
from followup.domain.notices import NoticeKey, ProjectClock
from followup.domain.timeutil import as_utc, local_day, start_of_day
from followup.domain.workflow import ON_HOLD
from followup.mail.message import OutgoingMessage, make_message_id
from followup.store import mailing
from followup.store.mailing import LadderState
from followup.store.models import Official, Project

log = logging.getLogger(__name__)

SHIPPED_LEVELS = ("blue", "yellow", "red", "top")
DIGEST_LABEL = "周调度"
WARNING = "warning"
DIGEST = "digest"
STRANDED = "stranded"
SUPERVISION = "supervision"  # the overdue ladders of supervision (督办): a mail of their own per recipient


@dataclass(frozen=True)
class Letter:
    ids: tuple[int, ...]
    message: OutgoingMessage
    recipient: int = 0
    weekly: bool = False  # carries the recipient's weekly mail (周调度 / 督办周报)


@dataclass
class Built:
    """What the claimed notifications became: messages, obsolete ids, repeats that wait (ids, until),
    groups that could not be built (their ids and why), and those of officials who chose the chat only
    that their card carries instead of a mail ({id: card id}, ``app.chat_only``)."""

    letters: list[Letter] = field(default_factory=list)
    obsolete: list[int] = field(default_factory=list)
    waiting: list[tuple[tuple[int, ...], datetime]] = field(default_factory=list)
    broken: list[tuple[tuple[int, ...], str]] = field(default_factory=list)
    by_chat: dict[int, int] = field(default_factory=dict)


@dataclass
class _Loaded:
    """What the claimed notifications need, read in one snapshot."""

    notes: Sequence[Any]
    projects: dict[int, Project]
    people: dict[int, Official]
    ladders: dict[tuple[int, int, str, str, int], LadderState]
    escalation: dict[int, list[dict[str, str]]]
    weekly: dict[int, dict[str, Any] | None]
    facts: dict[int, dict[str, Any]] = field(default_factory=dict)  # per project, made once
    oversight: supervision_mail.Loaded = field(default_factory=supervision_mail.Loaded)
    notices: dict[int, dict[str, Any]] = field(default_factory=dict)  # 督办 notice of the current ladder


@dataclass(frozen=True)
class _Piece:
    """One claimed notification that goes out: its family of mail and what it contributes."""

    id: int
    family: str  # warning | digest | stranded
    role: str
    project: int | None = None
    warning: Warning | None = None
    context: dict[str, Any] | None = None  # digest and stranded
    due_at: datetime | None = None
    reminder: bool = False  # 跟进超时 or a repeat: goes with news, at the latest with the weekly mail


def _domain(mail_from: str) -> str:
    address = parseaddr(mail_from)[1]
    return address.rsplit("@", 1)[1] if "@" in address else "localhost"


def message_key(nonces: Sequence[str]) -> str:
    """A message's key from its notifications' nonces: the nonce of a single one, else a digest of all
    (in id order). The same group always gets the same key; nothing about the database shows in it."""
    if len(nonces) == 1:
        return nonces[0]
    return hashlib.sha256(",".join(nonces).encode("ascii")).hexdigest()[:32]


def build_messages(rt: Runtime, ids: Sequence[int], now: datetime) -> Built:
    """Messages for the claimed notifications ``ids``, the obsolete ids, the repeats that wait, and what
    could not be built."""
    loaded = _load(rt, ids, now)
    local_now = as_utc(now).astimezone(rt.zone).strftime("%Y-%m-%d %H:%M")
    built = Built(by_chat=chat_only.by_chat(rt, loaded.notes, loaded.people))
    # (recipient, mail or stranded, the Message-ID the group was handed over with before) → its pieces
    groups: dict[tuple[int, str, str | None], list[_Piece]] = defaultdict(list)
    nonces: dict[int, str] = {}
    for n in loaded.notes:
        nonces[n.id] = n.nonce
        if n.id in built.by_chat:  # its recipient chose the chat only, and its card is queued
            continue
        if n.kind == NoticeKind.BULLETIN:  # the monthly bulletin: a message of its own
            _bulletin(rt, loaded, n, now, built)
            continue
        if n.kind in (NoticeKind.REQUEST, NoticeKind.DECISION):  # a request, its decision: of their own
            _request(rt, loaded, n, now, built)
            continue
        try:
            judged = _judge(rt, loaded, n, now)
        except Exception as exc:  # a broken project or workflow: this notification's trouble only
            log.exception("notification %s cannot be composed", n.id)
            built.broken.append(((n.id,), f"cannot compose the message: {type(exc).__name__}: {exc}"))
            continue
        if judged is None:
            built.obsolete.append(n.id)
        elif isinstance(judged, datetime):
            built.waiting.append(((n.id,), judged))
        else:
            family = judged.family if judged.family in (STRANDED, SUPERVISION) else "mail"
            groups[(n.recipient_id, family, n.message_id)].append(judged)
    weekly_at = digest_round(rt)[1]
    for (who, family, pinned), pieces in groups.items():
        if not pinned and family == "mail":
            pieces = _with_news(pieces, weekly_at, as_utc(now), built)
            if not pieces:
                continue
        cap = rt.settings.warnings_per_message
        if pinned:
            chunks = [pieces]
        elif family in (STRANDED, SUPERVISION):
            chunks = [pieces[i : i + cap] for i in range(0, len(pieces), cap)]
        else:
            chunks = _chunks(pieces, cap)
        for chunk in chunks:
            chunk_ids = tuple(sorted(p.id for p in chunk))
            message_id = pinned or make_message_id(
                message_key([nonces[i] for i in chunk_ids]), _domain(rt.settings.mail_from)
            )
            try:
                letter = _letter(rt, loaded, loaded.people[who], family, chunk, local_now, message_id, now)
            except Exception as exc:  # a template error, a bad header value: this message only
                log.exception("message %s cannot be built", message_id)
                built.broken.append((chunk_ids, f"cannot build the message: {type(exc).__name__}: {exc}"))
                continue
            built.letters.append(letter)
    return built


def _bulletin(rt: Runtime, loaded: _Loaded, n: Any, now: datetime, built: Built) -> None:
    """The monthly bulletin of month ``n.round`` to its reader, made by ``app.bulletin_files``."""
    from followup.app.bulletin_files import letter

    person = loaded.people[n.recipient_id]
    message_id = n.message_id or make_message_id(message_key([n.nonce]), _domain(rt.settings.mail_from))
    try:
        message = letter(rt, n.round, person, n.role, message_id, now)
    except Exception as exc:  # this message's trouble only, as for any other
        log.exception("message %s cannot be built", message_id)
        built.broken.append(((n.id,), f"cannot build the message: {type(exc).__name__}: {exc}"))
        return
    built.letters.append(Letter((n.id,), message, person.id))


def _request(rt: Runtime, loaded: _Loaded, n: Any, now: datetime, built: Built) -> None:
    """An extension or hold request to an approver, or its decision to whoever asked
    (``app.requests_mail``); obsolete once the request is no longer pending."""
    from followup.app.requests_mail import letter

    person = loaded.people[n.recipient_id]
    message_id = n.message_id or make_message_id(message_key([n.nonce]), _domain(rt.settings.mail_from))
    try:
        message = letter(rt, n, person, message_id, now)
    except Exception as exc:  # this message's trouble only, as for any other
        log.exception("message %s cannot be built", message_id)
        built.broken.append(((n.id,), f"cannot build the message: {type(exc).__name__}: {exc}"))
        return
    if message is None:
        built.obsolete.append(n.id)
    else:
        built.letters.append(Letter((n.id,), message, person.id))


def _judge(rt: Runtime, loaded: _Loaded, n: Any, now: datetime) -> _Piece | datetime | None:
    """What becomes of notification ``n``: a piece of a mail, the moment a repeat may go (it waits), or
    None (obsolete)."""
    if n.kind == NoticeKind.DIGEST:
        weekly = loaded.weekly.get(n.recipient_id)
        return None if weekly is None else _Piece(n.id, DIGEST, n.role, context=weekly)
    if n.kind in supervision_mail.KINDS:  # a problem, a notice's reply or a round overdue
        who = loaded.people[n.recipient_id].key
        found = supervision_mail.judge(rt, loaded.oversight, n, now, who)
        if found is None or isinstance(found, datetime):
            return found
        return _Piece(n.id, SUPERVISION, n.role, n.project_id, context=found)
    project = loaded.projects.get(n.project_id)
    key = NoticeKey.from_row(n)
    if key.is_obsolete(ProjectClock.from_row(project) if project else None):
        return None
    assert project is not None  # a notification of a vanished project is obsolete
    placed = records.placement(rt, project.workflow, project.stage, project.held_stage)
    if key.kind is NoticeKind.STRANDED:  # news only while the project is still stranded
        if placed.problem is None:
            return None
        return _Piece(n.id, STRANDED, n.role, project.id, context=_stranded(project, placed))
    if placed.problem is not None or placed.workflow is None:
        return None  # its ladder waits until the project is repaired (the office is told)
    state = loaded.ladders.get((project.id, n.stage_seq, n.kind, n.round, n.recipient_id))
    if n.message_id is None:  # a group handed over before goes again as it was
        if state is not None and state.newest is not None and state.newest > n.id:
            return None  # superseded: a newer rung or repeat of this ladder is on its way
        wait = _repeat_waits(rt, placed.workflow, project, n, state, now)
        if wait is not None:
            return wait
    # A repeat of a ladder this person was never told of (a ledger line entered overdue, downtime) is news.
    told = state is not None and state.last_sent is not None
    reminder = key.kind is NoticeKind.STALE or (key.is_reminder and told)
    level = blocks.level_of(placed.workflow, n.kind, project.stage, n.level)
    if project.id not in loaded.facts:
        made = blocks.facts(rt, project, placed.workflow, now)
        loaded.facts[project.id] = {**made, "notice": loaded.notices.get(project.id)}
    return _Piece(
        n.id,
        WARNING,
        n.role,
        project.id,
        warning=Warning(n.id, n.kind, level),
        due_at=as_utc(n.due_at),
        reminder=reminder,
    )


def _with_news(pieces: list[_Piece], weekly_at: datetime, now: datetime, built: Built) -> list[_Piece]:
    """A recipient's pieces that go now. Reminders go with news (a new rung, the weekly mail); without
    any, they go once this week's weekly mail time (``weekly_at``) has come, if they were due by then;
    the others wait for the next one (``built.waiting``)."""
    if any(not p.reminder for p in pieces):
        return pieces
    going = [p for p in pieces if p.due_at is not None and p.due_at <= weekly_at <= now]
    later = weekly_at if now < weekly_at else weekly_at + timedelta(days=7)
    built.waiting.extend(((p.id,), later) for p in pieces if p not in going)
    return going


def _repeat_waits(
    rt: Runtime, workflow: Any, project: Project, n: Any, state: LadderState | None, now: datetime
) -> datetime | None:
    """When a repeat may go, if that is later than now: its interval after the last delivery of its
    ladder to its recipient (None: it may go now)."""
    if n.repeat_no == 0 or state is None or state.last_sent is None:
        return None
    interval: Limit | None
    if n.kind == NoticeKind.STALE:
        stage = workflow.stages.get(project.stage)
        interval = stage.staleness if stage else None
    else:
        ladder = workflow.ladder_for(ON_HOLD if n.kind == NoticeKind.HOLD else project.stage)
        interval = next((level.repeat for level in ladder if level.key == n.level), None)
    if interval is None:
        return None
    last = local_day(state.last_sent, rt.zone)
    # Never on the working day right after the last delivery either: a 3-day repeat over a weekend, a
    # weekly one after 国庆, would otherwise say the same thing two working days running.
    earliest = max(interval.apply(last, rt.calendar), rt.calendar.add_working_days(last, 2))
    if local_day(now, rt.zone) >= earliest:
        return None
    return start_of_day(earliest, rt.zone)


def _stranded(project: Project, placed: records.Placement) -> dict[str, Any]:
    return {
        "project": {
            "id": project.id,
            "name": project.name,
            "workflow": project.workflow,
            "stage": project.stage,
            "unit": project.unit.name,
            "officer": project.officer.name,
        },
        "problem": placed.problem,
        "hint": records.repair_hint(project.id),
    }


def _load(rt: Runtime, ids: Sequence[int], now: datetime) -> _Loaded:
    with rt.store.reading() as session:
        conn = session.connection()
        notes = mailing.notifications(conn, ids)
        project_ids = {n.project_id for n in notes if n.project_id is not None}
        projects = {
            p.id: p for p in session.scalars(select(Project).where(Project.id.in_(project_ids))).unique()
        }
        who = {n.recipient_id for n in notes}
        people = {o.id: o for o in session.scalars(select(Official).where(Official.id.in_(who))).unique()}
        ladders = mailing.ladder_states(conn, project_ids) if project_ids else {}
        escalation = (
            blocks.escalation_so_far(
                rt, projects, mailing.sent_so_far(conn, project_ids), mailing.extensions(conn, project_ids)
            )
            if project_ids
            else {}
        )
        readers = [people[n.recipient_id] for n in notes if n.kind == NoticeKind.DIGEST]
        weekly = weekly_contexts(rt, session, readers, now) if readers else {}
        oversight = supervision_mail.load(conn, notes)
        notices = supervision_mail.notices_of(conn, projects, rt.zone)
    return _Loaded(notes, projects, people, ladders, escalation, weekly, oversight=oversight, notices=notices)


def _chunks(pieces: list[_Piece], cap: int) -> list[list[_Piece]]:
    """A recipient's pieces in mails of at most ``cap`` warnings, a project's warnings together, the
    weekly mail with the first."""
    weekly = [p for p in pieces if p.family != WARNING]
    by_project: dict[int | None, list[_Piece]] = defaultdict(list)
    for piece in pieces:
        if piece.family == WARNING:
            by_project[piece.project].append(piece)
    chunks: list[list[_Piece]] = [list(weekly)]
    for whole in by_project.values():
        # A project's warnings stay together unless they alone exceed the cap (a cap below 2).
        for group in (whole[i : i + cap] for i in range(0, len(whole), cap)):
            warnings = sum(1 for p in chunks[-1] if p.family == WARNING)
            if warnings and warnings + len(group) > cap:
                chunks.append([])
            chunks[-1].extend(group)
    return [chunk for chunk in chunks if chunk]


def _letter(
    rt: Runtime,
    loaded: _Loaded,
    person: Official,
    family: str,
    pieces: list[_Piece],
    local_now: str,
    message_id: str,
    now: datetime,
) -> Letter:
    """One message to ``person`` for a group of pieces."""
    from followup.mail.templates import render  # Jinja2 only when mail goes out

    template, context = _compose(rt, loaded, person, family, pieces, local_now, now)
    subject, text, html = render(template, context, rt.settings)
    message = OutgoingMessage(
        message_id=message_id,
        to_name=person.name,
        to_email=person.email,
        subject=subject,
        text=text,
        html=html,
    )
    ids = tuple(sorted(p.id for p in pieces))
    return Letter(ids, message, person.id, any(p.family == DIGEST for p in pieces))


def _compose(
    rt: Runtime,
    loaded: _Loaded,
    person: Official,
    family: str,
    pieces: list[_Piece],
    local_now: str,
    now: datetime,
) -> tuple[str, dict[str, Any]]:
    """The template and its context for one message (see notifications/README.md); its buttons are
    signed for ``person`` as of ``now`` (when the web app has a public address)."""
    links = Links.of(rt.settings, person.id, now)
    recipient = {
        "name": person.name,
        "email": person.email,
        "key": person.key,
        "role": pieces[0].role,
        "role_label": _role_label(pieces[0].role),
    }
    if family == STRANDED:
        alerts = [{**c, "buttons": view(links, c["project"]["id"])} for c in (p.context for p in pieces) if c]
        return STRANDED, {"recipient": recipient, "items": alerts, "now": local_now}
    if family == SUPERVISION:
        return supervision_mail.compose(recipient, [p.context for p in pieces if p.context], local_now)
    items = _blocks(loaded, person, [p for p in pieces if p.family == WARNING], links)
    highest = max(items, key=lambda b: blocks.rank(b["kind"], b["level"]["key"]), default=None)
    weekly = next((p.context for p in pieces if p.family == DIGEST), None)
    if weekly is not None:
        recipient = {**recipient, "role": DIGEST, "role_label": weekly["roles"] or DIGEST_LABEL}
        context = {**weekly, "recipient": recipient, "items": items, "now": local_now}
        context["highest"] = highest["level"] if highest else None
        return DIGEST, context
    if len(items) == 1:
        only = items[0]
        return _single_template(rt, only), {"recipient": recipient, **only, "now": local_now}
    assert highest is not None
    roles = dict.fromkeys(_role_label(b["role"]) for b in items)  # what they are to these projects
    recipient = {**recipient, "role_label": "、".join(roles)}
    return "several", {"recipient": recipient, "items": items, "highest": highest["level"], "now": local_now}


def _blocks(
    loaded: _Loaded, person: Official, pieces: list[_Piece], links: Links | None
) -> list[dict[str, Any]]:
    """One block per project, its warnings together, the highest project first."""
    by_project: dict[int, list[_Piece]] = defaultdict(list)
    for piece in pieces:
        assert piece.project is not None
        by_project[piece.project].append(piece)
    out = []
    for pid, group in by_project.items():
        warnings = [p.warning for p in group if p.warning is not None]
        made = blocks.block(
            loaded.facts[pid], warnings, loaded.escalation.get(pid, []), person, group[0].role, links
        )
        out.append(made)
    return sorted(
        out, key=lambda b: (blocks.rank(b["kind"], b["level"]["key"]), -b["project"]["id"]), reverse=True
    )


def _single_template(rt: Runtime, only: dict[str, Any]) -> str:
    """A mail about one project is rendered with the template of its highest warning: the level's own
    (a county's own level uses its own templates when it ships them, else the 黄灯 ones; the subject
    still carries the level's label), ``stale`` for 跟进超时, ``hold`` for 暂缓到期."""
    from followup.mail.templates import has_kind

    if only["kind"] == NoticeKind.STALE:
        return "stale"
    if only["kind"] == NoticeKind.HOLD:
        return "hold"
    level = only["level"]["key"]
    return level if level in SHIPPED_LEVELS or has_kind(level, rt.settings) else "yellow"


def _role_label(role: str) -> str:
    return Role(role).label if role in Role._value2member_map_ else DIGEST_LABEL
