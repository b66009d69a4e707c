"""Outgoing mail: one MIME message per notification, handed over in batches by a transport.

A batch is one ``with`` block::

    with transport_for(settings, limits=limits) as transport:   # one SMTP connection, or one maildir
        for message in messages:
            if not transport.connected:
                transport.open()                # a reconnect, after the server dropped the connection
            try:
                transport.send(message)
            except NotTried: ...                # the connection failed first: the message is not to blame
            except OutcomeUnknown: ...          # the data went out, the server's reply never came
            except DeliveryError as exc: ...    # this message was refused (exc.permanent: for good)

Both transports hand over the same bytes: the message of :mod:`followup.mail.message` (re-exported
here), its serialised headers checked before anything goes out — exactly the expected headers, each
once, the To address exactly the recipient's. A name that smuggles a line break in (an encoded word
such as ``=?utf-8?q?=0D=0AReply-To:...?=``, which the email package decodes when it folds the header)
makes its message fail for good, never a header of its own.

Who does what: yagmail, smtplib and the standard library
--------------------------------------------------------
The product design names yagmail (0.16). This module uses it for the SMTP *connection* only and the
stdlib ``email`` package for the *message*:

* yagmail's ``Client`` opens the connection: SMTP, SMTP over SSL (465) or STARTTLS (587), EHLO, the
  login. Its socket is ours (:mod:`followup.mail.session`): every wait for the server is bounded by
  RFC 5321's timeout for that reply (``FOLLOWUP_SMTP_TIMEOUTS``), by the batch's deadline and by a
  stop request, so that neither a dripping greeting nor SIGTERM can leave it hanging. We pass it the
  login as ``{login: login}`` (a bare string without ``@`` gets ``@gmail.com`` appended), switch off
  its address check, give it the password explicitly and replace its password hook so that it can
  never reach ``keyring`` or prompt; with no ``smtp_user`` the login is skipped. Its TLS contexts are
  verifying ones (``ssl.create_default_context()``). A login never goes out without TLS unless
  ``FOLLOWUP_SMTP_ALLOW_PLAINTEXT`` says so (the settings turn ``none`` into ``starttls`` otherwise).
* ``Client.send()`` is not used (it logs in again for every message, retries with sleeps, reports
  failure as ``False``). Each message is one MAIL, RCPT, DATA exchange on the connection yagmail
  opened, and each failure is sorted by where it happened:

  - the connection failed before the message's data went out (connect, greeting, login, a drop or a
    timeout during MAIL/RCPT/DATA, a refused sender): :class:`~followup.errors.NotTried`, the message
    keeps its attempts;
  - the server refused this message (a 4xx or 5xx to RCPT, DATA or the end of data; a 421 also closes
    the connection) or the connection broke while its data was going out: :class:`DeliveryError`,
    ``permanent`` for a 5xx or a message that cannot be built;
  - the data went out but the reply to its end never came (a timeout, a drop):
    :class:`~followup.errors.OutcomeUnknown`: the server may have delivered it.
* yagmail's message (``prepare_message``) is not used: its Message-ID is a hash of From, To and
  Subject, ``to={address: name}`` loses the address, its text part is the HTML with tags. The message
  is built here with ``email.message.EmailMessage`` and ``email.policy.default``.

yagmail is imported only when an SMTP batch opens, so neither the CLI nor the maildir transport pays
for it. The password is never logged or put in an error message.
"""

from __future__ import annotations

import logging
import mailbox
import smtplib
import ssl
from abc import ABC, abstractmethod
from datetime import UTC, datetime
from email import policy
from functools import partial
from pathlib import Path
from types import TracebackType
from typing import Any, Self

from followup.errors import ConfigError, DeliveryError, NotTried, OutcomeUnknown
from followup.i18n import _
from followup.mail.message import (
    HEADERS,
    OutgoingMessage,
    build_message,
    check_headers,
    make_message_id,
    message_domain,
    sender_address,
)
from followup.mail.session import Interrupted, Limits, TimedSMTP, TimedSMTPSSL, dot_stuffed
from followup.settings import Settings

__all__ = [
    "DEFAULT_PORTS",
    "HEADERS",
    "MaildirTransport",
    "OutgoingMessage",
    "SmtpTransport",
    "Transport",
    "build_message",
    "check_headers",
    "make_message_id",
    "message_domain",
    "sender_address",
    "transport_for",
]

