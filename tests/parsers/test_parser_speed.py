"""Issue 16 #11: a parse is linear in the page's size, whatever its text: four times the
content takes about four times as long on every extraction path (ratios, not timings)."""

from __future__ import annotations

import time
from collections.abc import Callable
from html import escape

import pytest

from crawler.parsers import ParseError
from crawler.publishers import parse_article
from tests.support.storage_fixtures import example_page

# Text that makes a backtracking pattern try every start: long runs of word characters
# (Hangul is \w), spaces, `=`, titles, brackets, dateline marks, emails, stamps, credits.
UNITS = (
    "가", " =", "기자 ", "기자", "[(", "[서울=뉴시스]", "▲", "a.b@", "2019.", "◎공감언론 뉴시스 ",
    "(사진=", "*재판매",
)
SEED, URL, _ = example_page("seed-l3")
PAGE = SEED.decode("utf-8")
ARTICLE_START = '<article itemprop="articleBody">\n'
# Characters of one field at size 1 (a large page, so that its cost is well above the noise).
FIELD = 200_000
LEAD = "[서울=뉴시스]이현주 기자 = "


def run(unit: str, length: int) -> str:
    return (unit * (length // len(unit) + 1))[:length]


def photo(caption: str) -> str:
    return (
        '<div class="thumCont"><img src="https://image.newsis.com/2024/11/14/'
        f'NISI20241114_0020594012_web.jpg"><p class="photojournal">{escape(caption)}</p></div>'
    )


def captions(unit: str, size: int) -> str:
    # Captions are read up to 5,000 characters: the size is each caption's length.
    caption = "[서울=뉴시스] 황준선 기자 = " + run(unit, 1000 * size) + " 2023.11.02. a@newsis.com"
    return PAGE.replace(ARTICLE_START, ARTICLE_START + photo(caption) * 150)


def many_captions(unit: str, size: int) -> str:
    caption = "[서울=뉴시스] " + run(unit, 300) + " (사진=뉴시스DB) 2023.11.02. a@newsis.com"
    return PAGE.replace(ARTICLE_START, ARTICLE_START + photo(caption) * (800 * size))


def paragraphs(unit: str, size: int) -> str:
    body = (escape(run(unit, 300)) + "<br>") * 800 * size
    return PAGE.replace(ARTICLE_START, ARTICLE_START + body)


def one_paragraph(unit: str, size: int) -> str:
    return PAGE.replace(ARTICLE_START, ARTICLE_START + escape(run(unit, FIELD * size)) + "<br>")


def byline(unit: str, size: int) -> str:
    return PAGE.replace(LEAD, "[서울=뉴시스]" + escape(run(unit, FIELD * size)) + " 기자 = ", 1)


def dateline(unit: str, size: int) -> str:
    return PAGE.replace(LEAD, "[" + escape(run(unit, FIELD * size)) + "=뉴시스]이현주 기자 = ", 1)


def subheadlines(unit: str, size: int) -> str:
    lines = (escape(run(unit, 300)) + "<br><br>") * 800 * size
    return PAGE.replace('<div class="summury">', '<div class="summury">' + lines, 1)


def headline(unit: str, size: int) -> str:
    title = '<h1 class="tit title_area">'
    return PAGE.replace(title, title + escape(run(unit, FIELD * size)), 1)


def closing(unit: str, size: int) -> str:
    tail = "◎공감언론 뉴시스 " + escape(run(unit, FIELD * size)) + " lovelypsyche@newsis.com"
    return PAGE.replace("</article>", tail + "</article>", 1)


def times(unit: str, size: int) -> str:
    line = escape(run(unit, FIELD * size))
    return PAGE.replace("<span>등록 2024.11.15", f"<span>{line}등록 2024.11.15", 1)


PATHS: dict[str, Callable[[str, int], str]] = {
    "captions": captions, "many-captions": many_captions, "paragraphs": paragraphs,
    "one-paragraph": one_paragraph, "byline": byline, "dateline": dateline,
    "subheadlines": subheadlines, "headline": headline, "closing": closing, "times": times,
}


def parse_seconds(body: bytes, tries: int = 2) -> float:
    best = float("inf")
    for _ in range(tries):
        start = time.perf_counter()
        try:
            parse_article(body, URL)
        except ParseError:
            pass
        best = min(best, time.perf_counter() - start)
    return best


def cost_ratio(build: Callable[[str, int], str], unit: str) -> float:
    """How much longer four times the content takes; the page's own part is subtracted. A
    shared machine makes one measure noisy: a path that is linear shows it in one of three
    tries, a quadratic one (16x) in none."""
    small = build(unit, 1).encode("utf-8")
    large = build(unit, 4).encode("utf-8")
    assert len(large) - len(SEED) > 3 * (len(small) - len(SEED)), unit
    ratios = []
    for _ in range(3):
        # The seed's time is subtracted from both: one slow parse of it (a busy core) would
        # shrink the small page's own cost most and inflate the ratio of a linear path.
        base = parse_seconds(SEED, tries=5)
        small_cost = parse_seconds(small, tries=3) - base
        ratio = max(parse_seconds(large, tries=3) - base, 2e-3) / max(small_cost, 2e-3)
        ratios.append(ratio)
        if ratio <= 6:
            break
    return min(ratios)


@pytest.mark.parametrize("path", sorted(PATHS))
def test_four_times_the_content_takes_at_most_six_times_as_long(path):
    slow = []
    for unit in UNITS:
        ratio = cost_ratio(PATHS[path], unit)
        if ratio > 6:
            slow.append(f"{unit!r}: {ratio:.1f}x")
    assert slow == []
