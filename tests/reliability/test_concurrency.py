"""Concurrency: overlapping crawls, simultaneous imports, a crawl beside reparse and queries."""

from __future__ import annotations

import random
from pathlib import Path

from click.testing import CliRunner

from crawler.cli import cli
from crawler.localsite.server import NewsisSite
from crawler.runlock import LOCKED_EXIT_CODE
from storage.db import upgrade
from tests.support.crawl_support import crawl_args
from tests.support.processes import finish, newsarchive, run, start
from tests.support.reliability_support import (
    Reader,
    choose_seed,
    consistency_problems,
    dump,
    expected_content_hash,
    import_batches,
)


def test_two_crawls_started_together_one_runs_the_other_exits_with_the_lock_code(db_url) -> None:
    upgrade(db_url)
    with NewsisSite(seed=61, articles=20) as site:
        # Slow answers keep the winner holding the lock while the loser starts up.
        site.set_faults(latency=0.2)
        crawls = [start(crawl_args(db_url, site)) for _ in range(2)]
        outcomes = [finish(crawl) for crawl in crawls]
        live = {a.article_id for a in site.live_articles()}
    codes = sorted(code for code, _, _ in outcomes)
    assert codes == [0, LOCKED_EXIT_CODE], outcomes
    [(_, _, refused)] = [outcome for outcome in outcomes if outcome[0] == LOCKED_EXIT_CODE]
    assert "another crawl" in refused
    reader = Reader(db_url)
    try:
        assert reader.count("crawl_runs") == 1
        assert reader.count("captures") == len(live)
        assert reader.count("versions") == len(live)
    finally:
        reader.close()
    assert set(dump(db_url, full=False)["versions"]) == live
    assert consistency_problems(db_url) == []


def test_two_imports_of_one_warc_at_once_store_each_capture_once(
    db_url: str, tmp_path: Path
) -> None:
    upgrade(db_url)
    [warc] = import_batches(62, tmp_path, 1, 80)
    reference_url = f"sqlite:///{tmp_path / 'reference.sqlite3'}"
    reference = CliRunner().invoke(cli, ["import", str(warc), "--db", reference_url])
    assert reference.exit_code == 0, reference.output
    imports = [start(newsarchive("import", str(warc), "--db", db_url)) for _ in range(2)]
    outcomes = [finish(one) for one in imports]
    assert [code for code, _, _ in outcomes] == [0, 0], outcomes
    assert all("database is locked" not in err for _, _, err in outcomes)
    assert consistency_problems(db_url) == []
    assert dump(db_url, full=True) == dump(reference_url, full=True)


def test_crawl_beside_reparse_and_queries_loses_no_update(db_url) -> None:
    upgrade(db_url)
    seed = choose_seed()
    print(f"concurrency seed {seed} (replay: NEWSARCHIVE_CRASH_SEED={seed})")
    rng = random.Random(seed)
    with NewsisSite(seed=63, articles=30) as site:
        first = run(crawl_args(db_url, site))
        assert first.returncode == 0, first.stderr
        live = [a.article_id for a in site.live_articles()]
        before = {i: expected_content_hash(site, i) for i in live}
        edited = rng.sample(live, 12)
        for article_id in edited:
            site.edit_article(article_id, "headline")
        after = {i: expected_content_hash(site, i) for i in live}
        # Slow answers stretch the crawl over several reparse and query rounds.
        site.set_faults(latency=0.1)
        crawl = start(crawl_args(db_url, site, "--revisit", "all",
                                 "-s", "CONCURRENT_REQUESTS_PER_DOMAIN=2"))
        others: list[tuple[list[str], tuple[int, str, str]]] = []
        rounds = 0
        while crawl.poll() is None or rounds < 2:
            rounds += 1
            probe = rng.choice(live)
            for command in (
                newsarchive("reparse", "--workers", "1", "--db", db_url),
                newsarchive("stats", "--db", db_url),
                newsarchive("history", probe, "--db", db_url),
                newsarchive("search", "뉴시스", "--db", db_url),
            ):
                others.append((command, finish(start(command))))
        crawl_outcome = finish(crawl)
    print(f"{rounds} rounds of reparse + stats + history + search beside the crawl")
    assert crawl_outcome[0] == 0, crawl_outcome
    assert "database is locked" not in crawl_outcome[2]
    for command, (code, _, err) in others:
        assert code == 0, (command, err[-2000:])
        assert "database is locked" not in err, command
    chains = {
        article_id: [content for _, content in chain]
        for article_id, chain in dump(db_url, full=False)["versions"].items()
    }
    expected = {
        i: [before[i], after[i]] if before[i] != after[i] else [before[i]] for i in live
    }
    assert chains == expected, seed
    assert consistency_problems(db_url) == []
    # The stored versions are exactly what the captures make: a last reparse has nothing to do.
    final = run(newsarchive("reparse", "--workers", "1", "--db", db_url))
    assert final.returncode == 0, final.stderr
    assert ": 0 rebuilt," in final.stdout, final.stdout
