"""Article pages for parser tests: the examples and local-site pages with their records, and
the places inside their article where markup can be inserted without changing what they show."""

from __future__ import annotations

import re
from functools import cache

from crawler.publishers import parse_article
from storage.record import ArticleRecord
from tests.support.hostile_corpus import CAPTURE_BASE, BasePage, base_pages

BASES_SEED = 166

# A block start tag closes an open `<p>` (in a browser as in libxml2), and a visible block
# breaks the line it sits in: both change what the page shows. So blocks go only where a line
# breaks anyway (before a `<br>`), and nowhere inside a paragraph or the headline.
BLOCK_START = re.compile(r"<(?:div|p)[\s>]")
_OPEN_PHRASING = re.compile(r"<(?:p|h1)[\s>]|</(?:p|h1)>")


@cache
def article_bases() -> tuple[tuple[BasePage, ArticleRecord], ...]:
    bases = []
    for base in base_pages(BASES_SEED):
        if base.headline is None:
            continue
        bases.append((base, parse_article(base.body, base.url, CAPTURE_BASE)))
    return tuple(bases)


def insertion_points(text: str) -> list[int]:
    """Tag boundaries and word boundaries inside the article container and the headline."""
    start = text.find('<article itemprop="articleBody">')
    if start < 0:
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
