"""Escalation: ``sweep``, ``send``, ``digest``, ``outbox``, ``status`` and the ``daemon``."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

import click

from followup.app import board, delivery, escalation
from followup.cli.output import Column, label, table, when
from followup.cli.root import Context, cli, emit_json, json_option, now_option, pass_ctx
from followup.domain.kinds import Light, NoticeKind, NoticeStatus, Role
from followup.errors import DeliveryError, FollowupError
from followup.i18n import _, ngettext

if TYPE_CHECKING:
    from followup.app.chat_send import ChatResult

log = logging.getLogger(__name__)


@cli.command()
@now_option
@click.option("--dry-run", is_flag=True, help="Show what would be queued; write nothing.")
@json_option
@pass_ctx
def sweep(c: Context, now: str | None, dry_run: bool, as_json: bool) -> None:
    """Queue the warnings every due project owes (idempotent: a second run queues nothing)."""
    result = escalation.sweep(c.runtime(now), dry_run=dry_run)
    if as_json:
        emit_json(result.to_dict())
        return
    if dry_run:
        planned = _("would queue: project {project} {kind} {level} → {official} ({role})")
        of_unit = _("would queue: unit {unit} {kind} {level} → {official} ({role})")
        for item in result.planned:
            click.echo(
                (planned if item["project_id"] is not None else of_unit).format(
                    project=item["project_id"],
                    unit=item.get("unit_name") or "",
                    kind=label(NoticeKind, item["kind"]),
                    level=level_text(item["kind"], item["level"], item["repeat_no"]),
                    official=item["recipient_name"],
                    role=label(Role, item["role"]),
                )
            )
    click.echo(
        _("{due} projects due, {queued} notifications queued").format(
            due=result.looked_at, queued=result.queued
        )
    )


@cli.command()
@now_option
@click.option(
    "--any-time", is_flag=True, help="Send even outside working days and hours (a demo, an urgent run)."
)
@json_option
@pass_ctx
def send(c: Context, now: str | None, any_time: bool, as_json: bool) -> None:
    """Deliver queued notifications: SMTP if FOLLOWUP_SMTP_HOST is set, else the local maildir.

    Exits 8 when anything due could not be delivered (it is kept and retried; what went out is
    recorded)."""
    result = delivery.send(c.runtime(now), ignore_hours=any_time)
    chat = _send_chat(c, any_time)  # issue 11 — the work chats' cards, after the mail and apart from it
    if as_json:
        emit_json(result.to_dict() | ({"chat": chat.to_dict()} if chat and _busy(chat) else {}))
    elif result.skipped_reason:
        reason = _(result.skipped_reason)
        click.echo(_("nothing sent: {reason} (waiting; --any-time overrides)").format(reason=reason))
    else:
        where = c.settings.smtp_host or str(c.settings.maildir)
        click.echo(
            _(
                "{messages} messages ({sent} notifications) delivered to {where}; {retried} to retry, "
                "{deferred} deferred, {unknown} of unknown outcome, {failed} failed, {obsolete} obsolete"
            ).format(
                messages=result.messages,
                sent=result.sent,
                where=where,
                retried=result.retried,
                deferred=result.deferred,
                unknown=result.unknown,
                failed=result.failed,
                obsolete=result.obsolete,
            )
        )
    if chat and not as_json and _busy(chat):
        click.echo(
            _("chat: {sent} cards posted; {deferred} deferred, {retried} to retry, {failed} failed").format(
                sent=chat.sent, deferred=chat.deferred, retried=chat.retried, failed=chat.failed
            )
        )
    if result.undelivered:
        raise DeliveryError(
            ngettext(
                "{n} notification not delivered (kept and retried; see `followup outbox`): {error}",
                "{n} notifications not delivered (kept and retried; see `followup outbox`): {error}",
                result.undelivered,
            ).format(n=result.undelivered, error=result.error)
        )


@cli.command()
@now_option
@pass_ctx
def digest(c: Context, now: str | None) -> None:
    """Queue this week's digest (周调度) for every official with projects, once the schedule has come."""
    rt = c.runtime(now)
    queued = escalation.queue_digests(rt)
    key, due = escalation.digest_round(rt)
    click.echo(
        ngettext(
            "{n} digest queued for {week} (due {due})", "{n} digests queued for {week} (due {due})", queued
        ).format(n=queued, week=key.round, due=when(due))
    )


STATUSES = ["pending", "sending", "sent", "failed", "obsolete", "unknown"]


@cli.group(invoke_without_command=True)
@click.option("--status", "status_", type=click.Choice(STATUSES))
@click.option(
    "--limit",
    default=200,
    show_default=True,
    type=click.IntRange(1, 100_000),
    metavar="N",
    help="At most this many (the newest).",
)
@json_option
@pass_ctx
def outbox(c: Context, status_: str | None, limit: int, as_json: bool) -> None:
    """List queued and delivered notifications (`outbox retry` requeues failed ones)."""
    if click.get_current_context().invoked_subcommand is not None:
        return
    rows = board.list_outbox(c.runtime(), status=status_, limit=limit)
    if as_json:
        emit_json([r.to_dict() for r in rows])
        return
    table(
        [
            Column(_("id"), ">", "keep"),
            Column(_("project"), ">", "keep"),
            Column(_("kind")),
            Column(_("level")),
            Column(_("recipient")),
            Column(_("status")),
            Column(_("attempts"), ">", "keep"),
            Column(_("next attempt"), squeeze="keep"),
            Column(_("error")),
        ],
        [
            [
                r.id,
                r.project_id or "",
                label(NoticeKind, r.kind),
                level_text(r.kind, r.level, r.repeat_no),
                f"{r.recipient.name} <{r.recipient.email}>",
                label(NoticeStatus, r.status),
                r.attempts,
                when(r.next_attempt_at) if r.status in ("pending", "unknown") else "",
                (r.last_error or "")[:40],
            ]
            for r in rows
        ],
    )


