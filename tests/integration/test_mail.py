"""The mail transports (``followup.mail.transport``) against a real SMTP server (aiosmtpd on loopback,
tests/mailserver.py, with real TLS on a throw-away certificate) and a real maildir; no database.

What is proven here: Chinese names and subjects arrive intact with the addresses kept, every message has
the caller's Message-ID (the same one on a retry), the text part is the plain text only, a batch uses one
connection, the login is the configured one (no "@gmail.com"), failures are DeliveryErrors that say
whether a retry can help, and the maildir gets the very same message. Message ids alone (no server) are
in tests/unit/test_mail_message.py.
"""

from __future__ import annotations

import email
import logging
import mailbox
import re
from datetime import UTC, datetime
from email.message import EmailMessage
from email.policy import default as default_policy
from email.utils import parsedate_to_datetime
from pathlib import Path

import pytest

from followup.errors import ConfigError, DeliveryError
from followup.mail.templates import render
from followup.mail.transport import (
    MaildirTransport,
    OutgoingMessage,
    SmtpTransport,
    make_message_id,
    transport_for,
)
from followup.settings import Settings, load_settings
from tests.letters import alert_context
from tests.mailserver import MailServer, smtp_server_fixture, tls_files_fixture  # noqa: F401

SENDER = "县投资促进局 <followup@example.gov.cn>"
NOW = datetime(2026, 7, 2, 1, 0, tzinfo=UTC)  # 09:00 in Asia/Shanghai
TAG = re.compile(r"</?[a-zA-Z][^>]*>")
#: a login on the plain test server: only with the explicit opt-in (else STARTTLS is required)
PLAINTEXT_LOGIN = {
    "FOLLOWUP_SMTP_USER": "lina",
    "FOLLOWUP_SMTP_PASSWORD": "s3cret-pw",
    "FOLLOWUP_SMTP_ALLOW_PLAINTEXT": "1",
}


def make_settings(tmp_path: Path, server: MailServer | None = None, **env: str) -> Settings:
    values = {
        "FOLLOWUP_DATA_DIR": str(tmp_path / "data"),
        "FOLLOWUP_MAIL_FROM": SENDER,
        "XDG_CONFIG_HOME": str(tmp_path),
    }
    if server is not None:
        values |= {"FOLLOWUP_SMTP_HOST": server.host, "FOLLOWUP_SMTP_PORT": str(server.port)}
    return load_settings(env=values | env)


def outgoing(
    key: str,
    *,
    to_name: str = "李娜",
    to_email: str = "lina@example.gov.cn",
    subject: str = "【黄灯】伊禾乳制品加工 已超期3天（洽谈）",
) -> OutgoingMessage:
    return OutgoingMessage(
        message_id=make_message_id(key, "example.gov.cn"),
        to_name=to_name,
        to_email=to_email,
        subject=subject,
        text=f"{to_name}（责任人）：\n项目已超期，请记录进展。\n{key}\n",
        html=f"<p>{to_name}（责任人）：</p><p>项目已超期，请<b>记录进展</b>。</p><p>{key}</p>\n",
    )


def parts(message: EmailMessage) -> list[tuple[str, str]]:
    return [(p.get_content_type(), p.get_content_charset() or "") for p in message.iter_parts()]


# ------------------------------------------------------------------ headers, structure, identity


