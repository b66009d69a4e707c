"""A real SMTP server on loopback for the mail tests: aiosmtpd in a thread.

It records every message (raw bytes, parsed with ``email.policy.default``, and the envelope), counts TCP
sessions and logins, and injects faults, each set per test on the running server:

* ``refuse[address] = "550 ..."`` (or a 4xx, or "421 ...": then it also closes the connection, as a
  real server does) answers that recipient's RCPT; ``refuse_data[address]`` answers the end of its
  message's data; ``refuse_sender`` answers MAIL;
* ``delay``: seconds between recording a message and acknowledging it (a client killed, or timing
  out, then has a message in flight: taken, never confirmed); ``rcpt_delay``: seconds before any RCPT
  is answered (a slow server before the data);
* ``drop_at_rcpt`` (addresses): the connection drops at that RCPT, before any data;
  ``drop_after_data`` (addresses): the message is taken, then the connection drops without a reply;
* ``drip_greeting``: seconds between the lines of a multi-line greeting that never ends;
* it can be stopped and started again on the same port.

Without TLS it offers AUTH in clear text (as a badly configured server would); optionally it offers
STARTTLS or implicit TLS with a throw-away self-signed certificate (``tls_files``).

Use it by importing the fixtures explicitly (the Python names end in ``_fixture`` so that a test's
``smtp_server`` parameter does not shadow the import, which ruff would report as F811)::

    from tests.mailserver import smtp_server_fixture  # noqa: F401   (fixture "smtp_server")
    from tests.mailserver import tls_files_fixture  # noqa: F401     (fixture "tls_files")
"""

from __future__ import annotations

import asyncio
import email
import logging
import socket
import ssl
import subprocess
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.policy import default as default_policy
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session


def _not_login_data_noise(record: logging.LogRecord) -> bool:
    """aiosmtpd itself sets its deprecated ``Session.login_data`` on every AUTH and warns about it."""
    return not record.getMessage().startswith("Session.login_data is deprecated")


logging.getLogger("mail.log").addFilter(_not_login_data_noise)


@dataclass
class Received:
    """One message as the server got it."""

    mail_from: str
    rcpt_tos: list[str]
    raw: bytes
    message: EmailMessage
    login: str | None  # the AUTH login of the session, if any


@dataclass
class _Handler:
    server: MailServer

    async def handle_MAIL(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: list[str]
    ) -> str:
        reply = self.server.refuse_sender
        if reply:
            return reply
        envelope.mail_from = address
        envelope.mail_options.extend(options)
        return "250 OK"

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: list[str]
    ) -> str:
        if self.server.rcpt_delay:
            await asyncio.sleep(self.server.rcpt_delay)
        if address.lower() in self.server.drop_at_rcpt:
            _drop(server)
            return "250 never heard"
        reply = self.server.refuse.get(address.lower())
        if reply:
            if reply.startswith("421"):
                asyncio.get_running_loop().call_soon(_drop, server)  # after the reply, as servers do
            return reply
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        raw = envelope.original_content or b""
        parsed = email.message_from_bytes(raw, policy=default_policy)
        assert isinstance(parsed, EmailMessage)
        login = session.auth_data.login.decode() if isinstance(session.auth_data, LoginPassword) else None
        to = [address.lower() for address in envelope.rcpt_tos]
        with self.server.lock:
            self.server.messages.append(
                Received(str(envelope.mail_from), list(envelope.rcpt_tos), raw, parsed, login)
            )
            delay = self.server.delay
        if delay:  # the message is taken but not yet acknowledged: a client killed now never hears "250"
            await asyncio.sleep(delay)
        if any(address in self.server.drop_after_data for address in to):
            _drop(server)
            return "250 never heard"
        refused = [self.server.refuse_data[a] for a in to if a in self.server.refuse_data]
        return refused[0] if refused else "250 Message accepted"


def _drop(server: SMTP) -> None:
    """Close the connection at once, without a reply (a crash, a network failure)."""
    if server.transport is not None:
        server.transport.abort()


class _FaultySMTP(SMTP):
    """aiosmtpd's SMTP session, with a greeting that can drip forever (``MailServer.drip_greeting``)."""

    mail_server: MailServer

    async def push(self, status: Any) -> None:
        drip = self.mail_server.drip_greeting
        if drip and isinstance(status, str) and status.startswith("220 ") and not self.session.host_name:
            while self.transport is not None and not self.transport.is_closing():
                if self._reader.at_eof():  # the client gave up
                    self.transport.close()
                    return
                self._writer.write(b"220-still here, please wait\r\n")
                try:
                    await self._writer.drain()
                except ConnectionError:
                    return
                await asyncio.sleep(drip)
            return
        await super().push(status)


