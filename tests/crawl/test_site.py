"""The local Newsis-like site: determinism, page shapes, lists, feeds, faults, command line.

The newsroom's changes (edits, touches, deletions, sitemaps, the clock): test_site_changes.py.
"""

from __future__ import annotations

import http.client
import json
import re
import subprocess
import sys
import xml.etree.ElementTree as ET
from contextlib import contextmanager
from datetime import datetime, timedelta
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from crawler.localsite.articles import generate_articles
from crawler.localsite.model import KST
from crawler.localsite.server import FEEDS, NewsisSite
from storage.record import ArticleRecord
from tests.support.site_http import control, fetch, first, list_ids

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def site():
    with NewsisSite(seed=7, articles=120) as running:
        yield running


def test_same_seed_gives_the_same_site_and_another_seed_another():
    one, two = NewsisSite(seed=3, articles=60), NewsisSite(seed=3, articles=60)
    ids = [a.article_id for a in one.live_articles()]
    assert ids == [a.article_id for a in two.live_articles()]
    assert all(one.page(article_id) == two.page(article_id) for article_id in ids)
    other = NewsisSite(seed=4, articles=60)
    assert ids != [a.article_id for a in other.live_articles()]


def test_generated_set_covers_both_designs_photo_items_and_the_text_conventions():
    articles = generate_articles(5, 300, NewsisSite().now)
    designs = {a.design for a in articles}
    assert designs == {"current", "older"}
    assert any(a.is_photo_item for a in articles)
    assert any(a.fullwidth and a.design == "older" for a in articles)  # 【서울=뉴시스】
    assert any(len(a.places) == 2 for a in articles)  # [서울·횡성=뉴시스]
    assert any(len(a.reporters) == 3 for a in articles)
    assert {r.title for a in articles for r in a.reporters} >= {"기자", "특파원", "인턴기자"}
    assert any(a.places and not a.reporters for a in articles)
    kinds = {p.caption_kind for a in articles for p in a.photos}
    assert kinds == {"staff", "handout", "handout_plain", "newsisdb", "pool", "agency"}
    for tag in ("[속보]", "[종합]", "[단독]", "(종합)"):
        assert any(tag in a.headline for a in articles), tag


def test_every_article_page_weighs_at_least_100_kb_and_ends_its_document(site):
    for article in site.live_articles():
        status, headers, page = fetch(site, f"/view/{article.article_id}")
        assert status == 200
        assert headers["Content-Type"] == "text/html; charset=UTF-8"
        assert len(page) >= 100_000, article.article_id
        assert page.rstrip().endswith(b"</html>")


def test_current_design_page_has_the_example_selectors(site):
    article_id = first(site, lambda a: a.design == "current" and not a.is_photo_item and a.photos)
    page = site.page(article_id).decode()
    for marker in (
        '<h1 class="tit title_area">',
        '<div class="infoLine">',
        '<article itemprop="articleBody">',
        '<p class="photojournal">',
        '<div id="view_ad">',
        'id="textBody"',
        '<div class="copyright">',
        f'<link rel="canonical" href="https://www.newsis.com/view/{article_id}">',
    ):
        assert marker in page, marker
    assert page.count("<article ") == 1 and page.count('id="textBody"') == 1


def test_older_design_page_has_the_example_selectors(site):
    article_id = first(site, lambda a: a.design == "older")
    page = site.page(article_id).decode()
    assert '<div class="article_tbx mgt8 w970"><span class="date"></span>' in page
    assert re.search(r'<div class="date">등록 \d{4}-\d\d-\d\d \d\d:\d\d:\d\d', page)
    assert '<div class="article_bx"><div class="view_text"><div id="textBody">' in page
    assert "<article" not in page


def test_photo_item_page_has_one_photo_and_the_photo_desk_footer(site):
    article_id = first(site, lambda a: a.is_photo_item)
    page = site.page(article_id).decode()
    assert page.count('<p class="photojournal">') == 1
    assert "[사진 영상 제보받습니다]" in page
    assert site.expected_record(article_id)["body"] == []


def test_expected_record_is_a_valid_record(site):
    for article in site.live_articles():
        record = site.expected_record(article.article_id)
        again = ArticleRecord.from_dict(record).to_dict(with_hash=False)
        again.pop("parser_version")
        assert again == record


