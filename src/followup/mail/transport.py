"""Outgoing mail: one MIME message per notification, handed over in batches by a transport.

A batch is one ``with`` block::

    with transport_for(settings) as transport:      # one SMTP connection (or one maildir) for the batch
        for message in messages:
            try:
                transport.send(message)
            except DeliveryError as exc:            # exc.permanent: retrying this message cannot help
                ...

Both transports hand over the same bytes, built by :func:`build_message`: ``multipart/alternative`` with
a ``text/plain`` part (UTF-8) then a ``text/html`` part (UTF-8), ``From`` from ``mail_from``, ``To`` as
``"李娜" <lina@example.gov.cn>`` (display names RFC 2047-encoded, addresses kept), ``Subject``, ``Date``,
the caller's ``Message-ID`` and ``Auto-Submitted: auto-generated``.

Who does what: yagmail and the standard library
-----------------------------------------------
The product design names yagmail (0.16). Measured against a real SMTP server, its message building does
not fit a daemon that sends reminders, so this module uses yagmail for the SMTP *connection* only and
the stdlib ``email`` package for the *message*:

* yagmail's ``Client`` opens the connection: SMTP, SMTP over SSL (465) or STARTTLS (587), EHLO, the
  login. We pass it the login as ``{login: login}`` (a bare string without ``@`` gets ``@gmail.com``
  appended), switch off its address check (a login need not be an address), give it the password
  explicitly and replace its password hook so that it can never reach ``keyring`` or prompt; with no
  ``smtp_user`` the login is skipped. Its default TLS contexts come from ``smtplib``, which does not
  verify certificates; we pass verifying ones (``ssl.create_default_context()``).
* ``Client.send()`` is not used: it logs in again (a new connection, the old one never closed) for
  every message, retries a dropped connection three times with sleeps of 3 and 6 s and then reports
  failure only as a ``False`` return value, and uses the login as the envelope sender. We call
  ``sendmail`` on the connection yagmail opened, once per message, and map every ``smtplib``/socket
  error to :class:`~followup.errors.DeliveryError`.
* yagmail's message (``prepare_message``) is not used: its Message-ID is a hash of From, To and Subject,
  so every repeat of a reminder would share one; ``to={address: name}`` puts only the names in the To
  header (the address is lost); its text/plain part is the joined contents, HTML tags included; it
  nests the HTML in ``multipart/mixed``/``related`` and rewrites it with premailer. The message is built
  here with ``email.message.EmailMessage`` and ``email.policy.default``.

yagmail is imported only when an SMTP batch opens, so neither the CLI nor the maildir transport pays
for it. The password is never logged or put in an error message.
"""

from __future__ import annotations

import hashlib
import logging
import mailbox
import re
import smtplib
import ssl
from abc import ABC, abstractmethod
from dataclasses import dataclass
from datetime import UTC, datetime
from email import errors, policy
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime, parseaddr
from pathlib import Path
from types import TracebackType
from typing import Any, Self

from followup.errors import ConfigError, DeliveryError
from followup.settings import Settings

log = logging.getLogger(__name__)

#: Default ports by ``smtp_security``.
DEFAULT_PORTS = {"none": 25, "starttls": 587, "ssl": 465}
#: Seconds to wait for the SMTP server on connect and on every command.
SMTP_TIMEOUT = 30.0

_SMTP_POLICY = policy.SMTP  # CRLF line ends, as the SMTP DATA command requires
_MESSAGE_ID_RE = re.compile(r"^<[^<>@\s]+@[^<>@\s]+>$")
_ADDRESS_RE = re.compile(r"^[^@\s<>\"(),;:\\\[\]]+@[A-Za-z0-9.-]+$")
_KEY_SAFE_RE = re.compile(r"[^A-Za-z0-9_-]+")


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
            f"mail from {mail_from!r} has no usable address: "
            "expected e.g. '县投资促进局 <followup@example.gov.cn>'"
        ) from None


def message_domain(settings: Settings) -> str:
    """The domain for :func:`make_message_id`: that of the ``mail_from`` address."""
    return sender_address(settings.mail_from).domain


