"""Benchmark: the Yonhap parser against a bare lxml parse of the same pages, in one run.

Run: `.venv/bin/python -m bench.bench_parser_yonhap [--write]`; --write replaces the
"## Yonhap parser (issue 19)" section of bench/RESULTS.md with the figures and the machine.
"""

from __future__ import annotations

import json
import re
import sys
from datetime import datetime
from pathlib import Path

import lxml.html

from bench.bench_parser import rate
from bench.common import machine, write_section
from crawler.publishers.yonhap.parser import parser_for

REPO = Path(__file__).resolve().parent.parent
EXAMPLES = REPO / "tests" / "fixtures" / "yonhap" / "examples"
HEADING = "## Yonhap parser (issue 19)"
# The examples are reconstructions without a real page's full chrome (menus, ranking boxes, ad
# slots, scripts): they are padded with copies of their own "most viewed" box to this size, as
# the Newsis examples are in bench/bench_parser.py.
MIN_PAGE = 100 * 1024
GOAL = 2.0
_MOST_VIEWED = re.compile(r'<section class="box-type311 most-view01">.*?</section>', re.S)


def pages(padded: bool) -> list[tuple[bytes, str]]:
    """The example pages that give records (bytes, URL), padded with side chrome or as given."""
    found = []
    for meta_path in sorted(EXAMPLES.glob("*.meta.json")):
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
        if meta["expect"] != "record":
            continue
        text = meta_path.with_name(meta_path.name.replace(".meta.json", ".html")).read_text(
            encoding="utf-8"
        )
        if padded:
            text = _padded(text)
        found.append((text.encode("utf-8"), meta["url"]))
    assert not padded or all(len(body) >= MIN_PAGE for body, _ in found)
    return found


def _padded(text: str) -> str:
    """The page with copies of its "most viewed" box (and an ad slot each) at the end of its
    side column, the last `</aside>` (the first may be an ad slot inside the article)."""
    box = _MOST_VIEWED.search(text).group(0)
    slot = "<script>googletag.cmd.push(function(){{googletag.display('ad-{n}');}});</script>"
    copies = []
    size = len(text.encode())
    while size < MIN_PAGE:
        copies.append(box.replace("most-view01", f"most-view{len(copies):02d}")
                      + slot.format(n=len(copies)))
        size += len(copies[-1].encode())
    head, end, tail = text.rpartition("</aside>")
    return head + "".join(copies) + end + tail


def measure(corpus: list[tuple[bytes, str]]) -> tuple[float, float]:
    """(bare lxml pages/s, Yonhap parser pages/s), the best of several passes each, interleaved."""
    parser = parser_for(None)
    lxml_rate = rate(lambda item: lxml.html.fromstring(item[0]), corpus, 9)
    parser_rate = rate(lambda item: parser.parse(*item), corpus, 9)
    return lxml_rate, parser_rate


def main() -> None:
    # Each corpus is repeated so one pass lasts long enough for the clock: 3 pages are few.
    padded = pages(padded=True) * 20
    plain = pages(padded=False) * 60
    size = sum(len(body) for body, _ in padded) // len(padded) // 1024
    plain_size = sum(len(body) for body, _ in plain) // len(plain) // 1024
    lxml_rate, parser_rate = measure(padded)
    plain_lxml, plain_parser = measure(plain)
    ratio = lxml_rate / parser_rate
    lines = [
        HEADING,
        "",
        f"Machine: {machine()}. Run: {datetime.now().astimezone():%Y-%m-%d %H:%M %Z}.",
        f"Corpus: the 3 example pages that give records (Y3, Y2, photo item), padded with copies"
        f" of their own side boxes to a mean {size} KB (`bench/bench_parser_yonhap.py`); best of"
        " 9 passes each.",
        "",
        "| what | pages/s (padded) | pages/s (as given, "
        f"{plain_size} KB) |",
        "|---|---|---|",
        f"| bare `lxml.html.fromstring` | {lxml_rate:,.0f} | {plain_lxml:,.0f} |",
        f"| Yonhap `parser_for(None).parse` | {parser_rate:,.0f} | {plain_parser:,.0f} |",
        "",
        f"- parser / lxml cost ratio: **{ratio:.2f}x** (goal: at most {GOAL:.0f}x); on the pages"
        f" as given {plain_lxml / plain_parser:.2f}x",
        "",
    ]
    report = "\n".join(lines)
    print(report)
    if "--write" in sys.argv:
        write_section(report)


if __name__ == "__main__":
    main()
