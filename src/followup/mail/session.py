"""An SMTP session that cannot hang: smtplib with RFC 5321's timeout per reply, a deadline for the whole
batch and a stop request, all checked while waiting.

smtplib gives one socket timeout for everything, and a socket timeout only bounds each ``recv``: a
server that drips its greeting a line (or a byte) at a time keeps a client waiting forever, and a
blocked ``recv`` cannot see a SIGTERM. Here every wait for the server is cut into short polls
(:data:`POLL`); between two polls the session looks at

* the reply's own deadline: the timeout RFC 5321 (4.5.3.2) gives the command being answered, counted
  from when the command went out (the greeting: from the connect), however slowly the reply trickles in;
* the batch's deadline (``Limits.deadline``);
* the stop request (``Limits.stop``, a ``threading.Event`` the daemon sets on SIGTERM): it interrupts
  any wait at once (:class:`Interrupted`), except the wait for the reply to a message's end of data,
  which gets :data:`STOP_GRACE` seconds more: the message is then in flight, and its fate is better
  known than guessed.

``phase`` says what the session is waiting for (``greeting``, ``session`` for EHLO, STARTTLS, AUTH,
RSET and QUIT, ``mail``, ``rcpt``, ``data``, ``block``, ``end``); the transport reads it after a failure
to tell a message never tried from one whose outcome is unknown.
"""

from __future__ import annotations

import errno
import math
import os
import select
import smtplib
import socket
import threading
import time
from dataclasses import dataclass
from typing import Any

from followup.i18n import N_, _
from followup.settings import SmtpTimeouts

#: Seconds between two looks at the deadlines and the stop request while waiting for the server.
POLL = 0.25
#: Seconds the reply to a message's end of data is still awaited after a stop request.
STOP_GRACE = 5.0

#: What did not come, by phase (translated where said: a timeout ends up in the outbox's last error).
_WAITING_FOR = {
    "greeting": N_("no greeting from the server"),
    "session": N_("no reply from the server"),
    "mail": N_("no reply to MAIL"),
    "rcpt": N_("no reply to RCPT"),
    "data": N_("no reply to DATA"),
    "block": N_("the server did not take the message's data"),
    "end": N_("no reply to the end of the message's data"),
}


class Interrupted(Exception):
    """A stop was requested while waiting for the server (not an OSError: smtplib lets it through)."""


@dataclass
class Limits:
    """What bounds one batch's conversation with the server."""

    timeouts: SmtpTimeouts
    deadline: float = math.inf  # time.monotonic() at which the batch must end
    stop: threading.Event | None = None
    stop_seen: float | None = None  # when a wait first saw the stop request

    def stopping(self) -> bool:
        return self.stop is not None and self.stop.is_set()

    def expired(self) -> bool:
        return time.monotonic() >= self.deadline

    def timeout(self, phase: str) -> float:
        name = {"session": "mail"}.get(phase, phase)
        seconds: float = getattr(self.timeouts, name)
        return seconds


class _Reader:
    """The reply reader smtplib uses (``SMTP.file``): lines from the socket, under the session's limits."""

    def __init__(self, session: TimedSMTP | TimedSMTPSSL) -> None:
        self.session = session
        self.buffer = b""

    def readline(self, limit: int = -1) -> bytes:
        while True:
            end = self.buffer.find(b"\n") + 1
            if not end and 0 < limit <= len(self.buffer):
                end = limit
            if end:
                line, self.buffer = self.buffer[:end], self.buffer[end:]
                return line
            chunk = self.session.receive()
            if not chunk:  # the server closed the connection: smtplib sees an empty line
                line, self.buffer = self.buffer, b""
                return line
            self.buffer += chunk

    def close(self) -> None:
        self.buffer = b""


