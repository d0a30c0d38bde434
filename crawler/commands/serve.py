"""The serve command: the archive's read-only web viewer, on this machine by default."""

from __future__ import annotations

import click

from crawler.commands.common import db_option, handle_errors
from storage.db import resolve_db_url


@click.command("serve")
@db_option
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Address to listen on; 0.0.0.0 shows the archive to the whole network.")
@click.option("--port", default=8000, show_default=True, type=click.IntRange(0, 65535),
              help="Port to listen on (0: any free port, printed when it starts).")
@handle_errors
def serve_command(db_url: str | None, host: str, port: int) -> None:
    """Browse the archive in a web browser, read-only: changes, articles, diffs, captures, search
    and crawl health, each also as JSON (?format=json).

    Stop it with Ctrl-C. The archive is opened read-only: the viewer never writes to it.
    """
    import uvicorn

    from crawler.viewer.app import create_app

    app = create_app(resolve_db_url(db_url))
    uvicorn.run(app, host=host, port=port, log_level="info", access_log=False)
