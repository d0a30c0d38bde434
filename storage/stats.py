"""The archive's counts and sizes for `newsarchive stats`: whole, and per publisher."""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from storage.models import Article, Body, Capture, CrawlRun, Version
from storage.queries import utc_iso


def stats(session: Session, publishers: Collection[str] | None = None) -> dict[str, Any]:
    """Counts and sizes of the archive, and the last crawl run's summary; `by_publisher`, the
    articles, versions and captures of each publisher the archive holds.

    `publishers`: articles, versions, captures and bodies of theirs only (a body shared by
    several publishers' captures counts for each); crawl runs and the database's size stay the
    whole archive's, as a run may crawl several publishers.
    """
    chosen = None if publishers is None else list(publishers)
    outcomes = dict(
        session.execute(
            _of_captures(select(Capture.outcome, func.count()), chosen)
            .group_by(Capture.outcome)
            .order_by(Capture.outcome)
        ).all()
    )
    bodies = select(Body.raw_size, Body.stored_size)
    if chosen is not None:
        bodies = bodies.where(
            Body.body_hash.in_(select(Capture.body_hash).where(Capture.publisher.in_(chosen)))
        )
    sizes = bodies.subquery()
    body_count, raw_size, stored_size = session.execute(
        select(
            func.count(),
            func.coalesce(func.sum(sizes.c.raw_size), 0),
            func.coalesce(func.sum(sizes.c.stored_size), 0),
        )
    ).one()
    last_run = session.scalar(
        select(CrawlRun).order_by(CrawlRun.started_at.desc(), CrawlRun.crawl_run_id.desc()).limit(1)
    )
    by_publisher = publisher_counts(session, chosen)
    return {
        "articles": sum(counts["articles"] for counts in by_publisher.values()),
        "versions": sum(counts["versions"] for counts in by_publisher.values()),
        "captures": sum(outcomes.values()),
        "captures_by_outcome": outcomes,
        "by_publisher": by_publisher,
        "bodies": body_count,
        "bodies_raw_bytes": int(raw_size),
        "bodies_stored_bytes": int(stored_size),
        "compression_ratio": round(raw_size / stored_size, 2) if stored_size else None,
        "crawl_runs": session.scalar(select(func.count()).select_from(CrawlRun)),
        "last_run": _run_summary(last_run) if last_run is not None else None,
        "database_bytes": database_size(session),
    }


def publisher_counts(
    session: Session, publishers: list[str] | None = None
) -> dict[str, dict[str, int]]:
    """{publisher: {articles, versions, captures}} for each publisher the archive holds rows of
    (of `publishers` only, when given), by name."""
    counted: dict[str, dict[str, int]] = {}
    for what, statement in (
        ("articles", select(Article.publisher, func.count()).group_by(Article.publisher)),
        (
            "versions",
            select(Article.publisher, func.count())
            .join(Version, Version.article_id == Article.article_id)
            .group_by(Article.publisher),
        ),
        ("captures", select(Capture.publisher, func.count()).group_by(Capture.publisher)),
    ):
        column = statement.selected_columns[0]
        if publishers is not None:
            statement = statement.where(column.in_(publishers))
        for name, count in session.execute(statement):
            counted.setdefault(name, {"articles": 0, "versions": 0, "captures": 0})[what] = count
    return dict(sorted(counted.items()))


def _of_captures(statement, publishers: list[str] | None):
    if publishers is None:
        return statement
    return statement.where(Capture.publisher.in_(publishers))


def _run_summary(run: CrawlRun) -> dict[str, Any]:
    return {
        "crawl_run_id": run.crawl_run_id,
        "kind": run.kind,
        "started_at": utc_iso(run.started_at),
        "finished_at": utc_iso(run.finished_at),
        "outcome": run.outcome,
        "new_articles": run.new_article_count,
        "new_versions": run.new_version_count,
        "unchanged": run.unchanged_count,
        "not_modified": run.not_modified_count,
        "failed": run.failed_count,
        "duplicates": run.duplicate_count,
        "missing_fields": run.missing_field_count,
        "deleted": run.deleted_count,
        "restored": run.restored_count,
        "touched": run.touched_count,
    }


def database_size(session: Session) -> int:
    """Bytes the database takes: SQLite pages in use (WAL included), PostgreSQL's database size."""
    connection = session.connection()
    if connection.dialect.name == "sqlite":
        page_count = connection.exec_driver_sql("PRAGMA page_count").scalar_one()
        page_size = connection.exec_driver_sql("PRAGMA page_size").scalar_one()
        return int(page_count) * int(page_size)
    return int(
        connection.exec_driver_sql("SELECT pg_database_size(current_database())").scalar_one()
    )