def build_message(message: OutgoingMessage, *, sender: Address, date: datetime) -> EmailMessage:
    """The RFC 5322 message both transports hand over.

    Raises :class:`DeliveryError` (permanent) when the message itself is unusable (a line break in a
    header, a malformed address or Message-ID): sending it again cannot help.
    """
    for what, value in (("subject", message.subject), ("recipient name", message.to_name)):
        if "\n" in value or "\r" in value:
            raise DeliveryError(f"{message.message_id}: the {what} contains a line break", permanent=True)
    if not _ADDRESS_RE.match(message.to_email) or not message.to_email.isascii():
        raise DeliveryError(f"bad recipient address {message.to_email!r}", permanent=True)
    if not _MESSAGE_ID_RE.match(message.message_id):
        raise DeliveryError(f"bad Message-ID {message.message_id!r}", permanent=True)
    if date.tzinfo is None:
        raise ValueError("the Date of a message needs a time zone")

    try:
        to = Address(display_name=message.to_name, addr_spec=message.to_email)
    except (ValueError, IndexError, errors.MessageError) as exc:  # e.g. "li..na@example.gov.cn"
        raise DeliveryError(f"bad recipient address {message.to_email!r}: {exc}", permanent=True) from exc
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
    for part in msg.iter_parts():
        del part["MIME-Version"]  # add_alternative leaves one on the HTML part; it belongs on top only
    # A boundary derived from the Message-ID makes the bytes of a message reproducible (a retry sends
    # exactly what was tried before). It cannot occur in the parts: base64 lines never start with "--".
    msg.set_boundary("=_followup_" + hashlib.sha256(message.message_id.encode("ascii")).hexdigest()[:32])
    return msg


class Transport(ABC):
    """Hands over the messages of one batch; a context manager that opens on enter, closes on exit.

    :meth:`send` raises :class:`DeliveryError` for a message that was not handed over; the others of
    the batch can still be sent. ``sent`` and ``failed`` count the batch; one log line sums it up.
    """

    def __init__(self, settings: Settings, *, now: datetime | None = None) -> None:
        self.sender = sender_address(settings.mail_from)
        self.zone = settings.zone
        self.now = now  # fixed Date for a replayed scenario (--now); None: the real time
        self.sent = 0
        self.failed = 0

    @property
    @abstractmethod
    def where(self) -> str:
        """Where the mail goes, for logs and errors (never the password)."""

    @abstractmethod
    def _open(self) -> None: ...

    @abstractmethod
    def _deliver(self, message: OutgoingMessage, mime: EmailMessage) -> None: ...

    @abstractmethod
    def _close(self) -> None: ...

    def __enter__(self) -> Self:
        self._open()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        try:
            self._close()
        finally:
            log.info("mail batch: %d sent, %d failed, via %s", self.sent, self.failed, self.where)

    def send(self, message: OutgoingMessage) -> None:
        """Hand over one message, or raise :class:`DeliveryError` (``permanent`` says if a retry can help)."""
        try:
            date = (self.now or datetime.now(UTC)).astimezone(self.zone)  # Date in local time, e.g. +0800
            mime = build_message(message, sender=self.sender, date=date)
            self._deliver(message, mime)
        except DeliveryError:
            self.failed += 1
            raise
        self.sent += 1


class MaildirTransport(Transport):
    """Writes each message as one file into ``settings.maildir`` (created when missing)."""

    def __init__(self, settings: Settings, *, now: datetime | None = None) -> None:
        super().__init__(settings, now=now)
        self.path: Path = settings.maildir
        self._box: mailbox.Maildir | None = None

    @property
    def where(self) -> str:
        return f"maildir {self.path}"

    def _open(self) -> None:
        try:
            for sub in ("tmp", "new", "cur"):
                (self.path / sub).mkdir(mode=0o700, parents=True, exist_ok=True)
            self._box = mailbox.Maildir(self.path, create=False)
        except OSError as exc:
            raise DeliveryError(f"cannot open {self.where}: {exc.strerror or exc}") from exc

    def _deliver(self, message: OutgoingMessage, mime: EmailMessage) -> None:
        if self._box is None:
            raise RuntimeError("the transport is not open: use it in a with block")
        try:
            self._box.add(mime.as_bytes())
        except OSError as exc:
            raise DeliveryError(
                f"cannot write {message.message_id} to {self.where}: {exc.strerror or exc}"
            ) from exc

    def _close(self) -> None:
        if self._box is not None:
            self._box.close()
            self._box = None


def _no_keyring(user: str, password: str | None) -> str:
    """Replaces yagmail's password hook, which would ask keyring or prompt on the terminal."""
    if password is None:
        raise DeliveryError(f"no SMTP password for {user}: set FOLLOWUP_SMTP_PASSWORD")
    return password


def _reply(code: int, text: bytes | str) -> str:
    if isinstance(text, bytes):
        text = text.decode("utf-8", "replace")
    return f"{code} {' '.join(text.split())}".strip()


