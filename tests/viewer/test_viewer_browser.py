"""The viewer's pages in a real headless browser: changes → article → diff → as captured →
search → crawl health, each saved as a screenshot; hostile archived content stays inert."""

from __future__ import annotations

from pathlib import Path
from xml.etree import ElementTree

import httpx
import pytest
from selenium.webdriver.common.by import By
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from crawler.viewer.app import read_only_engine
from tests.support.viewer_archive import HOSTILE_CAPTION, HOSTILE_HEADLINE

ATOM = "{http://www.w3.org/2005/Atom}"


def load(browser, base: str, path: str, screenshots: Path, name: str) -> None:
    browser.get(base + path)
    shot(browser, screenshots, name)


def shot(browser, screenshots: Path, name: str) -> None:
    assert browser.save_screenshot(str(screenshots / f"{name}.png"))


def texts(browser, selector: str) -> list[str]:
    return [element.text for element in browser.find_elements(By.CSS_SELECTOR, selector)]


def test_pages_walk_from_changes_to_crawl_health(viewer, browser, screenshots, request):
    base, archive = viewer
    backend = request.node.callspec.params["viewer"]

    load(browser, base, "/", screenshots, f"1-changes-{backend}")
    assert len(browser.find_elements(By.CSS_SELECTOR, "table.changes tbody tr")) == 16
    assert "new version" in " ".join(texts(browser, "tr.new_version td"))
    assert texts(browser, "tr.deleted span.kind") == ["deleted"]
    assert texts(browser, "tr.touched span.kind") == ["touched"]
    touched = f'tr.touched a[href="/article/{archive.touched_id}"]'
    assert browser.find_elements(By.CSS_SELECTOR, touched)
    assert all(when.endswith("KST") for when in texts(browser, "td.when"))

    edited = f'a.headline[href="/article/{archive.edited_id}"]'
    browser.find_elements(By.CSS_SELECTOR, edited)[0].click()
    shot(browser, screenshots, f"2-article-{backend}")
    assert "(종합2보)" in browser.find_element(By.CSS_SELECTOR, "h1.headline").text
    assert len(browser.find_elements(By.CSS_SELECTOR, "section.timeline tbody tr")) == 2
    assert browser.find_elements(By.CSS_SELECTOR, "article.reader .body p")

    browser.find_element(By.LINK_TEXT, "diff").click()
    shot(browser, screenshots, f"3-diff-{backend}")
    assert texts(browser, "tbody.field.changed th") == ["headline", "modified at"]
    assert "(종합2보)" in texts(browser, "tbody.changed tr.changed td.new ins")[0]

    load(browser, base, f"/article/{archive.paragraph_id}/diff", screenshots,
         f"4-diff-paragraph-{backend}")
    assert "body" in texts(browser, "tbody.field.changed th")
    assert browser.find_elements(By.CSS_SELECTOR, "tr.changed td.new ins")

    browser.get(f"{base}/article/{archive.edited_id}")
    browser.find_element(By.LINK_TEXT, "as captured").click()
    shot(browser, screenshots, f"5-as-captured-{backend}")
    frame = browser.find_element(By.CSS_SELECTOR, "iframe.captured")
    assert frame.get_attribute("sandbox") == ""
    browser.switch_to.frame(frame)
    assert browser.find_elements(By.CSS_SELECTOR, f'a[href="/article/{archive.linked_id}"]')
    browser.switch_to.default_content()

    browser.get(f"{base}/search")
    field = browser.find_element(By.CSS_SELECTOR, "form.filters input[name=q]")
    field.send_keys(archive.search_word)
    field.submit()
    shot(browser, screenshots, f"6-search-{backend}")
    marks = texts(browser, "ol.hits mark")
    assert marks and set(marks) == {archive.search_word}

    load(browser, base, "/health", screenshots, f"7-crawl-health-{backend}")
    assert len(browser.find_elements(By.CSS_SELECTOR, "svg.chart rect.bar")) == 3 * 7
    deleted = browser.find_elements(By.CSS_SELECTOR, "svg.chart rect.bar.deleted")
    assert [float(bar.get_attribute("height")) > 0 for bar in deleted] == [False, False, True]
    assert len(browser.find_elements(By.CSS_SELECTOR, "svg.chart line.drift")) == 1
    assert "TimeoutError" in " ".join(texts(browser, "table.list td"))


