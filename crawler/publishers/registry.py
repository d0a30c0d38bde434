"""The publishers installed: plug-ins found through the `newsarchive.publishers` entry points."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from functools import cache
from importlib.metadata import EntryPoint, entry_points
from urllib.parse import urlsplit

from crawler.parsers.errors import NotAnArticle
from crawler.publishers.base import Publisher
from storage.record import ArticleRecord

ENTRY_POINT_GROUP = "newsarchive.publishers"


class PublisherError(Exception):
    """A plug-in that cannot be used: it fails to load, is no Publisher, or takes a used name."""


class UnknownPublisher(LookupError):
    """No installed publisher has this name, or owns this URL."""


class UnknownArticle(LookupError):
    """Text that is no installed publisher's article id or article URL; str() is the one line
    to show, naming the forms that are."""

# How much of a reader's text an error message repeats (a pasted page would flood the terminal).
SHOWN_TEXT_CHARS = 120


def load_publishers(found: Iterable[EntryPoint]) -> dict[str, Publisher]:
    """The publishers the entry points name, by name; PublisherError for a broken or duplicate
    one (a plug-in silently left out would leave its articles uncrawled without a word)."""
    loaded: dict[str, tuple[Publisher, EntryPoint]] = {}
    for point in found:
        where = f"publisher plug-in {point.name!r} ({point.value})"
        if point.name in loaded and loaded[point.name][1].value == point.value:
            continue  # one distribution seen twice on the path (an editable install and a build)
        try:
            publisher = point.load()
        except Exception as error:
            raise PublisherError(f"{where} cannot be loaded: {type(error).__name__}: {error}") \
                from error
        if not isinstance(publisher, Publisher):
            raise PublisherError(
                f"{where} is a {type(publisher).__name__}, not a crawler.publishers.Publisher"
            )
        if publisher.name != point.name:
            raise PublisherError(f"{where} is named {publisher.name!r}: the names must agree")
        if point.name in loaded:
            raise PublisherError(
                f"{where}: the name {point.name!r} is taken by {loaded[point.name][1].value}"
            )
        loaded[point.name] = (publisher, point)
    return {name: publisher for name, (publisher, _point) in sorted(loaded.items())}


@cache
def publishers() -> dict[str, Publisher]:
    """Every installed publisher, by name (loaded once per process)."""
    found = load_publishers(entry_points(group=ENTRY_POINT_GROUP))
    if not found:
        raise PublisherError(
            f"no publisher is installed (entry-point group {ENTRY_POINT_GROUP!r}):"
            " reinstall newsarchive (pip install -e .)"
        )
    return found


def publisher_named(name: str) -> Publisher:
    try:
        return publishers()[name]
    except KeyError:
        known = ", ".join(publishers())
        raise UnknownPublisher(f"no publisher named {name!r} (installed: {known})") from None


def publisher_of_spider(spidercls: type) -> Publisher:
    """The publisher a spider crawls: the plug-in it holds (a subclass, such as the scale-out
    worker's, inherits it), else the one its `publisher_name` or its name (the stem) names."""
    held = getattr(spidercls, "publisher", None)
    if isinstance(held, Publisher):
        return held
    return publisher_named(getattr(spidercls, "publisher_name", None) or spidercls.name)


def publisher_for_host(host: str | None) -> Publisher | None:
    """The publisher whose own host this is, or None."""
    for publisher in publishers().values():
        if publisher.is_own_host(host):
            return publisher
    return None


def publisher_for_url(url: str) -> Publisher:
    """The publisher of an article URL: the one whose host it is on, else (a mirror of a site,
    such as the local one) the one publisher whose article id it holds."""
    try:
        host = urlsplit(url.strip()).hostname
    except ValueError:  # an unclosed [IPv6] host
        host = None
    publisher = publisher_for_host(host)
    if publisher is not None:
        return publisher
    holders = [p for p in publishers().values() if p.id_in_url(url)]
    if len(holders) == 1:
        return holders[0]
    raise UnknownPublisher(f"no publisher's site or article id in {url[:300]!r}")


def article_id_in_any(text: str) -> tuple[Publisher, str] | None:
    """The publisher and canonical article id that `text` names, an id or any article URL form
    of any installed publisher (each plug-in's article_id_of, in name order); else None."""
    for publisher in publishers().values():
        article_id = publisher.article_id_of(text)
        if article_id is not None:
            return publisher, article_id
    return None


def article_forms() -> str:
    """What names an article, for help and error messages: each publisher's example URL."""
    examples = [
        f"{publisher.example_url or publisher.article_id_re.pattern} ({name})"
        for name, publisher in publishers().items()
    ]
    return "an article id or any article URL of an installed publisher, e.g. " + ", ".join(
        examples
    )


def article_named(text: str) -> tuple[Publisher, str]:
    """article_id_in_any, or UnknownArticle saying which forms name an article."""
    found = article_id_in_any(text)
    if found is None:
        shown = text.strip()
        if len(shown) > SHOWN_TEXT_CHARS:
            shown = shown[:SHOWN_TEXT_CHARS] + "…"
        raise UnknownArticle(f"{shown!r} names no article: give {article_forms()}")
    return found


def parse_article(
    body: bytes | str, url: str, fetched_at: datetime | None = None
) -> ArticleRecord:
    """The record of one page, by the parser its URL's publisher used at the capture time
    (None: the latest).

    Raises NotAnArticle (a ParseError) with a one-line `.reason` when the page gives no record,
    the URL being no publisher's among the reasons.
    """
    try:
        publisher = publisher_for_url(url)
    except UnknownPublisher as error:
        raise NotAnArticle(str(error)) from None
    return publisher.parse(body, url, fetched_at)
