"""Benchmark: the requests of one plain crawl of a 10,000-article archive, most of it old and
due, against the bound the revisit budget sets.

Run: `.venv/bin/python -m bench.bench_revisit_budget [--held 10000] [--write]`. The local
site (its own process, on the real clock, a tenth of its articles 8 to 120 days old) and an
in-process copy of it (same seed, same now) agree on every article. The archive holds all but
the site's newest few: a few dozen pages go through the real ingest, the rest are their rows
cloned under the site's ids with bulk inserts, each checked halfway between its last change
and now, its next check by the schedule (storage/versioning.py), its ETag the site's. Then the
site edits a few old archived articles (their <lastmod> moves) and ONE plain `newsarchive
crawl` runs; the site's request log is counted. --write replaces the "## Revisit budget
(issue 18)" section of bench/RESULTS.md.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import func, insert, select, update

from bench.common import REPO, local_site, machine, write_section
from crawler.archiving import ingest
from crawler.localsite.feeds import http_date
from crawler.localsite.model import KST
from crawler.localsite.server import FEEDS, NewsisSite
from crawler.publishers.newsis.discovery import MAX_CHILD_SITEMAPS
from crawler.spiders.newsis import DEFAULT_REVISIT_BUDGET
from storage.db import make_session_factory, open_archive
from storage.fetched_page import FetchedPage
from storage.models import Article, Capture, CrawlRun, Version
from storage.runs import finish_run, start_run
from storage.versioning import next_check_at

SEED = 3
SAMPLES = 40
NEW_ON_SITE = 20  # the site's newest articles, not archived: new to the crawl
EDITED_OLD = 10  # old archived articles the site edits before the crawl
# robots.txt is read twice a run: by Scrapy's robots middleware, and by the spider for its
# Sitemap lines (crawler/spiders/sitemaps.py).
ROBOTS_READS = 2
# The sitemap index, at most MAX_CHILD_SITEMAPS of its children, the Google News sitemap.
SITEMAP_READS = 1 + MAX_CHILD_SITEMAPS + 1
SECTION = "## Revisit budget (issue 18)"


def checked_at(article, now: datetime) -> datetime:
    """When the archive last looked: halfway between the article's last change and now."""
    return (article.last_modified + (now - article.last_modified) / 2).astimezone(UTC)


def page_of(site: NewsisSite, article, now: datetime) -> FetchedPage:
    headers = {
        "Content-Type": "text/html; charset=UTF-8",
        "ETag": f'"{article.article_id[-10:]}-{article.version}"',
        "Last-Modified": http_date(article.last_modified),
    }
    return FetchedPage(
        url=article.url, status=200, headers=headers, body=site.page(article.article_id),
        fetched_at=checked_at(article, now), article_id=article.article_id,
    )


def prefill(db_path: Path, site: NewsisSite, archived: list) -> None:
    """The archive: SAMPLES real ingests, the other articles their rows cloned (one version,
    one capture each, the sample's body shared: bodies are content-addressed)."""
    now = site.now
    engine = open_archive(f"sqlite:///{db_path}", for_writing=True)
    sessions = make_session_factory(engine)
    with sessions() as session:
        run_id = start_run(session)
        step = len(archived) // SAMPLES
        for article in archived[::step][:SAMPLES]:
            ingest(session, page_of(site, article, now), crawl_run_id=run_id)
        # The previous crawl: child sitemaps whose <lastmod> moved since its start are read.
        # It started a minute before the site's now: the site's clock starts at `now` in its
        # process too, seconds behind the wall clock by the time the prefill is done.
        finish_run(session, run_id, outcome="finished")
        session.execute(
            update(CrawlRun).where(CrawlRun.crawl_run_id == run_id)
            .values(started_at=(now - timedelta(minutes=1)).astimezone(UTC))
        )
        samples = list(session.execute(
            select(Article, Version, Capture)
            .join(Version, Version.article_id == Article.article_id)
            .join(Capture, Capture.capture_id == Version.first_capture_id)
        ))
        have = {a.article_id for a, _, _ in samples}
        rest = [a for a in archived if a.article_id not in have]
        next_capture = session.scalar(select(func.max(Capture.capture_id))) + 1
        for start in range(0, len(rest), 1000):
            rows = clone_rows(samples, rest[start : start + 1000], next_capture + start, now)
            for model in (Capture, Article, Version):
                session.execute(insert(model), rows[model])
            session.commit()
    engine.dispose()


