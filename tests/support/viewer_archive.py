"""An archive for the viewer's tests: local-site pages through storage's ingest, in crawl runs.

Three runs: every article fetched; some edited (headline, paragraph) or touched (a new 수정
time) and fetched again; then a failed fetch, an article the publisher took down, and a hostile
article whose headline and caption hold markup and whose page carries a script, in a run whose
note raises the drift alarm.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta

from sqlalchemy.orm import Session

from crawler.archiving import ingest
from crawler.localsite import pages
from crawler.localsite.server import NewsisSite
from storage.db import open_archive, upgrade
from storage.fetched_page import FetchedPage
from storage.runs import finish_run, start_run
from tests.support.event_pages import ERROR_PAGE

T0 = datetime(2024, 11, 15, 1, 0, tzinfo=UTC)
HEADERS = {"Content-Type": "text/html; charset=utf-8"}
HOSTILE_HEADLINE = (
    '<script>window.hacked=1</script>속보 <img src=x onerror="window.hacked=2"> <b>깨진 태그'
)
HOSTILE_CAPTION = (
    '<a href="javascript:window.hacked=4">클릭</a> 사진 <svg onload=window.hacked=5>'
)
# What the captured page itself tries: a title change and a global, at load and on an image.
HOSTILE_SCRIPT = (
    b"<script>document.title='PWNED';window.hacked=3;"
    b"document.write('<p id=pwned>PWNED</p>')</script>"
)
HOSTILE_BODY_MARKUP = (
    b'<img src="x" onerror="document.title=\'PWNED\'">'
    b'<a id="jslink" href=" javascript:document.title=\'PWNED\'">link</a>'
    b"<iframe srcdoc=\"<script>parent.document.title='PWNED'</script>\"></iframe>"
)
DRIFT_NOTE = "layout drift? 60% of 5 pages failed to parse or lack a field (no earlier runs)"


@dataclass(frozen=True)
class ViewerArchive:
    url: str
    edited_id: str  # edited once: its headline (version 2)
    paragraph_id: str  # a paragraph edited
    hostile_id: str
    linked_id: str  # an archived article the hostile page links to
    search_word: str  # a word of the paragraph-edited article's body
    touched_id: str  # shown again with a new 수정 time, nothing else changed
    deleted_id: str  # taken down in the last run


def build(db_url: str) -> ViewerArchive:
    """Fill the empty database at `db_url` (returns what the tests look for)."""
    upgrade(db_url)
    site = NewsisSite(seed=3, articles=12)
    articles = site.live_articles()
    with_photo = [a for a in articles if a.photos and not a.is_photo_item and a.body]
    hostile, edited_id = with_photo[0], with_photo[1].article_id
    paragraph_id = next(a.article_id for a in articles if a.body and a.article_id not in (
        hostile.article_id, edited_id))
    regular = [a for a in articles if a.article_id != hostile.article_id]
    touched_id, deleted_id = (a.article_id for a in regular[-2:])
    engine = open_archive(db_url, for_writing=True)
    with Session(engine) as session:
        run = start_run(session)
        for article in regular:
            _ingest(session, run, article.article_id, site.page(article.article_id), T0)
        finish_run(session, run)
        site.advance(60)
        site.edit_article(edited_id, "headline")
        site.edit_article(paragraph_id, "paragraph")
        site.touch_article(touched_id)
        run = start_run(session)
        for article in regular:
            page = site.page(article.article_id)
            _ingest(session, run, article.article_id, page, T0 + timedelta(hours=1))
        finish_run(session, run)
        run = start_run(session)
        _ingest(session, run, hostile.article_id, hostile_page(site, hostile),
                T0 + timedelta(hours=2))
        ingest(session, FetchedPage(
            url=f"https://www.newsis.com/view/{paragraph_id}", status=None, headers={},
            body=b"", fetched_at=T0 + timedelta(hours=2), fetch_error="TimeoutError: took too long",
        ), run)
        ingest(session, FetchedPage(
            url=f"https://www.newsis.com/view/{deleted_id}", status=404, headers=dict(HEADERS),
            body=ERROR_PAGE, fetched_at=T0 + timedelta(hours=2, minutes=1), gone=True,
        ), run)
        finish_run(session, run, note=DRIFT_NOTE)
    engine.dispose()
    linked = next(a.article_id for a in regular if a.article_id.encode() in hostile_page(
        site, hostile) and a.article_id not in (hostile.article_id, deleted_id))
    word = max(site.article(paragraph_id).body[-1].split(), key=len).strip(".,\"'")
    return ViewerArchive(db_url, edited_id, paragraph_id, hostile.article_id, linked, word,
                         touched_id, deleted_id)


def _ingest(session: Session, run: int, article_id: str, body: bytes, at: datetime) -> None:
    page = FetchedPage(url=f"https://www.newsis.com/view/{article_id}", status=200,
                       headers=dict(HEADERS), body=body, fetched_at=at)
    ingest(session, page, run)


def hostile_page(site: NewsisSite, article) -> bytes:
    photo = replace(article.photos[0], text=HOSTILE_CAPTION)
    rendered = replace(article, headline=HOSTILE_HEADLINE, photos=(photo, *article.photos[1:]))
    raw = pages.render_article(rendered, site.chrome)
    raw = raw.replace(b"</head>", HOSTILE_SCRIPT + b"</head>", 1)
    return raw.replace(b"</body>", HOSTILE_BODY_MARKUP + b"</body>", 1)
