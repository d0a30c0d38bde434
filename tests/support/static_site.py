"""A tiny HTTP site serving fixed pages, for crawls of a publisher the local site does not
serve (a third-party plug-in, a handful of Yonhap example pages)."""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

# A path -> (status, content type, body).
Pages = dict[str, tuple[int, str, bytes]]

ROBOTS_ALLOW_ALL = (200, "text/plain", b"User-agent: *\nAllow: /\n")


class StaticSite:
    """Serves `pages` on 127.0.0.1 (a free port) in a thread, 404 for anything else; `requests`
    logs every path asked for. A context manager: the server stops on leaving."""

    def __init__(self, pages: Pages) -> None:
        self.pages = {"/robots.txt": ROBOTS_ALLOW_ALL, **pages}
        self.requests: list[str] = []
        site = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                site.requests.append(self.path)
                status, kind, body = site.pages.get(self.path, (404, "text/plain", b"not here"))
                self.send_response(status)
                self.send_header("Content-Type", kind)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *_args: object) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def __enter__(self) -> StaticSite:
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()


def rss(links: list[str]) -> bytes:
    """An RSS 2.0 feed of these item links."""
    items = "".join(f"<item><title>t</title><link>{link}</link></item>" for link in links)
    return (
        '<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel><title>feed</title>'
        f"{items}</channel></rss>"
    ).encode()