def test_chinese_names_and_subject_arrive_intact(tmp_path: Path, smtp_server: MailServer) -> None:
    settings = make_settings(tmp_path, smtp_server)
    message = outgoing("12.talks.yellow")
    with transport_for(settings, now=NOW) as transport:
        assert isinstance(transport, SmtpTransport)
        transport.send(message)

    [got] = smtp_server.messages
    assert got.mail_from == "followup@example.gov.cn"  # the From address, not the login
    assert got.rcpt_tos == ["lina@example.gov.cn"]
    assert got.raw.isascii()  # 7-bit clean: RFC 2047 headers, base64 bodies
    assert b"=?utf-8?" in got.raw
    msg = got.message
    [sender] = msg["From"].addresses
    assert (sender.display_name, sender.addr_spec) == ("县投资促进局", "followup@example.gov.cn")
    [to] = msg["To"].addresses
    assert (to.display_name, to.addr_spec) == ("李娜", "lina@example.gov.cn")
    assert msg["Subject"] == "【黄灯】伊禾乳制品加工 已超期3天（洽谈）"
    assert msg["Message-ID"] == message.message_id
    assert msg["Auto-Submitted"] == "auto-generated"
    assert parsedate_to_datetime(msg["Date"]) == NOW
    assert msg["Date"].endswith("+0800")  # shown in the configured zone
    assert "MIME-Version" not in msg.get_payload(1)
    assert msg.get_content_type() == "multipart/alternative"
    assert parts(msg) == [("text/plain", "utf-8"), ("text/html", "utf-8")]
    text_part, html_part = msg.iter_parts()
    assert text_part.get_content() == message.text
    assert html_part.get_content() == message.html


def test_display_names_that_need_quoting(tmp_path: Path, smtp_server: MailServer) -> None:
    settings = make_settings(
        tmp_path, smtp_server, FOLLOWUP_MAIL_FROM='"投促局, 督查室" <duban@example.gov.cn>'
    )
    with transport_for(settings) as transport:
        transport.send(outgoing("a", to_name='王"军", 城关镇', to_email="wangjun@example.gov.cn"))
    [got] = smtp_server.messages
    [sender] = got.message["From"].addresses
    assert (sender.display_name, sender.addr_spec) == ("投促局, 督查室", "duban@example.gov.cn")
    [to] = got.message["To"].addresses
    assert (to.display_name, to.addr_spec) == ('王"军", 城关镇', "wangjun@example.gov.cn")
    assert got.rcpt_tos == ["wangjun@example.gov.cn"]


def test_message_ids_are_ours_and_stable_across_retries(tmp_path: Path, smtp_server: MailServer) -> None:
    settings = make_settings(tmp_path, smtp_server)
    # same recipient, same subject: yagmail's own ids would all be equal
    batch = [outgoing(f"12:talks:yellow:2026-07-{day:02d}") for day in (2, 9, 16)]
    with transport_for(settings) as transport:
        for message in batch:
            transport.send(message)
    with transport_for(settings) as transport:  # a retry of the first one
        transport.send(outgoing("12:talks:yellow:2026-07-02"))
    ids = [m.message["Message-ID"] for m in smtp_server.messages]
    assert ids[:3] == [m.message_id for m in batch]
    assert len(set(ids[:3])) == 3
    assert ids[3] == ids[0]


def test_the_text_part_is_plain_text(tmp_path: Path, smtp_server: MailServer) -> None:
    settings = make_settings(tmp_path, smtp_server)
    subject, text, html = render("red", alert_context("red"), settings)
    message = OutgoingMessage(
        make_message_id("r", "example.gov.cn"), "李娜", "lina@example.gov.cn", subject, text, html
    )
    with transport_for(settings) as transport:
        transport.send(message)
    text_part, html_part = smtp_server.messages[0].message.iter_parts()
    assert text_part.get_content() == text
    assert not TAG.search(text_part.get_content())
    assert "<table" in html_part.get_content()


def test_html_escapes_a_script_in_a_project_name_the_text_shows_it(tmp_path: Path) -> None:
    settings = make_settings(tmp_path)
    name = "<script>alert('x')</script>乳业"
    subject, text, html = render("yellow", alert_context("yellow", name=name), settings)
    with transport_for(settings) as transport:
        transport.send(
            OutgoingMessage("<a@example.gov.cn>", "李娜", "lina@example.gov.cn", subject, text, html)
        )
    [(_, stored)] = mailbox.Maildir(settings.maildir, create=False).items()
    msg = email.message_from_bytes(stored.as_bytes(), policy=default_policy)
    assert isinstance(msg, EmailMessage)
    text_part, html_part = msg.iter_parts()
    assert name in text_part.get_content()
    assert "<script>" not in html_part.get_content()
    assert "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;乳业" in html_part.get_content()
    assert msg["Subject"].startswith(f"【黄灯】{name}")


