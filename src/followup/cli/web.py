"""``followup web``: serve the web app (uvicorn) in the foreground, until SIGTERM or Ctrl-C."""

from __future__ import annotations

import click

from followup.cli.root import Context, cli, pass_ctx


@cli.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option(
    "--port", default=8000, show_default=True, type=click.IntRange(1, 65535), help="Port to listen on."
)
@click.option(
    "--workers",
    default=1,
    show_default=True,
    type=click.IntRange(1, 64),
    help="Worker processes (on PostgreSQL; SQLite takes one writer at a time anyway).",
)
@click.option(
    "--now",
    envvar="FOLLOWUP_NOW",
    metavar="TIME",
    help="Serve as if it were this time (a replayed scenario; the clock stands still). Env: FOLLOWUP_NOW.",
)
@pass_ctx
def web(c: Context, host: str, port: int, workers: int, now: str | None) -> None:
    """Serve the web app: the board, the projects, and the pages a mail's buttons open."""
    import uvicorn

    rt = c.runtime(now)
    with rt.store.reading():  # a database that is not there or not initialised: one line, now
        pass
    if workers > 1:
        from followup.web.serve import factory_environment

        factory_environment(rt, now)
        uvicorn.run(
            "followup.web.serve:app_from_environment",
            factory=True,
            host=host,
            port=port,
            workers=workers,
            proxy_headers=True,
            log_level="info",
        )
        return
    from followup.web.app import create_app

    uvicorn.run(create_app(rt), host=host, port=port, proxy_headers=True, log_level="info")
