"""``followup daemon``: an APScheduler BlockingScheduler in the foreground.

The scheduler only *triggers* three state-based, idempotent functions — sweep, send, digest — with
the current time; it never holds one job per project and never keeps a persistent job store, so a
restart loses nothing: the state is the database. SIGTERM (or SIGINT) stops it within seconds: a
delivery batch ends after the message in flight and gives back what it did not try (a wait for the
mail server is interrupted at once, except the reply to a message already handed over, which gets a
few seconds more). Logs go to stderr.
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
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from followup.app.delivery import send
from followup.app.escalation import queue_digests, sweep
from followup.app.runtime import Clock, Runtime
from followup.domain.timeutil import utcnow
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


def _send(rt: Runtime, stop: threading.Event | None) -> Callable[[], object]:
    def job() -> object:
        result = send(rt, stop=stop)
        if result.undelivered:
            log.warning("send: %d notifications not delivered (kept): %s", result.undelivered, result.error)
        return result

    return job


def schedule(
    rt: Runtime, *, sweep_every: int, send_every: int, stop: threading.Event | None = None
) -> BlockingScheduler:
    """The scheduler with its four jobs: sweep, send, the weekly digest and its catch-up at start.
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
        _guarded("send", _send(rt, stop)),
        IntervalTrigger(seconds=send_every),
        id="send",
        next_run_time=first + timedelta(seconds=1),
    )
    weekday, at = rt.settings.digest_schedule
    scheduler.add_job(
        _guarded("digest", lambda: queue_digests(rt)),
        CronTrigger(day_of_week=WEEKDAYS[weekday], hour=at.hour, minute=at.minute, timezone=zone),
        id="digest",
    )
    # After downtime, this week's digest is still owed if its time has passed (queuing is idempotent).
    scheduler.add_job(
        _guarded("digest", lambda: queue_digests(rt)), id="digest-catch-up", next_run_time=first
    )
    return scheduler


def run(rt: Runtime, *, start: datetime | None, sweep_every: int, send_every: int) -> None:
    """Run until SIGTERM/SIGINT; ``start`` replays from that instant at real speed."""
    if not logging.getLogger().handlers:
        logging.basicConfig(stream=sys.stderr)
    logging.getLogger("followup").setLevel(
        min(logging.getLogger("followup").level or logging.INFO, logging.INFO)
    )
    rt = replace(rt, clock=make_clock(start))
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
        "daemon started: sweep every %ss, send every %ss to %s, digest %s %s; clock %s",
        sweep_every,
        send_every,
        where,
        WEEKDAYS[weekday],
        at.strftime("%H:%M"),
        "replayed from " + start.isoformat() if start else "real",
    )
    scheduler.start()
    log.info("daemon stopped")
