"""The local site's HTTP handler: faults first, then the site's answer or its control API."""

from __future__ import annotations

import json
import socket
import struct
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from crawler.localsite import transport


class Server(ThreadingHTTPServer):
    daemon_threads = True
    # The default backlog of 5 refuses connections when a crawler opens dozens at once.
    request_queue_size = 256


class Handler(BaseHTTPRequestHandler):
    site: Any  # the NewsisSite, set on a subclass per site (NewsisSite.start)
    protocol_version = "HTTP/1.1"  # keep-alive, as a crawler expects of a news site
    server_version = "Apache"
    sys_version = ""

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        self._serve("GET")

    def do_HEAD(self) -> None:
        self._serve("HEAD")

    def do_POST(self) -> None:
        self._serve("POST")

    def _serve(self, method: str) -> None:
        site = self.site
        if self.path.startswith("/_control/"):
            self._serve_control(method)
            return
        fault = site.faults.pick(self.path)
        kind, params = fault if fault else (None, {})
        delay = site.faults.latency + (
            float(params.get("delay", site.faults.slow_delay)) if kind == "slow" else 0.0
        )
        if delay:
            time.sleep(delay)
        if kind:
            with site._lock:
                site.faults_fired.append((self.path, kind))
        if kind in transport.TRANSPORT_FAULTS:
            transport.serve(self, method, kind, params)
            return
        if kind == "reset":
            self._log(method, 0)
            self._reset()
            return
        if kind in ("500", "502", "503", "504", "5xx", "429"):
            status = (
                int(kind)
                if kind not in ("5xx",)
                else (500, 502, 503, 504)[int(params.get("pick", 0) * 4)]
            )
            extra = {}
            if kind == "429":
                extra["Retry-After"] = str(params.get("retry_after", site.faults.retry_after))
            body = f"<html><body><h1>{status}</h1></body></html>".encode()
            self._send(method, status, {"Content-Type": "text/html", **extra}, body)
            return
        try:
            status, headers, body = site.respond(method, self.path, self.headers)
        except (
            Exception
        ) as error:  # a bug here must show up as a 500 in the test, not a hung client
            status, headers, body = 500, {"Content-Type": "text/plain"}, repr(error).encode()
        if kind == "euckr" and headers.get("Content-Type", "").startswith("text/html") and body:
            text = body.decode("utf-8").replace(
                '<meta charset="utf-8">', '<meta charset="euc-kr">', 1
            )
            body = text.encode("cp949", "xmlcharrefreplace")
            headers = {**headers, "Content-Type": "text/html; charset=EUC-KR"}
            headers.pop("ETag", None)
        if kind in ("truncate", "truncate_nolength") and len(body) > 1:
            self._send_truncated(method, status, headers, body, declare_length=kind == "truncate")
            return
        self._send(method, status, headers, body)

    def _serve_control(self, method: str) -> None:
        payload: dict[str, Any] = {}
        length = int(self.headers.get("Content-Length") or 0)
        if length:
            try:
                payload = json.loads(self.rfile.read(length))
            except ValueError:
                self._send(
                    method, 400, {"Content-Type": "application/json"}, b'{"error": "bad JSON"}'
                )
                return
        status, answer = self.site.control(
            method, self.path, payload if isinstance(payload, dict) else {}
        )
        body = json.dumps(answer, ensure_ascii=False).encode()
        self._send(
            method, status, {"Content-Type": "application/json; charset=UTF-8"}, body, log=False
        )

    def _log(self, method: str, status: int) -> None:
        with self.site._lock:
            self.site.requests.append((method, self.path, status))

    def _send(
        self, method: str, status: int, headers: dict[str, str], body: bytes, log: bool = True
    ) -> None:
        if log:
            self._log(method, status)
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if method != "HEAD" and status != 304:
            self.wfile.write(body)

    def _send_truncated(
        self, method: str, status: int, headers: dict[str, str], body: bytes, declare_length: bool
    ) -> None:
        self._log(method, status)
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        if declare_length:
            self.send_header("Content-Length", str(len(body)))
        self.send_header("Connection", "close")
        self.end_headers()
        if method != "HEAD":
            self.wfile.write(body[: len(body) // 2])
        self.close_connection = True

    def _reset(self) -> None:
        # SO_LINGER with a zero timeout makes close() send RST: the client sees "connection reset".
        self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.close_connection = True
        self.connection.close()