def clone_rows(samples: list, articles: list, first_capture: int, now: datetime) -> dict:
    """Rows of Capture, Article and Version for `articles`, cloned from the samples."""
    columns = {m: [c.key for c in m.__table__.columns] for m in (Article, Version, Capture)}

    def row(obj, **changes):
        return {**{key: getattr(obj, key) for key in columns[type(obj)]}, **changes}

    rows: dict = {Capture: [], Article: [], Version: []}
    for number, site_article in enumerate(articles):
        article, version, capture = samples[number % len(samples)]
        article_id, checked = site_article.article_id, checked_at(site_article, now)
        published = site_article.published_at.astimezone(UTC)
        capture_id = first_capture + number
        etag = f'"{article_id[-10:]}-{site_article.version}"'
        last_modified = http_date(site_article.last_modified)
        rows[Capture].append(row(
            capture, capture_id=capture_id, article_id=article_id, url=site_article.url,
            fetched_at=checked, etag=etag, last_modified=last_modified,
        ))
        rows[Article].append(row(
            article, article_id=article_id, url=site_article.url, published_at=published,
            first_seen_at=checked, last_checked_at=checked, last_changed_at=checked,
            modified_at=site_article.modified_at, etag=etag, last_modified=last_modified,
            next_check_at=next_check_at(published, checked),
        ))
        version_row = row(
            version, article_id=article_id, published_at=published, first_seen_at=checked,
            last_seen_at=checked, first_capture_id=capture_id, last_capture_id=capture_id,
        )
        version_row.pop("version_id")
        rows[Version].append(version_row)
    return rows


def control(base_url: str, action: str, payload: dict | None = None) -> dict:
    data = None if payload is None else json.dumps(payload).encode()
    request = urllib.request.Request(
        f"{base_url}/_control/{action}", data=data, method="GET" if data is None else "POST",
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=30) as answer:
        return json.loads(answer.read())


def kind_of(path: str) -> str:
    if path == "/robots.txt":
        return "robots.txt"
    if path.startswith("/RSS/"):
        return "feeds"
    if path.startswith("/sitemap") or path == "/newsis_news_google.xml":
        return "sitemaps"
    return "articles" if path.startswith("/view/") else "other"


def due_count(db_path: Path) -> int:
    engine = open_archive(f"sqlite:///{db_path}", for_writing=False)
    try:
        with make_session_factory(engine)() as session:
            return session.scalar(
                select(func.count()).select_from(Article)
                .where(Article.next_check_at <= datetime.now(UTC))
            )
    finally:
        engine.dispose()


def crawl(db_path: Path, base_url: str) -> tuple[dict, float]:
    started = time.monotonic()
    result = subprocess.run(
        [sys.executable, "-m", "crawler", "crawl", "--db", f"sqlite:///{db_path}",
         "--base-url", base_url, "--fast", "--json"],
        cwd=REPO, capture_output=True, text=True, check=False,
    )
    if result.returncode != 0:
        raise SystemExit(f"the crawl failed: {result.stderr.strip()[-500:]}")
    return json.loads(result.stdout), time.monotonic() - started


def spread_over_months(articles: list, count: int) -> list[str]:
    """`count` ids taken from each month of publication in turn: edits in several child
    sitemaps."""
    seen: Counter[str] = Counter()
    ranked = []
    for article in articles:
        month = f"{article.published_at:%Y-%m}"
        ranked.append((seen[month], month, article.article_id))
        seen[month] += 1
    return [article_id for _, _, article_id in sorted(ranked)[:count]]


