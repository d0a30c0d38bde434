"""Migrations: they build exactly the models' schema, and commands refuse a database not at head."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from click.testing import CliRunner
from sqlalchemy import create_engine, inspect, text

from crawler.archiving import ingest
from crawler.cli import cli
from storage import db
from storage.db import make_session_factory
from storage.models import Base
from storage.search import include_in_autogenerate, search
from tests.support.storage_fixtures import example_page, fetched


def test_migrations_build_exactly_the_models_schema(db_url):
    db.upgrade(db_url)
    engine = create_engine(db_url)
    with engine.connect() as connection:
        # The same filter as migrations/env.py: the search index (0002) is not in the models.
        opts = {"compare_type": True, "include_object": include_in_autogenerate}
        context = MigrationContext.configure(connection, opts=opts)
        differences = compare_metadata(context, Base.metadata)
    engine.dispose()
    assert differences == []


def test_upgrade_reaches_head(db_url):
    db.upgrade(db_url)
    engine = db.make_engine(db_url)
    assert db.current_revision(engine) == db.head_revision()
    assert db.schema_state(engine) == "head"
    engine.dispose()


def test_downgrade_to_base_removes_every_table(db_url):
    db.upgrade(db_url)
    db.downgrade(db_url, "base")
    engine = db.make_engine(db_url)
    assert db.schema_state(engine) in ("empty", "behind")
    with engine.connect() as connection:
        tables = set(inspect(connection).get_table_names()) - {"alembic_version"}
    engine.dispose()
    assert tables == set()


def test_fresh_sqlite_file_is_upgraded_on_open(tmp_path):
    url = f"sqlite:///{tmp_path / 'new.sqlite3'}"
    engine = db.open_archive(url, for_writing=True)
    assert db.schema_state(engine) == "head"
    engine.dispose()


def test_database_at_older_revision_is_refused_with_the_fixing_command(db_url):
    db.upgrade(db_url)
    db.downgrade(db_url, "0006")
    with pytest.raises(db.ArchiveNotAtHead, match=r"older schema revision.*db upgrade --db "):
        db.open_archive(db_url, for_writing=True)


def test_database_written_by_a_newer_newsarchive_is_refused_and_not_upgraded(db_url):
    db.upgrade(db_url)
    engine = create_engine(db_url)
    with engine.begin() as connection:
        connection.execute(text("UPDATE alembic_version SET version_num = '9999'"))
    engine.dispose()
    newer = r"revision 9999, newer than this newsarchive knows .*upgrade newsarchive"
    with pytest.raises(db.ArchiveNotAtHead, match=newer):
        db.open_archive(db_url, for_writing=False)
    result = CliRunner().invoke(cli, ["db", "upgrade", "--db", db_url])
    assert result.exit_code == 1
    assert re.search(newer, result.output), result.output
    current = CliRunner().invoke(cli, ["db", "current", "--db", db_url])
    assert "9999 (newer than this newsarchive's head" in current.output
    engine = create_engine(db_url)
    assert db.current_revision(engine) == "9999"  # left as it was
    engine.dispose()


def test_database_with_foreign_tables_is_refused(db_url):
    engine = create_engine(db_url)
    with engine.begin() as connection:
        connection.execute(text("CREATE TABLE something_else (x INTEGER)"))
    engine.dispose()
    with pytest.raises(db.ArchiveNotAtHead, match=r"not a newsarchive archive.*db upgrade --db"):
        db.open_archive(db_url, for_writing=True)


def test_an_empty_database_is_set_up_by_a_writer_and_refused_to_a_reader(db_url):
    # PostgreSQL as SQLite: a new database needs no `db upgrade` before the first crawl.
    if db.is_sqlite(db_url):
        db.sqlite_path(db_url).touch()  # empty, as a new PostgreSQL database is
    with pytest.raises(db.ArchiveNotAtHead, match=r"no archive tables yet.*db upgrade --db"):
        db.open_archive(db_url, for_writing=False)
    engine = db.open_archive(db_url, for_writing=True)
    assert db.schema_state(engine) == "head"
    engine.dispose()


def test_refusal_message_never_shows_the_password():
    url = "postgresql+psycopg://user:s3cret@127.0.0.1:1/nothing"
    with pytest.raises(db.ArchiveError) as caught:
        db.open_archive(url, for_writing=False)
    assert "s3cret" not in str(caught.value)
    assert "***" in str(caught.value)


def test_0006_sets_postgresql_storage_and_its_downgrade_puts_0005s_back(db_url):
    """PostgreSQL: digests as bytea, room on versions' pages for HOT updates, capped GIN pending
    lists; both databases: no captures.body_hash index. Downgrading restores 0005's schema."""
    postgres = not db.is_sqlite(db_url)
    engine = create_engine(db_url)

    def state() -> dict[str, object]:
        with engine.connect() as connection:
            inspector = inspect(connection)
            found: dict[str, object] = {
                "capture indexes": sorted(i["name"] for i in inspector.get_indexes("captures")),
            }
            if postgres:
                found["digest types"] = sorted(
                    set(
                        connection.execute(
                            text(
                                "SELECT data_type FROM information_schema.columns"
                                " WHERE column_name LIKE '%\\_hash'"
                                " AND table_schema = current_schema()"
                            )
                        ).scalars()
                    )
                )
                found["options"] = dict(
                    connection.execute(
                        text(
                            "SELECT relname, coalesce(array_to_string(reloptions, ','), '')"
                            " FROM pg_class WHERE relname IN ('versions',"
                            " 'ix_versions_search_text_trgm', 'ix_versions_search_bigrams')"
                        )
                    ).all()
                )
            return found

    try:
        db.upgrade(db_url, "0006")
        at_0006 = state()
        db.downgrade(db_url, "0005")
        at_0005 = state()
    finally:
        engine.dispose()
    assert "ix_captures_body_hash" not in at_0006["capture indexes"]
    assert "ix_captures_body_hash" in at_0005["capture indexes"]
    if postgres:
        assert at_0006["digest types"] == ["bytea"]
        assert at_0006["options"] == {
            "versions": "fillfactor=50",
            "ix_versions_search_text_trgm": "gin_pending_list_limit=1024",
            "ix_versions_search_bigrams": "gin_pending_list_limit=1024",
        }
        assert at_0005["digest types"] == ["character varying"]
        assert set(at_0005["options"].values()) == {""}


