"""One outgoing message: what the caller gives (:class:`OutgoingMessage`), the RFC 5322 message both
transports hand over (:func:`build_message`), and the check of its serialised headers
(:func:`check_headers`) that stops a name from smuggling in a header of its own.

The message is built with ``email.message.EmailMessage`` and ``email.policy.default``:
``multipart/alternative`` with a ``text/plain`` part (UTF-8) then a ``text/html`` part (UTF-8), ``From``
from ``mail_from``, ``To`` as ``"李娜" <lina@example.gov.cn>`` (display names RFC 2047-encoded, addresses
kept), ``Subject``, ``Date``, the caller's ``Message-ID`` and ``Auto-Submitted: auto-generated``.
A message with attachments (the monthly bulletin's PDF) is ``multipart/mixed``: that alternative, then
each file (base64, its name RFC 2231-encoded).
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from datetime import datetime
from email import errors, policy
from email.headerregistry import Address
from email.message import EmailMessage, Message
from email.parser import BytesHeaderParser
from email.utils import format_datetime, parseaddr
from typing import Any

from followup.errors import ConfigError, DeliveryError
from followup.i18n import _
from followup.settings import Settings

#: The headers of every message, each exactly once (checked on the serialised message).
HEADERS = frozenset(
    {
        *("from", "to", "subject", "date", "message-id"),
        *("auto-submitted", "x-auto-response-suppress", "mime-version", "content-type"),
    }
)

_MESSAGE_ID_RE = re.compile(r"^<[^<>@\s]+@[^<>@\s]+>$")
_ADDRESS_RE = re.compile(r"^[^@\s<>\"(),;:\\\[\]]+@[A-Za-z0-9.-]+$")
_KEY_SAFE_RE = re.compile(r"[^A-Za-z0-9_-]+")


@dataclass(frozen=True)
class Attachment:
    """A file sent with a message: its name as the reader sees it, its MIME type, its bytes."""

    filename: str
    content_type: str  # e.g. application/pdf
    data: bytes = field(repr=False)


@dataclass(frozen=True)
class OutgoingMessage:
    """One rendered notification for one recipient.

    ``message_id`` is chosen by the caller (see :func:`make_message_id`) and must stay the same when the
    same notification is sent again after a failure, so that mail clients and servers see one message.
    """

    message_id: str
    to_name: str
    to_email: str
    subject: str
    text: str
    html: str
    attachments: tuple[Attachment, ...] = ()


def make_message_id(notification_key: str, domain: str) -> str:
    """A Message-ID that is the same for the same notification key: ``<followup.{key}@{domain}>``.

    Characters a Message-ID cannot carry are replaced by ``-``; when that happens a short hash of the
    original key is appended, so different keys still give different ids.
    """
    if not notification_key:
        raise ValueError("a notification key is required")
    domain = domain.strip().lower() or "localhost"
    if not re.fullmatch(r"[a-z0-9.-]+", domain):
        raise ValueError(f"bad domain for a Message-ID: {domain!r}")
    safe = _KEY_SAFE_RE.sub("-", notification_key)
    if safe != notification_key:
        safe += "-" + hashlib.sha256(notification_key.encode("utf-8")).hexdigest()[:12]
    return f"<followup.{safe}@{domain}>"


def sender_address(mail_from: str) -> Address:
    """``mail_from`` (``县投资促进局 <followup@example.gov.cn>`` or a bare address) as an Address."""
    name, addr = parseaddr(mail_from)
    try:
        if not _ADDRESS_RE.match(addr or "") or not addr.isascii():
            raise ValueError(addr)
        return Address(display_name=name, addr_spec=addr)
    except (ValueError, IndexError, errors.MessageError):
        raise ConfigError(
            _(
                "mail from {value!r} has no usable address: "
                "expected e.g. '县投资促进局 <followup@example.gov.cn>'"
            ).format(value=mail_from)
        ) from None


def message_domain(settings: Settings) -> str:
    """The domain for :func:`make_message_id`: that of the ``mail_from`` address."""
    return sender_address(settings.mail_from).domain


def build_message(message: OutgoingMessage, *, sender: Address, date: datetime) -> EmailMessage:
    """The RFC 5322 message both transports hand over.

    Raises :class:`DeliveryError` (permanent) when the message itself is unusable (a line break in a
    header, a malformed address or Message-ID): sending it again cannot help.
    """
    for problem, value in (
        (_("{id}: the subject contains a line break"), message.subject),
        (_("{id}: the recipient name contains a line break"), message.to_name),
    ):
        if "\n" in value or "\r" in value:
            raise DeliveryError(problem.format(id=message.message_id), permanent=True)
    if not _ADDRESS_RE.match(message.to_email) or not message.to_email.isascii():
        raise DeliveryError(
            _("bad recipient address {address!r}").format(address=message.to_email), permanent=True
        )
    if not _MESSAGE_ID_RE.match(message.message_id):
        raise DeliveryError(_("bad Message-ID {id!r}").format(id=message.message_id), permanent=True)
    if date.tzinfo is None:
        raise ValueError("the Date of a message needs a time zone")

    try:
        to = Address(display_name=message.to_name, addr_spec=message.to_email)
    except (ValueError, IndexError, errors.MessageError) as exc:  # e.g. "li..na@example.gov.cn"
        raise DeliveryError(
            _("bad recipient address {address!r}: {reason}").format(address=message.to_email, reason=exc),
            permanent=True,
        ) from exc
    msg = EmailMessage(policy=policy.default)
    msg["From"] = sender
    msg["To"] = to
    msg["Subject"] = message.subject
    msg["Date"] = format_datetime(date)
    msg["Message-ID"] = message.message_id
    msg["Auto-Submitted"] = "auto-generated"  # RFC 3834: no vacation replies
    msg["X-Auto-Response-Suppress"] = "OOF, AutoReply"  # the same for Exchange
    # base64 is safe for Chinese text through any relay (no 8BITMIME needed) and shorter than QP.
    msg.set_content(message.text, subtype="plain", charset="utf-8", cte="base64")
    msg.add_alternative(message.html, subtype="html", charset="utf-8", cte="base64")
    for attachment in message.attachments:
        maintype, _slash, subtype = attachment.content_type.partition("/")
        msg.add_attachment(attachment.data, maintype=maintype, subtype=subtype, filename=attachment.filename)
    # A boundary derived from the Message-ID makes the bytes of a message reproducible (a retry sends
    # exactly what was tried before). It cannot occur in the parts: base64 lines never start with "--".
    seed = hashlib.sha256(message.message_id.encode("ascii")).hexdigest()[:32]
    multiparts = [part for part in msg.walk() if part.is_multipart()]
    for depth, part in enumerate(multiparts):  # the top one first; a nested one (with attachments) after
        # never one boundary the prefix of another: a reader would cut the outer part at the inner line
        part.set_boundary(f"=_followup{depth or ''}_{seed}")
    for part in msg.walk():
        if part is not msg:
            del part["MIME-Version"]  # add_alternative leaves one on the HTML part; it belongs on top only
    return msg


def check_headers(data: bytes, message: OutgoingMessage, sender: Address) -> None:
    """Read the serialised message's headers back as a mail reader would; refuse (permanent
    :class:`DeliveryError`) anything but exactly :data:`HEADERS`, each once, with To exactly the
    recipient, From the sender and the Subject and Message-ID as given.

    The header block is split as any parser splits it (compat32: raw values, cheap); only the headers
    that carry what a user typed are then decoded the way ``policy.default`` does (RFC 2047 words
    included): To, From and Subject."""
    head = data.split(b"\r\n\r\n", 1)[0] + b"\r\n\r\n"
    problem = ""
    try:
        raw = BytesHeaderParser(policy=policy.compat32).parsebytes(head)
        names = [name.lower() for name in raw.keys()]  # noqa: SIM118  (a Message is no dict)
        if sorted(names) != sorted(HEADERS):
            extra = sorted({n for n in names if names.count(n) > 1 or n not in HEADERS})
            problem = (
                _("unexpected headers {names}").format(names=", ".join(extra))
                if extra
                else _("unexpected headers missing")
            )
        else:
            to, frm, subject = (_decoded(raw, name) for name in ("To", "From", "Subject"))
            if [(a.display_name, a.addr_spec) for a in to.addresses] != [(message.to_name, message.to_email)]:
                problem = _("the To header is not exactly {address}").format(address=message.to_email)
            elif [a.addr_spec for a in frm.addresses] != [sender.addr_spec]:
                problem = _("the From header is not the sender")
            elif str(subject) != message.subject:
                problem = _("the Subject changed on the way out")
            elif raw["Message-ID"].strip() != message.message_id:
                problem = _("the Message-ID changed on the way out")
    except (ValueError, IndexError, AttributeError, errors.MessageError) as exc:
        problem = _("unreadable headers ({reason})").format(reason=exc)
    if problem:
        raise DeliveryError(
            _("{id} to {address}: {problem}").format(
                id=message.message_id, address=message.to_email, problem=problem
            ),
            permanent=True,
        )


def _decoded(raw: Message, name: str) -> Any:
    """A raw header value as ``policy.default`` reads it (unfolded, encoded words decoded, parsed)."""
    return policy.default.header_fetch_parse(name, raw[name])
