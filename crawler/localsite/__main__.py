"""Serve the local Newsis-like site and, on a second port, its Yonhap-like site:
`python -m crawler.localsite --port 8000 --yonhap-port 8001`. Prints the Newsis base URL on the
first line and the Yonhap base URL on the second (absent with --yonhap-articles 0)."""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from datetime import datetime

from crawler.localsite.newsroom import GONE_ANSWERS, YONHAP_GONE_ANSWERS
from crawler.localsite.server import CLOCKS, NewsisSite


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m crawler.localsite", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port")
    parser.add_argument("--articles", type=int, default=200)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--per-hour", type=float, default=12.0, help="new articles per hour of site clock"
    )
    parser.add_argument(
        "--now",
        nargs="?",
        const="real",
        metavar="ISO_TIME",
        help="the site's now: an ISO time (2024-11-15T09:00:00+09:00), or alone for the real "
        "current time on the real clock (default: 2024-11-15 09:00 KST)",
    )
    parser.add_argument(
        "--clock",
        choices=CLOCKS,
        help="fixed: time moves only by POST /_control/advance (default); real: it follows "
        "the wall clock too, new articles appearing as time passes",
    )
    parser.add_argument(
        "--aged",
        type=int,
        help="articles published 8 to 120 days before now (default: none on the fixed clock, "
        "a tenth of --articles on the real one)",
    )
    parser.add_argument(
        "--sitemap-only",
        type=int,
        default=0,
        help="articles listed only in the sitemaps, in no feed or list page",
    )
    parser.add_argument(
        "--gone",
        choices=GONE_ANSWERS,
        default="newsis",
        help="how deleted articles answer (newsis: 302 to /error/, older design 200)",
    )
    parser.add_argument(
        "--yonhap-articles",
        type=int,
        help="articles of the Yonhap-like site (default: as many as --articles; 0: no Yonhap site)",
    )
    parser.add_argument(
        "--yonhap-port", type=int, default=0,
        help="the Yonhap-like site's own port (default 0: any free port)",
    )
    parser.add_argument(
        "--yonhap-gone",
        choices=YONHAP_GONE_ANSWERS,
        default="yonhap",
        help="how deleted Yonhap articles answer (yonhap: 404 with the error page; script: 200, "
        "a page that alerts and goes home)",
    )
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    if args.articles < 1:
        parser.error("--articles must be at least 1")
    yonhap_articles = args.articles if args.yonhap_articles is None else args.yonhap_articles
    if yonhap_articles < 0:
        parser.error("--yonhap-articles must be 0 or more")
    now, clock = None, args.clock or "fixed"
    if args.now == "real":
        clock = args.clock or "real"
    elif args.now:
        try:
            now = datetime.fromisoformat(args.now)
        except ValueError:
            parser.error(f"--now: not an ISO time: {args.now!r}")
        if now.tzinfo is None:
            parser.error("--now needs a UTC offset, e.g. 2024-11-15T09:00:00+09:00")
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    with NewsisSite(
        seed=args.seed,
        articles=args.articles,
        now=now,
        per_hour=args.per_hour,
        host=args.host,
        port=args.port,
        clock=clock,
        aged=args.aged,
        sitemap_only=args.sitemap_only,
        gone=args.gone,
        yonhap_articles=yonhap_articles,
        yonhap_port=args.yonhap_port,
        yonhap_gone=args.yonhap_gone,
    ) as site:
        # The first line is Newsis' base URL, the second Yonhap's, for a parent process to read.
        print(site.base_url, flush=True)
        if site.yonhap is not None:
            print(site.yonhap.base_url, flush=True)
        try:
            stop.wait()
        except KeyboardInterrupt:
            pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
