"""The ``followup`` group, what every command shares, and ``main``: the one place where library errors
become one line on stderr and the error's exit code (``--verbose`` adds the traceback)."""

from __future__ import annotations

import gc
import importlib
import json
import logging
import os
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, TypeVar

import click

# re-exported: the other shells' modules print with them
from followup import i18n
from followup.cli import translated
from followup.cli.output import printable as printable
from followup.cli.output import table as table
from followup.domain.timeutil import parse_instant, utcnow
from followup.errors import FollowupError, InvalidInput
from followup.i18n import _
from followup.settings import SETTINGS_HELP, Settings, load_settings

if TYPE_CHECKING:
    from followup.app.runtime import Runtime

F = TypeVar("F", bound=Callable[..., Any])
log = logging.getLogger("followup")

#: How far ahead of the real clock a writing command's ``--now`` may be: more is taken for a typo
#: (2062 for 2026 would silence a project for decades) unless a replay is declared (FOLLOWUP_REPLAY=1).
NOW_AHEAD = timedelta(days=1)
#: Commands that take ``--now`` but write nothing (``sweep --dry-run`` too): looking ahead is harmless.
READING_COMMANDS = frozenset({"project list", "project show", "status", "report", "chains"})


class Context:
    """What every command shares: settings and the runtime, made on first use."""

    def __init__(self, overrides: dict[str, Any], config: str | None, verbose: bool) -> None:
        self.overrides = overrides
        self.config = config
        self.verbose = verbose
        self._settings: Settings | None = None
        self._runtime: Runtime | None = None

    @property
    def settings(self) -> Settings:
        if self._settings is None:
            self._settings = load_settings(self.overrides, config_file=self.config)
        return self._settings

    def runtime(self, now: str | None = None) -> Runtime:
        """The runtime of this command; ``now`` (``--now``) stops its clock at that instant."""
        if self._runtime is None:
            from followup.app.runtime import Runtime, fixed

            clock = fixed(self.now(now)) if now else None
            self._runtime = replace(Runtime.open(self.settings, clock=clock), operator=operator())
            if _GC_DEFERRED:
                # Everything imported so far lives until exit: keep the collector from walking it
                # again and again (and once more at exit): ~100 ms of a ~300 ms command.
                gc.freeze()
                gc.enable()
        return self._runtime

    def close(self) -> None:
        if self._runtime is not None:
            self._runtime.close()

    def now(self, text: str | None) -> datetime:
        """``--now`` as an instant (the real time when not given); a writing command refuses one more
        than a day ahead of the real clock unless a replay is declared."""
        if not text:
            return utcnow()
        instant = parse_instant(text, self.settings.zone, what="--now")
        real = utcnow()
        if instant > real + NOW_AHEAD and not self.settings.replay and _writes():
            raise InvalidInput(
                _(
                    "--now {now!r} is more than a day ahead of the real clock ({real}); a writing command "
                    "would date its changes then: to replay a scenario, set FOLLOWUP_REPLAY=1"
                ).format(now=text, real=real.astimezone(self.settings.zone).isoformat(timespec="minutes"))
            )
        return instant

    def instant(self, text: str | None, what: str) -> datetime | None:
        if what == "--now":  # the daemon's start: the same rule as every --now
            return self.now(text) if text else None
        return parse_instant(text, self.settings.zone, what=what) if text else None


def operator() -> str | None:
    """The operating-system user typing the command (录入人), as the history records them: what
    ``getpass.getuser`` says (the login variables, else the password database), without importing
    getpass and termios on every command; None when the system cannot say."""
    for name in ("LOGNAME", "USER", "LNAME", "USERNAME"):
        user = os.environ.get(name)
        if user:
            return user
    try:
        import pwd

        return pwd.getpwuid(os.getuid()).pw_name or None
    except (ImportError, KeyError, OSError):
        return None


def _writes() -> bool:
    """Whether the running command writes (a ``--now`` ahead of the real clock would date its changes)."""
    ctx = click.get_current_context(silent=True)
    if ctx is None:
        return True
    path = ctx.command_path.partition(" ")[2]
    return path not in READING_COMMANDS and not ctx.params.get("dry_run")