def test_all_sixteen_feeds_list_real_host_links_to_served_articles(site):
    live = {a.article_id for a in site.live_articles()}
    assert len(FEEDS) == 16
    linked = set()
    for slug in FEEDS:
        status, _, body = fetch(site, f"/RSS/{slug}.xml")
        assert status == 200, slug
        items = ET.fromstring(body).findall("./channel/item")
        for item in items:
            link = item.findtext("link")
            assert link.startswith("https://www.newsis.com/view/")
            linked.add(link.rsplit("/", 1)[1])
            assert item.findtext("pubDate").endswith("+0900")
    assert linked and linked <= live


def test_realnews_pages_hold_twenty_items_newest_first_and_cover_every_article(site):
    seen = []
    page_no = 1
    while True:
        status, _, page = fetch(site, f"/realnews/?page={page_no}")
        assert status == 200
        ids = list_ids(page)
        if not ids:
            break
        assert len(ids) <= 20
        assert b'<div id="paging_t1">' in page
        seen += ids
        page_no += 1
    assert seen == [a.article_id for a in site.live_articles()]
    assert page_no - 1 == 6  # 120 articles, 20 a page


def test_section_list_holds_only_that_section_and_links_the_next_page(site):
    status, _, page = fetch(site, "/society/list/?cid=10200&scid=10201&page=1")
    assert status == 200
    ids = list_ids(page)
    assert ids and all(site.article(i).section.label == "사회" for i in ids)
    society = [a.article_id for a in site.live_articles() if a.section.cid == "10200"]
    assert ids == society[:20]
    if len(society) > 20:
        assert b'href="?cid=10200&amp;scid=10201&amp;page=2"' in page
    _, _, old_path_page = fetch(site, "/soci/list/?cid=10200&scid=10201&page=1")
    assert list_ids(old_path_page) == ids


def test_article_answers_304_to_its_etag_and_to_if_modified_since(site):
    article_id = first(site, lambda a: a.design == "current")
    status, headers, _ = fetch(site, f"/view/{article_id}")
    assert status == 200 and headers["ETag"] and headers["Last-Modified"]
    status, _, body = fetch(site, f"/view/{article_id}", headers={"If-None-Match": headers["ETag"]})
    assert (status, body) == (304, b"")
    status, _, _ = fetch(
        site, f"/view/{article_id}", headers={"If-Modified-Since": headers["Last-Modified"]}
    )
    assert status == 304
    status, _, _ = fetch(site, f"/view/{article_id}", headers={"If-None-Match": '"other"'})
    assert status == 200


@pytest.mark.parametrize(
    "old_form",
    [
        "/view/?id={id}&cID=10301&pID=10300",
        "/view/?id={id}&cid=10301&pid=10300&utm_source=naver",
        "/ar_detail/view.html?ar_id={id}&cID=10201&pID=10200",
        "/view.html?ar_id={id}",
        "/view_amp.html?ar_id={id}",
    ],
)
def test_old_url_forms_redirect_permanently_to_the_view_url(site, old_form):
    article_id = first(site, lambda a: True)
    status, headers, _ = fetch(site, old_form.format(id=article_id))
    assert status == 301
    assert headers["Location"] == f"{site.base_url}/view/{article_id}"


def test_unknown_article_redirects_to_the_error_page_served_with_200(site):
    status, headers, _ = fetch(site, "/view/NISX20241115_0009999999")
    assert status == 302 and urlsplit(headers["Location"]).path == "/error/"
    status, _, page = fetch(site, "/error/")
    assert status == 200 and b"GISA FILE NOT EXISTS" in page


def test_fault_rule_fires_for_its_first_requests_then_the_page_is_served():
    with NewsisSite(seed=2, articles=10) as site:
        article_id = first(site, lambda a: True)
        site.set_faults(rules=[{"path": "/view/*", "fault": "503", "times": 2}])
        statuses = [fetch(site, f"/view/{article_id}")[0] for _ in range(3)]
        assert statuses == [503, 503, 200]
        assert site.request_count(f"/view/{article_id}") == 3


def test_429_carries_retry_after():
    with NewsisSite(seed=2, articles=10) as site:
        control(site, "faults", {"rules": [{"path": "/RSS/*", "fault": "429", "retry_after": 7}]})
        status, headers, _ = fetch(site, "/RSS/sokbo.xml")
        assert status == 429 and headers["Retry-After"] == "7"


def test_reset_fault_drops_the_connection():
    with NewsisSite(seed=2, articles=10) as site:
        site.set_faults(rules=[{"path": "/robots.txt", "fault": "reset"}])
        with pytest.raises((ConnectionError, http.client.HTTPException)):
            fetch(site, "/robots.txt")
        assert site.requests[-1] == ("GET", "/robots.txt", 0)


