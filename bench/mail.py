"""Benchmark: followup's SMTP transport against raw smtplib on one connection, to a local aiosmtpd.

What it measures (issue 3's target)
    * followup: ``with transport_for(settings) as t: t.send(m)`` for ``--messages`` OutgoingMessage
      (Chinese subject, text and HTML of about 2 KB together, one recipient each), with
      ``smtp_host=127.0.0.1``, the server's port and ``smtp_security=none``: yagmail opens the
      connection, followup builds each MIME message (``followup.mail.transport.build_message``) and hands it
      over with ``sendmail``;
    * raw: one ``smtplib.SMTP`` connection, ``sendmail`` of the same number of equivalent messages.
      To be fair, the raw side builds its messages inside the timed part too, the way a plain stdlib
      program would (``EmailMessage``: ``multipart/alternative``, a text/plain and a text/html part in
      UTF-8 base64, From/To/Subject/Date/Message-ID, ``as_bytes(policy=email.policy.SMTP)``);
    * for information (no target): raw with the messages built before the clock starts (what the
      SMTP conversation alone costs), and raw building them with the legacy ``email.mime`` classes
      (``MIMEMultipart``/``MIMEText``/``Header``, policy compat32), the cheaper stdlib builder.

Target: followup's throughput ≥ 0.7× raw's (messages per second; both with message building).

With ``--db sqlite`` and/or ``--db postgresql`` it also measures the whole delivery use case on that
database, ``followup.app.delivery.send``: claim the due notifications (under a claim token), read what
the messages need, render the templates (Jinja2), build and check each message, send it, and record it
(one transaction per message, plus the renewal that checks the claim before each message). The outbox
holds ``--messages`` overdue projects of as many case officers, each owing a yellow and a staleness
warning: one consolidated message per officer. ``send`` is called until nothing is left (batches of
500); between repeats the rows are put back to pending. No target: the figure to read is how much of
the transport's rate survives the database and the templates, on each backend.

Every side opens its own connection inside the timed part and closes it (QUIT) inside it. The
server is aiosmtpd (``aiosmtpd.controller.Controller`` on 127.0.0.1, in a thread of this process) with
a handler that only counts messages and their bytes; the benchmark checks it got exactly
``--messages`` from each side and prints the average size, so that the two sides are seen to send
comparable messages. The sides alternate which goes first from one repeat to the next, after one
untimed warm-up batch of each (imports, first connection). Median over ``--repeat`` runs.

Run from the repository root::

    .venv/bin/python bench/mail.py [--messages 1000] [--repeat 5] [--db sqlite] [--db postgresql]

Exit status: 0 when the target is met, 1 otherwise.
"""

from __future__ import annotations

import argparse
import smtplib
import socket
import statistics
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email import policy
from email.header import Header
from email.headerregistry import Address
from email.message import EmailMessage
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText
from email.utils import format_datetime, formataddr
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session

TARGET = 0.7
SENDER = "县投资促进局 <followup@example.gov.cn>"
SENDER_ADDRESS = Address(display_name="县投资促进局", addr_spec="followup@example.gov.cn")
ZONE = ZoneInfo("Asia/Shanghai")
NAMES = ("李娜", "王军", "刘强", "徐丽", "孙立", "赵敏", "陈静", "周涛")


# --------------------------------------------------------------------------- the server


@dataclass
class Counter:
    """What the server took: messages and their bytes, since the last reset."""

    messages: int = 0
    size: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def reset(self) -> None:
        with self.lock:
            self.messages = self.size = 0


class CountingHandler:
    def __init__(self, counter: Counter) -> None:
        self.counter = counter

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        size = len(envelope.original_content or b"")
        with self.counter.lock:
            self.counter.messages += 1
            self.counter.size += size
        return "250 OK"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


# --------------------------------------------------------------------------- the messages


