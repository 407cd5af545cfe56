"""`archiver web`: browse the archive in a web browser (archiver.web, served by uvicorn).

Checks that the archive opens, binds the socket itself (so `--port 0` can say which port it
got), prints the URL and serves until Ctrl-C. The database URL is never printed.
"""

from __future__ import annotations

import ipaddress
import logging
import socket
import sys
from pathlib import Path

import click

from archiver.cli.common import console, db_option, err_console
from archiver.config import database_url
from archiver.errors import ArgumentError


def _loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _bind(host: str, port: int) -> socket.socket:
    """A listening socket on host:port (port 0: a free one), or an ArgumentError saying why."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        sock.listen(128)
    except OSError as error:
        sock.close()
        raise ArgumentError(f"cannot listen on {host}:{port}: {error.strerror or error}") from None
    sock.set_inheritable(True)
    return sock


@click.command("web")
@click.option(
    "--host",
    default="127.0.0.1",
    show_default=True,
    help="Address to listen on. Anything but loopback lets others on the network read the"
    " archive: put a reverse proxy with TLS and authentication in front.",
)
@click.option(
    "--port",
    type=click.IntRange(0, 65535),
    default=8080,
    show_default=True,
    help="Port to listen on; 0 picks a free one (printed).",
)
@db_option
@click.option(
    "--data-dir",
    type=click.Path(file_okay=False, path_type=Path),
    envvar="ARCHIVER_DATA_DIR",
    help="Data folder where the crawls kept their WARC files (archived pages); a run started"
    " here logs there too [default: the SQLite archive's folder, else ./data].",
)
@click.option(
    "--operator-token",
    envvar="ARCHIVER_WEB_OPERATOR_TOKEN",
    metavar="TOKEN",
    help="Enable operator mode: whoever logs in with TOKEN may pause, resume and run schedules"
    " (at least 16 characters; prefer the environment variable ARCHIVER_WEB_OPERATOR_TOKEN,"
    " which other users cannot see in the process list). Without it the view is read-only.",
)
def web_command(
    host: str, port: int, db: str | None, data_dir: Path | None, operator_token: str | None
) -> None:
    """Browse the archive in a web browser: releases with filters, counts and downloads, each
    release with its versions and page text, archived pages, runs, coverage and schedules.

    \b
    Examples:
      archiver web --db sqlite:///data/demo/archive.db
      archiver web --port 0                       # a free port, printed
      ARCHIVER_WEB_OPERATOR_TOKEN=$(openssl rand -hex 16) archiver web --db postgresql://archiver@db/archive

    Read-only unless an operator token is given. Pages, scripts and styles come from this
    server only (no CDN): it works offline. Ctrl-C stops it.
    """
    import uvicorn

    from archiver.db import open_archive
    from archiver.web import create_app
    from archiver.web.security import MIN_TOKEN_LENGTH

    if operator_token is not None and len(operator_token) < MIN_TOKEN_LENGTH:
        raise ArgumentError(
            f"--operator-token must be at least {MIN_TOKEN_LENGTH} characters"
            " (e.g. `openssl rand -hex 16`)"
        )
    url = database_url(db, data_dir)
    open_archive(url).dispose()  # a missing or unreachable archive is one line, before serving
    app = create_app(url, data_dir=data_dir, operator_token=operator_token or None)
    sock = _bind(host, port)
    bound_port = sock.getsockname()[1]
    shown = f"[{host}]" if ":" in host else host
    console.print(f"serving the archive on http://{shown}:{bound_port}/  (Ctrl-C stops)")
    console.print(
        "operator mode: on (log in on the Schedules page)"
        if operator_token
        else "read-only (no --operator-token)"
    )
    if not _loopback(host):
        err_console.print(
            f"[yellow]warning[/yellow]: listening on {host}, not loopback: anyone who can reach"
            " it can read the archive"
        )
    # The view's own lines (run now, errors without secrets) go to stderr with uvicorn's.
    logging.basicConfig(
        level=logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    config = uvicorn.Config(app, log_level="info", access_log=False, server_header=False)
    server = uvicorn.Server(config)
    try:
        server.run(sockets=[sock])
    finally:
        sock.close()
