"""The local Newsis-like site: determinism, page shapes, lists, feeds, clock, edits, faults."""

from __future__ import annotations

import http.client
import json
import re
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from crawler.localsite.articles import generate_articles
from crawler.localsite.server import FEEDS, NewsisSite
from storage.record import ArticleRecord

REPO = Path(__file__).resolve().parents[2]
VIEW_LINK_RE = re.compile(r'href="/view/(NIS[XI]\d{8}_\d{10})"')


def fetch(
    site: NewsisSite,
    path: str,
    method: str = "GET",
    headers: dict | None = None,
    body: bytes | None = None,
) -> tuple[int, dict[str, str], bytes]:
    """One request, redirects not followed."""
    connection = http.client.HTTPConnection(site.host, site.port, timeout=30)
    try:
        connection.request(method, path, body=body, headers=headers or {})
        response = connection.getresponse()
        return response.status, dict(response.getheaders()), response.read()
    finally:
        connection.close()


def control(site: NewsisSite, action: str, payload: dict | None = None) -> dict:
    method = "GET" if payload is None else "POST"
    body = None if payload is None else json.dumps(payload).encode()
    status, _, answer = fetch(
        site, f"/_control/{action}", method, {"Content-Type": "application/json"}, body
    )
    assert status == 200, answer
    return json.loads(answer)


def list_ids(page: bytes) -> list[str]:
    items = page.split(b'<ul class="articleList2">', 1)[1].split(b"</ul>", 1)[0].decode()
    return list(dict.fromkeys(VIEW_LINK_RE.findall(items)))


@pytest.fixture(scope="module")
def site():
    with NewsisSite(seed=7, articles=120) as running:
        yield running


def first(site: NewsisSite, predicate) -> str:
    return next(a.article_id for a in site.live_articles() if predicate(a))


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


def test_edited_article_no_longer_answers_304_to_the_old_validators():
    with NewsisSite(seed=2, articles=30) as site:
        article_id = first(site, lambda a: not a.is_photo_item)
        _, headers, _ = fetch(site, f"/view/{article_id}")
        site.advance(10)
        site.edit_article(article_id, "headline")
        assert (
            fetch(site, f"/view/{article_id}", headers={"If-None-Match": headers["ETag"]})[0] == 200
        )
        modified_since = {"If-Modified-Since": headers["Last-Modified"]}
        assert fetch(site, f"/view/{article_id}", headers=modified_since)[0] == 200


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


def test_deleted_articles_redirect_to_error_or_show_gisa_file_not_exists():
    with NewsisSite(seed=2, articles=60) as site:
        current = first(site, lambda a: a.design == "current")
        older = first(site, lambda a: a.design == "older")
        site.delete_article(current)
        control(site, "delete", {"article_id": older})
        status, headers, _ = fetch(site, f"/view/{current}")
        assert status == 302 and headers["Location"].endswith("/error/")
        status, _, page = fetch(site, f"/view/{older}")
        assert status == 200 and b"GISA FILE NOT EXISTS" in page
        _, _, listing = fetch(site, "/realnews/?page=1")
        assert current not in list_ids(listing)


def test_advancing_the_clock_publishes_new_articles_at_the_top_of_lists_and_feeds():
    with NewsisSite(seed=2, articles=30, per_hour=12) as site:
        new = site.advance(120)
        assert len(new) >= 10
        assert [a.article_id for a in site.live_articles()][: len(new)] == list(reversed(new))
        _, _, listing = fetch(site, "/realnews/?page=1")
        assert list_ids(listing)[0] == new[-1]
        assert all(site.article(i).published_at <= site.now for i in new)
        assert all(site.article(i).design == "current" for i in new)


@pytest.mark.parametrize("what", ["headline", "paragraph", "caption"])
def test_edit_changes_the_content_and_sets_a_new_modified_time(what):
    with NewsisSite(seed=2, articles=60) as site:
        article_id = first(
            site, lambda a: a.design == "current" and a.photos and not a.is_photo_item
        )
        before_record, before_page = site.expected_record(article_id), site.page(article_id)
        site.advance(30)
        site.edit_article(article_id, what)
        after = site.expected_record(article_id)
        assert after["modified_at"] == site.now.isoformat()
        changed = {key for key in after if after[key] != before_record[key]}
        field = {"headline": "headline", "paragraph": "body", "caption": "captions"}[what]
        assert changed == {"modified_at", field}
        page = fetch(site, f"/view/{article_id}")[2]
        assert page != before_page
        assert site.now.strftime("%H:%M:%S").encode() in page


def test_photo_rnd_bump_changes_only_the_image_query():
    with NewsisSite(seed=2, articles=60) as site:
        article_id = first(site, lambda a: len(a.photos) >= 1 and not a.is_photo_item)
        record, page = site.expected_record(article_id), site.page(article_id)
        site.advance(5)
        control(site, "bump_photo_rnd", {"article_id": article_id})
        new_page = fetch(site, f"/view/{article_id}")[2]
        assert new_page != page
        assert re.sub(rb"rnd=\d{14}", b"", new_page) == re.sub(rb"rnd=\d{14}", b"", page)
        assert site.expected_record(article_id) == record


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


def test_control_api_over_http_drives_the_site():
    with NewsisSite(seed=2, articles=20) as site:
        state = control(site, "state")
        assert len(state["article_ids"]) == 20
        advanced = control(site, "advance", {"minutes": 60})
        assert advanced["new"] and advanced["now"] == site.now.isoformat()
        article_id = advanced["new"][0]
        edited = control(site, "edit", {"article_id": article_id, "what": "headline"})
        assert edited["modified_at"] == site.now.isoformat()
        record = control(site, f"record/{article_id}")
        assert record == site.expected_record(article_id)
        status, _, answer = fetch(
            site, "/_control/edit", "POST", body=b'{"article_id": "NISX20000101_0000000000"}'
        )
        assert status == 404 and b"unknown article" in answer
        logged = control(site, "requests")["requests"]
        assert all(not path.startswith("/_control/") for _, path, _ in logged)


def test_robots_and_sitemaps_list_the_site():
    with NewsisSite(seed=2, articles=20) as site:
        robots = fetch(site, "/robots.txt")[2].decode()
        for rule in (
            "Disallow: /common/",
            "Disallow: /search/",
            "Disallow: /ar_detail/",
            "Sitemap: ",
        ):
            assert rule in robots
        sitemap = ET.fromstring(fetch(site, "/sitemap.xml")[2])
        locs = [
            loc.text for loc in sitemap.iter("{http://www.sitemaps.org/schemas/sitemap/0.9}loc")
        ]
        assert len(locs) == 20
        news = fetch(site, "/newsis_news_google.xml")[2]
        assert b"<news:publication_date>" in news


def test_command_line_serves_the_site_and_prints_its_base_url():
    process = subprocess.Popen(
        [sys.executable, "-m", "crawler.localsite",
         "--port", "0", "--articles", "15", "--seed", "3"],
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
        assert state["article_ids"] == [
            a.article_id for a in NewsisSite(seed=3, articles=15).live_articles()
        ]
    finally:
        process.terminate()
        process.wait(timeout=30)
        process.stdout.close()