def outgoing(n: int) -> list[Any]:
    """``n`` realistic notifications: a yellow-light reminder about one project, text and HTML."""
    from followup.mail.transport import OutgoingMessage, make_message_id

    out = []
    for i in range(n):
        name = NAMES[i % len(NAMES)]
        project = f"伊禾乳制品加工项目（第{i:04d}号）"
        subject = f"【黄灯】{project}已超过洽谈阶段期限，请于3个工作日内报送推进情况"
        facts = [
            ("项目名称", project),
            ("所处阶段", "洽谈（期限 2026-06-12，已超期 3 天）"),
            ("责任单位", "城关镇人民政府"),
            ("包联领导", "刘强"),
            ("最近跟进", "2026-05-28：投资方来县考察，初步确定选址，待落实用地指标。"),
        ]
        text = (
            f"{name}同志：\n\n"
            f"您负责的{project}已超过洽谈阶段的办理期限，按照《招商引资项目跟踪督办办法》亮黄灯提示。"
            "请于3个工作日内报送项目推进情况、存在问题和下一步计划；如需延期，请说明理由并报分管领导同意。\n\n"
            + "\n".join(f"{k}：{v}" for k, v in facts)
            + "\n\n本邮件由招商引资项目跟踪督办系统自动发送，请勿直接回复。"
            "如有疑问请联系县投资促进局督办科。\n县投资促进局\n"
        )
        rows = "".join(f"<tr><th>{k}</th><td>{v}</td></tr>" for k, v in facts)
        html = (
            '<!DOCTYPE html><html lang="zh-CN"><head><meta charset="utf-8"><title>黄灯提示</title></head>'
            '<body style="font-family:sans-serif">'
            f"<p>{name}同志：</p>"
            f"<p>您负责的<strong>{project}</strong>已超过洽谈阶段的办理期限，按照《招商引资项目跟踪督办办法》"
            '<span style="color:#b8860b">亮黄灯</span>提示。请于3个工作日内报送项目推进情况、存在问题和下一步'
            "计划；如需延期，请说明理由并报分管领导同意。</p>"
            f'<table border="1" cellpadding="4" style="border-collapse:collapse">{rows}</table>'
            "<p>本邮件由招商引资项目跟踪督办系统自动发送，请勿直接回复。</p><p>县投资促进局</p></body></html>"
        )
        out.append(
            OutgoingMessage(
                message_id=make_message_id(f"bench-{i}-yellow-0", "example.gov.cn"),
                to_name=name,
                to_email=f"officer{i % 50}@example.gov.cn",
                subject=subject,
                text=text,
                html=html,
            )
        )
    return out


def legacy_message(m: Any, date: datetime) -> bytes:
    """The same message through the legacy ``email.mime`` API (compat32): less header parsing."""
    msg = MIMEMultipart("alternative")
    msg["From"] = formataddr((SENDER_ADDRESS.display_name, SENDER_ADDRESS.addr_spec), "utf-8")
    msg["To"] = formataddr((m.to_name, m.to_email), "utf-8")
    msg["Subject"] = Header(m.subject, "utf-8")
    msg["Date"] = format_datetime(date)
    msg["Message-ID"] = m.message_id
    msg.attach(MIMEText(m.text, "plain", "utf-8"))  # utf-8: base64, as in the other builders
    msg.attach(MIMEText(m.html, "html", "utf-8"))
    return msg.as_bytes(policy=policy.compat32.clone(linesep="\r\n"))


def raw_message(m: Any, date: datetime) -> EmailMessage:
    """The plain stdlib way to the same message: multipart/alternative, UTF-8 base64 parts."""
    msg = EmailMessage(policy=policy.default)
    msg["From"] = SENDER_ADDRESS
    msg["To"] = Address(display_name=m.to_name, addr_spec=m.to_email)
    msg["Subject"] = m.subject
    msg["Date"] = format_datetime(date)
    msg["Message-ID"] = m.message_id
    msg.set_content(m.text, subtype="plain", charset="utf-8", cte="base64")
    msg.add_alternative(m.html, subtype="html", charset="utf-8", cte="base64")
    return msg


# --------------------------------------------------------------------------- the two sides


def send_followup(settings: Any, messages: Sequence[Any]) -> None:
    from followup.mail.transport import transport_for

    with transport_for(settings) as transport:
        for m in messages:
            transport.send(m)


def send_raw(port: int, messages: Sequence[Any]) -> None:
    """Build each message and send it, over one connection."""
    with smtplib.SMTP("127.0.0.1", port, timeout=30) as smtp:
        for m in messages:
            data = raw_message(m, datetime.now(UTC).astimezone(ZONE)).as_bytes(policy=policy.SMTP)
            smtp.sendmail(SENDER_ADDRESS.addr_spec, [m.to_email], data)


def send_legacy(port: int, messages: Sequence[Any]) -> None:
    with smtplib.SMTP("127.0.0.1", port, timeout=30) as smtp:
        for m in messages:
            data = legacy_message(m, datetime.now(UTC).astimezone(ZONE))
            smtp.sendmail(SENDER_ADDRESS.addr_spec, [m.to_email], data)


