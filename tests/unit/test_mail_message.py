"""Message identity without a server or a database: ``make_message_id`` (stable, ASCII, one per key) and
the domain it takes from the configured sender (``followup.mail.transport``)."""

from __future__ import annotations

import re

from followup.mail.transport import make_message_id, message_domain
from followup.settings import load_settings

SENDER = "县投资促进局 <followup@example.gov.cn>"


def test_make_message_id() -> None:
    assert make_message_id("42", "example.gov.cn") == "<followup.42@example.gov.cn>"
    first = make_message_id("12:talks:yellow:2026-07-02", "Example.gov.cn")
    assert first == make_message_id("12:talks:yellow:2026-07-02", "example.gov.cn")
    assert re.fullmatch(r"<followup\.12-talks-yellow-2026-07-02-[0-9a-f]{12}@example\.gov\.cn>", first)
    assert make_message_id("12/talks", "x.cn") != make_message_id("12:talks", "x.cn")
    assert make_message_id("项目12", "x.cn").isascii()
    settings = load_settings(env={"FOLLOWUP_MAIL_FROM": SENDER, "FOLLOWUP_DATA_DIR": "/nonexistent"})
    assert message_domain(settings) == "example.gov.cn"
