"""The local site's Yonhap-like side: its own port, Y3 pages that parse to the model's records,
feeds, lists, sitemaps, robots.txt, the newsroom's changes, gone answers and faults."""

from __future__ import annotations

import http.client
import json
import re
import subprocess
import sys
import xml.etree.ElementTree as ET

import pytest
from parsel import Selector

from crawler.localsite.server import NewsisSite
from crawler.publishers import parse_article, publisher_named
from tests.support.site_http import local_path

YONHAP = publisher_named("yonhap")
SITEMAP_NS = "{http://www.sitemaps.org/schemas/sitemap/0.9}"


def fetch(listener, path: str, method: str = "GET", payload: dict | None = None):
    """One request to a listener (Newsis' or Yonhap's), redirects not followed."""
    connection = http.client.HTTPConnection(listener.host, listener.port, timeout=30)
    try:
        body = None if payload is None else json.dumps(payload).encode()
        connection.request(method, path, body=body, headers={"Content-Type": "application/json"})
        response = connection.getresponse()
        return response.status, dict(response.getheaders()), response.read()
    finally:
        connection.close()


def control(listener, action: str, payload: dict | None = None) -> dict:
    status, _, answer = fetch(listener, f"/_control/{action}",
                              "GET" if payload is None else "POST", payload)
    assert status == 200, answer
    return json.loads(answer)


def parsed(page: bytes, article_id: str) -> dict:
    record = parse_article(page, YONHAP.canonical_article_url(article_id)).to_dict()
    record.pop("parser_version")
    record.pop("content_hash")
    return record


def xml_locs(body: bytes, tag: str) -> dict[str, str]:
    root = ET.fromstring(body)
    return {
        entry.findtext(f"{SITEMAP_NS}loc"): entry.findtext(f"{SITEMAP_NS}lastmod")
        for entry in root.iter(f"{SITEMAP_NS}{tag}")
    }


@pytest.fixture(scope="module")
def site():
    with NewsisSite(seed=5, articles=30, yonhap_articles=60) as running:
        yield running


def test_yonhap_is_served_on_its_own_port_beside_newsis(site):
    assert site.yonhap.port != site.port
    yonhap_id = site.yonhap.live_articles()[0].article_id
    newsis_id = site.live_articles()[0].article_id
    assert fetch(site.yonhap, f"/view/{yonhap_id}")[0] == 200
    assert fetch(site, f"/view/{yonhap_id}")[0] == 302  # Newsis' answer for no article
    assert fetch(site.yonhap, f"/view/{newsis_id}")[0] == 404
    assert control(site.yonhap, "state")["publisher"] == "yonhap"
    assert all(i.startswith(("AKR", "PYH")) for i in control(site.yonhap, "state")["article_ids"])


def test_every_served_yonhap_page_parses_to_the_models_record(site):
    articles = site.yonhap.live_articles()
    assert {a.article_id[:3] for a in articles} == {"AKR", "PYH"}
    assert any(a.photos and not a.is_photo_item for a in articles)
    assert any(a.subheadlines for a in articles)
    for article in articles:
        status, headers, page = fetch(site.yonhap, f"/view/{article.article_id}?input=1195m")
        assert status == 200 and headers["Content-Type"] == "text/html; charset=UTF-8"
        assert parsed(page, article.article_id) == site.expected_record(article.article_id)


def test_feeds_lists_and_sitemaps_name_the_real_site_and_the_live_articles(site):
    live = {a.article_id for a in site.yonhap.live_articles()}
    for slug in YONHAP.discovery.feed_slugs:
        status, _, body = fetch(site.yonhap, YONHAP.discovery.feed_url_path(slug))
        assert status == 200, slug
        links = [item.findtext("link") for item in ET.fromstring(body).iter("item")]
        assert {YONHAP.discovery.article_id_of_link(link) for link in links} <= live
    robots = fetch(site.yonhap, "/robots.txt")[2].decode()
    sitemaps = re.findall(r"^Sitemap: (\S+)$", robots, re.MULTILINE)
    assert sitemaps == ["https://www.yna.co.kr/sitemap.xml", "https://www.yna.co.kr/news-sitemap.xml"]
    children = xml_locs(fetch(site.yonhap, "/sitemap.xml")[2], "sitemap")
    in_sitemaps = set()
    for child in children:
        in_sitemaps |= {YONHAP.article_id_of(loc) for loc in
                        xml_locs(fetch(site.yonhap, local_path(child))[2], "url")}
    assert in_sitemaps == live
    assert xml_locs(fetch(site.yonhap, "/news-sitemap.xml")[2], "url")


def test_list_pages_page_through_every_listed_article_newest_first(site):
    template = YONHAP.discovery.list_templates[0]
    seen = []
    for page in (1, 2, 3):
        status, _, body = fetch(site.yonhap, template.format(page=page))
        assert status == 200
        hrefs = Selector(text=body.decode()).css(YONHAP.discovery.list_link_selectors[0]).getall()
        seen += [YONHAP.discovery.article_id_of_link(href) for href in hrefs]
        assert f'href="/news/{page + 1}"'.encode() in body or page == 3
    assert seen == [a.article_id for a in site.yonhap.listed_articles()]