log = logging.getLogger(__name__)

#: Default ports by ``smtp_security``.
DEFAULT_PORTS = {"none": 25, "starttls": 587, "ssl": 465}
_SMTP_POLICY = policy.SMTP  # CRLF line ends, as the SMTP DATA command requires


class Transport(ABC):
    """Hands over the messages of one batch: opened on enter (and again by :meth:`open` after a lost
    connection), closed on exit. ``sent`` and ``failed`` count the batch; one log line sums it up."""

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

    @property
    @abstractmethod
    def connected(self) -> bool:
        """Whether messages can be handed over now (else :meth:`open` first)."""

    @abstractmethod
    def open(self) -> None:
        """Connect; raises :class:`NotTried` when that fails."""

    @abstractmethod
    def _deliver(self, message: OutgoingMessage, data: bytes) -> None: ...

    @abstractmethod
    def close(self) -> None: ...

    def __enter__(self) -> Self:
        self.open()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        try:
            self.close()
        finally:
            log.info("mail batch: %d sent, %d failed, via %s", self.sent, self.failed, self.where)

    def send(self, message: OutgoingMessage) -> None:
        """Hand over one message, or raise :class:`DeliveryError` (see the module's docstring)."""
        try:
            data = self.serialise(message)
            self._deliver(message, data)
        except DeliveryError:
            self.failed += 1
            raise
        self.sent += 1

    def serialise(self, message: OutgoingMessage) -> bytes:
        """The message's bytes (CRLF line ends), its headers checked; permanent DeliveryError if the
        message cannot be built."""
        date = (self.now or datetime.now(UTC)).astimezone(self.zone)  # Date in local time, e.g. +0800
        try:
            data = build_message(message, sender=self.sender, date=date).as_bytes(policy=_SMTP_POLICY)
        except DeliveryError:
            raise
        except Exception as exc:  # the email package refuses what it cannot fold (ValueError, …)
            raise DeliveryError(
                _("{id} to {address}: cannot build the message: {reason}").format(
                    id=message.message_id, address=message.to_email, reason=exc
                ),
                permanent=True,
            ) from exc
        check_headers(data, message, self.sender)
        return data


class MaildirTransport(Transport):
    """Writes each message as one file into ``settings.maildir`` (created when missing)."""

    def __init__(self, settings: Settings, *, now: datetime | None = None) -> None:
        super().__init__(settings, now=now)
        self.path: Path = settings.maildir
        self._box: mailbox.Maildir | None = None

    @property
    def where(self) -> str:
        return f"maildir {self.path}"

    @property
    def connected(self) -> bool:
        return self._box is not None

    def open(self) -> None:
        try:
            for sub in ("tmp", "new", "cur"):
                (self.path / sub).mkdir(mode=0o700, parents=True, exist_ok=True)
            self._box = mailbox.Maildir(self.path, create=False)
        except OSError as exc:
            raise NotTried(
                _("cannot open {where}: {reason}").format(where=self.where, reason=exc.strerror or exc)
            ) from exc

    def _deliver(self, message: OutgoingMessage, data: bytes) -> None:
        if self._box is None:
            raise RuntimeError("the transport is not open: use it in a with block")
        try:
            self._box.add(data.replace(b"\r\n", b"\n"))  # a maildir file has local line ends
        except OSError as exc:
            raise DeliveryError(
                _("cannot write {id} to {where}: {reason}").format(
                    id=message.message_id, where=self.where, reason=exc.strerror or exc
                )
            ) from exc

    def close(self) -> None:
        if self._box is not None:
            self._box.close()
            self._box = None


def _no_keyring(user: str, password: str | None) -> str:
    """Replaces yagmail's password hook, which would ask keyring or prompt on the terminal."""
    if password is None:
        raise ConfigError(_("no SMTP password for {user}: set FOLLOWUP_SMTP_PASSWORD").format(user=user))
    return password


def _reply(code: int, text: bytes | str) -> str:
    if isinstance(text, bytes):
        text = text.decode("utf-8", "replace")
    return f"{code} {' '.join(text.split())}".strip()


