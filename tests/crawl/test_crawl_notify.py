"""`crawl --notify`: the run's events POSTed to a webhook; a failed delivery goes with the next
run's, each event delivered once, the crawl's outcome and exit code untouched."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from crawler.localsite.server import NewsisSite
from crawler.notify import DeliveryFailed, post_json
from tests.support.crawl_support import rows, run_crawl


class Receiver:
    """A webhook on 127.0.0.1 that answers 500 to the first `failures` POSTs, then 204."""

    def __init__(self, failures: int) -> None:
        self.failures = failures
        self.bodies: list[list[dict]] = []  # the bodies it took
        self.refused = 0
        self.lock = threading.Lock()

    @contextmanager
    def serving(self) -> Iterator[str]:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                with receiver.lock:
                    failing = receiver.refused < receiver.failures
                    if failing:
                        receiver.refused += 1
                    else:
                        receiver.bodies.append(json.loads(body))
                self.send_response(500 if failing else 204)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args) -> None:
                pass

        server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        try:
            yield f"http://hook:s3cret@127.0.0.1:{server.server_address[1]}/events"
        finally:
            server.shutdown()
            server.server_close()


def test_a_webhook_that_fails_once_gets_the_events_on_the_retry() -> None:
    receiver = Receiver(failures=1)
    with receiver.serving() as url:
        post_json(url, [{"idempotency_key": "1/new_article"}], sleep=lambda _: None)
    assert receiver.refused == 1 and receiver.bodies == [[{"idempotency_key": "1/new_article"}]]


def test_a_dead_webhook_fails_within_the_tries() -> None:
    receiver = Receiver(failures=10)
    with receiver.serving() as url:
        try:
            post_json(url, [], sleep=lambda _: None)
        except DeliveryFailed as error:
            assert str(error) == "HTTP 500"
        else:
            raise AssertionError("a webhook answering 500 took the events")
    assert receiver.refused == 3 and receiver.bodies == []


def test_a_failed_delivery_goes_with_the_next_run_and_each_event_arrives_once(
    tmp_path: Path,
) -> None:
    db_path = tmp_path / "archive.sqlite3"
    # Every try of the first run fails (3), the second run's first try too: then it takes them.
    receiver = Receiver(failures=4)
    with NewsisSite(seed=7, articles=12) as site, receiver.serving() as url:
        first = run_crawl(db_path, site, "--notify", url)
        assert first.returncode == 0, first.stderr
        assert "failed (HTTP 500)" in first.stdout and "kept for the next run" in first.stdout
        assert "s3cret" not in first.stdout + first.stderr
        assert receiver.bodies == []
        second = run_crawl(db_path, site, "--notify", url)
        assert second.returncode == 0, second.stderr
        assert "events notified to" in second.stdout
    keys = [event["idempotency_key"] for body in receiver.bodies for event in body]
    stored = rows(db_path, "SELECT capture_id || '/' || kind FROM events")
    assert len(keys) == len(set(keys)) == len(stored) > 0
    assert set(keys) == {key for (key,) in stored}
    event = receiver.bodies[0][0]
    assert set(event) == {"at", "article_id", "url", "kind", "version", "fields",
                          "idempotency_key"}
    assert rows(db_path, "SELECT DISTINCT notify_state FROM crawl_runs") == [("delivered",)]


def test_a_redirecting_webhook_is_a_failed_delivery_not_a_get() -> None:
    """urllib would follow a 302 as a GET without the events; the redirect is refused instead."""
    class Redirecting(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            self.send_response(302)
            self.send_header("Location", "/elsewhere")
            self.send_header("Content-Length", "0")
            self.end_headers()

        do_GET = do_POST

        def log_message(self, *args) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Redirecting)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/events"
        try:
            post_json(url, [], sleep=lambda _: None)
        except DeliveryFailed as error:
            assert str(error) == "HTTP 302"
        else:
            raise AssertionError("a redirect was taken for a delivery")
    finally:
        server.shutdown()
        server.server_close()


def test_a_webhook_that_is_not_http_is_refused_before_anything_is_sent(tmp_path: Path) -> None:
    target = tmp_path / "events"
    for url in (f"file://{target}", "ftp://example.org/x", "http://", "http://host:port/"):
        try:
            post_json(url, [{"idempotency_key": "1/new_article"}], sleep=lambda _: None)
        except ValueError as error:
            assert "URL" in str(error)
        else:
            raise AssertionError(f"{url} took the events")
    assert not target.exists()
