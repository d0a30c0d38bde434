"""Benchmark: this checkout's parser against another checkout's, on the same fixture pages.

Run: `.venv/bin/python -m bench.compare_parser OTHER_CHECKOUT [--runs 4]`, e.g. a worktree of the
last release (`git worktree add /tmp/before <commit>`). Each run parses every page of
tests/fixtures/newsis 25 times in a fresh process per checkout, alternating, and keeps the best
pass by process CPU time; a bare lxml parse is timed in the same process as the peer. Prints
each checkout's best ms a page and the ratio, this checkout against the other.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
FIXTURES = REPO / "tests" / "fixtures" / "newsis"

# Run in a child process whose sys.path starts with the checkout measured.
_MEASURE = """
import gzip, json, sys, time
from datetime import datetime
from pathlib import Path
sys.path.insert(0, sys.argv[1])
import lxml.html
try:
    from crawler.publishers import parse_article
except ImportError:  # a checkout from before crawler/publishers/ (62d2df0 and older)
    from crawler.parsers import parse_article

pages = []
for page in sorted(Path(sys.argv[2]).glob("*.html.gz")):
    meta = json.loads(page.with_name(page.name.replace(".html.gz", ".meta.json")).read_text())
    pages.append((gzip.decompress(page.read_bytes()), meta["url"],
                  datetime.fromisoformat(meta["fetched_at"])))

def parse(body, url, fetched_at):
    try:
        parse_article(body, url, fetched_at=fetched_at)
    except Exception:
        pass

def best_ms(function):
    best = float("inf")
    for _ in range(25):
        started = time.process_time()
        for page in pages:
            function(*page)
        best = min(best, time.process_time() - started)
    return best / len(pages) * 1000

print(json.dumps({"parser": best_ms(parse),
                  "lxml": best_ms(lambda body, *_: lxml.html.fromstring(body))}))
"""


def measure(checkout: Path) -> dict[str, float]:
    done = subprocess.run(
        [sys.executable, "-c", _MEASURE, str(checkout), str(FIXTURES)],
        capture_output=True, text=True, check=True,
    )
    return json.loads(done.stdout)


def main() -> None:
    options = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    options.add_argument("other", type=Path, help="the other checkout (a git worktree)")
    options.add_argument("--runs", type=int, default=4)
    args = options.parse_args()
    best: dict[str, dict[str, float]] = {}
    for _ in range(args.runs):
        for name, checkout in (("other", args.other.resolve()), ("this", REPO)):
            figures = measure(checkout)
            for key, value in figures.items():
                best.setdefault(name, {})[key] = min(value, best.get(name, {}).get(key, value))
    for name in ("other", "this"):
        print(f"{name:5}  parser {best[name]['parser']:.3f} ms a page"
              f"  (bare lxml {best[name]['lxml']:.3f})")
    print(f"this / other parser time: {best['this']['parser'] / best['other']['parser']:.2f}x")


if __name__ == "__main__":
    main()
