"""What a publisher plug-in contributes: its ids and URLs, discovery, answers and parsers."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Protocol

from storage.record import ArticleRecord


class ArticleParser(Protocol):
    """One layout version's parser: a page and the URL it came from -> the record."""

    def parse(self, body: bytes | str, url: str) -> ArticleRecord: ...


def _no_captcha(_body: bytes) -> bool:
    return False


def _gone_by_status(status: int | None, _location: str | bytes | None, _body: bytes,
                    _url: str) -> bool:
    return status in (404, 410)


def _no_error_redirect(_location: str | bytes | None, _request_url: str) -> bool:
    return False


def upper_case_id(text: str) -> str:
    """`normalize_id` of a publisher whose ids are upper case in every URL form (Newsis's
    `NISX…`, Yonhap's `AKR…`): `nisx…` and ` akr… ` name the same articles."""
    return text.strip().upper()


@dataclass(frozen=True)
class Answers:
    """How the publisher's site answers an article fetch. The defaults suit a plain site: 404 and
    410 say gone, no bot-check page, no error-page redirect."""

    # Statuses an article fetch may answer and the spider keeps as evidence (200 among them).
    expected_statuses: frozenset[int] = frozenset({200, 304, 403, 404, 410, 429, 500, 502, 503})
    # (status, Location, body, URL asked) -> whether the article was taken down.
    is_gone: Callable[[int | None, str | bytes | None, bytes, str], bool] = _gone_by_status
    # (Location, URL asked) -> whether a redirect goes to the site's error page.
    is_error_redirect: Callable[[str | bytes | None, str], bool] = _no_error_redirect
    # A 200 body -> whether it is a bot check (a failed fetch), not the article.
    looks_like_captcha: Callable[[bytes], bool] = _no_captcha


@dataclass(frozen=True)
class Discovery:
    """Where the publisher lists its articles: feeds, list pages for backfill, sitemaps."""

    # Feeds: feed_path.format(slug=…) for each slug, a path on the site.
    feed_slugs: tuple[str, ...] = ()
    feed_path: str = "/{slug}"
    # List pages a backfill pages through, as path templates ({page} 1-based).
    list_templates: tuple[str, ...] = ()
    # CSS selectors of a list page's article links, tried in order until one finds any.
    list_link_selectors: tuple[str, ...] = ()
    max_list_pages: int = 0
    # A feed, list or sitemap link -> the article id it names, or None.
    article_id_of_link: Callable[[str | None], str | None] = lambda _link: None
    # An article id -> the date it was registered (backfill stops before --since).
    registration_date: Callable[[str], date] | None = None
    # A list page's ids and the oldest date wanted -> whether the next page is wanted.
    list_reaches_back: Callable[[Iterable[str], date], bool] | None = None
    # robots.txt names the sitemaps; child sitemaps of an index read per run.
    robots_path: str | None = None
    newest_child_sitemaps: int = 0
    max_child_sitemaps: int = 0

    def feed_url_path(self, slug: str) -> str:
        return self.feed_path.format(slug=slug)


@dataclass(frozen=True)
class Publisher:
    """One news agency's site, as a plug-in (entry-point group `newsarchive.publishers`)."""

    # The stem shared by the plug-in folder, the spider and the fixtures: "newsis".
    name: str
    # The canonical form of an article id (matched whole).
    article_id_re: re.Pattern[str]
    # Any article URL form on the publisher's hosts -> its id in canonical form, or None.
    article_id_from_url: Callable[[str], str | None]
    # A canonical id -> the article's canonical URL (the one records keep).
    canonical_article_url: Callable[[str], str]
    # A host name -> whether it is one of the publisher's own.
    is_own_host: Callable[[str | None], bool]
    # A capture time (None: now) -> the parser of the layout then.
    parser_for: Callable[[datetime | None], ArticleParser]
    # The publisher's real origin and the path of an article on any origin serving the site.
    canonical_origin: str
    article_path: str = "/{article_id}"
    # One article URL, shown in help and error messages.
    example_url: str = ""
    answers: Answers = field(default_factory=Answers)
    discovery: Discovery = field(default_factory=Discovery)
    # An id as a reader may write it (another case, stray spaces) -> canonical; default: as is.
    normalize_id: Callable[[str], str] = str.strip

    def __repr__(self) -> str:
        return f"<Publisher {self.name}>"

    def article_id_of(self, text: str) -> str | None:
        """The canonical article id `text` names: an id, or any article URL form; else None."""
        text = text.strip()
        article_id = self.normalize_id(text)
        if self.article_id_re.fullmatch(article_id):
            return article_id
        return self.article_id_from_url(text)

    def id_in_url(self, url: str) -> str | None:
        """The article id anywhere in a URL: a mirror of the site (the local one) names its
        articles by the publisher's ids, on a host that is not the publisher's."""
        match = self.article_id_re.search(url)
        return match.group(0) if match else None

    def parse(self, body: bytes | str, url: str, fetched_at: datetime | None = None
              ) -> ArticleRecord:
        """The record of one page, by the parser of its capture time (None: the latest).

        Raises ParseError (NotAnArticle) with a one-line `.reason` when the page gives none.
        """
        return self.parser_for(fetched_at).parse(body, url)
