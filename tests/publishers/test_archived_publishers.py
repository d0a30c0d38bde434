"""Until the archive is keyed by publisher (issue 19), it holds Newsis pages only: a Yonhap page
is a failed capture with its reason, never an article filed as Newsis's."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from sqlalchemy import func, select

from crawler.archiving import ingest
from crawler.publishers import parse_article
from storage.db import make_session_factory, open_archive
from storage.fetched_page import FetchedPage
from storage.models import Article
from tests.support.paths import YONHAP_EXAMPLES


def test_a_yonhap_page_parses_but_is_not_archived_as_an_article(tmp_path) -> None:
    meta = json.loads((YONHAP_EXAMPLES / "y3-article.meta.json").read_text())
    body = (YONHAP_EXAMPLES / "y3-article.html").read_bytes()
    assert parse_article(body, meta["url"]).source == "yonhap"
    engine = open_archive(f"sqlite:///{tmp_path / 'archive.sqlite3'}", for_writing=True)
    with make_session_factory(engine)() as session:
        page = FetchedPage(
            url=meta["url"], status=200, headers={}, body=body, fetched_at=datetime.now(UTC)
        )
        result = ingest(session, page)
        assert result.outcome == "failed"
        assert "not archived yet" in (result.error or "")
        assert session.scalar(select(func.count()).select_from(Article)) == 0
    engine.dispose()
