"""The viewer under test: an archive per backend, `newsarchive serve` on it, a headless browser."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from tests.support.storage_fixtures import BACKENDS, POSTGRES_ENV_VAR, throwaway_postgres_database
from tests.support.viewer_archive import ViewerArchive, build

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
SCREENSHOTS_ENV_VAR = "NEWSARCHIVE_SCREENSHOTS"
# A guard against a server that never answers, not a timing assertion.
START_TIMEOUT = 30


@contextmanager
def database(backend: str, folder: Path) -> Iterator[str]:
    if backend == "sqlite":
        yield f"sqlite:///{folder / 'viewer.sqlite3'}"
        return
    with contextmanager(throwaway_postgres_database)(os.environ[POSTGRES_ENV_VAR]) as url:
        yield url


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextmanager
def serving(db_url: str) -> Iterator[str]:
    """`newsarchive serve` on `db_url` in a subprocess; yields its base URL."""
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "crawler", "serve", "--db", db_url, "--port", str(port)],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            try:
                httpx.get(f"{base}/static/style.css", timeout=2)
                break
            except httpx.TransportError:
                if process.poll() is not None or time.monotonic() > deadline:
                    output = process.stdout.read() if process.stdout else ""
                    raise RuntimeError(f"newsarchive serve did not start:\n{output}") from None
                time.sleep(0.1)
        yield base
    finally:
        process.terminate()
        process.wait(timeout=10)
        if process.stdout:
            process.stdout.close()


@pytest.fixture(scope="module", params=BACKENDS)
def viewer(request, tmp_path_factory) -> Iterator[tuple[str, ViewerArchive]]:
    """(base URL of a running viewer, the archive it shows), per backend."""
    folder = tmp_path_factory.mktemp(f"viewer-{request.param}")
    with database(request.param, folder) as db_url:
        archive = build(db_url)
        with serving(db_url) as base:
            yield base, archive


@pytest.fixture(scope="module")
def screenshots(tmp_path_factory) -> Path:
    """Where the browser tests save a screenshot of every page they load."""
    wanted = os.environ.get(SCREENSHOTS_ENV_VAR)
    folder = Path(wanted) if wanted else tmp_path_factory.mktemp("screenshots")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@pytest.fixture(scope="module")
def browser():
    """Headless Debian chromium driven by its chromedriver; Selenium Manager never runs."""
    if not (CHROMIUM.exists() and CHROMEDRIVER.exists()):
        if os.environ.get("CI"):
            pytest.fail(f"{CHROMIUM} and {CHROMEDRIVER} are needed: apt-get install chromium "
                        "chromium-driver (.ci/run does)")
        pytest.skip("no /usr/bin/chromium or /usr/bin/chromedriver (apt-get install chromium "
                    "chromium-driver)")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for argument in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage",
                     "--window-size=1280,1000", "--disable-gpu", "--lang=ko-KR"):
        options.add_argument(argument)
    driver = webdriver.Chrome(service=Service(str(CHROMEDRIVER)), options=options)
    driver.set_page_load_timeout(30)
    yield driver
    driver.quit()

