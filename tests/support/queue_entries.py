"""Hostile queue entries for the scale-out tests: pickles that leave a trace, and malformed JSON."""

from __future__ import annotations

import base64
import json
import pickle
import random
from collections.abc import Callable
from pathlib import Path
from typing import Any

ARTICLE_ID = "NISX20241115_0002960118"


class _Trace:
    """Unpickling it creates `path`: proof that something ran code from the queue."""

    def __init__(self, how: str, path: Path) -> None:
        self.how = how
        self.path = str(path)

    def __reduce__(self) -> tuple[Any, ...]:
        if self.how == "open":
            return (open, (self.path, "w"))
        if self.how == "exec":
            return (exec, (f"open({self.path!r}, 'w').close()",))
        import os

        return (os.mkdir, (self.path,))


def pickled_traces(path: Path) -> list[bytes]:
    """Pickles of every protocol that create `path` when loaded, bare and inside a request dict."""
    entries = []
    for protocol in range(pickle.HIGHEST_PROTOCOL + 1):
        for how in ("open", "exec", "mkdir"):
            entries.append(pickle.dumps(_Trace(how, path), protocol=protocol))
            request_dict = {"url": "http://x/view/1", "callback": _Trace(how, path), "meta": {}}
            entries.append(pickle.dumps(request_dict, protocol=protocol))
    return entries


def valid_entries(base_url: str, rng: random.Random | None = None) -> list[dict[str, Any]]:
    """One entry of each kind the scheduling job and the workers push, as dicts; with `rng`,
    with a random slug, page, article id and priority (distinct members of the sorted set)."""
    rng = rng or random.Random(0)
    slug = rng.choice(("sokbo", "politics", "photo", "newsiseyes"))
    page = rng.randrange(1, 2001)
    article_id = f"NISX202411{rng.randrange(10, 29)}_{rng.randrange(10**10):010d}"
    common = {"v": 1, "method": "GET", "headers": {}, "body": "", "dont_filter": False,
              "priority": rng.randrange(-100, 101)}
    return [
        {**common, "url": f"{base_url}/RSS/{slug}.xml", "callback": "parse_feed",
         "errback": "discovery_failed", "cb_kwargs": {"slug": slug}, "meta": {}},
        {**common, "url": f"{base_url}/realnews/?page={page}", "callback": "parse_list",
         "errback": "discovery_failed",
         "cb_kwargs": {"path_template": "/realnews/?page={page}", "page": page,
                       "since": "2024-11-01"}, "meta": {}},
        {**common, "url": f"{base_url}/view/{article_id}", "callback": "parse_article",
         "errback": "article_failed", "cb_kwargs": {},
         "meta": {"article_id": article_id, "discovered_by": "feed"},
         "headers": {"If-None-Match": base64.b64encode(b'"0002960118-1"').decode()}},
    ]


def encoded(entry: dict[str, Any]) -> bytes:
    return json.dumps(entry, sort_keys=True, separators=(",", ":")).encode()


def _set(path: tuple[str, ...], value: Any) -> Callable[[dict[str, Any]], None]:
    def mutate(entry: dict[str, Any]) -> None:
        target = entry
        for key in path[:-1]:
            target = target[key]
        target[path[-1]] = value

    return mutate


def _delete(key: str) -> Callable[[dict[str, Any]], None]:
    return lambda entry: entry.pop(key)


