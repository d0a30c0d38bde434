"""The changes as an Atom feed (feedgen): one builder for `newsarchive changes --format atom` and
the viewer's /changes.atom."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import UTC, datetime

from feedgen.feed import FeedGenerator

from crawler.publishers import publishers
from storage.changes import Change

FEED_ID = "urn:newsarchive:changes"
TITLES = {
    "new_article": "new article",
    "new_version": "new version",
    "deleted": "deleted",
    "restored": "restored",
    "touched": "touched (new 수정 time, same content)",
}


def atom_feed(
    changes: Iterable[Change],
    *,
    feed_id: str = FEED_ID,
    self_url: str | None = None,
    home_url: str | None = None,
    link: Callable[[Change], str] | None = None,
    related_urls: Iterable[str] = (),
) -> bytes:
    """`changes` (oldest first) as an Atom 1.0 document, newest entry first, one entry per event.

    An entry's id is the event's key, the same in every feed that holds it; its link is the
    article's page on the publisher unless `link` says where else (the viewer's own page).
    `related_urls`: the sites the changes are of (origins(): the publishers').
    """
    feed = FeedGenerator()
    feed.id(feed_id)
    feed.title("newsarchive: changes")
    if self_url is not None:
        feed.link(href=self_url, rel="self")
    if home_url is not None:
        feed.link(href=home_url, rel="alternate", type="text/html")
    for url in related_urls:
        feed.link(href=url, rel="related")
    feed.author({"name": "newsarchive"})
    updated = None
    for change in changes:
        entry = feed.add_entry()  # prepended: the newest first
        entry.id(f"{FEED_ID}:{change.key}")
        title = TITLES.get(change.kind, change.kind)
        version = f" (version {change.version})" if change.version is not None else ""
        headline = f" · {change.headline}" if change.headline else ""
        entry.title(f"{change.article_id}: {title}{version}{headline}")
        entry.link(href=link(change) if link is not None else change.url)
        entry.updated(change.at)
        entry.published(change.at)
        summary = f"{title}{version}"
        if change.fields:
            summary += f": {', '.join(change.fields)} changed"
        entry.summary(summary)
        entry.category(term=change.kind)
        updated = change.at if updated is None else max(updated, change.at)
    feed.updated(updated or datetime(1970, 1, 1, tzinfo=UTC))
    return feed.atom_str(pretty=True)


def origins(names: Iterable[str] = ()) -> list[str]:
    """The home pages of the publishers named (none named: every installed one's)."""
    installed = publishers()
    return [f"{installed[name].canonical_origin}/" for name in (tuple(names) or installed)]
