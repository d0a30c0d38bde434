"""Fault soak: crawls through 5xx, timeouts, resets, truncated bodies and 429s, then a clean run."""

from __future__ import annotations

import random
from collections import Counter

import pytest
from sqlalchemy import select

from crawler.localsite.server import NewsisSite
from storage.db import make_engine, make_session_factory
from storage.models import Capture, CrawlRun
from tests.support.crawl_support import crawl_args, feed_article_ids
from tests.support.processes import run, wait_until
from tests.support.reliability_support import (
    choose_seed,
    consistency_problems,
    dump,
    expected_content_hash,
)

FAULT_RATES = {"5xx": 0.10, "slow": 0.05, "reset": 0.02, "truncate": 0.02, "429": 0.03}
# A slow answer comes after the download timeout, so it always fails as a timeout.
DOWNLOAD_TIMEOUT = 2
SLOW_DELAY = 3.5
FAULTY_RUNS = 3
EDITS_PER_RUN = 4

# What a page that failed for good keeps as its reason, by the fault that hit its last try.
REASONS = {
    "5xx": lambda status, fetch_error, parse_error: status in (500, 502, 503, 504)
    and parse_error == f"HTTP {status}",
    "429": lambda status, fetch_error, parse_error: status == 429 and parse_error == "HTTP 429",
    "slow": lambda status, fetch_error, parse_error: bool(fetch_error)
    and "TimeoutError" in fetch_error,
    "reset": lambda status, fetch_error, parse_error: bool(fetch_error)
    and any(name in fetch_error for name in ("ResponseNeverReceived", "ConnectionLost",
                                              "ConnectionDone", "ResponseFailed")),
    "truncate": lambda status, fetch_error, parse_error: bool(fetch_error)
    and any(name in fetch_error for name in ("ResponseFailed", "DataLoss")),
}


def settled(site: NewsisSite, hits_before: int) -> bool:
    """Every request that reached the site has been answered (slow ones sleep past the crawl)."""
    with site._lock:
        return sum(site._hits.values()) - hits_before == len(site.requests)


def run_captures(db_url: str, crawl_run_id: int) -> list[Capture]:
    engine = make_engine(db_url)
    try:
        with make_session_factory(engine)() as session:
            return list(
                session.scalars(select(Capture).where(Capture.crawl_run_id == crawl_run_id))
            )
    finally:
        engine.dispose()


def last_run_id(db_url: str) -> int:
    engine = make_engine(db_url)
    try:
        with make_session_factory(engine)() as session:
            return session.scalar(select(CrawlRun.crawl_run_id).order_by(
                CrawlRun.crawl_run_id.desc()).limit(1))
    finally:
        engine.dispose()


@pytest.fixture(scope="module")
def soak(tmp_path_factory: pytest.TempPathFactory):
    """Three crawls with faults on (the site edits articles between them), then a clean one."""
    seed = choose_seed()
    print(f"fault soak seed {seed} (replay: NEWSARCHIVE_CRASH_SEED={seed})")
    rng = random.Random(seed)
    db_url = f"sqlite:///{tmp_path_factory.mktemp('soak') / 'archive.sqlite3'}"
    runs: list[dict] = []
    with NewsisSite(seed=seed % 1000 + 1, articles=50) as site:
        for number in range(FAULTY_RUNS + 1):
            faulty = number < FAULTY_RUNS
            if number:
                site.advance(20)
                archived = sorted(dump(db_url, full=False)["versions"])
                for article_id in rng.sample(archived, min(EDITS_PER_RUN, len(archived))):
                    what = "paragraph" if site.article(article_id).body else "headline"
                    site.edit_article(article_id, what)
            if faulty:
                # Besides the random faults, one article per kind fails on every try this run,
                # so each kind also ends as a failed capture that must keep its reason.
                doomed = rng.sample([a.article_id for a in site.live_articles()], len(FAULT_RATES))
                rules = [{"path": f"/view/{article_id}", "fault": kind, "times": None}
                         for article_id, kind in zip(doomed, FAULT_RATES, strict=True)]
                site.set_faults(
                    seed=rng.randrange(2**31), rates=FAULT_RATES, rules=rules,
                    slow_delay=SLOW_DELAY, retry_after=1,
                )
            else:
                site.clear_faults()
            with site._lock:
                site.requests.clear()
                site.faults_fired.clear()
                hits_before = sum(site._hits.values())
            states = {a.article_id: expected_content_hash(site, a.article_id)
                      for a in site.live_articles()}
            result = run(crawl_args(db_url, site, "--revisit", "all",
                                    "-s", f"DOWNLOAD_TIMEOUT={DOWNLOAD_TIMEOUT}"))
            wait_until(lambda before=hits_before: settled(site, before),
                       "every request to the site answered")
            with site._lock:
                requests, faults = list(site.requests), list(site.faults_fired)
            run_id = last_run_id(db_url)
            runs.append({
                "faulty": faulty, "result": result, "states": states, "requests": requests,
                "faults": faults, "captures": run_captures(db_url, run_id),
            })
        discoverable = feed_article_ids(site)
        final_states = {i: expected_content_hash(site, i) for i in discoverable}
    yield {"seed": seed, "db_url": db_url, "runs": runs, "discoverable": discoverable,
           "final_states": final_states}