def _mutations(other_origin: str) -> list[tuple[str, Callable[[dict[str, Any]], None]]]:
    b64 = lambda raw: base64.b64encode(raw).decode()  # noqa: E731
    return [
        ("other origin", lambda e: e.update(url=e["url"].replace(e["url"].split("/")[2],
                                                                  other_origin.split("/")[2]))),
        ("other host", lambda e: e.update(url="http://evil.example/view/" + ARTICLE_ID)),
        ("file url", _set(("url",), "file:///etc/passwd")),
        ("javascript url", _set(("url",), "javascript:alert(1)")),
        ("ftp url", lambda e: e.update(url=e["url"].replace("http", "ftp", 1))),
        ("userinfo", lambda e: e.update(url=e["url"].replace("://", "://user:pw@", 1))),
        ("path swap", lambda e: e.update(url=e["url"] + "x")),
        ("url type", _set(("url",), ["http://x"])),
        ("unknown callback", _set(("callback",), "start")),
        ("import path", _set(("callback",), "os.system")),
        ("dunder", _set(("callback",), "__init__")),
        ("errback swap", _set(("errback",), "parse_feed")),
        ("no errback", _set(("errback",), None)),
        ("method", _set(("method",), "POST")),
        ("body", _set(("body",), b64(b"x=1"))),
        ("bad base64", _set(("body",), "***")),
        ("priority bool", _set(("priority",), True)),
        ("priority float", _set(("priority",), 1.5)),
        ("priority huge", _set(("priority",), 10**12)),
        ("dont_filter type", _set(("dont_filter",), "yes")),
        ("version", _set(("v",), 2)),
        ("extra field", _set(("encoding",), "utf-8")),
        ("no url", _delete("url")),
        ("no meta", _delete("meta")),
        ("meta proxy", _set(("meta", "proxy"), "http://evil.example:8080")),
        ("meta type", _set(("meta",), [])),
        ("cb_kwargs type", _set(("cb_kwargs",), "slug")),
        ("cookie header", _set(("headers", "Cookie"), b64(b"session=1"))),
        ("host header", _set(("headers", "Host"), b64(b"evil.example"))),
        ("header injection", _set(("headers", "If-Modified-Since"), b64(b"x\r\nX-Evil: 1"))),
        ("header type", _set(("headers",), ["If-None-Match"])),
        ("huge header", _set(("headers", "If-None-Match"), b64(b"x" * 600))),
    ]


def malformed_entries(
    rng: random.Random, base_url: str, other_origin: str, count: int
) -> list[bytes]:
    """`count` distinct entries, each a valid entry with one thing wrong, or not JSON at all."""
    raw_junk: list[Callable[[int], bytes]] = [
        lambda n: f"not json {n}".encode(),
        lambda n: b"\x80\x81\xfe" + n.to_bytes(4, "big"),
        lambda n: json.dumps([n]).encode(),
        lambda n: json.dumps(n).encode(),
        lambda n: b'{"v": 1, "url": "' + b"x" * 9000 + str(n).encode() + b'"}',
        lambda n: b"[" * 5000 + str(n).encode(),
        lambda n: b'{"v": 1, "priority": 1' + b"0" * 5000 + str(n).encode() + b"}",
    ]
    mutations = _mutations(other_origin)
    entries: set[bytes] = set()
    while len(entries) < count:
        if rng.random() < 0.2:
            entries.add(rng.choice(raw_junk)(rng.randrange(10**9)))
            continue
        entry = rng.choice(valid_entries(base_url, rng))
        changed = False
        for _ in range(rng.choice((1, 1, 2))):
            _, mutate = rng.choice(mutations)
            try:
                mutate(entry)
                changed = True
            except (KeyError, TypeError, AttributeError):
                continue  # this mutation does not fit after the previous one
        if changed:
            entries.add(encoded(entry))
    return sorted(entries)


def mutated_one_way(base_url: str, other_origin: str) -> list[tuple[str, bytes]]:
    """Every mutation applied to every kind of valid entry: (mutation name, entry)."""
    return mutations_of(valid_entries(base_url), other_origin)


def mutations_of(entries: list[dict[str, Any]], other_origin: str) -> list[tuple[str, bytes]]:
    """Every mutation applied to a copy of each of `entries`: (mutation name, entry)."""
    cases = []
    for name, mutate in _mutations(other_origin):
        for entry in json.loads(json.dumps(entries)):
            try:
                mutate(entry)
            except (KeyError, TypeError, AttributeError):
                continue
            cases.append((name, encoded(entry)))
    return cases