# ------------------------------------------------------------------ connections and login


def test_one_connection_per_batch(tmp_path: Path, smtp_server: MailServer) -> None:
    settings = make_settings(tmp_path, smtp_server)
    with transport_for(settings) as transport:
        for i in range(3):
            transport.send(outgoing(f"first-{i}"))
    assert len(smtp_server.messages) == 3
    assert smtp_server.connections == 1
    with transport_for(settings) as transport:
        transport.send(outgoing("second"))
    assert smtp_server.connections == 2


def test_login_is_exactly_the_configured_one(tmp_path: Path, smtp_server: MailServer) -> None:
    settings = make_settings(tmp_path, smtp_server, **PLAINTEXT_LOGIN)
    with transport_for(settings) as transport:
        transport.send(outgoing("a"))
        transport.send(outgoing("b"))
    assert smtp_server.logins == [("lina", "s3cret-pw")]  # once per batch, no "@gmail.com"
    assert [m.login for m in smtp_server.messages] == ["lina", "lina"]
    assert smtp_server.messages[0].mail_from == "followup@example.gov.cn"


def test_no_user_no_login(tmp_path: Path, smtp_server: MailServer) -> None:
    with transport_for(make_settings(tmp_path, smtp_server)) as transport:
        transport.send(outgoing("a"))
    assert smtp_server.logins == []
    assert smtp_server.messages[0].login is None


def test_a_user_without_password_is_refused_never_prompted(tmp_path: Path, smtp_server: MailServer) -> None:
    settings = make_settings(tmp_path, smtp_server, FOLLOWUP_SMTP_USER="lina")
    with pytest.raises(ConfigError, match="FOLLOWUP_SMTP_PASSWORD"):
        transport_for(settings)
    assert smtp_server.connections == 0


def test_one_log_line_per_batch_without_the_password(
    tmp_path: Path, smtp_server: MailServer, caplog: pytest.LogCaptureFixture
) -> None:
    settings = make_settings(tmp_path, smtp_server, **PLAINTEXT_LOGIN)
    smtp_server.refuse["gone@example.gov.cn"] = "550 5.1.1 no such user"
    with caplog.at_level(logging.DEBUG, logger="followup"), transport_for(settings) as transport:
        transport.send(outgoing("a"))
        with pytest.raises(DeliveryError):
            transport.send(outgoing("b", to_email="gone@example.gov.cn"))
    # the logger is the module's: followup.mail became followup.mail.transport
    lines = [r.getMessage() for r in caplog.records if r.name == "followup.mail.transport"]
    assert lines == [f"mail batch: 1 sent, 1 failed, via smtp {smtp_server.host}:{smtp_server.port} as lina"]
    assert "s3cret" not in caplog.text
    assert "s3cret" not in repr(settings)


# ------------------------------------------------------------------ failures


def test_server_down_is_a_clean_temporary_error(
    tmp_path: Path, smtp_server: MailServer, capfd: pytest.CaptureFixture[str]
) -> None:
    settings = make_settings(tmp_path, smtp_server, **PLAINTEXT_LOGIN)
    smtp_server.stop()
    with pytest.raises(DeliveryError) as caught, transport_for(settings) as transport:
        transport.send(outgoing("a"))
    error = caught.value
    assert error.permanent is False
    assert (
        str(error)
        == f"cannot connect to smtp {smtp_server.host}:{smtp_server.port} as lina: Connection refused"
    )
    assert "s3cret" not in str(error)
    out, err = capfd.readouterr()
    assert out == "" and err == ""

    smtp_server.start()  # back up: the next batch goes through
    with transport_for(settings) as transport:
        transport.send(outgoing("a"))
    assert len(smtp_server.messages) == 1