#: The largest id a project can have: PostgreSQL's bigint (and SQLite's integer) is signed 64-bit.
MAX_ID = 2**63 - 1


#: A project id as typed: a whole number from 1 to 2^63-1 (a larger one the database cannot even look up).
PROJECT_ID = click.IntRange(1, MAX_ID)


pass_ctx = click.make_pass_decorator(Context)


def now_option(func: F) -> F:
    return click.option(
        "--now",
        envvar="FOLLOWUP_NOW",
        metavar="TIME",
        help="Act as if it were this time (2026-06-01 09:30, or ISO 8601; for replaying a scenario). "
        "Env: FOLLOWUP_NOW.",
    )(func)


def json_option(func: F) -> F:
    return click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")(func)


def emit_json(value: Any) -> None:
    click.echo(json.dumps(value, ensure_ascii=False, indent=2))


def set_values(pairs: Sequence[str]) -> dict[str, str | None]:
    """``--set FIELD=VALUE`` pairs as a mapping."""
    out: dict[str, str | None] = {}
    for pair in pairs:
        if "=" not in pair:
            raise InvalidInput(_("bad --set {pair!r}: expected FIELD=VALUE").format(pair=pair))
        name, value = pair.split("=", 1)
        out[name.strip()] = value
    return out


class StagesInHelp(translated.Command):
    """A command that takes a stage: its help ends with the stages of the default workflow, each by
    key and label (either may be typed)."""

    def format_epilog(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        super().format_epilog(ctx, formatter)
        shown = default_stages(ctx)
        if shown:
            name, rows = shown
            with formatter.section(
                _("Stages of workflow {name} (type the key or the label)").format(name=name)
            ):
                formatter.write_dl(rows)


def default_stages(ctx: click.Context) -> tuple[str, list[tuple[str, str]]] | None:
    """(the default workflow's name, [(stage key, label)]), or None when it cannot be loaded (the
    help is shown all the same)."""
    context = ctx.find_object(Context)
    try:
        settings = context.settings if context is not None else load_settings({})
        from followup.lifecycle import WorkflowRegistry  # only for --help

        workflow = WorkflowRegistry(settings.workflow_dir).get(settings.default_workflow)
    except FollowupError:
        return None
    return workflow.name, [(s, printable(workflow.label_of(s))) for s in workflow.states()]


# --------------------------------------------------------------------------- the group

translated.patch_click()  # click's own messages ("Usage:", "Missing option" …) in the user's language

#: Each command and the module of ``followup.cli`` that defines it. A command's module is imported only
#: when the command runs (``--help`` imports them all): a command pays for its own use cases, not for
#: everybody's (the daemon's scheduler, the templates). tests/unit checks this table against the modules.
COMMANDS: dict[str, str] = {
    "init": "admin",
    "workflow": "admin",
    "demo": "admin",
    "unit": "organisation",
    "official": "organisation",
    "project": "ledger",
    "history": "ledger",
    "advance": "moves",
    "hold": "moves",
    "resume": "moves",
    "terminate": "moves",
    "log": "moves",
    "extend": "moves",
    "sweep": "escalation",
    "send": "escalation",
    "digest": "escalation",
    "outbox": "escalation",
    "status": "escalation",
    "daemon": "escalation",
    # issue 9 — the ledger in and out (cli/ledgerio.py)
    "import": "ledgerio",
    "export": "ledgerio",
    "funds": "ledgerio",
    # issue 9 — figures and the chain map (cli/reports.py)
    "report": "reports",
    "chains": "reports",
    # issue 9 — supervision: problems, 督办 notices, reporting rounds (cli/supervision.py)
    "problem": "supervision",
    "notice": "supervision",
    "reply": "supervision",
    "round": "supervision",
    # issue 9 — the monthly bulletin (cli/bulletin.py)
    "bulletin": "bulletin",
    # issue 10 — the web app
    "web": "web",
    # issue 10 — requests: extension and hold requests and their approval (cli/requests.py)
    "request": "requests",
    "approve": "requests",
    # issue 11 — chat channels: group robots of 政务钉钉, 企业微信, 飞书 (cli/channels.py)
    "channel": "channels",
}


class LazyGroup(translated.Group):
    """The ``followup`` group: commands are registered by their modules, imported on first use."""

    group_class = translated.Group  # its subgroups (unit, official, project …) list their own commands

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        module = COMMANDS.get(cmd_name)
        if module is not None and cmd_name not in self.commands:
            importlib.import_module(f"followup.cli.{module}")
        return self.commands.get(cmd_name)

    def load_all(self) -> Mapping[str, click.Command]:
        """Every command, its module imported (for help and for tests)."""
        for module in sorted(set(COMMANDS.values())):
            importlib.import_module(f"followup.cli.{module}")
        return self.commands


@click.group(
    cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100}
)
@click.option(
    "--db",
    "database_url",
    metavar="URL",
    help=SETTINGS_HELP["database_url"][1] + " Env: FOLLOWUP_DATABASE_URL.",
)
@click.option("--data-dir", metavar="DIR", help=SETTINGS_HELP["data_dir"][1] + " Env: FOLLOWUP_DATA_DIR.")
@click.option("--timezone", metavar="ZONE", help=SETTINGS_HELP["timezone"][1] + " Env: FOLLOWUP_TIMEZONE.")
@click.option(
    "--workflow-dir", metavar="DIR", help=SETTINGS_HELP["workflow_dir"][1] + " Env: FOLLOWUP_WORKFLOW_DIR."
)
@click.option("--config", metavar="FILE", help="Config file (TOML). Env: FOLLOWUP_CONFIG.")
@click.option("-v", "--verbose", is_flag=True, help="Log more, and show tracebacks on errors.")
@click.version_option(package_name="followup")
@click.pass_context
def cli(
    ctx: click.Context,
    database_url: str | None,
    data_dir: str | None,
    timezone: str | None,
    workflow_dir: str | None,
    config: str | None,
    verbose: bool,
) -> None:
    """followup: keep a county's investment projects (招商引资项目) moving.

    Projects move through a declared lifecycle (workflows/*.yaml); every change is kept in an
    append-only history. Start with `followup init`.
    """
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    overrides = {
        "database_url": database_url,
        "data_dir": data_dir,
        "timezone": timezone,
        "workflow_dir": workflow_dir,
    }
    context = Context(overrides, config, verbose)
    ctx.obj = context
    ctx.call_on_close(context.close)


