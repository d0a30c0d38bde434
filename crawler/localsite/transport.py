"""Broken answers for the local site: redirects anywhere, odd statuses, bombs, lying headers."""

from __future__ import annotations

import gzip
import zlib
from typing import Any

# Fault kinds served here (rules of NewsisSite.set_faults; each rule's keys are its parameters).
TRANSPORT_FAULTS = (
    "redirect",  # status (302), location: where to (required)
    "redirect_loop",  # a 302 back to the same path, forever
    "status",  # status (required): the article page under any status line
    "gzip_bomb",  # Content-Encoding: gzip, a small body that inflates past any sane size
    "deflate_bomb",  # the same with deflate
    "encoding_lie",  # encoding (gzip): a header naming an encoding the body is not in
    "length_over",  # the page with a Content-Length larger than it, then the connection closed
    "length_under",  # share (0.5): a Content-Length declaring that share of the page only
    "header_flood",  # count (20000): that many extra header lines before the page
    "long_header",  # size (200000): one header line that long
    "oversize",  # size (BOMB_SIZE), declare (true): a body that long, with its length or not
)
# Inflated size of a bomb: past crawler/settings.py's DOWNLOAD_MAXSIZE (8 MB).
BOMB_SIZE = 12 * 1024 * 1024
_bombs: dict[str, bytes] = {}


def bomb(encoding: str) -> bytes:
    if encoding not in _bombs:
        compress = gzip.compress if encoding == "gzip" else zlib.compress
        _bombs[encoding] = compress(bytes(BOMB_SIZE), 9)
    return _bombs[encoding]


def serve(handler: Any, method: str, kind: str, rule: dict[str, Any]) -> None:
    """Answer the handler's request with the broken answer `kind` (see TRANSPORT_FAULTS)."""
    html = {"Content-Type": "text/html; charset=UTF-8"}
    if kind == "redirect":
        # Sent as UTF-8 bytes, as servers do with non-ASCII Locations (http.server wants latin-1).
        location = rule["location"].encode("utf-8").decode("latin-1")
        handler._send(method, int(rule.get("status", 302)), {"Location": location}, b"")
        return
    if kind == "redirect_loop":
        handler._send(method, 302, {"Location": handler.path}, b"")
        return
    status, headers, body = handler.site.respond(method, handler.path, handler.headers)
    if kind == "status":
        handler._send(method, int(rule["status"]), headers, body)
    elif kind in ("gzip_bomb", "deflate_bomb"):
        encoding = kind.removesuffix("_bomb")
        handler._send(method, 200, {**html, "Content-Encoding": encoding}, bomb(encoding))
    elif kind == "encoding_lie":
        handler._send(method, 200, {**headers, "Content-Encoding": rule.get("encoding", "gzip")},
                      body)
    elif kind in ("length_over", "length_under"):
        declared = len(body) + 1000 if kind == "length_over" else int(
            len(body) * float(rule.get("share", 0.5))
        )
        _send_raw(handler, method, status, {**headers, "Content-Length": str(declared)}, body)
    elif kind == "header_flood":
        flood = [(f"X-Flood-{number}", "x" * 20) for number in range(int(rule.get("count", 20000)))]
        _send_raw(handler, method, status, headers, body, extra=flood)
    elif kind == "oversize":
        big = body + b" " * int(rule.get("size", BOMB_SIZE))
        if rule.get("declare", True):
            _send_raw(handler, method, status, headers, big)
        else:
            _send_raw(handler, method, status, {**headers, "Content-Length": ""}, big)
    elif kind == "long_header":
        long_one = [("X-Long", "x" * int(rule.get("size", 200000)))]
        _send_raw(handler, method, status, headers, body, extra=long_one)
    else:
        raise ValueError(f"unknown transport fault {kind!r}")


def _send_raw(
    handler: Any, method: str, status: int, headers: dict[str, str], body: bytes,
    extra: tuple[tuple[str, str], ...] | list[tuple[str, str]] = (),
) -> None:
    """The headers as given (Content-Length "" = none at all), the whole body, then close."""
    handler._log(method, status)
    handler.send_response(status)
    if headers.get("Content-Length") == "":
        headers = {name: value for name, value in headers.items() if name != "Content-Length"}
    elif "Content-Length" not in headers:
        headers = {**headers, "Content-Length": str(len(body))}
    for name, value in [*headers.items(), *extra]:
        handler.send_header(name, value)
    handler.send_header("Connection", "close")
    handler.end_headers()
    if method != "HEAD":
        handler.wfile.write(body)
    handler.close_connection = True
