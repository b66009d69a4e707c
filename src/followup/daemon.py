"""``followup daemon``: an APScheduler BlockingScheduler in the foreground.

The scheduler only *triggers* three state-based, idempotent functions — sweep, the weekly mail, send —
with the daemon's clock; it never holds one job per project and never keeps a persistent job store, so
a restart loses nothing: the state is the database. The weekly mail follows the daemon's clock, not
the wall clock: a replayed clock (``--now``) queues it when the replayed week reaches
``FOLLOWUP_DIGEST_SCHEDULE``, and a daemon started after that moment queues it at once. It is queued
by the send job, right before it sends, so that Monday's weekly mail and that morning's warnings go
out together, one mail per person. The monthly bulletin (月通报) is queued the same way
(``Monthly``) once ``FOLLOWUP_BULLETIN_SCHEDULE`` has come (the 5th at 09:00, or the next working
day). Log lines carry the daemon's time in the configured zone.

SIGTERM (or SIGINT) stops it within seconds: a delivery batch ends after the message in flight and
gives back what it did not try (a wait for the mail server is interrupted at once, except the reply to
a message already handed over, which gets a few seconds more). Logs go to stderr.
"""

from __future__ import annotations

import logging
import signal
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime, timedelta
from types import FrameType

from apscheduler.schedulers.blocking import BlockingScheduler
from apscheduler.triggers.interval import IntervalTrigger

from followup.app.bulletin import BulletinQueued, bulletin_round, queue_bulletin
from followup.app.chat_send import send_chat
from followup.app.delivery import SendResult, send
from followup.app.escalation import WeeklyResult, digest_round, queue_weekly, sweep
from followup.app.runtime import Clock, Runtime
from followup.domain.timeutil import as_utc, show, utcnow
from followup.errors import FollowupError
from followup.settings import WEEKDAYS

log = logging.getLogger("followup.daemon")


def make_clock(start: datetime | None) -> Clock:
    """Real time, or a replayed time that starts at ``start`` and runs at real speed."""
    if start is None:
        return utcnow
    origin = time.monotonic()
    return lambda: start + timedelta(seconds=time.monotonic() - origin)


def _guarded(name: str, job: Callable[[], object]) -> Callable[[], None]:
    def run() -> None:
        try:
            outcome = job()
            log.debug("%s: %s", name, outcome)
        except FollowupError as exc:  # the database or the mail server is away: try again next tick
            log.error("%s failed: %s", name, exc)
        except Exception:
            log.exception("%s failed unexpectedly", name)

    return run


class Weekly:
    """This week's weekly mail, queued once its time has come by the runtime's clock (replayed or
    real): checked before every delivery batch, queued once a week (again after a restart: queuing is
    idempotent)."""

    def __init__(self, rt: Runtime) -> None:
        self.rt = rt
        self.done: str | None = None  # the ISO week already queued by this process

    def __call__(self) -> WeeklyResult | None:
        key, due = digest_round(self.rt)
        if self.done == key.round or as_utc(self.rt.now()) < due:
            return None
        result = queue_weekly(self.rt)  # logs what it queued
        self.done = key.round
        return result


class Monthly:
    """This month's bulletin (月通报), queued once its time has come by the runtime's clock
    (``FOLLOWUP_BULLETIN_SCHEDULE``): checked before every delivery batch like the weekly mail."""

    def __init__(self, rt: Runtime) -> None:
        self.rt = rt
        self.done: str | None = None  # the month whose bulletin this process queued

    def __call__(self) -> BulletinQueued | None:
        month, due = bulletin_round(self.rt)
        if self.done == month or as_utc(self.rt.now()) < due:
            return None
        result = queue_bulletin(self.rt)  # logs what it queued
        self.done = month
        return result


def _send(
    rt: Runtime, stop: threading.Event | None, weekly: Weekly, monthly: Monthly | None = None
) -> Callable[[], object]:
    def job() -> object:
        _guarded("weekly mail", weekly)()
        if monthly is not None:
            _guarded("monthly bulletin", monthly)()
        try:
            result = send(rt, stop=stop)
            _report(result)
        finally:  # issue 11 — the work chats' cards, whatever became of the mail
            _guarded("chat", lambda: send_chat(rt, stop=stop))()
        return result

    return job


def _report(result: SendResult) -> None:
    if result.messages or result.obsolete or result.postponed:
        log.info(
            "send: %d messages to %d recipients (%d with the weekly mail), %d notifications; "
            "%d obsolete, %d repeats postponed",
            result.messages,
            result.recipients,
            result.digests,
            result.sent,
            result.obsolete,
            result.postponed,
        )
    if result.undelivered:
        log.warning("send: %d notifications not delivered (kept): %s", result.undelivered, result.error)


def schedule(
    rt: Runtime, *, sweep_every: int, send_every: int, stop: threading.Event | None = None
) -> BlockingScheduler:
    """The scheduler with its two jobs: sweep, and send (the weekly mail first when its time has come).
    ``stop`` set ends a delivery batch after the message in flight."""
    zone = rt.zone
    scheduler = BlockingScheduler(
        timezone=zone,
        job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": 3600},
    )
    first = datetime.now(zone)
    scheduler.add_job(
        _guarded("sweep", lambda: sweep(rt)),
        IntervalTrigger(seconds=sweep_every),
        id="sweep",
        next_run_time=first,
    )
    scheduler.add_job(
        _guarded("send", _send(rt, stop, Weekly(rt), Monthly(rt))),
        IntervalTrigger(seconds=send_every),
        id="send",
        next_run_time=first + timedelta(seconds=1),
    )
    return scheduler


class ZoneFormatter(logging.Formatter):
    """Log lines stamped with the daemon's clock (a replayed one too) in the configured zone."""

    def __init__(self, rt: Runtime) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s: %(message)s")
        self.rt = rt

    def formatTime(self, record: logging.LogRecord, datefmt: str | None = None) -> str:
        return show(self.rt.now(), self.rt.zone) or ""


def run(rt: Runtime, *, start: datetime | None, sweep_every: int, send_every: int) -> None:
    """Run until SIGTERM/SIGINT; ``start`` replays from that instant at real speed."""
    rt = replace(rt, clock=make_clock(start))
    root = logging.getLogger()
    if not root.handlers:
        root.addHandler(logging.StreamHandler(sys.stderr))
    for handler in root.handlers:  # the shell's handler too: every line in the zone, by the daemon's clock
        handler.setFormatter(ZoneFormatter(rt))
    logging.getLogger("followup").setLevel(
        min(logging.getLogger("followup").level or logging.INFO, logging.INFO)
    )
    halt = threading.Event()
    scheduler = schedule(rt, sweep_every=sweep_every, send_every=send_every, stop=halt)
    weekday, at = rt.settings.digest_schedule

    def stop(signum: int, _frame: FrameType | None) -> None:
        name = signal.Signals(signum).name
        if halt.is_set():  # a second signal while stopping: shutting down again would raise
            log.info("signal %s: already stopping after the message in flight", name)
            return
        halt.set()  # the delivery batch sees it between messages and in every wait for the server
        log.info("signal %s: stopping after the message in flight", name)
        scheduler.shutdown(wait=True)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    where = rt.settings.smtp_host or str(rt.settings.maildir)
    log.info(
        "daemon started: sweep every %ss, send every %ss to %s, weekly mail %s %s %s; clock %s",
        sweep_every,
        send_every,
        where,
        WEEKDAYS[weekday],
        at.strftime("%H:%M"),
        rt.zone.key,
        "replayed from " + (show(start, rt.zone) or "") if start else "real",
    )
    scheduler.start()
    log.info("daemon stopped")