def test_0007_rewrites_sqlite_json_readably_and_search_still_finds_it(tmp_path):
    """Versions stored before 0007 hold \\uXXXX escapes (SQLAlchemy's default serializer);
    0007 writes them as UTF-8 JSON with the same values, the search index and its trigger as
    they were; its downgrade writes the escapes back."""
    url = f"sqlite:///{tmp_path / 'archive.sqlite3'}"
    # Stored by today's ingest (it needs today's schema), then taken down to 0006, whose
    # downgrade of 0007 keeps the escapes.
    db.upgrade(url)
    raw, page_url, _ = example_page("seed-l3")
    as_before = create_engine(url)  # SQLAlchemy's own JSON serializer, as before 0007
    try:
        with make_session_factory(as_before)() as session:
            ingest(session, fetched(raw, page_url, datetime(2024, 11, 15, tzinfo=UTC)))
    finally:
        as_before.dispose()
    db.downgrade(url, "0006")

    def stored() -> tuple[list[str], str]:
        engine = create_engine(url)
        try:
            with engine.connect() as connection:
                texts = list(connection.execute(text("SELECT body FROM versions")).one())
                trigger = connection.execute(
                    text("SELECT sql FROM sqlite_master WHERE name = 'versions_search_update'")
                ).scalar_one()
            return texts, trigger
        finally:
            engine.dispose()

    (escaped,), trigger_before = stored()
    assert "\\u" in escaped
    db.upgrade(url)
    (readable,), trigger_after = stored()
    assert "\\u" not in readable and len(readable) < len(escaped) / 1.5
    assert json.loads(readable) == json.loads(escaped)
    assert trigger_after == trigger_before
    word = json.loads(readable)[0].split()[1]
    engine = db.open_archive(url, for_writing=False)
    try:
        with make_session_factory(engine)() as session:
            assert [hit.article_id for hit in search(session, word)] == ["NISX20241115_0002960118"]
    finally:
        engine.dispose()
    db.downgrade(url, "0006")
    (escaped_again,), _ = stored()
    assert escaped_again == escaped
