"""``followup daemon``: an APScheduler BlockingScheduler in the foreground.

The scheduler only *triggers* three state-based, idempotent functions — sweep, send, digest — with
the current time; it never holds one job per project and never keeps a persistent job store, so a
restart loses nothing: the state is the database. SIGTERM (or SIGINT) stops it after the current
batch. Logs go to stderr.
"""

from __future__ import annotations

import logging
import signal
import sys
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from types import FrameType
from typing import TYPE_CHECKING

from apscheduler.schedulers.blocking import BlockingScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from followup.errors import FollowupError
from followup.outbox import queue_digests, send, sweep
from followup.settings import WEEKDAYS
from followup.timeutil import utcnow

if TYPE_CHECKING:
    from followup.service import Followup

log = logging.getLogger("followup.daemon")


def make_clock(start: datetime | None) -> Callable[[], datetime]:
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


def run(app: Followup, *, start: datetime | None, sweep_every: int, send_every: int) -> None:
    """Run until SIGTERM/SIGINT."""
    if not logging.getLogger().handlers:
        logging.basicConfig(stream=sys.stderr)
    logging.getLogger("followup").setLevel(
        min(logging.getLogger("followup").level or logging.INFO, logging.INFO)
    )
    clock = make_clock(start)
    zone = app.settings.zone
    scheduler = BlockingScheduler(
        timezone=zone,
        job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": 3600},
    )
    first = datetime.now(zone)
    scheduler.add_job(
        _guarded("sweep", lambda: sweep(app, clock())),
        IntervalTrigger(seconds=sweep_every),
        id="sweep",
        next_run_time=first,
    )
    scheduler.add_job(
        _guarded("send", lambda: send(app, clock())),
        IntervalTrigger(seconds=send_every),
        id="send",
        next_run_time=first + timedelta(seconds=1),
    )
    weekday, at = app.settings.digest_schedule
    scheduler.add_job(
        _guarded("digest", lambda: queue_digests(app, clock())),
        CronTrigger(day_of_week=WEEKDAYS[weekday], hour=at.hour, minute=at.minute, timezone=zone),
        id="digest",
    )
    # After downtime, this week's digest is still owed if its time has passed (queuing is idempotent).
    scheduler.add_job(
        _guarded("digest", lambda: queue_digests(app, clock())), id="digest-catch-up", next_run_time=first
    )

    stopping: list[int] = []

    def stop(signum: int, _frame: FrameType | None) -> None:
        if stopping:  # a second signal while the batch finishes: shutting down again would raise
            log.info("signal %s: already stopping after the current batch", signal.Signals(signum).name)
            return
        stopping.append(signum)
        log.info("signal %s: stopping after the current batch", signal.Signals(signum).name)
        scheduler.shutdown(wait=True)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    where = app.settings.smtp_host or str(app.settings.maildir)
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
