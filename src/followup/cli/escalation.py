"""Escalation: ``sweep``, ``send``, ``digest``, ``outbox``, ``status`` and the ``daemon``."""

from __future__ import annotations

import click

from followup.app import board, delivery, escalation
from followup.cli.output import Column, table, when
from followup.cli.root import Context, cli, emit_json, json_option, now_option, pass_ctx
from followup.domain.kinds import Light
from followup.errors import DeliveryError


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
        for item in result.planned:
            click.echo(
                f"would queue: project {item['project_id']} {item['kind']} {item['level']}"
                f" #{item['repeat_no']} → official {item['recipient_id']} ({item['role']})"
            )
    click.echo(f"{result.looked_at} projects due, {result.queued} notifications queued")


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
    if as_json:
        emit_json(result.to_dict())
    elif result.skipped_reason:
        click.echo(f"nothing sent: {result.skipped_reason} (waiting; --any-time overrides)")
    else:
        where = c.settings.smtp_host or str(c.settings.maildir)
        click.echo(
            f"{result.messages} messages ({result.sent} notifications) delivered to {where}; "
            f"{result.retried} to retry, {result.deferred} deferred, {result.unknown} of unknown outcome, "
            f"{result.failed} failed, {result.obsolete} obsolete"
        )
    if result.undelivered:
        raise DeliveryError(
            f"{result.undelivered} notifications not delivered (kept and retried; see `followup outbox`): "
            f"{result.error}"
        )


@cli.command()
@now_option
@pass_ctx
def digest(c: Context, now: str | None) -> None:
    """Queue this week's digest (周调度) for every official with projects, once the schedule has come."""
    rt = c.runtime(now)
    queued = escalation.queue_digests(rt)
    key, due = escalation.digest_round(rt)
    click.echo(f"{queued} digests queued for {key.round} (due {when(due)})")


STATUSES = ["pending", "sending", "sent", "failed", "obsolete", "unknown"]


@cli.group(invoke_without_command=True)
@click.option("--status", "status_", type=click.Choice(STATUSES))
@click.option(
    "--limit",
    default=200,
    show_default=True,
    type=click.IntRange(1, 100_000),
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
            Column("id", ">", "keep"),
            Column("项目", ">", "keep"),
            Column("类型"),
            Column("级别"),
            Column("收件人"),
            Column("状态"),
            Column("尝试", ">", "keep"),
            Column("下次尝试", squeeze="keep"),
            Column("错误"),
        ],
        [
            [
                r.id,
                r.project_id or "",
                r.kind,
                f"{r.level}#{r.repeat_no}",
                f"{r.recipient.name} <{r.recipient.email}>",
                r.status,
                r.attempts,
                when(r.next_attempt_at) if r.status in ("pending", "unknown") else "",
                (r.last_error or "")[:40],
            ]
            for r in rows
        ],
    )


@outbox.command("retry")
@click.option(
    "--id", "ids", type=int, multiple=True, help="A failed (or unknown-outcome) notification; repeatable."
)
@click.option("--all-failed", is_flag=True, help="Every failed notification.")
@now_option
@pass_ctx
def outbox_retry(c: Context, ids: tuple[int, ...], all_failed: bool, now: str | None) -> None:
    """Requeue failed notifications with a fresh retry budget (their Message-IDs are kept)."""
    result = delivery.retry(c.runtime(now), ids=ids, all_failed=all_failed)
    line = f"{result.requeued} notifications requeued"
    if result.not_requeued:
        line += f"; {len(result.not_requeued)} neither failed nor unknown, left as they are: "
        line += ", ".join(map(str, result.not_requeued))
    if result.unknown_ids:
        line += f"; {len(result.unknown_ids)} not in the outbox: {', '.join(map(str, result.unknown_ids))}"
    click.echo(line)


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
    headers = ["单位", *(light.label for light in Light), "跟进超时", "暂缓"]
    rows = [
        [u.name or "合计", *(getattr(u, light) for light in Light), u.stale, u.on_hold]
        for u in [*shown.units, shown.totals]
    ]
    click.echo(f"项目预警看板 {when(shown.now)}")
    table([Column(headers[0]), *(Column(h, ">", "keep") for h in headers[1:])], rows)
    for warning in shown.warnings:
        click.echo(f"warning: {warning}", err=True)


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
    help="Seconds between sweeps.",
)
@click.option(
    "--send-every",
    default=60,
    show_default=True,
    type=click.IntRange(1, 86_400),
    help="Seconds between deliveries.",
)
@pass_ctx
def daemon(c: Context, start: str | None, sweep_every: int, send_every: int) -> None:
    """Run sweep, send and the weekly digest on a schedule, in the foreground, until SIGTERM."""
    from followup.daemon import run

    run(c.runtime(), start=c.instant(start, "--now"), sweep_every=sweep_every, send_every=send_every)