def _send_chat(c: Context, any_time: bool) -> ChatResult | None:
    """The chat cards' delivery (issue 11); its failure is logged and never stops the mail's. A county
    without robots does not even load the HTTP client."""
    from followup.app.chat_queue import any_channels

    try:
        if not any_channels(c.runtime()):
            return None
        from followup.app.chat_send import send_chat

        return send_chat(c.runtime(), ignore_hours=any_time)
    except FollowupError as exc:
        log.error("chat: %s", exc)
        return None


def _busy(chat: ChatResult) -> bool:
    """Whether the chat had anything to do (without channels, ``send`` says what it always said)."""
    return bool(chat.queued or chat.sent or chat.undelivered or chat.obsolete)


def level_text(kind: str, level: str, repeat_no: int) -> str:
    """A notification's rung as a person reads it: 黄灯, 红灯 (第2次重复); a county's own level as it is."""
    rungs = (NoticeKind.DEADLINE, NoticeKind.HOLD, NoticeKind.PROBLEM, NoticeKind.REPLY, NoticeKind.ROUND)
    if kind in rungs and level in Light._value2member_map_:
        shown = Light(level).label
    elif kind in (NoticeKind.DEADLINE, NoticeKind.HOLD):
        shown = level
    else:
        shown = label(NoticeKind, kind)
    if repeat_no:
        return _("{level} (repeat {n})").format(level=shown, n=repeat_no)
    return shown


@outbox.command("retry")
@click.option(
    "--id",
    "ids",
    type=int,
    multiple=True,
    metavar="ID",
    help="A failed (or unknown-outcome) notification; repeatable.",
)
@click.option("--all-failed", is_flag=True, help="Every failed notification.")
@now_option
@pass_ctx
def outbox_retry(c: Context, ids: tuple[int, ...], all_failed: bool, now: str | None) -> None:
    """Requeue failed notifications with a fresh retry budget (their Message-IDs are kept)."""
    result = delivery.retry(c.runtime(now), ids=ids, all_failed=all_failed)
    parts = [
        ngettext("{n} notification requeued", "{n} notifications requeued", result.requeued).format(
            n=result.requeued
        )
    ]
    if result.not_requeued:
        parts.append(
            _("{n} neither failed nor unknown, left as they are: {ids}").format(
                n=len(result.not_requeued), ids=", ".join(map(str, result.not_requeued))
            )
        )
    if result.unknown_ids:
        parts.append(
            _("{n} not in the outbox: {ids}").format(
                n=len(result.unknown_ids), ids=", ".join(map(str, result.unknown_ids))
            )
        )
    # the separator between the clauses of one line: ； in Chinese
    click.echo(_("; ").join(parts))


@cli.command()
@now_option
@json_option
@pass_ctx
def status(c: Context, now: str | None, as_json: bool) -> None:
    """The board: green/blue/yellow/red/top by unit, and warnings about the system itself."""
    shown = board.status_board(c.runtime(now))
    if as_json:
        emit_json(shown.to_dict())
        return
    headers = [_("unit"), *(light.label for light in Light), _("no follow-up"), _("on hold")]
    rows = [
        [u.name or _("total"), *(getattr(u, light) for light in Light), u.stale, u.on_hold]
        for u in [*shown.units, shown.totals]
    ]
    click.echo(_("project warning board {now}").format(now=when(shown.now)))
    table([Column(headers[0]), *(Column(h, ">", "keep") for h in headers[1:])], rows)
    for warning in shown.warnings:
        click.echo(_("warning: {message}").format(message=warning), err=True)


@cli.command()
@click.option(
    "--now",
    "start",
    envvar="FOLLOWUP_NOW",
    metavar="TIME",
    help="Start the daemon's clock at this time (it then runs at real speed). Env: FOLLOWUP_NOW.",
)
@click.option(
    "--sweep-every",
    default=300,
    show_default=True,
    type=click.IntRange(1, 86_400),
    metavar="SECONDS",
    help="Seconds between sweeps.",
)
@click.option(
    "--send-every",
    default=60,
    show_default=True,
    type=click.IntRange(1, 86_400),
    metavar="SECONDS",
    help="Seconds between deliveries.",
)
@pass_ctx
def daemon(c: Context, start: str | None, sweep_every: int, send_every: int) -> None:
    """Run sweep, send and the weekly digest on a schedule, in the foreground, until SIGTERM."""
    from followup.daemon import run

    run(c.runtime(), start=c.instant(start, "--now"), sweep_every=sweep_every, send_every=send_every)