def test_every_crawl_with_faults_finishes(soak) -> None:
    for number, one_run in enumerate(soak["runs"]):
        result = one_run["result"]
        assert result.returncode == 0, (soak["seed"], number, result.stdout, result.stderr[-2000:])
        assert "database is locked" not in result.stderr


def test_faults_of_every_kind_were_injected(soak) -> None:
    fired = Counter(kind for one_run in soak["runs"] for _, kind in one_run["faults"])
    print(f"faults fired by kind (seed {soak['seed']}): {dict(sorted(fired.items()))}")
    assert set(fired) == set(FAULT_RATES), (soak["seed"], fired)
    assert not any(one_run["faults"] for one_run in soak["runs"] if not one_run["faulty"])


def test_each_article_fetched_in_a_run_has_exactly_one_capture_of_it(soak) -> None:
    for one_run in soak["runs"]:
        requested = {path.removeprefix("/view/") for _, path, _ in one_run["requests"]
                     if path.startswith("/view/")}
        captured = Counter(c.article_id for c in one_run["captures"])
        assert set(captured) == requested, soak["seed"]
        assert set(captured.values()) == {1}, soak["seed"]


def test_a_page_fails_only_when_every_try_faulted_and_keeps_the_reason(soak) -> None:
    survived: Counter[str] = Counter()  # pages that came through despite faults, by fault kind
    failed: Counter[str] = Counter()  # pages kept as failed captures, by the reason they carry
    for one_run in soak["runs"]:
        arrivals = Counter(path for _, path, _ in one_run["requests"])
        not_modified = {path for _, path, status in one_run["requests"] if status == 304}
        faults_on: dict[str, Counter[str]] = {}
        for path, kind in one_run["faults"]:
            if kind == "truncate" and path in not_modified:
                # A 304 has no body to cut short: the site sends it whole, the fetch succeeds.
                continue
            faults_on.setdefault(path, Counter())[kind] += 1
        for capture in one_run["captures"]:
            path = f"/view/{capture.article_id}"
            kinds = faults_on.get(path, Counter())
            clean_answers = arrivals[path] - sum(kinds.values())
            context = (soak["seed"], capture.article_id, arrivals[path], dict(kinds),
                       capture.status, capture.fetch_error, capture.parse_error)
            if clean_answers > 0:
                assert capture.outcome != "failed", context
                survived.update(set(kinds))
            else:
                assert capture.outcome == "failed", context
                reasons = [kind for kind in kinds if REASONS[kind](
                    capture.status, capture.fetch_error, capture.parse_error)]
                assert reasons, context
                failed[reasons[0]] += 1
    print(f"pages that hit a fault and still came through, by fault: {dict(survived)}; "
          f"pages kept as failed captures, by reason: {dict(failed)} (seed {soak['seed']})")
    assert survived, soak["seed"]
    assert set(failed) == set(FAULT_RATES), (soak["seed"], failed)


def test_every_parsed_capture_holds_the_content_the_site_served(soak) -> None:
    for one_run in soak["runs"]:
        for capture in one_run["captures"]:
            if capture.content_hash is not None:
                assert capture.content_hash == one_run["states"][capture.article_id], (
                    soak["seed"], capture.article_id
                )


def test_after_the_clean_run_every_article_is_archived_at_its_current_content(soak) -> None:
    versions = dump(soak["db_url"], full=False)["versions"]
    assert set(versions) == soak["discoverable"], soak["seed"]
    for article_id, chain in versions.items():
        assert chain[-1][1] == soak["final_states"][article_id], (soak["seed"], article_id)


def test_versions_are_the_distinct_contents_seen_in_capture_order(soak) -> None:
    seen: dict[str, list[str]] = {}
    for one_run in soak["runs"]:
        for capture in sorted(one_run["captures"], key=lambda c: c.fetched_at):
            if capture.content_hash is not None:
                chain = seen.setdefault(capture.article_id, [])
                if not chain or chain[-1] != capture.content_hash:
                    chain.append(capture.content_hash)
    versions = dump(soak["db_url"], full=False)["versions"]
    edited = 0
    for article_id, chain in versions.items():
        assert [number for number, _ in chain] == list(range(1, len(chain) + 1))
        assert [content for _, content in chain] == seen[article_id], (soak["seed"], article_id)
        edited += len(chain) > 1
    assert edited, "some edits should have been archived as new versions"


def test_nothing_is_half_written_after_the_soak(soak) -> None:
    assert consistency_problems(soak["db_url"]) == [], soak["seed"]
