"""The local site's newsroom over HTTP: edits, touches, takedowns, restores, sitemaps, clock."""

from __future__ import annotations

import re
import time
from datetime import datetime, timedelta

import pytest

from crawler.localsite.model import KST
from crawler.localsite.server import NewsisSite
from storage.record import ArticleRecord
from tests.support.site_http import (
    control,
    feed_and_list_ids,
    fetch,
    first,
    list_ids,
    local_path,
    sitemap_entries,
    sitemap_lastmods,
)

NEWS_SITEMAP = "/newsis_news_google.xml"


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


def test_robots_txt_names_the_sitemaps_and_each_answers_with_lastmods():
    with NewsisSite(seed=2, articles=20) as site:
        robots = fetch(site, "/robots.txt")[2].decode()
        for rule in ("Disallow: /common/", "Disallow: /search/", "Disallow: /ar_detail/"):
            assert rule in robots
        named = re.findall(r"^Sitemap: (\S+)$", robots, re.M)
        assert [local_path(url) for url in named] == ["/sitemap.xml", NEWS_SITEMAP]
        children = sitemap_entries(site, "/sitemap.xml")
        assert children and all(
            re.fullmatch(r"https://www\.newsis\.com/sitemap/sitemap-\d{4}-\d\d\.xml", loc)
            for loc in children
        )
        lastmods = sitemap_lastmods(site)
        assert set(lastmods) == {a.article_id for a in site.live_articles()}
        assert all(lastmods[a.article_id] == a.last_modified.isoformat()
                   for a in site.live_articles())
        news = sitemap_entries(site, NEWS_SITEMAP)
        assert news and all(lastmod for lastmod in news.values())
        assert b"<news:publication_date>" in fetch(site, NEWS_SITEMAP)[2]
        assert fetch(site, "/sitemap/sitemap-1999-01.xml")[0] == 302


def test_deleted_article_leaves_feeds_lists_and_sitemaps():
    with NewsisSite(seed=2, articles=60) as site:
        article_id = first(site, lambda a: a.design == "current" and not a.is_photo_item)
        assert article_id in feed_and_list_ids(site)
        assert article_id in sitemap_lastmods(site)
        control(site, "delete", {"article_id": article_id})
        assert article_id not in feed_and_list_ids(site)
        assert article_id not in sitemap_lastmods(site)
        news = sitemap_entries(site, NEWS_SITEMAP)
        assert f"https://www.newsis.com/view/{article_id}" not in news
        assert article_id in control(site, "state")["deleted"]


@pytest.mark.parametrize("gone", ["404", "410", "302", "200"])
def test_deleted_article_answers_the_sites_chosen_status(gone):
    with NewsisSite(seed=2, articles=60, gone=gone) as site:
        current = first(site, lambda a: a.design == "current")
        older = first(site, lambda a: a.design == "older")
        for article_id in (current, older):
            control(site, "delete", {"article_id": article_id})
            status, headers, body = fetch(site, f"/view/{article_id}")
            assert status == int(gone)
            if gone == "302":
                assert headers["Location"] == f"{site.base_url}/error/"
            else:
                assert b"GISA FILE NOT EXISTS" in body


def test_one_article_can_be_gone_otherwise_than_the_rest():
    with NewsisSite(seed=2, articles=60) as site:
        ids = [a.article_id for a in site.live_articles() if a.design == "current"][:3]
        control(site, "delete", {"article_id": ids[0], "gone": "410"})
        control(site, "delete", {"article_id": ids[1]})
        assert fetch(site, f"/view/{ids[0]}")[0] == 410
        assert fetch(site, f"/view/{ids[1]}")[0] == 302
        assert control(site, "gone", {"gone": "404"}) == {"gone": "404"}
        assert [fetch(site, f"/view/{i}")[0] for i in ids[:2]] == [410, 404]
        status, _, answer = fetch(site, "/_control/gone", "POST", body=b'{"gone": "418"}')
        assert status == 400 and b"418" in answer


def test_restored_article_comes_back_under_its_id_with_the_same_record():
    with NewsisSite(seed=2, articles=60) as site:
        article_id = first(site, lambda a: a.design == "current" and not a.is_photo_item)
        record, page = site.expected_record(article_id), site.page(article_id)
        site.advance(10)
        site.delete_article(article_id)
        site.advance(20)
        restored = control(site, "restore", {"article_id": article_id})
        assert restored["lastmod"] == site.now.isoformat()
        status, _, body = fetch(site, f"/view/{article_id}")
        assert (status, body) == (200, page)
        assert control(site, f"record/{article_id}") == record
        assert article_id in feed_and_list_ids(site)
        assert sitemap_lastmods(site)[article_id] == site.now.isoformat()
        status, _, answer = fetch(
            site, "/_control/restore", "POST", body=f'{{"article_id": "{article_id}"}}'.encode()
        )
        assert status == 400 and b"not deleted" in answer


def test_restore_with_an_edit_brings_the_article_back_changed():
    with NewsisSite(seed=2, articles=60) as site:
        article_id = first(site, lambda a: a.design == "current" and not a.is_photo_item)
        before, page = site.expected_record(article_id), site.page(article_id)
        site.delete_article(article_id, gone="410")
        site.advance(15)
        site.restore_article(article_id, what="paragraph")
        after = control(site, f"record/{article_id}")
        assert {key for key in after if after[key] != before[key]} == {"body", "modified_at"}
        assert after["modified_at"] == site.now.isoformat()
        status, _, new_page = fetch(site, f"/view/{article_id}")
        assert status == 200 and new_page != page
        assert site.now.strftime("%H:%M:%S").encode() in new_page