def test_server_gone_mid_batch(
    tmp_path: Path, smtp_server: MailServer, capfd: pytest.CaptureFixture[str]
) -> None:
    settings = make_settings(tmp_path, smtp_server)
    with transport_for(settings) as transport:
        transport.send(outgoing("a"))
        smtp_server.stop()
        with pytest.raises(DeliveryError) as first:
            transport.send(outgoing("b"))
        with pytest.raises(DeliveryError, match="lost") as second:
            transport.send(outgoing("c"))
    assert first.value.permanent is False and second.value.permanent is False
    assert (transport.sent, transport.failed) == (1, 2)
    assert capfd.readouterr() == ("", "")


def test_a_refused_recipient_is_permanent_the_others_still_go(
    tmp_path: Path, smtp_server: MailServer
) -> None:
    settings = make_settings(tmp_path, smtp_server)
    smtp_server.refuse["gone@example.gov.cn"] = "550 5.1.1 <gone@example.gov.cn>: no such user"
    with transport_for(settings) as transport:
        transport.send(outgoing("a"))
        with pytest.raises(DeliveryError) as caught:
            transport.send(outgoing("b", to_email="gone@example.gov.cn"))
        transport.send(outgoing("c"))
    assert caught.value.permanent is True
    assert "gone@example.gov.cn" in str(caught.value) and "550 5.1.1" in str(caught.value)
    assert [m.rcpt_tos for m in smtp_server.messages] == [["lina@example.gov.cn"], ["lina@example.gov.cn"]]
    assert smtp_server.connections == 1
    assert (transport.sent, transport.failed) == (2, 1)


def test_a_temporary_refusal_is_not_permanent(tmp_path: Path, smtp_server: MailServer) -> None:
    settings = make_settings(tmp_path, smtp_server)
    smtp_server.refuse["busy@example.gov.cn"] = "451 4.7.1 greylisted, try again later"
    with transport_for(settings) as transport:
        with pytest.raises(DeliveryError) as caught:
            transport.send(outgoing("a", to_email="busy@example.gov.cn"))
        transport.send(outgoing("b"))
    assert caught.value.permanent is False and "451 4.7.1" in str(caught.value)
    assert len(smtp_server.messages) == 1


def test_421_closes_the_connection_the_rest_waits_for_the_next_batch(
    tmp_path: Path, smtp_server: MailServer
) -> None:
    settings = make_settings(tmp_path, smtp_server)
    smtp_server.refuse["lina@example.gov.cn"] = "421 4.3.2 shutting down"
    with transport_for(settings) as transport:
        with pytest.raises(DeliveryError) as first:
            transport.send(outgoing("a"))
        with pytest.raises(DeliveryError, match="closed the connection") as second:
            transport.send(outgoing("b", to_email="wangjun@example.gov.cn"))
    assert first.value.permanent is False and second.value.permanent is False
    smtp_server.refuse.clear()
    with transport_for(settings) as transport:
        transport.send(outgoing("a"))
        transport.send(outgoing("b", to_email="wangjun@example.gov.cn"))
    assert len(smtp_server.messages) == 2


def test_a_refused_sender_is_not_the_message_s_fault(tmp_path: Path, smtp_server: MailServer) -> None:
    settings = make_settings(tmp_path, smtp_server)
    smtp_server.refuse_sender = "553 5.7.1 sender not allowed"
    with (
        transport_for(settings) as transport,
        pytest.raises(DeliveryError, match="refused the sender") as caught,
    ):
        transport.send(outgoing("a"))
    assert caught.value.permanent is False  # fix the configuration, the message is still good


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("to_email", "lina"),
        ("to_email", "li na@example.gov.cn"),
        ("to_email", "li..na@example.gov.cn"),
        ("to_name", "李娜\r\nBcc: x@y.cn"),
        ("subject", "a\nBcc: x@y.cn"),
        ("message_id", "x"),
    ],
)
def test_an_unusable_message_is_refused_before_the_wire(
    tmp_path: Path, smtp_server: MailServer, field: str, value: str
) -> None:
    message = outgoing("a")
    message = OutgoingMessage(**{**message.__dict__, field: value})
    with transport_for(make_settings(tmp_path, smtp_server)) as transport:
        with pytest.raises(DeliveryError) as caught:
            transport.send(message)
        transport.send(outgoing("b"))
    assert caught.value.permanent is True
    assert len(smtp_server.messages) == 1


