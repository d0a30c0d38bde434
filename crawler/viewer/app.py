"""The viewer's ASGI application: a read-only engine on the archive, routes, templates, assets."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, select_autoescape
from sqlalchemy import Engine, event
from sqlalchemy.orm import Session, sessionmaker
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from crawler.viewer import respond, views
from storage.db import open_archive

HERE = Path(__file__).resolve().parent


def read_only_engine(db_url: str) -> Engine:
    """The archive at head, opened so that nothing the viewer runs can write to it.

    SQLite files open with mode=ro (storage.db); a PostgreSQL session starts every transaction
    READ ONLY, so even a bug in a query cannot change the archive.
    """
    engine = open_archive(db_url, for_writing=False)
    if engine.dialect.name == "postgresql":

        @event.listens_for(engine, "connect")
        def _read_only(dbapi_connection, _record) -> None:
            with dbapi_connection.cursor() as cursor:
                cursor.execute("SET SESSION CHARACTERISTICS AS TRANSACTION READ ONLY")
            dbapi_connection.commit()

        # Connections made before the listener (open_archive's schema check) are not reused.
        engine.dispose()
    return engine


def templates() -> Environment:
    environment = Environment(
        loader=FileSystemLoader(HERE / "templates"),
        autoescape=select_autoescape(["html", "xml"]),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    environment.filters["kst"] = respond.kst_text
    environment.filters["kst_day"] = respond.kst_day
    return environment


def create_app(db_url: str) -> Starlette:
    """The viewer over the archive at `db_url` (read-only)."""
    engine = read_only_engine(db_url)
    app = Starlette(
        routes=[
            Route("/", views.changes_page, name="changes"),
            Route("/changes.atom", views.changes_feed, name="changes_feed"),
            Route("/article/{article_id}", views.article_page, name="article"),
            Route("/article/{article_id}/diff", views.diff_page, name="diff"),
            Route("/capture/{capture_id:int}", views.capture_page, name="capture"),
            Route("/capture/{capture_id:int}/raw", views.capture_raw, name="capture_raw"),
            Route("/search", views.search_page, name="search"),
            Route("/health", views.health_page, name="health"),
            Mount("/static", StaticFiles(directory=HERE / "static"), name="static"),
        ],
        exception_handlers={HTTPException: respond.error_page},
        lifespan=_disposing(engine),
    )
    app.state.sessions = sessionmaker(engine)
    app.state.templates = templates()
    return app


def _disposing(engine: Engine):
    @asynccontextmanager
    async def lifespan(_app: Starlette) -> AsyncIterator[None]:
        yield
        engine.dispose()

    return lifespan


def session_of(request: Request) -> Session:
    return request.app.state.sessions()
