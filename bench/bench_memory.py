"""Benchmark: peak RSS of a crawl of N new articles into an archive holding K vs 10K articles.

Run: `.venv/bin/python -m bench.bench_memory [--new 1000] [--held 1000] [--write]`. The archive is
pre-filled fast: a few site pages go through the real ingest, then their rows (article, version,
capture) are cloned under fresh ids with bulk inserts. The site runs in its own process;
the crawl's peak RSS is getrusage(RUSAGE_CHILDREN).ru_maxrss read by a wrapper process whose
only child is the crawl. --write replaces the "### Memory" part of "## Crawl (issue 4)".
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import insert, select

from bench.bench_crawl import REPO, SECTION, SINCE
from bench.common import local_site, machine, write_part
from crawler.archiving import ingest
from crawler.publishers.newsis.urls import canonical_article_url
from storage.db import make_session_factory, open_archive
from storage.fetched_page import FetchedPage
from storage.models import Article, Capture, Version
from storage.runs import finish_run, start_run

GOAL = 1.2
SAMPLE_PAGES = 40
SITE_SEED = 5
# Ids of the pre-filled articles: registered 2009-01-01, before anything the local site makes.
HELD_ID = "NISX20090101_{:010d}"


def ingest_samples(session, crawled_ids: set[str]) -> list[tuple[Article, Version, Capture]]:
    """The local site's sample pages ingested a month ago (none of `crawled_ids`); each
    article with its version and its capture."""
    from crawler.localsite.server import NewsisSite

    fetched_at = datetime.now(UTC) - timedelta(days=30)
    site = NewsisSite(seed=99, articles=SAMPLE_PAGES)
    run_id = start_run(session)
    for article in site.live_articles():
        if article.article_id in crawled_ids:
            continue
        page = FetchedPage(
            url=canonical_article_url(article.article_id), status=200,
            headers={"Content-Type": "text/html; charset=UTF-8"},
            body=site.page(article.article_id), fetched_at=fetched_at,
            article_id=article.article_id,
        )
        ingest(session, page, crawl_run_id=run_id)
    finish_run(session, run_id, outcome="finished")
    return [
        tuple(found)
        for found in session.execute(
            select(Article, Version, Capture)
            .join(Version, Version.article_id == Article.article_id)
            .join(Capture, Capture.capture_id == Version.first_capture_id)
        )
    ]


def prefill(db_path: Path, held: int, crawled_ids: set[str]) -> None:
    """An archive of `held` articles, each with one version and one capture; none
    of them among `crawled_ids` (two seeds of the site can share an id)."""
    engine = open_archive(f"sqlite:///{db_path}", for_writing=True)
    sessions = make_session_factory(engine)
    with sessions() as session:
        samples = ingest_samples(session, crawled_ids)
        # Clones share their sample's stored body (as captures of an identical page would): the
        # bodies are content-addressed and delta-chained, so made-up body rows would not decode.
        next_capture = max(c.capture_id for _, _, c in samples) + 1
        columns = {model: [c.key for c in model.__table__.columns]
                   for model in (Article, Version, Capture)}

        def row(obj, **changes):
            return {**{key: getattr(obj, key) for key in columns[type(obj)]}, **changes}

        for start in range(0, held - len(samples), 1000):
            captures, articles, versions = [], [], []
            for number in range(start, min(start + 1000, held - len(samples))):
                article, version, capture = samples[number % len(samples)]
                article_id = HELD_ID.format(number + 1)
                capture_id = next_capture + number
                captures.append(row(capture, capture_id=capture_id, article_id=article_id,
                                    url=canonical_article_url(article_id)))
                articles.append(row(article, article_id=article_id, next_check_at=None,
                                    url=canonical_article_url(article_id)))
                versions.append(row(version, version_id=None, article_id=article_id,
                                    first_capture_id=capture_id, last_capture_id=capture_id))
            for model, rows in ((Capture, captures), (Article, articles)):
                session.execute(insert(model), rows)
            for version in versions:
                version.pop("version_id")
            session.execute(insert(Version), versions)
            session.commit()
        # Old articles are past their revisit window: the crawl fetches only the new ones.
        session.execute(Article.__table__.update().values(next_check_at=None))
        session.commit()
    engine.dispose()


def measure(db_path: str, base_url: str) -> None:
    """Wrapper mode: run the crawl as this process's only child, print its peak RSS (KB)."""
    result = subprocess.run(
        [sys.executable, "-m", "crawler", "crawl", "--db", f"sqlite:///{db_path}",
         "--base-url", base_url, "--fast", "--since", SINCE, "--json"],
        cwd=REPO, capture_output=True, text=True, check=False,
    )
    if result.returncode != 0:
        raise SystemExit(f"the crawl failed: {result.stderr.strip()[-500:]}")
    peak_kb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    print(json.dumps({"peak_kb": peak_kb, "summary": json.loads(result.stdout)}))


