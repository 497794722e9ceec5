"""``dtm-atlas demo`` and ``dtm-atlas serve``."""

from __future__ import annotations

from typing import Annotated, Optional

import typer

from service.cli.common import console, open_engine
from service.core.settings import get_settings


def demo():
    """Load the real demo data from ../shared/data (Iraq COD-AB, DTM Iraq's master-list history
    2014-2021 of both populations, the 2014 camps, the default fragility overlay; Nigeria's and
    Malawi's boundaries and assessments). Idempotent: a second run imports nothing again."""
    from service.demo import load_demo

    load_demo(open_engine(), get_settings(), console)


def serve(
    host: Annotated[Optional[str], typer.Option(help="Bind address (default from settings: 127.0.0.1)")] = None,
    port: Annotated[Optional[int], typer.Option(help="Port (default from settings: 8000)")] = None,
    demo_data: Annotated[bool, typer.Option("--demo/--no-demo", help="Load the real demo data first")] = False,
    workers: Annotated[int, typer.Option(help="uvicorn worker processes")] = 1,
):
    """Serve the API: starts the embedded database if needed and applies migrations."""
    import uvicorn

    settings = get_settings()
    engine = open_engine()
    if demo_data:
        from service.demo import load_demo

        load_demo(engine, settings, console)
    host = host or settings.host
    port = port or settings.port
    console.print(f"serving DTM Atlas on http://{host}:{port}  (API docs: http://{host}:{port}/docs)")
    if workers > 1:
        uvicorn.run(
            "service.app:create_app",
            factory=True,
            host=host,
            port=port,
            workers=workers,
            log_level=settings.log_level,
            access_log=False,
            log_config=None,
        )
    else:
        from service.app import create_app

        uvicorn.run(
            create_app(settings, engine),
            host=host,
            port=port,
            log_level=settings.log_level,
            access_log=False,
            log_config=None,
        )