def _client(limits: Limits, **kwargs: Any) -> Any:
    """A yagmail Client whose connection is a :mod:`followup.mail.session` one, under ``limits``."""
    import yagmail  # only when mail really goes out over SMTP

    class Client(yagmail.Client):  # type: ignore[misc]
        @property
        def connection(self) -> Any:  # yagmail opens its connection through this
            return partial(TimedSMTPSSL if self.ssl else TimedSMTP, limits=limits)

    client = Client(**kwargs)
    client.set_logging(None)  # no handler of its own on stderr; our logging configuration rules
    client.handle_password = _no_keyring
    return client


class SmtpTransport(Transport):
    """Sends every message of a batch over one SMTP connection, opened (and logged into) by yagmail;
    :meth:`open` again after a lost connection."""

    def __init__(
        self, settings: Settings, *, now: datetime | None = None, limits: Limits | None = None
    ) -> None:
        super().__init__(settings, now=now)
        if settings.smtp_host is None:
            raise ConfigError(_("no SMTP host configured (FOLLOWUP_SMTP_HOST)"))
        if settings.smtp_user is not None and settings.smtp_password is None:
            raise ConfigError(
                _("FOLLOWUP_SMTP_USER is set but FOLLOWUP_SMTP_PASSWORD is not (followup never asks for it)")
            )
        self.host = settings.smtp_host
        self.security = settings.smtp_security
        self.port = settings.smtp_port or DEFAULT_PORTS[self.security]
        self.user = settings.smtp_user
        self._password = settings.smtp_password
        self.limits = limits or Limits(settings.smtp_timeouts)
        self._client: Any = None  # yagmail.Client while a connection is open
        self._lost: str | None = None  # why the connection is gone, once it is

    @property
    def where(self) -> str:
        extra = "" if self.security == "none" else f" ({self.security})"
        who = f" as {self.user}" if self.user else ""
        return f"smtp {self.host}:{self.port}{extra}{who}"

    @property
    def connected(self) -> bool:
        return self._client is not None

    def open(self) -> None:
        self.close()
        self._lost = None
        login = self.user or self.sender.addr_spec  # {login: login}: "login" alone gets "@gmail.com"
        client = _client(
            self.limits,
            user={login: login},
            password=self._password,
            host=self.host,
            port=self.port,
            smtp_ssl=self.security == "ssl",
            smtp_starttls={"context": ssl.create_default_context()} if self.security == "starttls" else False,
            smtp_skip_login=self.user is None,
            soft_email_validation=False,
            **({"context": ssl.create_default_context()} if self.security == "ssl" else {}),
        )
        self._client = client
        try:
            client.login()
        except Interrupted as exc:
            self._abort(_("stopping"))
            raise NotTried(_("not connected to {where}: stopping").format(where=self.where)) from exc
        except smtplib.SMTPNotSupportedError as exc:
            self._abort(_("no STARTTLS"))
            raise NotTried(
                _("{where}: {problem}").format(where=self.where, problem=_unsupported(exc))
            ) from exc
        except smtplib.SMTPAuthenticationError as exc:
            self._abort(_("login refused"))
            raise NotTried(
                _("{where}: login refused: {reason}").format(where=self.where, reason=_describe(exc))
            ) from exc
        except (smtplib.SMTPException, OSError) as exc:
            self._abort(_("cannot connect"))
            raise NotTried(
                _("cannot connect to {where}: {reason}").format(where=self.where, reason=_describe(exc))
            ) from exc
        except BaseException:
            self._abort(_("failed"))
            raise

    def _deliver(self, message: OutgoingMessage, data: bytes) -> None:
        to = message.to_email
        if self._client is None:
            raise NotTried(
                _("not sent to {to}: {reason}").format(to=to, reason=self._lost or _("not connected"))
            )
        session = self._client.smtp
        try:
            refusal = self._exchange(session, to, dot_stuffed(data))
        except Interrupted as exc:
            self._abort(_("stopping"))
            raise NotTried(_("not sent to {to}: stopping").format(to=to)) from exc
        except (smtplib.SMTPException, OSError) as exc:
            phase = session.phase
            self._abort(
                _("the connection to {where} was lost ({reason})").format(
                    where=self.where, reason=_describe(exc)
                )
            )
            if phase == "end":
                raise OutcomeUnknown(
                    _(
                        "{to}: {where} took the message but did not confirm it ({reason}); "
                        "it may have been delivered"
                    ).format(to=to, where=self.where, reason=_describe(exc))
                ) from exc
            if phase == "block":
                raise DeliveryError(
                    _("not sent to {to}: {reason} while the data went out").format(to=to, reason=self._lost)
                ) from exc
            raise NotTried(_("not sent to {to}: {reason}").format(to=to, reason=self._lost)) from exc
        if refusal is not None:
            self._refused(session, to, *refusal)

    def _exchange(self, session: Any, to: str, data: bytes) -> tuple[str, int, bytes] | None:
        """MAIL, RCPT, DATA and the data; None when the server took it, else (phase, code, text)."""
        session.expect("session")
        session.ehlo_or_helo_if_needed()
        for phase, ok in (("mail", (250,)), ("rcpt", (250, 251)), ("data", (354,))):
            if phase == "mail":
                code, text = session.mail(self.sender.addr_spec)
            elif phase == "rcpt":
                code, text = session.rcpt(to)
            else:
                code, text = session.docmd("data")
            if code not in ok:
                return phase, code, text
        session.expect("block")
        session.send(data)
        session.expect("end")
        code, text = session.getreply()
        return None if code == 250 else ("end", code, text)

    def _refused(self, session: Any, to: str, phase: str, code: int, text: bytes) -> None:
        """Raise what a refusal means: the sender refused is not this message's fault (NotTried, and
        the connection is dropped so that the batch's bounded reconnects apply); otherwise this
        message pays, for good on a 5xx. A 421 closes the connection: the rest reconnect."""
        reply = _reply(code, text)
        if phase == "mail" or code == 421:
            self._abort(_("{where} closed the connection ({reply})").format(where=self.where, reply=reply))
        elif phase != "end":
            try:
                session.expect("session")
                session.rset()
            except (smtplib.SMTPException, OSError, Interrupted):
                self._abort(_("the connection to {where} was lost after a refusal").format(where=self.where))
        if phase == "mail":
            raise NotTried(
                _("{where} refused the sender {sender}: {reply}").format(
                    where=self.where, sender=self.sender.addr_spec, reply=reply
                )
            )
        refused = (
            _("{where} refused recipient {to}: {reply}")
            if phase == "rcpt"
            else _("{where} refused the message to {to}: {reply}")
        )
        raise DeliveryError(refused.format(where=self.where, to=to, reply=reply), permanent=500 <= code < 600)

    def _abort(self, why: str) -> None:
        """Drop the connection without a polite QUIT (it is broken, refused us, or we are stopping)."""
        client, self._client = self._client, None
        if client is not None:
            client.is_closed = True
            if client.smtp is not None:
                client.smtp.close()
        if self._lost is None:
            self._lost = why

    def close(self) -> None:
        client, self._client = self._client, None
        if client is None:
            return
        client.is_closed = True
        if client.smtp is None:
            return
        try:
            client.smtp.expect("session")
            client.smtp.quit()
        except (smtplib.SMTPException, OSError, Interrupted) as exc:
            log.debug("QUIT to %s failed: %s", self.where, exc)
        finally:
            client.smtp.close()


def _unsupported(exc: smtplib.SMTPNotSupportedError) -> str:
    if "STARTTLS" in str(exc):
        return _(
            "the server offers no STARTTLS and a login is configured: followup does not send a password "
            "in clear text (FOLLOWUP_SMTP_ALLOW_PLAINTEXT=1 allows it)"
        )
    return str(exc)


def _describe(exc: BaseException) -> str:
    """A one-line reason for a connection failure, without traceback or secrets."""
    if isinstance(exc, smtplib.SMTPResponseException):
        return _reply(exc.smtp_code, exc.smtp_error)
    text = str(exc).removeprefix("Connection unexpectedly closed: ")
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror
    return text or type(exc).__name__


def transport_for(
    settings: Settings, *, now: datetime | None = None, limits: Limits | None = None
) -> Transport:
    """The transport the settings ask for: SMTP when ``smtp_host`` is set, else the local maildir.

    ``now`` fixes the Date header (a replayed scenario); by default it is the time of sending.
    ``limits`` bound the SMTP conversation (the batch's deadline, a stop request); by default only the
    timeouts of the settings.
    """
    if settings.smtp_host:
        return SmtpTransport(settings, now=now, limits=limits)
    return MaildirTransport(settings, now=now)