def crawl_peak(db_path: Path, base_url: str) -> dict:
    result = subprocess.run(
        [sys.executable, __file__, "--measure", str(db_path), base_url],
        cwd=REPO, capture_output=True, text=True, check=False,
    )
    if result.returncode != 0:
        raise SystemExit(result.stderr.strip().splitlines()[-1])
    return json.loads(result.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--new", type=int, default=1000, help="N new articles on the site")
    parser.add_argument("--held", type=int, default=1000, help="K articles already archived")
    parser.add_argument("--write", action="store_true", help="update bench/RESULTS.md")
    parser.add_argument("--measure", nargs=2, metavar=("DB", "BASE_URL"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure:
        measure(*args.measure)
        return
    from crawler.localsite.server import NewsisSite

    crawl_site = NewsisSite(seed=SITE_SEED, articles=args.new)
    crawled_ids = {article.article_id for article in crawl_site.live_articles()}
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        for held in (args.held, args.held * 10):
            db_path = Path(tmp) / f"archive-{held}.sqlite3"
            prefill(db_path, held, crawled_ids)
            # A fresh site per crawl: both crawls see the same N new articles.
            with local_site(args.new, seed=SITE_SEED) as (base_url, _):
                results[held] = crawl_peak(db_path, base_url)
            new = results[held]["summary"]["new_article"]
            print(f"K={held}: {new} new articles, peak RSS "
                  f"{results[held]['peak_kb'] / 1024:.0f} MB", file=sys.stderr)
    small, large = results[args.held], results[args.held * 10]
    ratio = large["peak_kb"] / small["peak_kb"]
    verdict = "met" if ratio <= GOAL else "MISSED"
    report = "\n".join([
        "### Memory (bench/bench_memory.py)",
        "",
        f"Machine: {machine()}. Run: {datetime.now().astimezone():%Y-%m-%d %H:%M %Z}.",
        f"A crawl of the same {args.new} new articles (local site in its own process, politeness"
        " off) into an archive already holding K articles (one version and one capture"
        " each, bodies shared with 40 really ingested pages); peak RSS of the crawl process"
        " (getrusage RUSAGE_CHILDREN ru_maxrss).",
        "",
        "| archive holds | new articles crawled | peak RSS of the crawl |",
        "|---|---|---|",
        f"| K = {args.held:,} | {small['summary']['new_article']} |"
        f" {small['peak_kb'] / 1024:.0f} MB |",
        f"| 10K = {args.held * 10:,} | {large['summary']['new_article']} |"
        f" {large['peak_kb'] / 1024:.0f} MB |",
        "",
        f"- 10K / K peak RSS: **{ratio:.2f}x** (goal: within {GOAL}x: {verdict})",
        "",
    ])
    print(report)
    if args.write:
        write_part(SECTION, report)


if __name__ == "__main__":
    main()
