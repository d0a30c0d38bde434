"""Each publisher is a lane of its own: its requests decode only in its lane, its workers pop
only its queue, the command line picks lanes and their sites, and a queue from before lanes
moves into them."""

from __future__ import annotations

import json
from datetime import date

import click
import pytest
import redis
from scrapy import Request
from scrapy.crawler import Crawler
from sqlalchemy import create_engine, select
from sqlalchemy.orm import Session

from crawler.db_thread import KnownArticle
from crawler.publishers.newsis import NEWSIS
from crawler.publishers.yonhap import YONHAP
from crawler.scaleout.leases import LeaseBook
from crawler.scaleout.queue_codec import BadEntry, decode, encode
from crawler.scaleout.rounds import round_request_builder, schedule_rounds
from crawler.scaleout.shared_queue import RedisKeys, lane_keys
from crawler.scaleout.worker import worker_settings
from crawler.scaleout.worker_spider import WorkerSpider, worker_spider_for
from storage.models import CrawlRun
from storage.runs import start_run
from tests.support.queue_entries import mutations_of
from tests.support.scaleout_support import needs_both, needs_redis

BASE_URL = "http://127.0.0.1:8123"
OTHER_ORIGIN = "http://127.0.0.1:8124"
YONHAP_ID = "AKR20241115000100001"
YONHAP_PHOTO_ID = "PYH20241115112400013"


def _requests(spider: WorkerSpider) -> list[Request]:
    """One of each request a round and a worker of the spider's publisher build: feeds, list
    pages, new articles and a conditional revisit."""
    publisher = spider.publisher
    found = list(spider.discovery_requests(date(2024, 11, 1), sitemaps=False))
    article_id = YONHAP_ID if publisher.name == "yonhap" else "NISX20241115_0002960118"
    known = KnownArticle(article_id, None, '"etag-1"', "Fri, 15 Nov 2024 00:00:00 GMT")
    found.append(spider.article_request(article_id, None, "feed"))
    found.append(spider.article_request(article_id, known, "revisit"))
    if publisher.name == "yonhap":
        found.append(spider.article_request(YONHAP_PHOTO_ID, None, "list"))
    found.append(spider.list_request(publisher.discovery.list_templates[0], 3, date(2024, 1, 1)))
    return found


def test_every_yonhap_request_decodes_in_its_lane_to_the_same_request() -> None:
    spider = round_request_builder(YONHAP, BASE_URL)
    requests = _requests(spider)
    assert {r.callback.__name__ for r in requests} == {"parse_feed", "parse_list",
                                                       "parse_article"}
    for request in requests:
        data = encode(request, spider)
        decoded = decode(data, spider)
        assert (decoded.url, decoded.cb_kwargs, decoded.meta) == (
            request.url, request.cb_kwargs, request.meta
        )
        assert decoded.callback == getattr(spider, request.callback.__name__)
        assert encode(decoded, spider) == data


@pytest.mark.parametrize("base_url", [BASE_URL, OTHER_ORIGIN])
def test_an_entry_of_one_publisher_is_a_bad_entry_in_the_others_lane(base_url) -> None:
    """Even from the same site (one mirror serving both): no slug, list template, id or
    article path of one publisher passes for the other's."""
    lanes = {"yonhap": round_request_builder(YONHAP, BASE_URL),
             "newsis": round_request_builder(NEWSIS, BASE_URL)}
    for publisher, reader in ((YONHAP, lanes["newsis"]), (NEWSIS, lanes["yonhap"])):
        writer = round_request_builder(publisher, base_url)
        for request in _requests(writer):
            data = encode(request, writer)
            with pytest.raises(BadEntry):
                decode(data, reader)
                pytest.fail(f"{publisher.name}'s {request.url} decoded in the other lane")


def test_a_yonhap_entry_with_any_one_thing_wrong_is_a_bad_entry() -> None:
    spider = round_request_builder(YONHAP, BASE_URL)
    valid = [json.loads(encode(request, spider)) for request in _requests(spider)]
    cases = mutations_of(valid, OTHER_ORIGIN)
    assert len(cases) > 100
    for name, data in cases:
        with pytest.raises(BadEntry):
            decode(data, spider)
            pytest.fail(f"{name} decoded: {data!r}")


def test_yonhap_arguments_outside_its_discovery_are_bad_entries() -> None:
    spider = round_request_builder(YONHAP, BASE_URL)
    feed, article = _requests(spider)[0], _requests(spider)[-4]
    entry = json.loads(encode(feed, spider))
    wrong = [
        {**entry, "cb_kwargs": {"slug": "nowhere"}, "url": f"{BASE_URL}/rss/nowhere.xml"},
        {**entry, "cb_kwargs": {"slug": "politics"}, "url": f"{BASE_URL}/RSS/politics.xml"},
    ]
    last = YONHAP.discovery.max_list_pages
    listed = json.loads(encode(spider.list_request("/news/{page}", last), spider))
    wrong.append({**listed, "cb_kwargs": {**listed["cb_kwargs"], "page": last + 1},
                  "url": f"{BASE_URL}/news/{last + 1}"})
    art = json.loads(encode(article, spider))
    for other_id in ("AEN20241115000300315", "GYH20241115000100044", "NISX20241115_0002960118"):
        wrong.append({**art, "meta": {**art["meta"], "article_id": other_id},
                      "url": f"{BASE_URL}/view/{other_id}"})
    for case in wrong:
        with pytest.raises(BadEntry):
            decode(json.dumps(case).encode(), spider)
            pytest.fail(f"decoded: {case!r}")