def test_truncated_body_is_cut_short_with_and_without_a_declared_length():
    with NewsisSite(seed=2, articles=10) as site:
        article_id = first(site, lambda a: True)
        full = site.page(article_id)
        site.set_faults(rules=[{"path": "/view/*", "fault": "truncate", "times": 1}])
        with pytest.raises(http.client.IncompleteRead):
            fetch(site, f"/view/{article_id}")
        site.set_faults(rules=[{"path": "/view/*", "fault": "truncate_nolength", "times": 1}])
        status, headers, body = fetch(site, f"/view/{article_id}")
        assert status == 200 and "Content-Length" not in headers
        assert body == full[: len(full) // 2] and b"</html>" not in body


def test_euc_kr_fault_serves_the_page_declared_and_encoded_as_cp949():
    with NewsisSite(seed=2, articles=10) as site:
        article = site.live_articles()[0]
        site.set_faults(rules=[{"path": "/view/*", "fault": "euckr"}])
        status, headers, body = fetch(site, f"/view/{article.article_id}")
        assert status == 200 and headers["Content-Type"] == "text/html; charset=EUC-KR"
        with pytest.raises(UnicodeDecodeError):
            body.decode("utf-8")
        text = body.decode("cp949")
        assert '<meta charset="euc-kr">' in text and article.headline.replace("&", "&amp;") in text


def test_slow_and_latency_faults_still_answer_the_page():
    with NewsisSite(seed=2, articles=10) as site:
        site.set_faults(
            latency=0.01, rules=[{"path": "/robots.txt", "fault": "slow", "delay": 0.05}]
        )
        status, _, body = fetch(site, "/robots.txt")
        assert status == 200 and b"Disallow: /ar_detail/" in body
        assert site.faults_fired == [("/robots.txt", "slow")]


def test_fault_rates_are_deterministic_for_a_fault_seed():
    def statuses(fault_seed: int) -> list[int]:
        with NewsisSite(seed=2, articles=40) as site:
            site.set_faults(seed=fault_seed, rates={"5xx": 0.3, "429": 0.2}, only="/view/*")
            return [fetch(site, f"/view/{a.article_id}")[0] for a in site.live_articles()]

    first_run = statuses(11)
    assert first_run == statuses(11)
    assert {200, 429} <= set(first_run) and set(first_run) & {500, 502, 503, 504}
    assert first_run != statuses(12)


@contextmanager
def served_by_command_line(*options: str):
    """`python -m crawler.localsite OPTIONS` in a subprocess; yields its /_control/state."""
    process = subprocess.Popen(
        [sys.executable, "-m", "crawler.localsite", "--port", "0", *options],
        cwd=REPO,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        base_url = process.stdout.readline().strip()
        assert re.fullmatch(r"http://127\.0\.0\.1:\d+", base_url)
        parts = urlsplit(base_url)
        connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
        connection.request("GET", "/_control/state")
        state = json.loads(connection.getresponse().read())
        connection.close()
        yield state
    finally:
        process.terminate()
        process.wait(timeout=30)
        process.stdout.close()


def test_command_line_serves_the_site_and_prints_its_base_url():
    with served_by_command_line("--articles", "15", "--seed", "3") as state:
        assert state["clock"] == "fixed" and state["now"] == "2024-11-15T09:00:00+09:00"
        assert state["article_ids"] == [
            a.article_id for a in NewsisSite(seed=3, articles=15).live_articles()
        ]


def test_command_line_sets_the_clock_the_sitemap_only_articles_and_the_gone_answer():
    options = ("--articles", "30", "--sitemap-only", "2", "--gone", "410", "--aged", "3")
    start = datetime(2025, 3, 1, 12, tzinfo=KST)
    with served_by_command_line(*options, "--now", start.isoformat(), "--clock", "real") as state:
        assert state["clock"] == "real" and state["gone"] == "410"
        assert start <= datetime.fromisoformat(state["now"]) < start + timedelta(minutes=1)
        expected = NewsisSite(articles=30, now=start, sitemap_only=2, aged=3)
        assert state["sitemap_only"] == [
            a.article_id for a in expected.live_articles() if a.sitemap_only
        ]
    before = datetime.now(KST).replace(microsecond=0)
    with served_by_command_line("--articles", "10", "--now") as state:
        assert state["clock"] == "real"
        assert before <= datetime.fromisoformat(state["now"]) <= datetime.now(KST)
