"""One HTTP listener of the local site: its port and thread, fault plan and request log. The
site has one per publisher (Newsis', and Yonhap's when it serves one), sharing one lock."""

from __future__ import annotations

import threading
from typing import Any

from crawler.localsite.faults import Faults
from crawler.localsite.handler import Handler, Server


class Listener:
    """What each publisher's listener has: a base URL, faults, the requests it answered."""

    host: str
    port: int

    def _init_listener(self, lock: threading.RLock, host: str, port: int) -> None:
        self._lock = lock
        self.host, self.port = host, port
        self.requests: list[tuple[str, str, int]] = []
        self.faults_fired: list[tuple[str, str]] = []
        self.faults = Faults(lock)
        # What /robots.txt says instead of the publisher's own rules, when set.
        self.robots_txt: bytes | None = None
        self._server: Server | None = None

    def _listen(self, name: str) -> None:
        handler = type("SiteHandler", (Handler,), {"site": self})
        server = Server((self.host, self.port), handler)
        self._server = server
        self.port = server.server_address[1]
        threading.Thread(target=server.serve_forever, name=name, daemon=True).start()

    def _close(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def set_faults(self, **plan: Any) -> None:
        """Inject faults into this listener's answers, deterministically from `seed`.

        rates: {kind: probability} for every request whose path matches the glob `only`;
        kinds: 500 502 503 504 5xx 429 slow reset truncate truncate_nolength euckr, and the
        broken answers of crawler/localsite/transport.py (rules only: they take parameters).
        rules: [{"path": glob, "fault": kind, "times": n or null, "delay": s, "retry_after": s}],
        applied before rates, each to its first `times` matching requests (all when null).
        latency: seconds added to every answer (control endpoints excepted); also slow_delay,
        retry_after (crawler/localsite/faults.py).
        """
        self.faults.set(**plan)

    def clear_faults(self) -> None:
        self.faults.set()

    @property
    def _hits(self) -> Any:
        return self.faults.hits

    def request_count(self, path: str) -> int:
        """How many requests named exactly this path (with its query string)."""
        with self._lock:
            return sum(1 for _, logged, _ in self.requests if logged == path)
