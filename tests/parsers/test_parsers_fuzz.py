"""Property: any page (mutated, truncated, random bytes) gives a record or NotAnArticle."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from crawler.parsers import NotAnArticle, ParseError
from crawler.publishers import parse_article
from storage.record import ArticleRecord
from tests.support.paths import NEWSIS_EXAMPLES

PAGES = {
    "https://www.newsis.com/view/NISX20241115_0002960118": "seed-l3.html",
    "http://www.newsis.com/view/?id=NISX20190304_0000577521&cID=10201&pID=10200": "older-l2.html",
    "https://www.newsis.com/view/NISI20241114_0020593301": "photo-item.html",
}
BODIES = {url: (NEWSIS_EXAMPLES / name).read_bytes() for url, name in PAGES.items()}
URLS = sorted(BODIES)

# CI derandomises (profile "ci", chosen in conftest.py); the deadline is the 1 s-a-page bound.
FUZZ = settings(
    max_examples=150, deadline=1000, suppress_health_check=[HealthCheck.too_slow]
)


def _check(body: bytes, url: str) -> None:
    try:
        record = parse_article(body, url)
    except NotAnArticle as error:
        # Only the parser's own verdict: the catch-all ParseError("parser failed …") means a bug.
        assert error.reason and "\n" not in error.reason
        return
    except ParseError as error:  # pragma: no cover - shown on failure
        raise AssertionError(f"parser bug on a mutated page: {error.reason}") from error
    assert isinstance(record, ArticleRecord)
    assert record.headline and record.published_at.utcoffset() is not None
    assert record.body or record.article_id.startswith("NISI")


@st.composite
def mutated_pages(draw):
    url = draw(st.sampled_from(URLS))
    page = bytearray(BODIES[url])
    for _ in range(draw(st.integers(1, 4))):
        size = len(page)
        start = draw(st.integers(0, max(0, size - 1)))
        end = draw(st.integers(start, min(size, start + 4000)))
        action = draw(st.sampled_from(["delete", "duplicate", "swap", "insert"]))
        span = bytes(page[start:end])
        if action == "delete":
            del page[start:end]
        elif action == "duplicate":
            page[end:end] = span
        elif action == "swap":
            other = draw(st.integers(0, max(0, len(page) - len(span))))
            other_span = bytes(page[other:other + len(span)])
            page[start:end] = other_span
            page[other:other + len(span)] = span
        else:
            page[start:start] = draw(st.binary(max_size=64))
    return bytes(page), url


@FUZZ
@given(mutated_pages())
def test_mutated_pages_give_a_record_or_not_an_article(case):
    _check(*case)


@FUZZ
@given(st.sampled_from(URLS), st.floats(0, 1))
def test_truncated_pages_are_never_half_records(url, share):
    body = BODIES[url]
    cut = body[: int(len(body) * share)]
    try:
        parse_article(cut, url)
    except NotAnArticle:
        return
    # Only a cut that keeps the closing </html> can still be read.
    assert cut.rstrip().endswith(b"</html>")


@FUZZ
@given(st.binary(max_size=3000), st.sampled_from([*URLS, "https://example.invalid/x"]))
def test_random_bytes_never_crash_the_parser(body, url):
    _check(body, url)


@FUZZ
@given(st.text(max_size=2000))
def test_random_text_inside_the_article_never_crashes_the_parser(noise):
    seed_url = "https://www.newsis.com/view/NISX20241115_0002960118"
    page = BODIES[seed_url].decode("utf-8")
    marker = '<article itemprop="articleBody">'
    _check(page.replace(marker, marker + noise).encode("utf-8", "surrogatepass"), seed_url)
