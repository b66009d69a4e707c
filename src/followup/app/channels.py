"""The work chats' group robots (issue 11): a unit's channels — added, listed with the secret masked,
tried with a test card, removed (deactivated: its cards stay in the outbox's history) — and an
official's chat identity and choice of where warnings reach them."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import select

from followup.app import records
from followup.app.runtime import Runtime
from followup.app.views import View
from followup.chat import transport
from followup.chat.payloads import KINDS, MENTION_BY, Card
from followup.chat.transport import Robot, check_webhook, mask, post, resolve_secret
from followup.domain.kinds import NoticeStatus
from followup.errors import InvalidInput, NotFound
from followup.i18n import _
from followup.store.models import Channel, ChatMessage, Official, Unit

NOTIFY = ("mail", "chat", "both")


@dataclass(frozen=True)
class ChannelView(View):
    id: int
    unit: str
    unit_name: str
    kind: str
    webhook: str
    secret: str  # masked
    mention_by: str
    active: bool
    sent: int = 0
    failed: int = 0
    last_error: str | None = None


def _view(
    row: Channel, unit: Unit, sent: int = 0, failed: int = 0, last_error: str | None = None
) -> ChannelView:
    return ChannelView(
        row.id, unit.key, unit.name, row.kind, _masked_webhook(row.webhook), mask(row.secret),
        row.mention_by, row.active, sent, failed, last_error,
    )  # fmt: skip


def _masked_webhook(url: str) -> str:
    """A webhook address as listed: its token or key (the robot's credential) masked."""
    return re.sub(
        r"((?:access_token|key)=)([^&]{4})[^&]*",
        r"\1\2****",
        re.sub(r"(/hook/[^/?]{4})[^/?]*", r"\1****", url),
    )


def add_channel(
    rt: Runtime, unit: str, *, kind: str, webhook: str, secret: str | None = None, mention_by: str = "mobile"
) -> ChannelView:
    """Give a unit (a township, a department, the supervision office, the leaders' office) a robot."""
    if kind not in KINDS:
        raise InvalidInput(_("unknown chat kind {kind!r}: dingtalk, wecom or feishu").format(kind=kind))
    if mention_by not in MENTION_BY:
        raise InvalidInput(_("--mention-by is mobile or userid"))
    url = check_webhook(webhook)
    if (
        secret is not None
        and secret.startswith("env:")
        and not re.fullmatch(r"env:[A-Za-z_][A-Za-z0-9_]*", secret)
    ):
        raise InvalidInput(_("a secret from the environment is env:NAME"))
    with rt.store.transaction() as session:
        found = records.unit(session, unit)
        row = Channel(
            unit_id=found.id, kind=kind, webhook=url, secret=secret or None, mention_by=mention_by,
            active=True, created_at=rt.now(),
        )  # fmt: skip
        session.add(row)
        session.flush()
        return _view(row, found)


def list_channels(rt: Runtime, *, include_inactive: bool = False) -> list[ChannelView]:
    """Every robot with how its cards went: sent, failed for good, and the last error seen."""
    with rt.store.reading() as session:
        query = select(Channel, Unit).join(Unit, Unit.id == Channel.unit_id).order_by(Channel.id)
        if not include_inactive:
            query = query.where(Channel.active.is_(True))
        out = []
        for row, unit in session.execute(query).all():
            statuses = [
                (s, e)
                for s, e in session.execute(
                    select(ChatMessage.status, ChatMessage.last_error)
                    .where(ChatMessage.channel_id == row.id)
                    .order_by(ChatMessage.id)
                )
            ]
            sent = sum(1 for s, _e in statuses if s == NoticeStatus.SENT.value)
            failed = sum(1 for s, _e in statuses if s == NoticeStatus.FAILED.value)
            errors = [e for _s, e in statuses if e]
            out.append(_view(row, unit, sent, failed, errors[-1] if errors else None))
        return out


def _channel(session: object, channel_id: int) -> Channel:
    row = session.get(Channel, channel_id)  # type: ignore[attr-defined]
    if row is None:
        raise NotFound(_("no chat channel {id} (see `followup channel list`)").format(id=channel_id))
    assert isinstance(row, Channel)
    return row


def remove_channel(rt: Runtime, channel_id: int) -> ChannelView:
    """Stop using a robot: deactivated (what it was sent stays); its waiting cards become obsolete."""
    with rt.store.transaction() as session:
        row = _channel(session, channel_id)
        row.active = False
        for card in session.scalars(
            select(ChatMessage).where(
                ChatMessage.channel_id == row.id,
                ChatMessage.status.in_((NoticeStatus.PENDING.value, NoticeStatus.UNKNOWN.value)),
            )
        ):
            card.status = NoticeStatus.OBSOLETE.value
        unit = session.get(Unit, row.unit_id)
        assert unit is not None
        return _view(row, unit)


def try_channel(rt: Runtime, channel_id: int) -> ChannelView:
    """Post a test card to a robot now (outside the outbox); raises what the platform answered."""
    with rt.store.reading() as session:
        row = _channel(session, channel_id)
        unit = session.get(Unit, row.unit_id)
        assert unit is not None
        view = _view(row, unit)
        robot = Robot(row.kind, row.webhook, resolve_secret(row.secret), row.mention_by)
    card = Card(
        _("followup: test message"),
        "blue",
        (_("This group will receive the project warnings of {unit}.").format(unit=unit.name),),
    )
    with transport.client() as session:
        post(session, robot, card, datetime.now(UTC))
    return view


def set_chat_contact(
    rt: Runtime,
    key: str,
    *,
    mobile: str | None = None,
    chat_user_id: str | None = None,
    notify: str | None = None,
) -> tuple[str | None, str | None, str]:
    """Set an official's mobile number, chat user id (\"\" clears either) and where warnings reach them
    (mail, chat or both); returns (mobile, user id, notify) as they now are."""
    if notify is not None and notify not in NOTIFY:
        raise InvalidInput(_("--notify is mail, chat or both"))
    if mobile and not re.fullmatch(r"\+?[0-9][0-9 -]{5,19}", mobile):
        raise InvalidInput(_("not a mobile number: {mobile!r}").format(mobile=mobile))
    if chat_user_id and not re.fullmatch(r"[\w.@-]{1,64}", chat_user_id):
        raise InvalidInput(_("not a chat user id: {id!r}").format(id=chat_user_id))
    with rt.store.transaction() as session:
        row: Official = records.official(session, key, active=False)
        if mobile is not None:
            row.mobile = mobile.replace(" ", "").replace("-", "") or None
        if chat_user_id is not None:
            row.chat_user_id = chat_user_id or None
        if notify is not None:
            row.notify = notify
        return row.mobile, row.chat_user_id, row.notify or "both"