def test_each_publisher_has_a_lane_of_its_own_under_the_prefix() -> None:
    newsis, yonhap = lane_keys("p", "newsis"), lane_keys("p", "yonhap")
    assert newsis.queue == "p:newsis:requests" and yonhap.queue == "p:yonhap:requests"
    for name in ("queue", "round", "schedule_lock"):
        assert getattr(newsis, name) != getattr(yonhap, name)
    assert newsis.taken("w") != yonhap.taken("w") and newsis.seen(1) != yonhap.seen(1)


@needs_redis
def test_a_lanes_worker_crawler_pops_only_its_publishers_queue(redis_url, prefix) -> None:
    client = redis.Redis.from_url(redis_url)
    entries = {}
    for publisher in (NEWSIS, YONHAP):
        spider = round_request_builder(publisher, BASE_URL)
        entries[publisher.name] = encode(_requests(spider)[-3], spider)
        client.zadd(lane_keys(prefix, publisher.name).queue, {entries[publisher.name]: 0})
    settings = worker_settings(redis_url, "sqlite://", prefix=prefix, base_url=BASE_URL)
    for publisher in (YONHAP, NEWSIS):
        book = LeaseBook.of(Crawler(worker_spider_for(publisher), settings))
        assert book.keys == lane_keys(prefix, publisher.name)
        assert book.pop()[0] == entries[publisher.name]
        assert book.pop() is None


def test_lanes_and_their_sites_from_the_command_line() -> None:
    from crawler.commands.scaleout import lane_base_urls
    from crawler.origins import parse_base_urls

    mirror, other = "http://127.0.0.1:8123", "http://127.0.0.1:8124"
    own = {"newsis": NEWSIS.canonical_origin, "yonhap": YONHAP.canonical_origin}

    def lanes(chosen: tuple[str, ...], values: tuple[str, ...]) -> dict[str, str]:
        return lane_base_urls(chosen, parse_base_urls(values))

    assert lanes((), ()) == own
    assert lanes(("yonhap",), ()) == {"yonhap": own["yonhap"]}
    # As for `crawl`: a bare URL is newsis's, and mirrors confine the lanes to those given one.
    assert lanes((), (mirror + "/",)) == {"newsis": mirror}
    assert lanes((), (f"yonhap={other}", mirror)) == {"newsis": mirror, "yonhap": other}
    for chosen, values in ((("nosuch",), ()), ((), ("nosuch=" + mirror,)),
                           (("newsis",), (f"yonhap={other}",))):
        with pytest.raises(click.BadParameter):
            lanes(chosen, values)
    for values in (("ftp://x",), (mirror, other)):
        with pytest.raises(ValueError):
            parse_base_urls(values)


@needs_both
def test_a_deployment_from_before_lanes_loses_nothing(redis_url, prefix, pg_url) -> None:
    """Its queued and dead workers' requests move to their lane, its last round is closed."""
    client = redis.Redis.from_url(redis_url)
    plain, lane = RedisKeys(prefix), lane_keys(prefix, "newsis")
    spider = round_request_builder(NEWSIS, BASE_URL)
    queued, leased = (
        encode(spider.article_request(f"NISX20241115_000296011{n}", None, "feed"), spider)
        for n in (1, 2)
    )
    junk = b'{"v": 1, "url": "file:///etc/passwd"}'
    client.zadd(plain.queue, {queued: -5, junk: 0})
    client.hset(plain.taken("old-worker"), leased, -5)  # its heartbeat long gone
    engine = create_engine(pg_url)
    with Session(engine) as session:
        old_round = start_run(session, kind="round")
    client.set(plain.round, old_round)

    plans = schedule_rounds(redis_url, pg_url, prefix=prefix, base_urls={"newsis": BASE_URL},
                            revisit="none")

    assert [(plan.publisher, plan.carried_over, plan.feeds) for plan in plans] == [
        ("newsis", 2, len(NEWSIS.discovery.feed_slugs))
    ]
    assert client.zscore(lane.queue, queued) == -5 and client.zscore(lane.queue, leased) == -5
    assert client.zrange(plain.queue, 0, -1) == [junk]  # never run, never anyone's
    assert not client.exists(plain.round) and not client.exists(plain.taken("old-worker"))
    with Session(engine) as session:
        runs = session.execute(select(CrawlRun.crawl_run_id, CrawlRun.outcome, CrawlRun.note)
                               .order_by(CrawlRun.crawl_run_id)).all()
    engine.dispose()
    assert [(run_id, outcome) for run_id, outcome, _ in runs] == [
        (old_round, "finished"), (plans[0].round_id, "running")
    ]
    assert "per-publisher lanes" in runs[0].note and runs[1].note == "publisher newsis"
