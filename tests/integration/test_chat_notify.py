"""Where warnings reach an official (issue 11, ``--notify mail|chat|both``), on both backends: the sweep
queues the mail outbox as ever, ``send`` mails into the real maildir, ``send_chat`` posts to a
loopback robot (tests/chatserver.py). A chat-only official of a unit with a robot is mentioned in the
cards and gets no mail of what the cards carry; a ``both`` official gets both; a mail-only one is never
mentioned; a chat-only official is mailed when the chat cannot reach them (no robot, a card refused for
good); sweeping and sending again says nothing twice."""

from __future__ import annotations

import mailbox
from collections.abc import Iterator
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from followup.app import channels, delivery, escalation, ledger
from followup.app.chat_send import send_chat
from followup.app.ledger import ProjectInput
from followup.app.runtime import Runtime
from followup.store.models import ChatMessage, Notification, Official
from tests.chatserver import ChatServer
from tests.helpers import make_runtime
from tests.outbox_county import MONDAY, at, township

SECRET = "SECd6f1a2b3c4d5e6f708192a3b4c5d6e7f"
MOBILES = {"wangjun": "13800000001", "o00": "13800000002", "o01": "13800000003"}


@pytest.fixture
def town(db_url: str, tmp_path: Path) -> Iterator[Runtime]:
    """城关镇: its head 王军 (both, the default), 干部00 (chat only) and 干部01 (mail only), each with a
    mobile number the robots mention by."""
    rt = make_runtime(db_url, tmp_path, now=at("2026-01-05"))
    township(2).seed(rt)
    for key, notify in (("wangjun", None), ("o00", "chat"), ("o01", "mail")):
        channels.set_chat_contact(rt, key, mobile=MOBILES[key], notify=notify)
    yield rt
    rt.close()


def enter(rt: Runtime, *officers: str) -> None:
    """One lead per officer entered 2026-09-01: on Monday 10-19 each owes yellow and 跟进超时, to its
    case officer and the unit head."""
    entered = rt.at(at("2026-09-01", "10:00"))
    for i, officer in enumerate(officers):
        ledger.add_project(
            entered,
            ProjectInput(name=f"招商项目{i:03d}", officer=officer, unit="chengguan"),
            stage="lead",
            since=at("2026-09-01", "00:00"),
        )


def mailed_to(tmp_path: Path) -> list[str]:
    """Who got each mail in the maildir (by address), sorted."""
    folder = tmp_path / "data" / "maildir"
    if not folder.exists():
        return []
    box = mailbox.Maildir(folder, factory=None, create=False)
    parsed: list[EmailMessage] = [
        BytesParser(policy=policy.default).parsebytes(box.get_bytes(k))  # type: ignore[misc]
        for k in box.iterkeys()
    ]
    return sorted(str(m["To"]).split("<")[1].split("@")[0] for m in parsed)


def outbox(rt: Runtime) -> list[tuple[str, str, str, str | None]]:
    """Each notification as (recipient, kind, status, last error)."""
    with rt.store.reading() as session:
        rows = session.execute(
            select(Official.key, Notification.kind, Notification.status, Notification.last_error)
            .join(Official, Official.id == Notification.recipient_id)
            .order_by(Notification.id)
        ).all()
    return [tuple(r) for r in rows]


def cards(rt: Runtime) -> list[Any]:
    with rt.store.reading() as session:
        return list(session.scalars(select(ChatMessage).order_by(ChatMessage.id)))


def ids(rt: Runtime) -> dict[str, int]:
    with rt.store.reading() as session:
        return {o.key: o.id for o in session.scalars(select(Official))}


def mentioned(robot: ChatServer) -> list[str]:
    """The mobiles every received DingTalk card @-mentions, in order."""
    return sorted(m for p in robot.received for m in p["at"]["atMobiles"])