def test_deleted_article_is_marked_and_its_last_version_stays_readable(
    viewer, browser, screenshots, request
):
    base, archive = viewer
    backend = request.node.callspec.params["viewer"]

    load(browser, base, "/?kind=deleted", screenshots, f"11-changes-deleted-{backend}")
    assert texts(browser, "table.changes tbody span.kind") == ["deleted"]
    browser.find_element(By.CSS_SELECTOR, "table.changes a.headline").click()
    shot(browser, screenshots, f"12-article-deleted-{backend}")
    notice = browser.find_element(By.CSS_SELECTOR, "p.deleted-notice").text
    assert "2024-11-15 12:01 KST" in notice  # 03:01 UTC
    assert texts(browser, "section.timeline tr.event span.kind") == ["deleted"]
    assert len(browser.find_elements(By.CSS_SELECTOR, "section.timeline tr.version")) == 1
    assert browser.find_elements(By.CSS_SELECTOR, "article.reader .body p")

    browser.get(f"{base}/article/{archive.touched_id}")
    assert texts(browser, "section.timeline tr.event span.kind") == ["touched"]
    assert not browser.find_elements(By.CSS_SELECTOR, "p.deleted-notice")


def test_hostile_content_shows_as_text_and_no_script_runs(viewer, browser, screenshots, request):
    base, archive = viewer
    backend = request.node.callspec.params["viewer"]

    load(browser, base, f"/article/{archive.hostile_id}", screenshots, f"8-hostile-{backend}")
    assert browser.find_element(By.CSS_SELECTOR, "h1.headline").text == HOSTILE_HEADLINE.strip()
    assert browser.find_element(By.CSS_SELECTOR, "figcaption").text == HOSTILE_CAPTION
    assert not browser.find_elements(By.CSS_SELECTOR, "main script, main svg, main [onerror]")
    assert browser.execute_script("return window.hacked") is None

    load(browser, base, "/", screenshots, f"9-hostile-changes-{backend}")
    assert HOSTILE_HEADLINE.strip() in texts(browser, "a.headline")
    assert browser.execute_script("return window.hacked") is None

    capture_id = httpx.get(f"{base}/article/{archive.hostile_id}?format=json").json()[
        "captures"][0]["capture_id"]
    load(browser, base, f"/capture/{capture_id}", screenshots, f"10-hostile-captured-{backend}")
    assert browser.title != "PWNED"
    assert browser.execute_script("return window.hacked") is None
    browser.switch_to.frame(browser.find_element(By.CSS_SELECTOR, "iframe.captured"))
    assert not browser.find_elements(By.ID, "pwned")
    assert browser.find_element(By.ID, "jslink").get_attribute("href") is None
    assert not browser.find_elements(By.CSS_SELECTOR, "script, iframe, [onerror]")
    browser.switch_to.default_content()
    assert browser.title != "PWNED"

    raw = httpx.get(f"{base}/capture/{capture_id}/raw")
    assert raw.headers["content-security-policy"] == (
        "sandbox; default-src 'none'; img-src data:; style-src 'unsafe-inline'"
    )
    assert b"<script" not in raw.content and b"PWNED" not in raw.content.replace(b"PWNED</p>", b"")


def test_every_page_answers_json_by_query_or_accept_header(viewer):
    base, archive = viewer
    paths = ["/", "/changes.atom", f"/article/{archive.edited_id}",
             f"/article/{archive.edited_id}/diff", "/capture/1", "/capture/1/raw",
             f"/search?q={archive.search_word}", "/health"]
    for path in paths:
        by_query = httpx.get(f"{base}{path}{'&' if '?' in path else '?'}format=json")
        by_header = httpx.get(f"{base}{path}", headers={"Accept": "application/json"})
        assert by_query.headers["content-type"] == "application/json", path
        assert by_header.json() == by_query.json(), path
    assert httpx.get(f"{base}/article/NISX20000101_0000000001?format=json").json()["status"] == 404


def test_atom_feed_holds_an_entry_per_change(viewer):
    base, archive = viewer
    feed = httpx.get(f"{base}/changes.atom?kind=new_version")
    entries = ElementTree.fromstring(feed.content).findall(f"{ATOM}entry")
    assert feed.headers["content-type"].startswith("application/atom+xml")
    assert len(entries) == 2
    every = ElementTree.fromstring(httpx.get(f"{base}/changes.atom").content).findall(
        f"{ATOM}entry")
    assert len(every) == 16
    assert [e.find(f"{ATOM}category").get("term") for e in every[:2]] == ["deleted", "new_article"]
    assert every[0].find(f"{ATOM}link").get("href") == f"{base}/article/{archive.deleted_id}"


def test_viewer_engine_refuses_to_write(viewer):
    _, archive = viewer
    engine = read_only_engine(archive.url)
    try:
        with pytest.raises(DBAPIError), engine.begin() as connection:
            connection.execute(text("UPDATE articles SET section = 'x'"))
    finally:
        engine.dispose()
