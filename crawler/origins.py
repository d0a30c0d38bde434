"""Where pages are fetched from: the --base-url origin (a mirror, or the local site), checked."""

from __future__ import annotations

import re
from collections.abc import Iterable
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


# A base URL without NAME= is the one for this publisher (the only one there was before).
BARE_BASE_URL_PUBLISHER = "newsis"
_NAME_RE = re.compile(r"[a-z0-9][a-z0-9_.-]*")


def parse_base_urls(entries: Iterable[str]) -> dict[str, str]:
    """`[NAME=]URL` entries (--base-url, or NEWSARCHIVE_BASE_URL split on whitespace) -> the
    base URL of each publisher named; a bare URL is newsis's. ValueError for a bad URL, or two
    for one publisher. The names are not checked against the installed publishers here."""
    found: dict[str, str] = {}
    for entry in entries:
        name, sep, url = entry.strip().partition("=")
        if not sep or "/" in name or ":" in name:  # no NAME=: the `=` (if any) is the URL's
            name, url = BARE_BASE_URL_PUBLISHER, entry.strip()
        name = name.strip().lower()
        if not _NAME_RE.fullmatch(name):
            raise ValueError(f"bad publisher name {name!r} in the base URL {entry!r}")
        if name in found:
            raise ValueError(f"two base URLs for {name}: {found[name]} and {url.strip()}")
        found[name] = normalize_base_url(url)
    return found


def base_urls_setting(base_urls: dict[str, str]) -> str:
    """The NEWSARCHIVE_BASE_URL text of `base_urls` (parse_base_urls reads it back)."""
    return " ".join(f"{name}={url}" for name, url in base_urls.items())


def base_url_for(name: str, canonical_origin: str, setting: str | None) -> str:
    """Where publisher `name` is fetched from under NEWSARCHIVE_BASE_URL `setting`: its entry,
    else its real site when the setting names no publisher at all. ValueError when the setting
    gives other publishers a base URL and this one none: a crawl of mirrors must not reach a
    real site by omission (name it NAME=https://… to mean the real one)."""
    base_urls = parse_base_urls((setting or "").split())
    if name in base_urls:
        return base_urls[name]
    if base_urls:
        raise ValueError(
            f"no base URL for {name} while {', '.join(base_urls)} have one: give"
            f" {name}=URL ({name}={canonical_origin} for its real site)"
        )
    return normalize_base_url(canonical_origin)