class _Timed:
    """The overrides of ``smtplib.SMTP``; mixed into :class:`TimedSMTP` and :class:`TimedSMTPSSL`."""

    sock: Any
    file: Any
    context: Any

    def __init__(self, host: str, port: int, *, limits: Limits, **kwargs: Any) -> None:
        self.limits = limits
        self.phase = "greeting"
        self._reply_by = math.inf
        super().__init__(host, port, **kwargs)  # type: ignore[call-arg]  # connects and reads the greeting

    def expect(self, phase: str) -> None:
        """From now on, wait for ``phase``'s reply at most its timeout."""
        self.phase = phase
        self._reply_by = time.monotonic() + self.limits.timeout(phase)

    def wait(self) -> float:
        """Seconds to wait for the server before looking again; raises when waiting must end."""
        now = time.monotonic()
        limits = self.limits
        until = min(self._reply_by, limits.deadline)
        if limits.stopping():
            if self.phase != "end":
                raise Interrupted("stopping")
            if limits.stop_seen is None:
                limits.stop_seen = now
            until = min(until, limits.stop_seen + STOP_GRACE)
        if until <= now:
            missing = _(_WAITING_FOR[self.phase])
            if now >= limits.deadline:
                why = _("{missing} before the batch's deadline (FOLLOWUP_SEND_DEADLINE)").format(
                    missing=missing
                )
            elif limits.stopping():
                why = _("{missing} before stopping").format(missing=missing)
            else:
                why = _("{missing} within {seconds:g} s").format(
                    missing=missing, seconds=self.limits.timeout(self.phase)
                )
            raise TimeoutError(why)
        return min(until - now, POLL)

    def receive(self) -> bytes:
        """Some bytes of a reply (b"" when the server closed the connection)."""
        while True:
            if self.sock is None:
                return b""
            self.sock.settimeout(self.wait())
            try:
                chunk: bytes = self.sock.recv(8192)
            except TimeoutError:
                continue
            # What runs on this socket next without a poll (the TLS handshake after STARTTLS) gets
            # the rest of the reply's time.
            self.sock.settimeout(max(self._reply_by - time.monotonic(), 0.01))
            return chunk

    # ---------------------------------------------------------------- smtplib's hooks

    def _get_socket(self, host: str, port: int, timeout: float) -> socket.socket:
        self.expect("greeting")  # connecting counts against the greeting's time
        sock = self._connect(host, port)
        sock.settimeout(max(self._reply_by - time.monotonic(), 0.01))
        if isinstance(self, smtplib.SMTP_SSL):
            sock = self.context.wrap_socket(sock, server_hostname=host)
        return sock

    def _connect(self, host: str, port: int) -> socket.socket:
        """A TCP connection, polled like every other wait (a host that drops SYNs cannot hold us)."""
        error: OSError = OSError(_("cannot resolve {host}").format(host=host))
        for family, kind, proto, _name, address in socket.getaddrinfo(host, port, 0, socket.SOCK_STREAM):
            sock = socket.socket(family, kind, proto)
            try:
                sock.setblocking(False)
                code = sock.connect_ex(address)
                while code in (errno.EINPROGRESS, errno.EWOULDBLOCK, errno.EALREADY):
                    _readable, ready, _errors = select.select([], [sock], [], self.wait())
                    if ready:
                        code = sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
                if code:
                    raise OSError(code, os.strerror(code))
                sock.setblocking(True)
                return sock
            except BaseException as exc:
                sock.close()
                if not isinstance(exc, OSError) or isinstance(exc, TimeoutError):
                    raise
                error = exc
        raise error

    def putcmd(self, cmd: str, args: str = "") -> None:
        phase = cmd.lower() if cmd.lower() in ("mail", "rcpt", "data") else "session"
        self.expect(phase)
        super().putcmd(cmd, args)  # type: ignore[misc]

    def send(self, s: Any) -> None:
        """smtplib's send, polled: a server that stops reading cannot hold us either."""
        if self.sock is None:
            raise smtplib.SMTPServerDisconnected("please run connect() first")
        data = memoryview(s.encode("ascii") if isinstance(s, str) else bytes(s))
        while data:
            self.sock.settimeout(self.wait())
            try:
                sent = self.sock.send(data)
            except TimeoutError:
                continue
            except OSError as exc:
                self.close()  # type: ignore[attr-defined]
                raise smtplib.SMTPServerDisconnected(
                    _("Server not connected: {reason}").format(reason=exc)
                ) from exc
            data = data[sent:]

    def getreply(self) -> tuple[int, bytes]:
        if self.file is None:
            self.file = _Reader(self)  # type: ignore[arg-type]
        try:
            reply: tuple[int, bytes] = super().getreply()  # type: ignore[misc]
        except Interrupted:
            self.close()  # type: ignore[attr-defined]  # smtplib closes on its own errors, not on ours
            raise
        return reply


class TimedSMTP(_Timed, smtplib.SMTP):
    """SMTP (optionally upgraded with STARTTLS) under :class:`Limits`."""


class TimedSMTPSSL(_Timed, smtplib.SMTP_SSL):
    """SMTP over implicit TLS (port 465) under :class:`Limits`."""


def dot_stuffed(data: bytes) -> bytes:
    """The message as the DATA command carries it: leading dots doubled, ended by CRLF "." CRLF."""
    lines = data.split(b"\r\n")
    body = b"\r\n".join(b"." + line if line.startswith(b".") else line for line in lines)
    if not body.endswith(b"\r\n"):
        body += b"\r\n"
    return body + b".\r\n"
