"""Figures: ``report`` (签约率, 履约率, 开工率, 投产率, 资金到位率, stage times, lights, 四多四少, the
funnel) as a table, JSON, xlsx or HTML, and ``chains`` (the industry-chain map, 产业链图谱)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from pathlib import Path
from typing import Any

import click

from followup.app import report
from followup.app.report import Figure, ReportView
from followup.app.report_chains import ChainsView, chains_report
from followup.app.report_files import days, fraction, render_html, title, write_xlsx
from followup.cli.output import Column, table, when
from followup.cli.root import Context, cli, emit_json, now_option, pass_ctx
from followup.domain.kinds import Light
from followup.domain.metrics import percent
from followup.domain.timeutil import parse_day
from followup.errors import InvalidInput
from followup.i18n import _

FORMATS = ("table", "json", "xlsx", "html")


def _day(value: str | None) -> date | None:
    return parse_day(value, what="--as-of") if value else None


@cli.command(name="report")
@click.option(
    "--as-of",
    "as_of",
    metavar="DATE",
    help="The figures as they stood at the end of this day (default today).",
)
@click.option(
    "--cohort",
    type=click.IntRange(1900, 2200),
    metavar="YEAR",
    help="Only the projects signed (leads: entered) in this year.",
)
@click.option(
    "--by",
    type=click.Choice(report.GROUPINGS),
    help="Also give the figures per unit, chain, officer or leader.",
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(FORMATS),
    default="table",
    show_default=True,
    help="How to give the report.",
)
@click.option("--output", metavar="FILE", help="Write the report to FILE (needed for xlsx and html).")
@now_option
@pass_ctx
def report_command(
    c: Context,
    as_of: str | None,
    cohort: int | None,
    by: str | None,
    fmt: str,
    output: str | None,
    now: str | None,
) -> None:
    """The county's figures as of a day, each with its definition: 签约率, 履约率, 开工率, 投产率,
    资金到位率, time in each stage, lights by unit, the 四多四少 indicators and the funnel."""
    if fmt in ("xlsx", "html") and not output:
        raise InvalidInput(_("--format {fmt} needs --output FILE").format(fmt=fmt))
    view = report.build_report(c.runtime(now), as_of=_day(as_of), cohort=cohort, by=by)
    if fmt == "json":
        _write_or_echo(output, None, view.to_dict())
    elif fmt == "xlsx":
        assert output is not None
        write_xlsx(view, Path(output))
        click.echo(_("report written to {file}").format(file=output))
    elif fmt == "html":
        assert output is not None
        Path(output).write_text(render_html(view), encoding="utf-8")
        click.echo(_("report written to {file}").format(file=output))
    elif output:
        raise InvalidInput(_("--output needs --format json, xlsx or html"))
    else:
        _print(view)


def _write_or_echo(output: str | None, text: str | None, value: Any) -> None:
    if output is None:
        emit_json(value)
        return
    import json

    Path(output).write_text(json.dumps(value, ensure_ascii=False, indent=2), encoding="utf-8")
    click.echo(_("report written to {file}").format(file=output))


def _figure_rows(figures: Sequence[Figure]) -> list[list[str]]:
    return [[f.label, percent(f.value), fraction(f), f.definition] for f in figures]


def _figure_table(figures: Sequence[Figure]) -> None:
    table(
        [
            Column(_("figure")),
            Column(_("value"), ">", "keep"),
            Column(_("n/d"), ">", "keep"),
            Column(_("definition"), squeeze="wrap"),
        ],
        _figure_rows(figures),
    )


def _print(view: ReportView) -> None:
    click.echo(title(view))
    click.echo("")
    _figure_table(view.figures)
    click.echo("")
    click.echo(_("四多四少 indicators"))
    _figure_table(view.indicators)
    for group in view.groups:
        click.echo("")
        click.echo(f"{group.name}" + (f" ({group.key})" if group.key and group.key != group.name else ""))
        _figure_table(group.figures)
    click.echo("")
    click.echo(_("Time in each stage (days, completed stays)"))
    table(
        [
            Column(_("stage")),
            *(Column(h, ">", "keep") for h in (_("stays"), _("median"), _("90th percentile"))),
        ],
        [[t.label, t.n, days(t.median), days(t.p90)] for t in view.stage_times],
    )
    click.echo("")
    click.echo(_("Funnel (projects that reached each stage)"))
    table(
        [Column(_("stage")), Column(_("projects"), ">", "keep")],
        [[label, n] for _key, label, n in view.funnel],
    )
    click.echo("")
    click.echo(_("Lights by unit (as of {now})").format(now=when(view.lights_at)))
    table(
        [Column(_("unit")), *(Column(light.label, ">", "keep") for light in Light)],
        [[u.name, *(getattr(u, light) for light in Light)] for u in view.lights],
    )
    for note in view.notes:
        click.echo(_("note: {note}").format(note=note))


# --------------------------------------------------------------------------- xlsx and html


# --------------------------------------------------------------------------- the chain map


@cli.command(name="chains")
@click.option(
    "--as-of",
    "as_of",
    metavar="DATE",
    help="The projects as they stood at the end of this day (default today).",
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(("table", "json")),
    default="table",
    show_default=True,
    help="How to show the map.",
)
@now_option
@pass_ctx
def chains_command(c: Context, as_of: str | None, fmt: str, now: str | None) -> None:
    """The industry-chain map (产业链图谱): per chain and link, the projects in each stage, and the
    empty links (招商缺口)."""
    view = chains_report(c.runtime(now), as_of=_day(as_of))
    if fmt == "json":
        emit_json(view.to_dict())
        return
    _print_chains(view)


def _print_chains(view: ChainsView) -> None:
    stages = list(view.stage_labels)
    click.echo(
        _("Industry-chain map as of {day} ({file})").format(day=view.as_of.isoformat(), file=view.source)
    )
    for chain in view.chains:
        click.echo("")
        click.echo(chain.name + (f" — {chain.description}" if chain.description else ""))
        rows = [
            [
                link.position_label,
                link.link,
                *(link.stages.get(s, 0) or "" for s in stages),
                _("gap (招商缺口)") if link.empty else ", ".join(map(str, link.projects)),
            ]
            for link in chain.links
        ]
        table(
            [
                Column(_("position")),
                Column(_("link")),
                *(Column(view.stage_labels[s], ">", "keep") for s in stages),
                Column(_("projects"), squeeze="wrap"),
            ],
            rows,
        )
        if chain.gaps:
            click.echo(_("empty links (招商缺口): {links}").format(links="、".join(chain.gaps)))
    if view.off_map:
        click.echo(
            _("{n} projects have a chain or link the map does not know (see FOLLOWUP_CHAINS_FILE)").format(
                n=view.off_map
            )
        )