def test_an_edit_shows_an_update_time_and_moves_the_sitemap_lastmod():
    with NewsisSite(seed=5, articles=10, yonhap_articles=30) as site:
        article = next(a for a in site.yonhap.live_articles() if not a.is_photo_item)
        control(site.yonhap, "advance", {"minutes": 30})
        edit = {"article_id": article.article_id, "what": "paragraph"}
        answer = control(site.yonhap, "edit", edit)
        assert answer["modified_at"] == site.now.replace(second=0).isoformat()
        page = fetch(site.yonhap, f"/view/{article.article_id}")[2]
        record = parsed(page, article.article_id)
        assert record == control(site.yonhap, f"record/{article.article_id}")
        assert record["modified_at"] == answer["modified_at"]
        assert record["body"] != list(article.body)
        child = next(c for c in xml_locs(fetch(site.yonhap, "/sitemap.xml")[2], "sitemap")
                     if article.url in xml_locs(fetch(site.yonhap, local_path(c))[2], "url"))
        lastmods = xml_locs(fetch(site.yonhap, local_path(child))[2], "url")
        assert lastmods[article.url] == answer["lastmod"]


@pytest.mark.parametrize("gone, status", [("yonhap", 404), ("script", 200), ("410", 410)])
def test_a_deleted_article_answers_as_the_plug_in_recognises_and_comes_back(gone, status):
    with NewsisSite(seed=5, articles=10, yonhap_articles=30) as site:
        article_id = site.yonhap.listed_articles()[0].article_id
        control(site, "delete", {"article_id": article_id, "gone": gone})  # either port acts
        got, headers, body = fetch(site.yonhap, f"/view/{article_id}")
        assert got == status
        assert YONHAP.answers.is_gone(got, headers.get("Location"), body, "")
        assert article_id.encode() not in fetch(site.yonhap, "/rss/news.xml")[2]
        assert control(site.yonhap, "state")["deleted"] == [article_id]
        control(site.yonhap, "restore", {"article_id": article_id})
        got, headers, body = fetch(site.yonhap, f"/view/{article_id}")
        assert got == 200 and not YONHAP.answers.is_gone(got, None, body, "")
        assert article_id.encode() in fetch(site.yonhap, "/rss/news.xml")[2]


def test_faults_on_the_yonhap_port_leave_newsis_alone(site):
    yonhap_id = site.yonhap.live_articles()[0].article_id
    newsis_id = site.live_articles()[0].article_id
    control(site.yonhap, "faults", {"rules": [
        {"path": "/view/*", "fault": "503", "times": 1},
        {"path": "/rss/*", "fault": "429", "times": 1, "retry_after": 7},
        {"path": "/news/*", "fault": "truncate", "times": 1},
    ]})
    try:
        assert fetch(site, f"/view/{newsis_id}")[0] == 200
        assert fetch(site.yonhap, f"/view/{yonhap_id}")[0] == 503
        assert fetch(site.yonhap, f"/view/{yonhap_id}")[0] == 200
        status, headers, _ = fetch(site.yonhap, "/rss/news.xml")
        assert (status, headers["Retry-After"]) == (429, "7")
        with pytest.raises(http.client.IncompleteRead):
            fetch(site.yonhap, "/news/1")
        fired = control(site.yonhap, "requests")["faults"]
        assert [kind for _, kind in fired] == ["503", "429", "truncate"]
        assert not control(site, "requests")["faults"]
    finally:
        control(site.yonhap, "clear_faults", {})


def test_the_clock_publishes_on_both_sites():
    site = NewsisSite(seed=5, articles=10, yonhap_articles=10)
    new = site.advance(180)
    assert {article_id[:3] for article_id in new} >= {"AKR", "NIS"}
    assert site.yonhap.live_articles()[0].article_id in new


def test_command_line_prints_both_base_urls():
    command = [sys.executable, "-m", "crawler.localsite", "--articles", "5",
               "--yonhap-articles", "5"]
    with subprocess.Popen(command, stdout=subprocess.PIPE, text=True) as process:
        try:
            newsis_url = process.stdout.readline().strip()
            yonhap_url = process.stdout.readline().strip()
            assert newsis_url != yonhap_url
            for url in (newsis_url, yonhap_url):
                assert re.fullmatch(r"http://127\.0\.0\.1:\d+", url)
            host, port = yonhap_url.removeprefix("http://").split(":")
            connection = http.client.HTTPConnection(host, int(port), timeout=30)
            connection.request("GET", "/rss/news.xml")
            assert b"https://www.yna.co.kr/view/" in connection.getresponse().read()
            connection.close()
        finally:
            process.terminate()