class _Controller(Controller):
    def __init__(self, server: MailServer, **kwargs: Any) -> None:
        self.mail_server = server
        super().__init__(_Handler(server), **kwargs)

    def factory(self) -> SMTP:
        with self.mail_server.lock:
            self.mail_server.connections += 1
        session = _FaultySMTP(self.handler, **self.SMTP_kwargs)
        session.mail_server = self.mail_server
        self.mail_server.sessions.append(session)
        return session


@dataclass
class MailServer:
    """The server's state, and start/stop. ``connections`` counts TCP sessions since the last start."""

    host: str = "127.0.0.1"
    port: int = 0
    messages: list[Received] = field(default_factory=list)
    connections: int = 0
    logins: list[tuple[str, str]] = field(default_factory=list)  # (login, password) of each AUTH
    refuse: dict[str, str] = field(default_factory=dict)  # recipient -> reply such as "550 5.1.1 no"
    refuse_sender: str | None = None
    refuse_data: dict[str, str] = field(default_factory=dict)  # recipient -> reply to the end of data
    delay: float = 0.0  # seconds between taking a message's data and acknowledging it
    rcpt_delay: float = 0.0  # seconds before answering a RCPT
    drop_at_rcpt: set[str] = field(default_factory=set)  # recipients whose RCPT drops the connection
    drop_after_data: set[str] = field(default_factory=set)  # take their message, drop without a reply
    drip_greeting: float = 0.0  # seconds between the lines of a greeting that never ends (0: normal)
    sessions: list[SMTP] = field(default_factory=list)  # every connection's session since the start
    tls: str = "none"  # none | starttls | ssl
    tls_files: tuple[Path, Path] | None = None  # (certificate, key)
    lock: threading.Lock = field(default_factory=threading.Lock)
    _controller: _Controller | None = None

    def __post_init__(self) -> None:
        if not self.port:
            with socket.socket() as probe:
                probe.bind((self.host, 0))
                self.port = probe.getsockname()[1]

    def _authenticate(
        self, server: SMTP, session: Session, envelope: Envelope, mechanism: str, data: Any
    ) -> AuthResult:
        if not isinstance(data, LoginPassword):
            return AuthResult(success=False, handled=False)
        with self.lock:
            self.logins.append((data.login.decode(), data.password.decode()))
        return AuthResult(success=True, auth_data=data)

    def start(self) -> None:
        """Listen on ``host:port`` (the same port after a stop)."""
        assert self._controller is None, "already running"
        kwargs: dict[str, Any] = {
            "hostname": self.host,
            "port": self.port,
            "server_hostname": "mail.test",
            "authenticator": self._authenticate,
            # aiosmtpd only counts STARTTLS as TLS; implicit TLS ("ssl") is encrypted from the start
            "auth_require_tls": self.tls == "starttls",
        }
        if self.tls != "none":
            assert self.tls_files is not None, "TLS needs tls_files"
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain(*self.tls_files)
            kwargs["ssl_context" if self.tls == "ssl" else "tls_context"] = context
        controller = _Controller(self, **kwargs)
        controller.start()
        with self.lock:
            self.connections = 0  # the controller's own start-up probe is not a client
        self._controller = controller

    def stop(self) -> None:
        """Stop listening: clients now get "connection refused". Open connections are closed first
        (one held by a dripping greeting would otherwise outlive the server)."""
        if self._controller is not None:

            async def close_all() -> None:
                for session in self.sessions:
                    if session.transport is not None:
                        session.transport.abort()
                await asyncio.sleep(0.01)  # let the transports call connection_lost (closing the sockets)

            asyncio.run_coroutine_threadsafe(close_all(), self._controller.loop).result(timeout=5)
            self.sessions.clear()
            self._controller.stop()
            self._controller = None

    @property
    def running(self) -> bool:
        return self._controller is not None


@pytest.fixture(name="smtp_server")
def smtp_server_fixture() -> Iterator[MailServer]:
    """A plain SMTP server (AUTH allowed without TLS) on a free loopback port."""
    server = MailServer()
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(name="tls_files", scope="session")
def tls_files_fixture(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1 and localhost (made with the openssl command)."""
    folder = tmp_path_factory.mktemp("tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    try:
        subprocess.run(
            [
                "openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
                "-keyout", str(key), "-out", str(cert), "-subj", "/CN=localhost",
                "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1",
            ],
            check=True,
            capture_output=True,
        )  # fmt: skip
    except (OSError, subprocess.CalledProcessError) as exc:
        pytest.skip(f"cannot make a test certificate with openssl: {exc}")
    return cert, key


#: The names the fixtures are known by, for ``from tests.mailserver import smtp_server`` (then a test's
#: parameter of that name is reported by ruff as F811; prefer the ``*_fixture`` names).
smtp_server = smtp_server_fixture
tls_files = tls_files_fixture
