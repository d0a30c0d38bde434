"""Where pages are fetched from: the --base-url origin (a mirror, or the local site), checked."""

from __future__ import annotations

from urllib.parse import urlsplit


def normalize_base_url(value: str) -> str:
    """The base URL without a trailing slash; ValueError unless it is an http(s) origin."""
    value = (value or "").strip().rstrip("/")
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"the base URL must be http(s)://host[:port], not {value!r}")
    if parts.query or parts.fragment:
        raise ValueError(f"the base URL takes no query or fragment: {value!r}")
    return value