def measure(held: int) -> dict:
    """Prefill, edit, crawl once; the figures of the report."""
    now = datetime.now(KST).replace(microsecond=0)
    articles = held + NEW_ON_SITE
    aged = articles // 10
    site = NewsisSite(seed=SEED, articles=articles, now=now, clock="real", aged=aged)
    archived = site.live_articles()[NEW_ON_SITE:]
    old = [
        a for a in archived
        if now - a.published_at > timedelta(days=8) and a.design == "current" and a.body
    ]
    edited = spread_over_months(old, EDITED_OLD)
    extra = ("--now", now.isoformat(), "--clock", "real", "--aged", str(aged))
    with tempfile.TemporaryDirectory() as tmp:
        db_path = Path(tmp) / "archive.sqlite3"
        started = time.monotonic()
        prefill(db_path, site, archived)
        prefill_seconds = time.monotonic() - started
        due = due_count(db_path)
        with local_site(articles, seed=SEED, extra=extra) as (base_url, _):
            for article_id in edited:
                control(base_url, "edit", {"article_id": article_id, "what": "paragraph"})
            control(base_url, "clear_requests", {})
            summary, seconds = crawl(db_path, base_url)
            requests = control(base_url, "requests")["requests"]
    return {
        "archived": len(archived),
        "old": sum(now - a.published_at > timedelta(days=8) for a in archived),
        "due": due, "edited": len(edited), "summary": summary, "seconds": seconds,
        "prefill_seconds": prefill_seconds,
        "by_kind": Counter(kind_of(path) for _, path, _ in requests),
        "requests": len(requests),
    }


def report(figures: dict) -> str:
    summary, by_kind = figures["summary"], figures["by_kind"]
    new = summary["new_article"]
    bound = (len(FEEDS) + ROBOTS_READS + SITEMAP_READS + DEFAULT_REVISIT_BUDGET
             + figures["edited"] + new)
    measured = figures["requests"]
    return "\n".join([
        SECTION,
        "",
        f"Machine: {machine()}. Run: {datetime.now().astimezone():%Y-%m-%d %H:%M %Z}.",
        "Command: `.venv/bin/python -m bench.bench_revisit_budget --write`.",
        "",
        f"One plain `newsarchive crawl --fast` (default budget {DEFAULT_REVISIT_BUDGET}) of an"
        f" archive of {figures['archived']:,} articles ({figures['old']:,} of them 8+ days old;"
        f" {figures['due']:,} due by the schedule) against the local site on the real clock,"
        f" which has {NEW_ON_SITE} newer articles and has edited {figures['edited']} old"
        " archived ones (their sitemap <lastmod> moved). Requests counted in the site's log.",
        "",
        "| requests | bound | measured |",
        "|---|---|---|",
        f"| RSS feeds | {len(FEEDS)} | {by_kind['feeds']} |",
        f"| robots.txt (robots middleware, sitemap lines) | {ROBOTS_READS} |"
        f" {by_kind['robots.txt']} |",
        f"| sitemaps (index, <= {MAX_CHILD_SITEMAPS} children, Google News) | {SITEMAP_READS} |"
        f" {by_kind['sitemaps']} |",
        f"| article pages: budget + lastmod-changed + new | {DEFAULT_REVISIT_BUDGET} +"
        f" {figures['edited']} + {new} | {by_kind['articles']} |",
        f"| other | 0 | {by_kind['other']} |",
        f"| **total** | **{bound}** | **{measured}** |",
        "",
        f"- measured / bound: **{measured / bound:.3f}**; measured / archive size:"
        f" {measured / figures['archived']:.3f}",
        f"- the crawl: {summary['new_article']} new articles, {summary['new_version']} new"
        f" versions (the edited old ones caught), {summary['not_modified']} not modified (304),"
        f" {summary['unchanged']} unchanged, {summary['failed']} failed, in"
        f" {figures['seconds']:.1f} s (prefill {figures['prefill_seconds']:.1f} s)",
        "",
    ])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--held", type=int, default=10_000, help="articles in the archive")
    parser.add_argument("--write", action="store_true", help="update bench/RESULTS.md")
    args = parser.parse_args()
    text = report(measure(args.held))
    print(text)
    if args.write:
        write_section(text)


if __name__ == "__main__":
    main()
