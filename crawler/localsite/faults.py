"""The local site's injected faults: which request gets which broken answer, deterministically."""

from __future__ import annotations

import fnmatch
import random
import threading
from collections import Counter
from typing import Any

from crawler.localsite import transport

FAULT_KINDS = (
    "500",
    "502",
    "503",
    "504",
    "5xx",
    "429",
    "slow",
    "reset",
    "truncate",
    "truncate_nolength",
    "euckr",
    *transport.TRANSPORT_FAULTS,
)


class Faults:
    """The fault plan of one site; `lock` is the site's, so counts and its request log agree."""

    def __init__(self, lock: threading.RLock) -> None:
        self._lock = lock
        self.hits: Counter[str] = Counter()
        self.set()

    def set(
        self,
        seed: int = 0,
        rates: dict[str, float] | None = None,
        rules: list[dict[str, Any]] | None = None,
        latency: float = 0.0,
        slow_delay: float = 2.0,
        retry_after: int = 1,
        only: str = "*",
    ) -> None:
        for kind in rates or {}:
            if kind not in FAULT_KINDS or kind in transport.TRANSPORT_FAULTS:
                raise ValueError(f"unknown fault {kind!r}: use one of {', '.join(FAULT_KINDS)}")
        for rule in rules or []:
            if rule.get("fault") not in FAULT_KINDS or "path" not in rule:
                raise ValueError(f"bad fault rule {rule!r}: needs path and a known fault")
        with self._lock:
            self.seed = seed
            self.rates = dict(rates or {})
            self.rules = [dict(rule) for rule in rules or []]
            self.rule_hits: Counter[int] = Counter()
            self.latency = latency
            self.slow_delay = slow_delay
            self.retry_after = retry_after
            self.only = only

    def pick(self, path: str) -> tuple[str, dict[str, Any]] | None:
        """The fault for this request, if any: (kind, the rule or the rate roll's parameters)."""
        only_path = path.split("?", 1)[0]
        with self._lock:
            attempt = self.hits[path]
            self.hits[path] += 1
            for number, rule in enumerate(self.rules):
                if fnmatch.fnmatchcase(only_path, rule["path"]) or fnmatch.fnmatchcase(
                    path, rule["path"]
                ):
                    times = rule.get("times")
                    if times is None or self.rule_hits[number] < times:
                        self.rule_hits[number] += 1
                        return rule["fault"], rule
            if not self.rates or not fnmatch.fnmatchcase(only_path, self.only):
                return None
            # Keyed by path and attempt, not arrival order: concurrent crawls see the same faults.
            rng = random.Random(f"{self.seed}:{path}:{attempt}")
            roll = rng.random()
            for kind in FAULT_KINDS:
                roll -= self.rates.get(kind, 0.0)
                if roll < 0:
                    return kind, {"pick": rng.random()}
        return None