def send_prebuilt(port: int, messages: Sequence[Any]) -> None:
    """``messages`` are (recipient, bytes) pairs built beforehand."""
    with smtplib.SMTP("127.0.0.1", port, timeout=30) as smtp:
        for to, data in messages:
            smtp.sendmail(SENDER_ADDRESS.addr_spec, [to], data)


def run(name: str, fn: Callable[[], None], counter: Counter, expected: int) -> tuple[float, int]:
    """Seconds for one batch, and the average message size the server saw; checks the count."""
    counter.reset()
    start = time.perf_counter()
    fn()
    seconds = time.perf_counter() - start
    deadline = time.monotonic() + 10
    while counter.messages < expected and time.monotonic() < deadline:
        time.sleep(0.01)
    if counter.messages != expected:
        raise SystemExit(f"{name}: the server got {counter.messages} messages, expected {expected}")
    return seconds, counter.size // expected


# --------------------------------------------------------------------------- the use case on a database

PG_DEFAULT = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
MONDAY = datetime(2026, 10, 19, 10, 0, tzinfo=ZONE)  # every lead entered 2026-09-01 owes two warnings


@contextmanager
def database(kind: str, tmp: Path, pg: str) -> Iterator[str]:
    """A fresh SQLite file or PostgreSQL schema (dropped afterwards): its URL."""
    if kind == "sqlite":
        yield f"sqlite:///{tmp / 'outbox.db'}"
        return
    from sqlalchemy import create_engine, text

    schema = f"bench_{uuid.uuid4().hex[:10]}"
    admin = create_engine(pg, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        yield f"{pg}?options=-csearch_path%3D{schema}"
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def seed_outbox(rt: Any, officers: int) -> int:
    """``officers`` case officers with one overdue lead each; returns the notifications queued."""
    from followup.app import escalation, ledger, organisation
    from followup.app.ledger import ProjectInput

    setup = rt.at(datetime(2026, 1, 5, 9, 0, tzinfo=ZONE))
    organisation.add_unit(setup, "chengguan", "城关镇人民政府", "township")
    for i in range(officers):
        name = NAMES[i % len(NAMES)] + f"{i:04d}"
        organisation.add_official(
            setup, f"o{i:04d}", name=name, email=f"o{i:04d}@example.gov.cn", unit="chengguan"
        )
    entered = rt.at(datetime(2026, 9, 1, 10, 0, tzinfo=ZONE))
    for i in range(officers):
        ledger.add_project(
            entered,
            ProjectInput(name=f"伊禾乳制品加工项目（第{i:04d}号）", officer=f"o{i:04d}", unit="chengguan"),
            stage="lead",
            since=datetime(2026, 9, 1, tzinfo=ZONE),
        )
    queued: int = escalation.sweep(rt.at(MONDAY)).queued
    return queued


def deliver_all(rt: Any) -> int:
    """``send`` until the outbox is empty; the messages sent."""
    from followup.app.delivery import send

    messages = 0
    while True:
        result = send(rt)
        if result.undelivered:
            raise SystemExit(f"delivery failed: {result.error}")
        if not result.sent:
            return messages
        messages += result.messages


def requeue_all(rt: Any) -> None:
    from sqlalchemy import text

    with rt.store.transaction() as session:
        session.execute(
            text(
                "UPDATE notifications SET status = 'pending', attempts = 0, sent_at = NULL, "
                "message_id = NULL, next_attempt_at = created_at"
            )
        )


def measure_use_case(kind: str, pg: str, tmp: Path, port: int, counter: Counter, args: Any) -> float:
    """Messages per second of ``delivery.send`` on ``kind``, median of ``--repeat`` runs."""
    from followup.app.runtime import Runtime
    from followup.settings import load_settings

    with database(kind, tmp, pg) as url:
        settings = load_settings(
            {
                "database_url": url,
                "data_dir": str(tmp / "data"),
                "smtp_host": "127.0.0.1",
                "smtp_port": port,
                "smtp_security": "none",
                "mail_from": SENDER,
            },
            env={"XDG_CONFIG_HOME": str(tmp / "config")},
        )
        rt = Runtime.open(settings).at(MONDAY)
        try:
            rt.init()
            queued = seed_outbox(rt, args.messages)
            deliver_all(rt)  # warm-up (untimed): imports, templates, connections
            times = []
            for _ in range(args.repeat):
                requeue_all(rt)
                seconds, size = run(f"send on {kind}", lambda: deliver_all(rt), counter, args.messages)
                times.append(seconds)
        finally:
            rt.close()
    rate = args.messages / statistics.median(times)
    print(f"{'followup send on ' + kind:30}{rate:>10.0f}{statistics.median(times) * 1e3:>10.1f}{size:>11}"
          f"{args.messages:>7}   ({queued} notifications)")  # fmt: skip
    return rate


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--messages", type=int, default=1000, help="messages per batch (default 1000)")
    parser.add_argument("--repeat", type=int, default=5, help="timed batches of each side (default 5)")
    parser.add_argument(
        "--db",
        action="append",
        choices=["sqlite", "postgresql"],
        default=[],
        help="also measure the delivery use case on this database (repeatable)",
    )
    parser.add_argument(
        "--pg", default=PG_DEFAULT, help=f"PostgreSQL URL for --db postgresql (default {PG_DEFAULT})"
    )
    args = parser.parse_args(argv)
    if args.messages < 1 or args.repeat < 1:
        parser.error("--messages and --repeat must be ≥ 1")

    from followup.settings import load_settings

    counter = Counter()
    port = free_port()
    controller = Controller(CountingHandler(counter), hostname="127.0.0.1", port=port)
    controller.start()
    try:
        with tempfile.TemporaryDirectory(prefix="followup-bench-mail-") as name:
            tmp = Path(name)
            settings = load_settings(
                {
                    "data_dir": str(tmp / "data"),
                    "smtp_host": "127.0.0.1",
                    "smtp_port": port,
                    "smtp_security": "none",
                    "mail_from": SENDER,
                },
                env={"XDG_CONFIG_HOME": str(tmp / "config")},  # no FOLLOWUP_* variable, no config file
            )
            messages = outgoing(args.messages)
            date = datetime.now(UTC).astimezone(ZONE)
            prebuilt = [(m.to_email, raw_message(m, date).as_bytes(policy=policy.SMTP)) for m in messages]
            sides: dict[str, Callable[[], None]] = {
                "followup transport_for/send": lambda: send_followup(settings, messages),
                "raw smtplib, building": lambda: send_raw(port, messages),
                "raw smtplib, prebuilt": lambda: send_prebuilt(port, prebuilt),
                "raw smtplib, email.mime": lambda: send_legacy(port, messages),
            }
            for label, fn in sides.items():  # warm-up (untimed): imports, the first connection
                run(label, fn, counter, args.messages)
            times: dict[str, list[float]] = {label: [] for label in sides}
            sizes: dict[str, int] = {}
            order = list(sides)
            for r in range(args.repeat):
                for label in order if r % 2 == 0 else reversed(order):
                    seconds, size = run(label, sides[label], counter, args.messages)
                    times[label].append(seconds)
                    sizes[label] = size
    finally:
        controller.stop()

    rate = {label: args.messages / statistics.median(t) for label, t in times.items()}
    print(
        f"{args.messages} messages per batch to aiosmtpd on 127.0.0.1 (in-process), one connection per "
        f"batch, median of {args.repeat}; Python {sys.version.split()[0]}\n"
    )
    print(f"{'':30}{'msgs/s':>10}{'ms/batch':>10}{'bytes/msg':>11}{'got':>7}")
    for label in sides:
        print(
            f"{label:30}{rate[label]:>10.0f}{statistics.median(times[label]) * 1e3:>10.1f}"
            f"{sizes[label]:>11}{args.messages:>7}"
        )
    ratio = rate["followup transport_for/send"] / rate["raw smtplib, building"]
    ok = ratio >= TARGET
    print(f"\nfollowup / raw (both building their messages): {ratio:.2f}×  target ≥ {TARGET}×: "
          f"{'PASS' if ok else 'OVER'}")  # fmt: skip
    for label in ("raw smtplib, prebuilt", "raw smtplib, email.mime"):
        print(f"followup / {label} (no target): {rate['followup transport_for/send'] / rate[label]:.2f}×")
    if args.db:
        use_cases(args, rate["followup transport_for/send"])
    return 0 if ok else 1


def use_cases(args: Any, transport: float) -> None:
    """The delivery use case on each ``--db``, against the transport's rate."""
    print(f"\nthe delivery use case (claim, render, build, send, record), median of {args.repeat}:")
    counter = Counter()
    port = free_port()
    controller = Controller(CountingHandler(counter), hostname="127.0.0.1", port=port)
    controller.start()
    try:
        for kind in args.db:
            with tempfile.TemporaryDirectory(prefix="followup-bench-send-") as name:
                use_case = measure_use_case(kind, args.pg, Path(name), port, counter, args)
                print(f"{'':30}{use_case / transport:>9.2f}× the transport alone (no target)")
    finally:
        controller.stop()


if __name__ == "__main__":
    sys.exit(main())
