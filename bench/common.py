"""What every benchmark shares: the machine line and writing its own part of bench/RESULTS.md."""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
RESULTS = REPO / "bench" / "RESULTS.md"
# The PostgreSQL server of this machine (and of CI); benchmarks make throw-away databases on it.
LOCAL_POSTGRES = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
# The databases' names in reports, by SQLAlchemy dialect name.
DATABASE_NAMES = {"sqlite": "SQLite", "postgresql": "PostgreSQL"}


def add_postgres_option(options: argparse.ArgumentParser, what: str) -> None:
    """`--postgres [URL]`: also measure on PostgreSQL (default: the local server)."""
    options.add_argument(
        "--postgres", nargs="?", const=LOCAL_POSTGRES, default=None, metavar="URL",
        help=f"{what} (a throw-away database on the server; default {LOCAL_POSTGRES})",
    )


def machine() -> str:
    """CPUs, CPU model and Python: what a reader needs to weigh the figures."""
    cpu = "unknown"
    try:
        match = re.search(r"model name\s*:\s*(.+)", Path("/proc/cpuinfo").read_text())
        cpu = match.group(1).strip() if match else cpu
    except OSError:
        pass
    return f"{os.cpu_count()} CPUs (nproc), {cpu}, Python {platform.python_version()}"


def write_section(report: str) -> None:
    """Replace the `## ` section headed by the report's first line; the rest of the file stays."""
    heading = report.splitlines()[0]
    text = RESULTS.read_text(encoding="utf-8") if RESULTS.exists() else "# Benchmark results\n"
    pattern = re.compile(rf"^{re.escape(heading)}\n.*?(?=^## |\Z)", re.S | re.M)
    if pattern.search(text):
        text = pattern.sub(lambda _: report.rstrip("\n") + "\n\n", text)
    else:
        text = text.rstrip("\n") + "\n\n" + report.rstrip("\n") + "\n"
    RESULTS.write_text(text.rstrip("\n") + "\n", encoding="utf-8")


def write_part(section: str, report: str) -> None:
    """Replace one `### ` part (headed by the report's first line) of the `## ` section `section`;
    other parts, and other benchmarks' sections, stay as they are."""
    heading = report.splitlines()[0]
    text = RESULTS.read_text(encoding="utf-8") if RESULTS.exists() else "# Benchmark results\n"
    section_re = re.compile(rf"^{re.escape(section)}\n.*?(?=^## |\Z)", re.S | re.M)
    found = section_re.search(text)
    body = found.group(0) if found else f"{section}\n\n"
    part_re = re.compile(rf"^{re.escape(heading)}\n.*?(?=^### |\Z)", re.S | re.M)
    if part_re.search(body):
        body = part_re.sub(lambda _: report.rstrip("\n") + "\n\n", body)
    else:
        body = body.rstrip("\n") + "\n\n" + report.rstrip("\n") + "\n\n"
    if found:
        text = text[: found.start()] + body + text[found.end() :]
    else:
        text = text.rstrip("\n") + "\n\n" + body
    RESULTS.write_text(text.rstrip("\n") + "\n", encoding="utf-8")


@contextmanager
def local_site(
    articles: int, seed: int = 3, latency: float | None = None, extra: tuple[str, ...] = ()
) -> Iterator[tuple[str, int]]:
    """`python -m crawler.localsite` in its own process (its page rendering must not share the
    benchmark's GIL), answering every page after `latency` seconds if given, with `extra`
    arguments (`--clock real`, …); yields its base URL and process id."""
    process = subprocess.Popen(
        [sys.executable, "-m", "crawler.localsite",
         "--articles", str(articles), "--seed", str(seed), *extra],
        cwd=REPO, stdout=subprocess.PIPE, text=True,
    )
    try:
        base_url = process.stdout.readline().strip()
        if not base_url.startswith("http"):
            raise SystemExit("the local site did not start")
        if latency is not None:
            request = urllib.request.Request(
                f"{base_url}/_control/faults", data=json.dumps({"latency": latency}).encode(),
                headers={"Content-Type": "application/json"}, method="POST",
            )
            urllib.request.urlopen(request, timeout=10).close()
        yield base_url, process.pid
    finally:
        process.terminate()
        process.wait(timeout=30)
