"""Serve the local Newsis-like site: `python -m crawler.localsite --port 8000`."""

from __future__ import annotations

import argparse
import signal
import sys
import threading

from crawler.localsite.server import NewsisSite


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m crawler.localsite", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port")
    parser.add_argument("--articles", type=int, default=200)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--per-hour", type=float, default=12.0, help="new articles per hour of site clock"
    )
    args = parser.parse_args(argv)
    if args.articles < 1:
        parser.error("--articles must be at least 1")
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    with NewsisSite(
        seed=args.seed,
        articles=args.articles,
        per_hour=args.per_hour,
        host=args.host,
        port=args.port,
    ) as site:
        # The first line is the base URL, for a parent process to read.
        print(site.base_url, flush=True)
        try:
            stop.wait()
        except KeyboardInterrupt:
            pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
