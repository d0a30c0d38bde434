"""Benchmark: the Newsis parser against a bare lxml parse and trafilatura, on the same pages.

Run: `.venv/bin/python -m bench.bench_parser [--write]`; --write replaces the "## Parser (issue 2)"
section of bench/RESULTS.md with the figures and the machine.
"""

from __future__ import annotations

import gzip
import json
import sys
import time
from datetime import datetime
from pathlib import Path

import lxml.html

from bench.common import machine, write_section
from crawler.publishers import parse_article
from tests.fixtures.build_newsis_fixtures import side_chrome

REPO = Path(__file__).resolve().parent.parent
FIXTURES = REPO / "tests" / "fixtures" / "newsis"
EXAMPLES = FIXTURES / "examples"
HEADING = "## Parser (issue 2)"
MIN_PAGE = 100 * 1024


def pages() -> list[tuple[bytes, str, datetime | None]]:
    """Fixture pages (already >= 100 KB of chrome) and the examples padded with the same chrome."""
    found = []
    for page in sorted(FIXTURES.glob("*.html.gz")):
        meta = json.loads(page.with_name(page.name.replace(".html.gz", ".meta.json")).read_text())
        body = gzip.decompress(page.read_bytes())
        found.append((body, meta["url"], datetime.fromisoformat(meta["fetched_at"])))
    for page in sorted(EXAMPLES.glob("*.html")):
        meta_path = page.with_name(page.name.replace(".html", ".meta.json"))
        if not meta_path.exists() or json.loads(meta_path.read_text())["expect"] != "record":
            continue
        text = page.read_text(encoding="utf-8")
        text = text.replace("</body>", side_chrome(MIN_PAGE - len(text.encode())) + "</body>")
        found.append((text.encode("utf-8"), json.loads(meta_path.read_text())["url"], None))
    assert all(len(body) >= MIN_PAGE for body, _, _ in found)
    return found


def rate(work, corpus, rounds: int) -> float:
    """Pages per second, the best of `rounds` passes over the corpus."""
    best = float("inf")
    for _ in range(rounds):
        start = time.perf_counter()
        for item in corpus:
            work(item)
        best = min(best, time.perf_counter() - start)
    return len(corpus) / best



def main() -> None:
    from trafilatura import bare_extraction

    corpus = pages()
    size = sum(len(body) for body, _, _ in corpus) // len(corpus) // 1024
    lxml_rate = rate(lambda item: lxml.html.fromstring(item[0]), corpus, 7)
    parser_rate = rate(lambda item: parse_article(*item), corpus, 7)
    trafilatura_rate = rate(lambda item: bare_extraction(item[0], url=item[1]), corpus, 2)
    cost_ratio = lxml_rate / parser_rate
    speed_ratio = parser_rate / trafilatura_rate
    lines = [
        HEADING,
        "",
        f"Machine: {machine()}. Run: {datetime.now().astimezone():%Y-%m-%d %H:%M %Z}.",
        f"Corpus: {len(corpus)} pages (fixtures + padded examples), mean {size} KB; one pass each,"
        " best of several passes.",
        "",
        "| what | pages/s |",
        "|---|---|",
        f"| bare `lxml.html.fromstring` | {lxml_rate:,.0f} |",
        f"| `crawler.publishers.parse_article` | {parser_rate:,.0f} |",
        f"| trafilatura `bare_extraction` | {trafilatura_rate:,.0f} |",
        "",
        f"- parser / lxml cost ratio: **{cost_ratio:.2f}x** (goal: at most 3x)",
        f"- trafilatura / parser time ratio: parser is **{speed_ratio:.1f}x** faster"
        " (goal: at least 10x)",
        "",
    ]
    report = "\n".join(lines)
    print(report)
    if "--write" in sys.argv:
        write_section(report)



if __name__ == "__main__":
    main()
