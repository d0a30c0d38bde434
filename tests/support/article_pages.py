"""Article pages for the parser and hostile-page tests: the examples and local-site pages with
their records, and the places inside their article where markup can be inserted without changing
what they show."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache

from crawler.publishers import parse_article
from crawler.publishers.yonhap.parser import parser_for as yonhap_parser_for
from storage.record import ArticleRecord
from tests.support.paths import NEWSIS_EXAMPLES, YONHAP_EXAMPLES

EXAMPLES = NEWSIS_EXAMPLES
EXAMPLE_PAGES = ("seed-l3", "older-l2", "photo-item", "not-found")
YONHAP_PAGES = ("y3-article", "y2-article", "photo-item", "not-found")
PUBLISHERS = ("newsis", "yonhap")
SITE_ARTICLES = 24
# Local-site pages are rendered for 2024-11-15 (crawler/localsite/server.py DEFAULT_NOW).
CAPTURE_BASE = datetime(2024, 11, 15, 1, 0, tzinfo=UTC)
BASES_SEED = 166

# A block start tag closes an open `<p>` (in a browser as in libxml2), and a visible block
# breaks the line it sits in: both change what the page shows. So blocks go only where a line
# breaks anyway (before a `<br>`), and nowhere inside a paragraph, the headline or a
# subheadline (Yonhap's `h2`, which libxml2 closes at a `<p>` where a browser keeps it open).
BLOCK_START = re.compile(r"<(?:div|p)[\s>]")
_OPEN_PHRASING = re.compile(r"<(?:p|h1|h2)[\s>]|</(?:p|h1|h2)>")


@dataclass(frozen=True, slots=True)
class BasePage:
    """A real page the corpus starts from: its bytes, URL, and the texts it shows."""

    name: str
    url: str
    body: bytes
    headline: str | None
    body_texts: tuple[str, ...]
    caption_texts: tuple[str, ...]
    publisher: str = "newsis"


def parse_page(
    publisher: str, body: bytes | str, url: str, fetched_at: datetime | None = None
) -> ArticleRecord:
    """The record of a page by its publisher's parser (the capture time picks the version)."""
    if publisher == "yonhap":
        return yonhap_parser_for(fetched_at).parse(body, url)
    return parse_article(body, url, fetched_at)


def base_pages(seed: int, publisher: str = "newsis") -> list[BasePage]:
    """The shared example pages and a few local-site pages (both designs, photo items)."""
    if publisher == "yonhap":
        return yonhap_base_pages()
    bases = []
    for stem in EXAMPLE_PAGES:
        meta = json.loads((EXAMPLES / f"{stem}.meta.json").read_text(encoding="utf-8"))
        expected_path = EXAMPLES / f"{stem}.json"
        expected = (
            json.loads(expected_path.read_text(encoding="utf-8")) if expected_path.exists() else {}
        )
        bases.append(_base(stem, meta["url"], (EXAMPLES / f"{stem}.html").read_bytes(), expected))
    from crawler.localsite.server import NewsisSite

    site = NewsisSite(seed=seed % 10_000, articles=SITE_ARTICLES)
    for article in site.live_articles():
        bases.append(
            _base(
                f"site-{article.design}-{article.article_id}",
                f"https://www.newsis.com/view/{article.article_id}",
                site.page(article.article_id),
                site.expected_record(article.article_id),
            )
        )
    return bases


def yonhap_base_pages() -> list[BasePage]:
    """Yonhap's example pages (both designs, a photo item, the error page)."""
    bases = []
    for stem in YONHAP_PAGES:
        meta = json.loads((YONHAP_EXAMPLES / f"{stem}.meta.json").read_text(encoding="utf-8"))
        expected_path = YONHAP_EXAMPLES / f"{stem}.json"
        expected = (
            json.loads(expected_path.read_text(encoding="utf-8")) if expected_path.exists() else {}
        )
        body = (YONHAP_EXAMPLES / f"{stem}.html").read_bytes()
        bases.append(_base(f"yonhap-{stem}", meta["url"], body, expected, "yonhap"))
    return bases


def _base(
    name: str, url: str, body: bytes, expected: dict, publisher: str = "newsis"
) -> BasePage:
    return BasePage(
        name=name,
        url=url,
        body=body,
        headline=expected.get("headline"),
        body_texts=tuple(expected.get("body") or ()),
        caption_texts=tuple(c["text"] for c in expected.get("captions") or () if c.get("text")),
        publisher=publisher,
    )


@cache
def article_bases(publisher: str = "newsis") -> tuple[tuple[BasePage, ArticleRecord], ...]:
    bases = []
    for base in base_pages(BASES_SEED, publisher):
        if base.headline is None:
            continue
        bases.append((base, parse_page(publisher, base.body, base.url, CAPTURE_BASE)))
    return tuple(bases)


def insertion_points(text: str) -> list[int]:
    """Tag boundaries and word boundaries inside the article container and the headline."""
    start = text.find('<article itemprop="articleBody">')
    yonhap = re.search(r'<(?:div|article) class="story-news article">', text)
    if yonhap:
        # Yonhap's container, up to its footer paragraph (the copyright line).
        start = yonhap.start()
        end = text.index('<p class="txt-copyright', start)
    elif start < 0:
        start = text.index('<div id="textBody">')
        end = text.index("</div></div></div>", start)
    else:
        end = text.index("</article>", start)
    region = text[start:end]
    points = [m.start() for m in re.finditer("<", region)]
    # Between words, outside tags (an attribute value holds words too).
    points += [m.end() for m in re.finditer(r"[가-힣.]\s", region)
               if region.rfind("<", 0, m.end()) <= region.rfind(">", 0, m.end())]
    points = [start + p for p in points if p > 0]
    headline = re.search(r"<h1[^>]*>([^<]*)</h1>", text)
    if headline:
        points.append(headline.start(1) + len(headline.group(1)) // 2)
    return points


def in_phrasing(text: str, at: int) -> bool:
    """Whether `at` is inside a `<p>` or `<h1>` of the page."""
    tags = _OPEN_PHRASING.findall(text, max(0, at - 20_000), at)
    return bool(tags) and not tags[-1].startswith("</")