# --------------------------------------------------------------------------- entry point


_GC_DEFERRED = False
#: what click (8.2+) raises for a group given no command; 8.1 printed the help and exited 0 itself
_NO_ARGS_IS_HELP: tuple[type[click.UsageError], ...] = tuple(
    getattr(click.exceptions, name) for name in ("NoArgsIsHelpError",) if hasattr(click.exceptions, name)
)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI in FOLLOWUP_LANG (default Simplified Chinese); map every followup error to one line on
    stderr and its exit code."""
    global _GC_DEFERRED
    if argv is None and gc.isenabled():  # the console script, not an in-process caller
        gc.disable()
        _GC_DEFERRED = True
    i18n.use()
    args = list(argv) if argv is not None else sys.argv[1:]
    verbose = "-v" in args or "--verbose" in args
    try:
        cli.main(args=args, prog_name="followup", standalone_mode=False)
    except FollowupError as exc:
        if verbose:
            log.exception("failed")
        click.echo(_("error: {message}").format(message=printable(str(exc))), err=True)
        return exc.exit_code
    except click.exceptions.Abort:
        click.echo(_("error: aborted"), err=True)
        return 1
    except click.ClickException as exc:
        if isinstance(exc, _NO_ARGS_IS_HELP) and exc.ctx is not None:
            click.echo(exc.ctx.get_help())  # `followup` (or a group) alone: its help, as asked for
            return 0
        message = printable(exc.format_message().replace("\n", " "))
        message = message.rstrip(".。")  # click's sentences end with a full stop; the hint follows
        click.echo(_("error: {message} (see --help)").format(message=message), err=True)
        return exc.exit_code
    except click.exceptions.Exit as exc:
        return exc.exit_code
    except Exception as exc:
        if verbose:
            raise
        unexpected = _("error: unexpected {kind}: {message} (run with --verbose for details)")
        click.echo(unexpected.format(kind=type(exc).__name__, message=printable(str(exc))), err=True)
        return 1
    return 0