class SmtpTransport(Transport):
    """Sends every message of a batch over one SMTP connection, opened (and logged into) by yagmail."""

    def __init__(self, settings: Settings, *, now: datetime | None = None) -> None:
        super().__init__(settings, now=now)
        if settings.smtp_host is None:
            raise ConfigError("no SMTP host configured (FOLLOWUP_SMTP_HOST)")
        if settings.smtp_user is not None and settings.smtp_password is None:
            raise ConfigError(
                "FOLLOWUP_SMTP_USER is set but FOLLOWUP_SMTP_PASSWORD is not (followup never asks for it)"
            )
        self.host = settings.smtp_host
        self.security = settings.smtp_security
        self.port = settings.smtp_port or DEFAULT_PORTS[self.security]
        self.user = settings.smtp_user
        self._password = settings.smtp_password
        self.timeout = SMTP_TIMEOUT
        self._client: Any = None  # yagmail.Client while the batch is open
        self._lost: str | None = None  # why the connection is gone, once it is

    @property
    def where(self) -> str:
        extra = "" if self.security == "none" else f" ({self.security})"
        who = f" as {self.user}" if self.user else ""
        return f"smtp {self.host}:{self.port}{extra}{who}"

    def _open(self) -> None:
        import yagmail  # only when mail really goes out over SMTP

        kwargs: dict[str, Any] = {"timeout": self.timeout}
        if self.security == "ssl":
            kwargs["context"] = ssl.create_default_context()
        # The login as {login: login}: a plain string without "@" would become "login@gmail.com".
        login = self.user or self.sender.addr_spec
        client = yagmail.Client(
            user={login: login},
            password=self._password,
            host=self.host,
            port=self.port,
            smtp_ssl=self.security == "ssl",
            smtp_starttls={"context": ssl.create_default_context()} if self.security == "starttls" else False,
            smtp_skip_login=self.user is None,
            soft_email_validation=False,
            **kwargs,
        )
        client.set_logging(None)  # no handler of its own on stderr; our logging configuration rules
        client.handle_password = _no_keyring
        self._client = client
        self._lost = None
        try:
            client.login()
        except DeliveryError:
            self._abort()
            raise
        except smtplib.SMTPAuthenticationError as exc:
            self._abort()
            raise DeliveryError(f"{self.where}: login refused: {_describe(exc)}") from exc
        except (smtplib.SMTPException, OSError) as exc:
            self._abort()
            raise DeliveryError(f"cannot connect to {self.where}: {_describe(exc)}") from exc

    def _deliver(self, message: OutgoingMessage, mime: EmailMessage) -> None:
        to = message.to_email
        if self._lost is not None:
            raise DeliveryError(f"not sent to {to}: {self._lost}")
        if self._client is None:
            raise RuntimeError("the transport is not open: use it in a with block")
        data = mime.as_bytes(policy=_SMTP_POLICY)
        try:
            self._client.smtp.sendmail(self.sender.addr_spec, [to], data)
        except smtplib.SMTPRecipientsRefused as exc:
            code, text = exc.recipients.get(to, (0, b""))
            self._check_connection()
            raise DeliveryError(
                f"{self.where} refused recipient {to}: {_reply(code, text)}", permanent=500 <= code < 600
            ) from exc
        except smtplib.SMTPSenderRefused as exc:
            # The sender is the configuration's fault, not this message's: keep the message for later.
            self._check_connection()
            reply = _reply(exc.smtp_code, exc.smtp_error)
            raise DeliveryError(f"{self.where} refused the sender {self.sender.addr_spec}: {reply}") from exc
        except smtplib.SMTPDataError as exc:
            self._check_connection()
            raise DeliveryError(
                f"{self.where} refused the message to {to}: {_reply(exc.smtp_code, exc.smtp_error)}",
                permanent=500 <= exc.smtp_code < 600,
            ) from exc
        except (smtplib.SMTPException, OSError) as exc:
            self._lost = f"the connection to {self.where} was lost ({_describe(exc)})"
            self._abort()
            raise DeliveryError(f"not sent to {to}: {self._lost}") from exc

    def _check_connection(self) -> None:
        """After a refusal: smtplib drops the connection itself on a 421 reply."""
        if self._client is not None and getattr(self._client.smtp, "sock", None) is None:
            self._lost = f"{self.where} closed the connection"

    def _abort(self) -> None:
        """Drop the connection without a polite QUIT (it is broken or refused us)."""
        client, self._client = self._client, None
        if client is not None:
            client.is_closed = True
            if client.smtp is not None:
                client.smtp.close()
        if self._lost is None:
            self._lost = f"the connection to {self.where} is closed"

    def _close(self) -> None:
        client, self._client = self._client, None
        if client is None:
            return
        client.is_closed = True
        if client.smtp is None:
            return
        try:
            client.smtp.quit()
        except (smtplib.SMTPException, OSError) as exc:
            log.debug("QUIT to %s failed: %s", self.where, _describe(exc))
        finally:
            client.smtp.close()


def _describe(exc: BaseException) -> str:
    """A one-line reason for a connection failure, without traceback or secrets."""
    if isinstance(exc, smtplib.SMTPResponseException):
        return _reply(exc.smtp_code, exc.smtp_error)
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror
    return str(exc) or type(exc).__name__


def transport_for(settings: Settings, *, now: datetime | None = None) -> Transport:
    """The transport the settings ask for: SMTP when ``smtp_host`` is set, else the local maildir.

    ``now`` fixes the Date header (a replayed scenario); by default it is the time of sending.
    """
    if settings.smtp_host:
        return SmtpTransport(settings, now=now)
    return MaildirTransport(settings, now=now)
