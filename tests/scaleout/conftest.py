"""Fixtures of the scale-out tests (Redis URL, key prefix, PostgreSQL database)."""

from tests.support.scaleout_support import pg_url, prefix, redis_url

__all__ = ["pg_url", "prefix", "redis_url"]
