"""`agileclf app`: the web app for the agile loop (the logic lives in agileclf.app)."""

from __future__ import annotations

import typer

from agileclf.commands.common import err, setup


def web_app(
    data_dir: str = typer.Option("agileclf-data", "--data-dir", help="folder for the database and saved classifiers"),
    database_url: str = typer.Option(
        None, "--database-url", help="SQLAlchemy URL of a server database (default: SQLite in --data-dir)"
    ),
    host: str = typer.Option("127.0.0.1", "--host", help="address to bind (default loopback only)"),
    port: int = typer.Option(8765, "--port", help="TCP port"),
    token: str = typer.Option(
        None, "--token", envvar="AGILECLF_APP_TOKEN", help="access token (made up for you when --host is not loopback)"
    ),
    backbone: str = typer.Option(None, "--backbone", "-b", help="local model folder (default: the bundled MiniLM)"),
    generator: str = typer.Option(
        None, "--generator", help="causal-LM folder that writes suggested examples (default: not offered)"
    ),
    open_browser: bool = typer.Option(True, "--open/--no-open", help="open the app in the browser"),
) -> None:
    """The web app for the agile loop: labels, examples, training, cross-validated checks, versions, serving."""
    setup(True)
    from agileclf.app import AppSettings, run_app

    settings = AppSettings(
        data_dir=data_dir,
        database_url=database_url,
        host=host,
        port=port,
        token=token,
        backbone=backbone,
        generator=generator,
    )
    run_app(settings, open_browser=open_browser, echo=err.print)
