"""Delivery's pure rules, no server and no database: RFC 5321's timeouts as settings, a login never in
clear text by default, the header check that stops injected headers, dot-stuffing, Message-ID keys."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from followup.app.letters import message_key
from followup.errors import ConfigError, DeliveryError
from followup.mail.session import dot_stuffed
from followup.mail.transport import OutgoingMessage, build_message, check_headers, sender_address
from followup.settings import SmtpTimeouts, load_settings

SENDER = sender_address("县投资促进局 <followup@example.gov.cn>")


def test_the_smtp_timeouts_are_rfc_5321_s_and_each_can_be_shrunk(tmp_path: Path) -> None:
    rfc = load_settings(env={"XDG_CONFIG_HOME": str(tmp_path)}).smtp_timeouts
    assert rfc == SmtpTimeouts(greeting=300, mail=300, rcpt=300, data=120, block=180, end=600)
    shrunk = load_settings(
        env={"XDG_CONFIG_HOME": str(tmp_path), "FOLLOWUP_SMTP_TIMEOUTS": "end=0.5, greeting=2"}
    )
    assert (shrunk.smtp_timeouts.end, shrunk.smtp_timeouts.greeting, shrunk.smtp_timeouts.mail) == (
        0.5,
        2,
        300,
    )
    for bad in ("end", "finish=3", "end=-1", "end=abc", "end=nan"):
        with pytest.raises(ConfigError, match="smtp timeout"):
            load_settings(env={"XDG_CONFIG_HOME": str(tmp_path), "FOLLOWUP_SMTP_TIMEOUTS": bad})
    with pytest.raises(ConfigError, match="bad send deadline"):
        load_settings(env={"XDG_CONFIG_HOME": str(tmp_path), "FOLLOWUP_SEND_DEADLINE": "0"})


def test_a_login_defaults_to_starttls_and_plaintext_needs_an_explicit_opt_in(tmp_path: Path) -> None:
    base = {"XDG_CONFIG_HOME": str(tmp_path), "FOLLOWUP_SMTP_HOST": "smtp.example.gov.cn"}
    login = {**base, "FOLLOWUP_SMTP_USER": "followup", "FOLLOWUP_SMTP_PASSWORD": "pw"}
    assert load_settings(env=base).smtp_security == "none"  # no login: nothing to protect
    assert load_settings(env=login).smtp_security == "starttls"
    assert load_settings(env={**login, "FOLLOWUP_SMTP_SECURITY": "none"}).smtp_security == "starttls"
    opted = load_settings(env={**login, "FOLLOWUP_SMTP_ALLOW_PLAINTEXT": "1"})
    assert (opted.smtp_security, opted.smtp_allow_plaintext) == ("none", True)
    assert load_settings(env={**login, "FOLLOWUP_SMTP_SECURITY": "ssl"}).smtp_security == "ssl"


def outgoing(**fields: str) -> OutgoingMessage:
    values = {
        "message_id": "<followup.0123456789abcdef@example.gov.cn>",
        "to_name": "李娜",
        "to_email": "lina@example.gov.cn",
        "subject": "【黄灯】伊禾乳制品加工 已超期3天（洽谈）",
        "text": "文本",
        "html": "<p>文本</p>",
        **fields,
    }
    return OutgoingMessage(**values)


def serialised(message: OutgoingMessage) -> bytes:
    from email import policy

    mime = build_message(message, sender=SENDER, date=datetime(2026, 7, 2, 1, 0, tzinfo=UTC))
    return mime.as_bytes(policy=policy.SMTP)


def test_the_header_check_passes_what_build_message_makes() -> None:
    for message in (
        outgoing(),
        outgoing(to_name='王"军", 城关镇'),
        outgoing(subject="x" * 300 + "预警" * 40),
    ):
        check_headers(serialised(message), message, SENDER)


@pytest.mark.parametrize(
    "name",
    [
        "Li =?utf-8?q?=0D=0AReply-To:_evil@attacker.test?=",  # decoded into a header of its own
        "Li =?utf-8?q?=0D=0ABcc:_evil@attacker.test?=",
        "=?utf-8?q?x?= <evil@attacker.test>, Li",
    ],
)
def test_a_name_with_an_encoded_line_break_cannot_add_headers_or_change_the_to(name: str) -> None:
    message = outgoing(to_name=name)
    with pytest.raises(DeliveryError) as caught:
        check_headers(serialised(message), message, SENDER)
    assert caught.value.permanent is True


def test_a_header_injected_in_the_bytes_is_refused() -> None:
    message = outgoing()
    data = serialised(message).replace(b"\r\nSubject:", b"\r\nBcc: evil@attacker.test\r\nSubject:", 1)
    with pytest.raises(DeliveryError, match="unexpected headers bcc"):
        check_headers(data, message, SENDER)
    other = serialised(message).replace(b"<lina@example.gov.cn>", b"<evil@attacker.test>")
    with pytest.raises(DeliveryError, match="To header"):
        check_headers(other, message, SENDER)


def test_dot_stuffing() -> None:
    assert dot_stuffed(b"a\r\n.b\r\n..c") == b"a\r\n..b\r\n...c\r\n.\r\n"
    assert dot_stuffed(b"a\r\n") == b"a\r\n.\r\n"


def test_a_message_key_is_the_nonce_or_a_digest_of_the_group() -> None:
    assert message_key(["0123abcd"]) == "0123abcd"
    group = message_key(["aa", "bb", "cc"])
    assert group == message_key(["aa", "bb", "cc"]) != message_key(["aa", "bb"])
    assert len(group) == 32 and group.isalnum()
