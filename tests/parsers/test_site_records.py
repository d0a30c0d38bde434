"""The parser reproduces the local site's ground truth: each page parses to its expected record."""

from __future__ import annotations

import urllib.request

import pytest

from crawler.localsite.model import SiteArticle
from crawler.localsite.server import NewsisSite
from crawler.publishers import parse_article

URL_FORMS = (
    "https://www.newsis.com/view/{id}",
    "http://www.newsis.com/view/?id={id}&cID=10301&pID=10300",
    "http://www.newsis.com/ar_detail/view.html?ar_id={id}&cID=10201&pID=10200",
    "https://mobile.newsis.com/view.html?ar_id={id}",
)


def features(article: SiteArticle) -> set[str]:
    """The conventions one article exercises, to pick a small set that covers them all."""
    found = {f"design:{article.design}", f"photos:{min(len(article.photos), 3)}"}
    found |= {f"caption:{photo.caption_kind}" for photo in article.photos}
    found |= {f"title:{reporter.title}" for reporter in article.reporters}
    found.add(f"reporters:{len(article.reporters)}")
    if article.is_photo_item:
        found.add("photo-item")
    if article.fullwidth:
        found.add("fullwidth")
    if len(article.places) > 1:
        found.add("several-places")
    if article.subheadlines:
        found.add("subheadlines")
    if article.modified_at:
        found.add(f"modified:{article.design}")
    found |= {
        f"tag:{tag}" for tag in ("[속보]", "[종합]", "(종합)", "[단독]") if tag in article.headline
    }
    found.add(
        f"style:{article.style % 30}"
    )  # time labels, <br> spellings, nbsp/zero-width/<b> quirks
    return found


def covering_set(site: NewsisSite, size: int) -> list[SiteArticle]:
    chosen: list[SiteArticle] = []
    covered: set[str] = set()
    candidates = site.live_articles()
    while len(chosen) < size:
        best = max(candidates, key=lambda article: len(features(article) - covered))
        chosen.append(best)
        covered |= features(best)
        candidates.remove(best)
    return chosen


@pytest.fixture(scope="module")
def site() -> NewsisSite:
    return NewsisSite(seed=11, articles=400)


def test_chosen_articles_cover_every_convention(site):
    covered = set().union(*(features(article) for article in covering_set(site, 50)))
    expected = {
        "design:current",
        "design:older",
        "photo-item",
        "fullwidth",
        "several-places",
        "subheadlines",
        "reporters:0",
        "reporters:3",
        "title:특파원",
        "title:인턴기자",
        "tag:[속보]",
        "tag:(종합)",
    }
    expected |= {
        f"caption:{kind}"
        for kind in ("staff", "handout", "handout_plain", "newsisdb", "pool", "agency")
    }
    assert expected <= covered


def test_parser_reproduces_the_expected_record_of_each_generated_page(site):
    for number, article in enumerate(covering_set(site, 50)):
        url = URL_FORMS[number % len(URL_FORMS)].format(id=article.article_id)
        record = parse_article(site.page(article.article_id), url).to_dict()
        record.pop("parser_version")
        record.pop("content_hash")
        assert record == site.expected_record(article.article_id), (article.article_id, url)


@pytest.mark.parametrize("what", ["headline", "paragraph", "caption"])
def test_parser_follows_edits(what):
    site = NewsisSite(seed=11, articles=80)
    article_id = next(a.article_id for a in site.live_articles() if a.photos and a.body)
    site.advance(20)
    site.edit_article(article_id, what)
    record = parse_article(
        site.page(article_id), f"https://www.newsis.com/view/{article_id}"
    ).to_dict()
    assert record["modified_at"] == site.now.isoformat()
    record.pop("parser_version")
    record.pop("content_hash")
    assert record == site.expected_record(article_id)


def test_photo_rnd_bump_keeps_the_parsed_content_hash():
    site = NewsisSite(seed=11, articles=80)
    article_id = next(a.article_id for a in site.live_articles() if a.photos)
    url = f"https://www.newsis.com/view/{article_id}"
    page = site.page(article_id)
    before = parse_article(page, url)
    site.advance(5)
    site.bump_photo_rnd(article_id)
    assert site.page(article_id) != page
    assert parse_article(site.page(article_id), url).content_hash == before.content_hash


def test_page_served_in_euc_kr_parses_to_the_same_record():
    with NewsisSite(seed=11, articles=80) as site:
        article = next(a for a in site.live_articles() if a.photos and not a.is_photo_item)
        site.set_faults(rules=[{"path": "/view/*", "fault": "euckr"}])
        with urllib.request.urlopen(
            f"{site.base_url}/view/{article.article_id}", timeout=30
        ) as answer:
            assert answer.headers["Content-Type"] == "text/html; charset=EUC-KR"
            page = answer.read()
    record = parse_article(page, article.url).to_dict()
    record.pop("parser_version")
    record.pop("content_hash")
    assert record == site.expected_record(article.article_id)