def test_a_bad_mail_from_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="mail from"):
        transport_for(make_settings(tmp_path, FOLLOWUP_MAIL_FROM="投资促进局"))


# ------------------------------------------------------------------ TLS (a throw-away certificate)


@pytest.mark.parametrize("security", ["starttls", "ssl"])
def test_tls_with_a_verified_certificate(
    tmp_path: Path, tls_files: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch, security: str
) -> None:
    server = MailServer(tls=security, tls_files=tls_files)
    server.start()
    try:
        settings = make_settings(
            tmp_path,
            server,
            FOLLOWUP_SMTP_SECURITY=security,
            FOLLOWUP_SMTP_USER="lina",
            FOLLOWUP_SMTP_PASSWORD="s3cret-pw",
        )
        # not trusted: refused before any login
        monkeypatch.setenv("SSL_CERT_FILE", str(tmp_path / "no-such-ca.pem"))
        with (
            pytest.raises(DeliveryError, match="CERTIFICATE_VERIFY_FAILED") as caught,
            transport_for(settings),
        ):
            pass
        assert caught.value.permanent is False
        assert server.logins == []
        # trusted (the test certificate as the CA): login and send over TLS
        monkeypatch.setenv("SSL_CERT_FILE", str(tls_files[0]))
        with transport_for(settings) as transport:
            transport.send(outgoing("a"))
        assert server.logins == [("lina", "s3cret-pw")]
        assert len(server.messages) == 1
    finally:
        server.stop()


# ------------------------------------------------------------------ maildir


def test_maildir_gets_the_same_message(tmp_path: Path, smtp_server: MailServer) -> None:
    smtp_settings = make_settings(tmp_path, smtp_server)
    maildir_settings = make_settings(tmp_path)
    assert not maildir_settings.maildir.exists()
    batch = [outgoing("a"), outgoing("b", to_name="王军", to_email="wangjun@example.gov.cn")]
    with transport_for(maildir_settings, now=NOW) as transport:
        assert isinstance(transport, MaildirTransport)
        for message in batch:
            transport.send(message)
    with transport_for(smtp_settings, now=NOW) as transport:
        for message in batch:
            transport.send(message)

    box = mailbox.Maildir(maildir_settings.maildir, create=False)
    stored = sorted((bytes(box.get_bytes(key)) for key in box.iterkeys()), key=lambda raw: b"wangjun" in raw)
    assert len(stored) == 2
    for raw, sent in zip(stored, smtp_server.messages, strict=True):
        # byte for byte the message that went over SMTP, with local line ends
        assert raw == sent.raw.replace(b"\r\n", b"\n")
        msg = email.message_from_bytes(raw, policy=default_policy)
        assert isinstance(msg, EmailMessage)
        assert parts(msg) == [("text/plain", "utf-8"), ("text/html", "utf-8")]
        for header in ("From", "To", "Subject", "Message-ID", "Date", "Auto-Submitted"):
            assert msg[header] == sent.message[header]
    # a second batch adds to the same maildir
    with transport_for(maildir_settings) as transport:
        transport.send(outgoing("c"))
    assert len(mailbox.Maildir(maildir_settings.maildir, create=False)) == 3


def test_maildir_that_cannot_be_created(tmp_path: Path) -> None:
    (tmp_path / "data").write_text("a file where the data folder should be", encoding="utf-8")
    with (
        pytest.raises(DeliveryError, match="cannot open maildir") as caught,
        transport_for(make_settings(tmp_path)),
    ):
        pass
    assert caught.value.permanent is False
