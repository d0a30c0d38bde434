"""Issue 18's events from real crawls into PostgreSQL: a takedown, a restoration with an edit, a
touch and an edit, each recorded once, as on SQLite (tests/crawl/test_crawl_changes.py)."""

from __future__ import annotations

import os
import subprocess
import time

import pytest

from crawler.localsite.server import NewsisSite
from tests.support.crawl_support import CRAWL_TIMEOUT, crawl_args
from tests.support.scaleout_support import pg_rows
from tests.support.storage_fixtures import POSTGRES_ENV_VAR, throwaway_postgres_database

pytestmark = pytest.mark.skipif(
    not os.environ.get(POSTGRES_ENV_VAR), reason=f"{POSTGRES_ENV_VAR} not set (CI sets it)"
)


def crawl(db_url: str, site: NewsisSite) -> None:
    result = subprocess.run(
        crawl_args(db_url, site, "--revisit", "all"),
        capture_output=True, text=True, timeout=CRAWL_TIMEOUT, check=False,
    )
    assert result.returncode == 0, result.stderr[-3000:]


def events(db_url: str) -> list[tuple[str, str]]:
    return pg_rows(
        db_url,
        "SELECT article_id, kind FROM events WHERE kind <> 'new_article' ORDER BY event_id",
    )


def test_crawls_into_postgresql_record_takedown_restoration_touch_and_edit() -> None:
    for db_url in throwaway_postgres_database(os.environ[POSTGRES_ENV_VAR]):
        with NewsisSite(seed=71, articles=8) as site:
            crawl(db_url, site)
            deleted, touched, edited = (a.article_id for a in site.live_articles()[:3])
            time.sleep(1)  # the site's times are whole seconds: its changes come after the fetch
            site.delete_article(deleted)
            site.touch_article(touched)
            site.edit_article(edited, "headline")
            crawl(db_url, site)
            assert sorted(events(db_url)) == sorted(
                [(deleted, "deleted"), (touched, "touched"), (edited, "new_version")]
            )
            [(deleted_at,)] = pg_rows(
                db_url, f"SELECT deleted_at FROM articles WHERE article_id = '{deleted}'"
            )
            assert deleted_at is not None
            time.sleep(1)
            site.restore_article(deleted, "paragraph")
            crawl(db_url, site)
            assert events(db_url)[3:] == [(deleted, "restored"), (deleted, "new_version")]
            assert pg_rows(
                db_url, f"SELECT deleted_at FROM articles WHERE article_id = '{deleted}'"
            ) == [(None,)]
