"""Reparse: the same parser changes nothing; a new parser keeps every capture time."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta

from click.testing import CliRunner
from sqlalchemy import Engine, event, select

from crawler.archiving import ingest, reparse
from crawler.cli import cli
from crawler.publishers import parse_article as parse_page
from storage.models import Article, Capture, Version
from storage.record import ArticleRecord
from storage.search import search
from tests.support.storage_fixtures import example_page, fetched

T0 = datetime(2024, 11, 15, 0, 0, tzinfo=UTC)
OTHER_ARTICLES = ("NISX20190304_0000577521", "NISI20241114_0020593301")  # older-l2, photo-item


def parser_v2(body: bytes, url: str, fetched_at: datetime) -> ArticleRecord:
    """A 'fixed' parser: another version string and a headline cleaned differently."""
    record = parse_page(body, url, fetched_at)
    return dataclasses.replace(record, headline=record.headline + " (v2)", parser_version="test-2")


def fill(session_factory) -> None:
    raw, url, _ = example_page("seed-l3")
    edited = raw.replace("15일 업계에 따르면".encode(), "16일 업계에 따르면".encode())
    with session_factory() as session:
        ingest(session, fetched(raw, url, T0))
        ingest(session, fetched(raw, url, T0 + timedelta(minutes=15)))
        ingest(session, fetched(edited, url, T0 + timedelta(hours=1)))
        ingest(session, fetched(b"", url, T0 + timedelta(hours=2), status=304))
        for name in ("older-l2", "photo-item", "not-found"):
            other, other_url, _ = example_page(name)
            ingest(session, fetched(other, other_url, T0))


def snapshot(session_factory) -> list[tuple]:
    with session_factory() as session:
        versions = [
            (
                v.article_id,
                v.version_no,
                v.headline,
                v.content_hash,
                v.parser_version,
                v.first_capture_id,
                v.last_capture_id,
                v.first_seen_at,
                v.last_seen_at,
                v.version_id,
            )
            for v in session.scalars(
                select(Version).order_by(Version.article_id, Version.version_no)
            )
        ]
        articles = [
            (
                a.article_id,
                a.current_version_no,
                a.last_checked_at,
                a.last_changed_at,
                a.next_check_at,
            )
            for a in session.scalars(select(Article).order_by(Article.article_id))
        ]
        captures = [
            (c.capture_id, c.outcome, c.parse_error, c.parser_version, c.content_hash)
            for c in session.scalars(select(Capture).order_by(Capture.capture_id))
        ]
    return [versions, articles, captures]


def test_reparse_with_the_same_parser_changes_nothing(session_factory, archive_engine):
    fill(session_factory)
    before = snapshot(session_factory)
    summary = reparse(archive_engine, workers=2)
    assert (summary.articles, summary.changed) == (4, 0)
    assert snapshot(session_factory) == before


def test_reparse_with_a_new_parser_keeps_capture_times(session_factory, archive_engine):
    fill(session_factory)
    before = snapshot(session_factory)[0]
    summary = reparse(archive_engine, parser=parser_v2, workers=2)
    assert summary.changed == 3  # the three articles; the not-found page stays a failure
    after = snapshot(session_factory)[0]
    assert len(after) == len(before) == 4
    for old, new in zip(before, after, strict=True):
        assert new[:2] == old[:2]  # same article, same version number: not a newsroom edit
        assert new[2] == old[2] + " (v2)"
        assert new[4] == "test-2"
        assert new[5:] == old[5:]  # same captures, same first/last seen, rows updated in place
    # Running it again with that parser finds nothing left to do.
    assert reparse(archive_engine, parser=parser_v2, workers=2).changed == 0


def test_reparse_of_one_article_leaves_the_others(session_factory, archive_engine):
    fill(session_factory)
    summary = reparse(
        archive_engine, article_id="NISX20241115_0002960118", parser=parser_v2, workers=1
    )
    assert (summary.articles, summary.changed) == (1, 1)
    with session_factory() as session:
        untouched = session.scalars(
            select(Version.parser_version).where(Version.article_id != "NISX20241115_0002960118")
        ).all()
    assert "test-2" not in untouched


def test_reparse_since_skips_older_captures(session_factory, archive_engine):
    fill(session_factory)
    summary = reparse(archive_engine, since=T0 + timedelta(minutes=30), parser=parser_v2)
    assert summary.articles == 1  # only the seed article has captures after 00:30


def test_reparse_command_prints_a_summary(db_url, session_factory):
    fill(session_factory)
    result = CliRunner().invoke(cli, ["reparse", "--db", db_url, "--workers", "2"])
    assert result.exit_code == 0, result.output
    assert "reparsed 4 article(s): 0 rebuilt, 4 unchanged" in result.output


def test_reparse_command_takes_an_article_url_and_refuses_an_unknown_article(
    db_url, session_factory
):
    fill(session_factory)
    url = "https://www.newsis.com/view/NISX20241115_0002960118"
    result = CliRunner().invoke(cli, ["reparse", "--db", db_url, "--article", url])
    assert result.exit_code == 0, result.output
    assert "reparsed 1 article(s): 0 rebuilt, 1 unchanged" in result.output
    unknown = "NISX20241115_0001234567"
    result = CliRunner().invoke(cli, ["reparse", "--db", db_url, "--article", unknown])
    assert result.exit_code == 1
    assert f"no captures of article {unknown} in the archive" in result.output


def parser_rewording(body: bytes, url: str, fetched_at: datetime) -> ArticleRecord:
    """A parser whose records differ in content: a marked headline, the first paragraph gone."""
    record = parse_page(body, url, fetched_at)
    return dataclasses.replace(
        record,
        headline="재처리표시 " + record.headline,
        body=record.body[1:],
        parser_version="test-reworded",
    )


def test_reparse_rewrites_changed_content_and_its_search_index(
    session_factory, archive_engine, db_url
):
    fill(session_factory)
    statements: list[tuple[str, bool]] = []

    def record_statement(conn, cursor, statement, parameters, context, executemany):
        if statement.lstrip().upper().startswith("UPDATE VERSIONS"):
            statements.append((statement, executemany))

    # Every engine of this process (reparse on SQLite opens its own), workers in-process.
    event.listen(Engine, "before_cursor_execute", record_statement)
    try:
        summary = reparse(archive_engine, parser=parser_rewording, workers=1)
    finally:
        event.remove(Engine, "before_cursor_execute", record_statement)
    assert summary.changed == 3
    with session_factory() as session:
        marked = {hit.article_id for hit in search(session, "재처리표시")}
        # Only in the seed article's first paragraph, which the new parser drops.
        dropped = search(session, "타이틀을 내준")
    assert marked == {"NISX20241115_0002960118", *OTHER_ARTICLES}
    assert dropped == []
    if db_url.startswith("sqlite"):
        # A job per article here: the seed article's two versions in one statement, not an
        # executemany (each of its rows a statement, FTS5 writing an index segment for each).
        assert [many for _, many in statements] == [False, False, False], statements
