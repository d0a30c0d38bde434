"""Only the publisher's own origin is fetched: redirects anywhere else (other ports, schemes,
userinfo, IP forms, IDN, protocol-relative) are never requested and kept as failed captures."""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from hypothesis import given
from hypothesis import strategies as st
from twisted.web.client import URI

from crawler.localsite.server import NewsisSite
from crawler.middlewares import SiteOrigin
from crawler.publishers.newsis.urls import CANONICAL_ORIGIN
from tests.support.crawl_support import article_fetches, rows, run_crawl, scalar

BASE = "http://127.0.0.1:8123"


class _Counting(BaseHTTPRequestHandler):
    hits: list[str]

    def do_GET(self) -> None:
        self.hits.append(self.path)
        self.send_response(200)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture()
def other_server():
    """A server on another port of the same host; the crawl must never reach it."""
    handler = type("Handler", (_Counting,), {"hits": []})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.server_address[1], handler.hits
    server.shutdown()
    server.server_close()


def elsewhere(port: int, other: int) -> list[str]:
    """Locations that leave the site at 127.0.0.1:`port` (most for the server at `other`)."""
    return [
        f"http://127.0.0.1:{other}/view/x",
        f"http://localhost:{other}/",
        f"http://LOCALHOST:{other}/",
        f"http://127.0.0.1.:{other}/",
        f"http://127.1:{other}/",
        f"http://2130706433:{other}/",
        f"http://0x7f000001:{other}/",
        f"http://0177.0.0.1:{other}/",
        f"http://[::ffff:127.0.0.1]:{other}/",
        f"//127.0.0.1:{other}/",
        f"///127.0.0.1:{other}/",
        f"http://127.0.0.1:{port}@127.0.0.1:{other}/",
        f"http://user:pass@127.0.0.1:{other}/",
        f"http://127.0.0.1:{port}:{other}/",
        f"http://127.0.0.1:{other}\\@127.0.0.1:{port}/",
        f"http://127.0.0.1%3A{other}/",
        f"http://ｌｏｃａｌｈｏｓｔ:{other}/",
        f"http://xn--lcalhost-9za:{other}/",
        f"https://127.0.0.1:{port}/",
        f"https://127.0.0.1:{other}/",
        f"http://127.0.0.1:{port}.example.org/",
        f"http://127.0.0.1:0{other}/",
        f"http://evil.example:{port}/",
        "http://www.newsis.com/view/NISX20241115_0000000001",
        f"https://www.newsis.com:{other}/",
    ]


def test_redirects_off_the_site_are_never_followed_and_leave_failed_captures(
    tmp_path: Path, other_server
) -> None:
    other, hits = other_server
    db_path = tmp_path / "archive.sqlite3"
    with NewsisSite(seed=81, articles=40) as site:
        targets = elsewhere(site.port, other)
        ids = [a.article_id for a in site.live_articles()][: len(targets)]
        statuses = (301, 302, 303, 307, 308)
        site.set_faults(rules=[
            {"path": f"/view/{article_id}", "fault": "redirect", "location": target,
             "status": statuses[number % len(statuses)]}
            for number, (article_id, target) in enumerate(zip(ids, targets, strict=True))
        ])
        result = run_crawl(db_path, site)
        fetches = article_fetches(site)
    assert result.returncode == 0, result.stderr[-2000:]
    assert hits == []
    for article_id, target in zip(ids, targets, strict=True):
        assert fetches[article_id] == 1, target
        [(outcome, fetch_error)] = rows(
            db_path, "SELECT outcome, fetch_error FROM captures WHERE article_id = ?",
            (article_id,),
        )
        assert outcome == "failed", target
        assert fetch_error.startswith(("redirect to ", "redirect not followed")), (
            target, fetch_error,
        )
        assert scalar(
            db_path, "SELECT count(*) FROM versions WHERE article_id = ?", (article_id,)
        ) == 0


def test_a_second_hop_off_the_site_is_refused_like_the_first(tmp_path: Path, other_server):
    other, hits = other_server
    db_path = tmp_path / "archive.sqlite3"
    with NewsisSite(seed=82, articles=10) as site:
        article_id = site.live_articles()[0].article_id
        # The second hop's rule first: the first one's path matches it too (queries aside).
        site.set_faults(rules=[
            {"path": f"/view/{article_id}?hop=1", "fault": "redirect",
             "location": f"http://127.0.0.1:{other}/view/{article_id}"},
            {"path": f"/view/{article_id}", "fault": "redirect",
             "location": f"/view/{article_id}?hop=1"},
        ])
        result = run_crawl(db_path, site)
    assert result.returncode == 0, result.stderr[-2000:]
    assert hits == []
    [(fetch_error,)] = rows(
        db_path, "SELECT fetch_error FROM captures WHERE article_id = ?", (article_id,)
    )
    assert fetch_error == f"redirect to another site: http://127.0.0.1:{other}/view/{article_id}"


def test_a_redirect_to_the_canonical_origin_is_fetched_from_the_base_url(tmp_path: Path) -> None:
    db_path = tmp_path / "archive.sqlite3"
    with NewsisSite(seed=83, articles=10) as site:
        article_id = site.live_articles()[0].article_id
        site.set_faults(rules=[{
            "path": f"/view/{article_id}", "fault": "redirect", "times": 1,
            "location": f"https://www.newsis.com/view/{article_id}",
        }])
        result = run_crawl(db_path, site)
        assert article_fetches(site)[article_id] == 2
    assert result.returncode == 0, result.stderr[-2000:]
    assert rows(db_path, "SELECT outcome FROM captures WHERE article_id = ?", (article_id,)) == [
        ("new_article",)
    ]


# --- the rule itself, over generated URLs ------------------------------------------------------

_AUTHORITY_PARTS = st.sampled_from([
    "127.0.0.1", "127.1", "localhost", "LOCALHOST", ":", ":8123", ":80", ":08123", "@", ".",
    "[", "]", "::ffff:", "%2e", "%40", "\\", "\t", "\n", " ", "evil", "8123", "0x7f", "xn--",
    "ｌ", "www.newsis.com", ":443", "user:pass",
])
_SCHEMES = st.sampled_from(["http://", "https://", "HTTP://", "//", "http:/", "ftp://", ""])
_RESTS = st.sampled_from(["", "/", "/view/NISX20241115_0000000001", "?a=b", "#f", "//evil/"])


@given(
    scheme=_SCHEMES,
    authority=st.lists(_AUTHORITY_PARTS, min_size=0, max_size=6).map("".join),
    rest=_RESTS,
)
def test_every_url_let_through_names_the_base_origin_for_every_parser(
    scheme: str, authority: str, rest: str
) -> None:
    placed = SiteOrigin(BASE, CANONICAL_ORIGIN).place(scheme + authority + rest)
    if placed is None:
        return
    parts = urlsplit(placed)
    assert (parts.scheme, parts.hostname, parts.port, parts.username) == (
        "http", "127.0.0.1", 8123, None
    )
    uri = URI.fromBytes(placed.encode("utf-8"))
    assert (uri.scheme, uri.host, uri.port) == (b"http", b"127.0.0.1", 8123)


@pytest.mark.parametrize("url", elsewhere(8123, 8124))
def test_every_listed_trick_is_refused(url: str) -> None:
    assert SiteOrigin(BASE, CANONICAL_ORIGIN).place(url) is None