def test_chat_only_gets_cards_and_no_mail_both_gets_both_mail_only_is_never_mentioned(
    town: Runtime, tmp_path: Path
) -> None:
    enter(town, "o00", "o01")  # project 1: 干部00's; project 2: 干部01's
    with ChatServer("dingtalk", SECRET) as robot:
        channels.add_channel(town, "chengguan", kind="dingtalk", webhook=robot.webhook, secret=SECRET)
        monday = town.at(at(MONDAY))
        escalation.sweep(monday)
        mail = delivery.send(monday)
        chat = send_chat(monday)
        assert (mail.messages, mail.sent, mail.obsolete, mail.undelivered) == (2, 6, 2, 0)
        assert mailed_to(tmp_path) == ["o01", "wangjun"]  # 干部00 chose the chat: no mail
        assert (chat.sent, chat.undelivered) == (4, 0)
        people = ids(town)
        assert sorted((c.project_id, c.kind, sorted(c.mentions or [])) for c in cards(town)) == [
            (1, "deadline", sorted([people["wangjun"], people["o00"]])),
            (1, "stale", sorted([people["wangjun"], people["o00"]])),
            (2, "deadline", [people["wangjun"]]),
            (2, "stale", [people["wangjun"]]),
        ]
        assert mentioned(robot) == [MOBILES["wangjun"]] * 4 + [MOBILES["o00"]] * 2  # never 干部01
        by_card = {c.id for c in cards(town) if c.project_id == 1}
        mine = [(kind, status, error) for key, kind, status, error in outbox(town) if key == "o00"]
        assert [(kind, status) for kind, status, _e in mine] == [
            ("deadline", "obsolete"), ("stale", "obsolete")
        ]  # fmt: skip
        assert {int((e or "").rsplit(" ", 1)[1]) for _k, _s, e in mine} == by_card
        assert all((e or "").startswith("delivered by chat: card ") for _k, _s, e in mine)
        # a second sweep and send, later that morning: nothing is said twice, by mail or by chat
        later = town.at(at(MONDAY, "09:30"))
        assert escalation.sweep(later).queued == 0
        again = delivery.send(later)
        assert (again.messages, again.obsolete, send_chat(later).sent) == (0, 0, 0)
        assert (mailed_to(tmp_path), len(robot.received)) == (["o01", "wangjun"], 4)


def test_a_chat_only_official_whose_unit_has_no_robot_is_mailed(town: Runtime, tmp_path: Path) -> None:
    enter(town, "o00")
    monday = town.at(at(MONDAY))
    escalation.sweep(monday)
    mail = delivery.send(monday)
    assert (mail.messages, mail.sent, mail.obsolete) == (2, 4, 0)
    assert mailed_to(tmp_path) == ["o00", "wangjun"]
    assert {status for key, _k, status, _e in outbox(town) if key == "o00"} == {"sent"}


def test_a_robot_added_after_the_sweep_still_spares_the_mail(town: Runtime, tmp_path: Path) -> None:
    """The cards are queued by the mail's send itself when the sweep's hook found no robot yet."""
    enter(town, "o00")
    monday = town.at(at(MONDAY))
    escalation.sweep(monday)
    assert cards(town) == []
    with ChatServer("dingtalk", SECRET) as robot:
        channels.add_channel(town, "chengguan", kind="dingtalk", webhook=robot.webhook, secret=SECRET)
        mail = delivery.send(monday)
        assert (mail.messages, mail.obsolete, mailed_to(tmp_path)) == (1, 2, ["wangjun"])
        assert send_chat(monday).sent == 2
        assert mentioned(robot).count(MOBILES["o00"]) == 2


def test_a_card_refused_for_good_leaves_the_mail_to_reach_a_chat_only_official(
    town: Runtime, tmp_path: Path
) -> None:
    enter(town, "o00")
    with ChatServer("dingtalk", SECRET) as bad:
        channels.add_channel(town, "chengguan", kind="dingtalk", webhook=bad.webhook, secret=SECRET)
        monday = town.at(at(MONDAY))
        escalation.sweep(monday)
        bad.script = ["bad_token", "bad_token"]
        assert send_chat(monday).failed == 2
        mail = delivery.send(monday)
    assert (mail.messages, mail.obsolete) == (2, 0)
    assert mailed_to(tmp_path) == ["o00", "wangjun"]


def test_the_weekly_mail_still_reaches_a_chat_only_official_without_the_warnings_the_cards_carry(
    town: Runtime, tmp_path: Path
) -> None:
    """The weekly card only counts the unit's projects and points to the mail: the mail still goes."""
    enter(town, "o00")
    with ChatServer("dingtalk", SECRET) as robot:
        channels.add_channel(town, "chengguan", kind="dingtalk", webhook=robot.webhook, secret=SECRET)
        monday = town.at(at(MONDAY))
        escalation.sweep(monday)
        assert escalation.queue_weekly(monday).queued >= 2
        mail = delivery.send(monday)
        assert (mail.digests, mail.obsolete) == (2, 2)
        assert mailed_to(tmp_path) == ["o00", "wangjun"]
        mine = {(kind, status) for key, kind, status, _e in outbox(town) if key == "o00"}
        assert mine == {("deadline", "obsolete"), ("stale", "obsolete"), ("digest", "sent")}
        assert send_chat(monday).sent == 3  # the yellow, the 跟进超时 and the weekly summary


def test_status_says_who_is_mailed_for_want_of_a_robot(town: Runtime) -> None:
    from followup.app.board import status_board

    warned = [w for w in status_board(town).warnings if "o00" in w]
    assert len(warned) == 1 and "chat only" in warned[0] and "o01" not in warned[0]
    with ChatServer("dingtalk", SECRET) as robot:
        channels.add_channel(town, "chengguan", kind="dingtalk", webhook=robot.webhook, secret=SECRET)
        assert not [w for w in status_board(town).warnings if "o00" in w]