def test_touch_shows_a_new_edit_time_and_changes_nothing_else():
    with NewsisSite(seed=2, articles=60) as site:
        article_id = first(site, lambda a: a.design == "current" and a.photos and a.body)
        record, page = site.expected_record(article_id), site.page(article_id)
        _, headers, _ = fetch(site, f"/view/{article_id}")
        site.advance(45)
        touched = control(site, "touch", {"article_id": article_id})
        assert touched["modified_at"] == touched["lastmod"] == site.now.isoformat()
        after = control(site, f"record/{article_id}")
        assert {key for key in after if after[key] != record[key]} == {"modified_at"}
        assert after["modified_at"] == site.now.isoformat()
        ArticleRecord.from_dict(after)
        status, _, new_page = fetch(
            site, f"/view/{article_id}", headers={"If-None-Match": headers["ETag"]}
        )
        assert status == 200 and new_page != page
        assert site.now.strftime("%H:%M:%S").encode() in new_page
        assert sitemap_lastmods(site)[article_id] == site.now.isoformat()
        news = sitemap_entries(site, NEWS_SITEMAP)
        assert news[f"https://www.newsis.com/view/{article_id}"] == site.now.isoformat()


def test_editing_an_old_article_moves_its_lastmod_and_its_months_sitemap():
    with NewsisSite(seed=2, articles=60, aged=6) as site:
        old = [a for a in site.live_articles() if a.published_at <= site.now - timedelta(days=8)]
        article = next(a for a in old if a.design == "current" and not a.is_photo_item)
        child = f"https://www.newsis.com/sitemap/sitemap-{article.published_at:%Y-%m}.xml"
        before = sitemap_entries(site, "/sitemap.xml")[child]
        assert sitemap_lastmods(site)[article.article_id] == article.last_modified.isoformat()
        site.advance(30)
        control(site, "edit", {"article_id": article.article_id, "what": "headline"})
        now = site.now.isoformat()
        assert before < now == sitemap_entries(site, "/sitemap.xml")[child]
        assert sitemap_lastmods(site)[article.article_id] == now
        # Two days old at most in the Google News sitemap, edited or not.
        assert article.url not in sitemap_entries(site, NEWS_SITEMAP)


def test_sitemap_only_articles_are_in_the_sitemaps_and_in_no_feed_or_list():
    with NewsisSite(seed=2, articles=80, sitemap_only=4) as site:
        hidden = control(site, "state")["sitemap_only"]
        assert len(hidden) == 4
        assert set(hidden) <= {a.article_id for a in site.live_articles()}
        assert not set(hidden) & {a.article_id for a in site.listed_articles()}
        shown = feed_and_list_ids(site)
        assert shown == {a.article_id for a in site.listed_articles()}
        assert not set(hidden) & shown
        assert set(hidden) <= set(sitemap_lastmods(site))
        news = {loc.rsplit("/", 1)[1] for loc in sitemap_entries(site, NEWS_SITEMAP)}
        assert set(hidden) <= news
        assert all(fetch(site, f"/view/{article_id}")[0] == 200 for article_id in hidden)
        again = NewsisSite(seed=2, articles=80, sitemap_only=4)
        assert [a.article_id for a in again.live_articles() if a.sitemap_only] == [
            a.article_id for a in site.live_articles() if a.sitemap_only
        ]


def test_real_clock_site_is_published_up_to_now_with_old_articles_too():
    before = datetime.now(KST).replace(microsecond=0)
    with NewsisSite(seed=2, articles=60, clock="real", per_hour=3600) as site:
        state = control(site, "state")
        assert state["clock"] == "real"
        assert before <= datetime.fromisoformat(state["now"]) <= datetime.now(KST)
        published = [a.published_at for a in site.live_articles()]
        assert max(published) <= site.now and max(published) > site.now - timedelta(minutes=5)
        aged = [t for t in published if site.now - t >= timedelta(days=8) and t.year >= 2023]
        assert len(aged) == 6
        newest = list_ids(fetch(site, "/realnews/?page=1")[2])[0]
        # One article a second on average, 1.8 s apart at most: three seconds bring some.
        time.sleep(3)
        assert list_ids(fetch(site, "/realnews/?page=1")[2])[0] != newest
        later = datetime.fromisoformat(control(site, "state")["now"])
        assert later >= before + timedelta(seconds=3)


def test_same_seed_and_now_give_the_same_site_whatever_the_options():
    now = datetime(2025, 3, 1, 12, tzinfo=KST)

    def ids(**options) -> list[tuple[str, bool]]:
        site = NewsisSite(seed=5, articles=50, now=now, **options)
        return [(a.article_id, a.sitemap_only) for a in site.live_articles()]

    assert ids(aged=5, sitemap_only=3) == ids(aged=5, sitemap_only=3)
    assert ids(clock="real", aged=5, sitemap_only=3) == ids(aged=5, sitemap_only=3)
    assert ids(aged=5) != ids()
