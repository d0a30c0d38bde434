"""One schedule and two workers archive both publishers of the local site, each in its lane."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections import Counter

import pytest

from crawler.localsite.server import NewsisSite
from storage.db import upgrade
from tests.support.crawl_support import CRAWL_TIMEOUT
from tests.support.scaleout_support import finish, needs_both, needs_redis, pg_rows

_VIEW_PATH = re.compile(r"^/view/([A-Z]{3,4}[\d_]+)$")


def _args(name: str, redis_url: str, db_url: str, prefix: str, site: NewsisSite) -> list[str]:
    """The command on every publisher's lane (the default), each from its own local site."""
    return [
        sys.executable, "-m", "crawler", name, "--redis", redis_url, "--db", db_url,
        "--key-prefix", prefix, "--base-url", f"newsis={site.base_url}",
        "--base-url", f"yonhap={site.yonhap.base_url}",
    ]


def _fetches(listener) -> Counter[str]:
    with listener._lock:
        logged = list(listener.requests)
    return Counter(match.group(1) for _, path, _ in logged if (match := _VIEW_PATH.match(path)))


@pytest.mark.parametrize("archive", ["sqlite", pytest.param("postgresql", marks=needs_both)])
@needs_redis
def test_one_schedule_and_two_workers_archive_both_publishers(
    redis_url, prefix, tmp_path, archive, request
) -> None:
    if archive == "sqlite":
        db_url = f"sqlite:///{tmp_path / 'archive.sqlite3'}"
        upgrade(db_url)
    else:
        db_url = request.getfixturevalue("pg_url")
    with NewsisSite(seed=81, articles=40, yonhap_articles=40) as site:
        plan = subprocess.run(_args("schedule", redis_url, db_url, prefix, site),
                              capture_output=True, text=True, timeout=CRAWL_TIMEOUT, check=False)
        assert plan.returncode == 0, plan.stderr
        workers = [
            subprocess.Popen(
                [*_args("worker", redis_url, db_url, prefix, site), "--fast", "--idle-exit", "2",
                 "-s", f"NEWSARCHIVE_WORKER_ID=w{n}", "-s", "NEWSARCHIVE_WORKER_TTL=3"],
                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                env={**os.environ, "PYTHONWARNINGS": "always"},
            )
            for n in range(2)
        ]
        results = [finish(worker) for worker in workers]
        fetched = {"newsis": _fetches(site), "yonhap": _fetches(site.yonhap)}
        live = {name: site.live_articles(name) for name in fetched}
        expected = {a.article_id: site.expected_record(a.article_id)
                    for articles in live.values() for a in articles}

    assert plan.stdout.splitlines() == [
        "newsis: round 1 queued: 16 feeds, 0 list pages, 0 revisits (0 requests carried over,"
        " 0 recovered from dead workers, 0 bad queue entries dropped)",
        "yonhap: round 2 queued: 15 feeds, 0 list pages, 0 revisits (0 requests carried over,"
        " 0 recovered from dead workers, 0 bad queue entries dropped)",
    ]
    for code, out, err in results:
        assert code == 0, err[-3000:]
        assert [line.split(":")[0] for line in out.splitlines()] == ["newsis", "yonhap"], out
        assert "Traceback" not in err, err[-3000:]
    # Every article of each publisher fetched once, from its own site, by one of the workers.
    for name, articles in live.items():
        assert len(articles) > 10
        assert fetched[name] == {a.article_id: 1 for a in articles}, name
    # pg_rows reads any archive URL, SQLite's too.
    rows = pg_rows(db_url, "SELECT a.publisher, a.article_id, v.version_no, v.headline"
                        " FROM articles a JOIN versions v USING (article_id) ORDER BY 2")
    assert {(row[0], row[1]) for row in rows} == {
        (name, a.article_id) for name, articles in live.items() for a in articles
    }
    assert {row[2] for row in rows} == {1}
    assert all(headline == expected[article_id]["headline"]
               for _, article_id, _, headline in rows)
    runs = pg_rows(db_url, "SELECT crawl_run_id, kind, note FROM crawl_runs ORDER BY 1")
    assert runs == [(1, "round", "publisher newsis"), (2, "round", "publisher yonhap")]
    captures = pg_rows(db_url, "SELECT publisher, crawl_run_id, count(*) FROM captures"
                             " GROUP BY 1, 2 ORDER BY 1")
    assert captures == [("newsis", 1, len(live["newsis"])), ("yonhap", 2, len(live["yonhap"]))]
