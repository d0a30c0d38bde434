"""Finishing leases from the writer process, once their pages are committed."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from crawler.scaleout.shared_queue import connect


@dataclass(frozen=True, slots=True)
class LeaseRelease:
    """Finishes leases in the writer process, right after their pages are committed.

    Receipts are the leased requests' data, the fields of this worker's `taken` hash."""

    redis_url: str
    taken_key: str

    def __call__(self, receipts: list[bytes]) -> None:
        client = _writer_redis.get(self.redis_url)
        if client is None:
            client = _writer_redis[self.redis_url] = connect(self.redis_url)
        client.hdel(self.taken_key, *receipts)


# The writer process's Redis connection (one per URL), made on its first release.
_writer_redis: dict[str, Any] = {}
