"""The viewer's pages: each reads the archive, then answers HTML or the same data as JSON."""

from __future__ import annotations

import re
from dataclasses import asdict
from datetime import datetime, timedelta
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response

from crawler.atom import atom_feed, origins
from crawler.publishers import UnknownArticle, article_id_in_any, article_named, publishers
from crawler.viewer import captured, chart, diffview, respond
from crawler.viewer.respond import KST, answer, bad_request, kst_iso, not_found
from storage import changes, diff, health, queries, timeline
from storage.bodies.store import load_body
from storage.models import (
    EVENT_DELETED,
    EVENT_NEW_ARTICLE,
    EVENT_NEW_VERSION,
    EVENT_RESTORED,
    EVENT_TOUCHED,
)
from storage.search import search, search_terms

MAX_LIMIT = 500
# The order one capture makes its events in (storage.versioning): a restoration that brings an
# edit is "restored" then "new_version"; a version's events sort before a touch at its time.
CAPTURE_EVENT_ORDER = (
    EVENT_NEW_ARTICLE, EVENT_RESTORED, EVENT_NEW_VERSION, EVENT_DELETED, EVENT_TOUCHED,
)


# --- query parameters ----------------------------------------------------------------------------


def _time(request: Request, name: str) -> datetime | None:
    """YYYY-MM-DD (a day in KST; `until` includes it) or an ISO 8601 time with offset."""
    value = (request.query_params.get(name) or "").strip()
    if not value:
        return None
    try:
        when = datetime.fromisoformat(value)
    except ValueError:
        raise bad_request(f"{name}: not a date (YYYY-MM-DD) or ISO 8601 time: {value!r}") from None
    if when.utcoffset() is None:
        if len(value) != 10:
            raise bad_request(f"{name}: give a timezone offset, e.g. {value}+09:00")
        when = when.replace(tzinfo=KST) + (timedelta(days=1) if name == "until" else timedelta())
    return when


def _int(request: Request, name: str, default: int | None, top: int = MAX_LIMIT) -> int | None:
    value = (request.query_params.get(name) or "").strip()
    if not value:
        return default
    if not value.isdigit() or not 1 <= int(value) <= top:
        raise bad_request(f"{name}: a whole number from 1 to {top}, not {value!r}")
    return int(value)


def _publisher(request: Request) -> str | None:
    """The publisher filter: an installed publisher's name, or None for all."""
    name = (request.query_params.get("publisher") or "").strip()
    if name and name not in publishers():
        raise bad_request(f"publisher: one of {', '.join(publishers())}, not {name!r}")
    return name or None


def _article_id(request: Request) -> str:
    """The article the path names: an id of any installed publisher, in any case."""
    try:
        return article_named(request.path_params["article_id"])[1]
    except UnknownArticle as error:
        raise not_found(str(error)) from None


def _session(request: Request):
    return request.app.state.sessions()


def article_path(article_id: str) -> str:
    return f"/article/{article_id}"


# --- changes -------------------------------------------------------------------------------------


def _changes(request: Request) -> tuple[dict[str, Any], list[changes.Change]]:
    kind = request.query_params.get("kind") or ""
    if kind and kind not in changes.KINDS:
        raise bad_request(f"kind: one of {', '.join(changes.KINDS)}, not {kind!r}")
    publisher = _publisher(request)
    since, until = _time(request, "since"), _time(request, "until")
    limit = _int(request, "limit", 50)
    with _session(request) as session:
        found = changes.latest_changes(
            session, kinds=(kind,) if kind else None,
            publishers=(publisher,) if publisher else None,
            since=since, until=until, limit=limit,
        )
    data = {
        "filters": {"kind": kind or None, "publisher": publisher, "since": kst_iso(since),
                    "until": kst_iso(until), "limit": limit},
        "kinds": list(changes.KINDS),
        "publishers": list(publishers()),
        "changes": [_change_dict(change) for change in found],
    }
    return data, found


def _change_dict(change: changes.Change) -> dict[str, Any]:
    return {**change.to_dict(), "at": kst_iso(change.at), "headline": change.headline,
            "section": change.section}


def changes_page(request: Request) -> Response:
    return answer(request, "changes.html", _changes(request)[0])


def changes_feed(request: Request) -> Response:
    """The changes page as an Atom feed, at a stable URL, with the same filters."""
    data, found = _changes(request)
    if respond.wants_json(request):
        return JSONResponse(data)
    base = str(request.base_url).rstrip("/")
    query = f"?{request.url.query}" if request.url.query else ""
    xml = atom_feed(
        reversed(found), feed_id=str(request.url), self_url=str(request.url),
        home_url=f"{base}/{query}", link=lambda change: base + change_path(change),
        related_urls=origins(data["filters"]["publisher"] or ()),
    )
    return Response(xml, media_type="application/atom+xml; charset=utf-8")


def change_path(change: changes.Change) -> str:
    """The viewer's page of a change: the diff a new version made, else the article."""
    if change.kind == EVENT_NEW_VERSION and change.version and change.version > 1:
        versions = f"from={change.version - 1}&to={change.version}"
        return f"{article_path(change.article_id)}/diff?{versions}"
    return article_path(change.article_id)


# --- article -------------------------------------------------------------------------------------


def article_page(request: Request) -> Response:
    article_id = _article_id(request)
    version = _int(request, "version", None, top=1_000_000)
    with _session(request) as session:
        try:
            found = queries.history(session, article_id)
            record = queries.show(session, article_id, version)
        except queries.NotFound as error:
            raise not_found(str(error)) from None
        captures = timeline.captures_of(session, article_id)
    data = {
        "article_id": found.article_id,
        "url": found.url,
        "current_version": found.current_version,
        "first_seen_at": kst_iso(found.first_seen_at),
        "last_checked_at": kst_iso(found.last_checked_at),
        "deleted_at": kst_iso(found.deleted_at),
        "record": record,
        "timeline": _timeline(found),
        "captures": [_capture_dict(item) for item in captures],
    }
    return answer(request, "article.html", data)


def _timeline(found: queries.History) -> list[dict[str, Any]]:
    """Versions and the article's other events (deleted, restored, touched), oldest first."""
    rows = [
        (summary.first_seen_at, EVENT_NEW_ARTICLE if summary.version == 1 else EVENT_NEW_VERSION,
         {**summary.to_dict(), "first_seen_at": kst_iso(summary.first_seen_at),
          "last_seen_at": kst_iso(summary.last_seen_at)})
        for summary in found.versions
    ]
    rows += [(event.at, event.kind, {"version": event.version}) for event in found.events or []]
    rows.sort(key=lambda row: (row[0], CAPTURE_EVENT_ORDER.index(row[1])))
    return [{"kind": kind, "at": kst_iso(at), **row} for at, kind, row in rows]


def _capture_dict(item: timeline.CaptureSummary) -> dict[str, Any]:
    data = asdict(item)
    data["fetched_at"] = kst_iso(item.fetched_at)
    data["has_body"] = item.body_hash is not None
    del data["body_hash"]
    return data


# --- diff ----------------------------------------------------------------------------------------


def diff_page(request: Request) -> Response:
    article_id = _article_id(request)
    from_no = _int(request, "from", None, top=1_000_000)
    to_no = _int(request, "to", None, top=1_000_000)
    with _session(request) as session:
        try:
            found = diff.diff(session, article_id, from_no, to_no)
            versions = queries.history(session, article_id).versions
        except queries.NotFound as error:
            raise not_found(str(error)) from None
    # Times compared as a reader reads them, not as ISO text.
    old, new = (
        {**record, **{name: record[name] and respond.kst_text(record[name])
                      for name in ("published_at", "modified_at")}}
        for record in (found.from_version, found.to_version)
    )
    data = {
        "article_id": article_id,
        "from": old["version"],
        "to": new["version"],
        "from_seen_at": kst_iso(datetime.fromisoformat(old["first_seen_at"])),
        "to_seen_at": kst_iso(datetime.fromisoformat(new["first_seen_at"])),
        "versions": [{"version": v.version, "first_seen_at": kst_iso(v.first_seen_at),
                      "headline": v.headline} for v in versions],
        "fields": diffview.side_by_side(old, new),
        "changes": [change.to_dict() for change in found.changes],
    }
    return answer(request, "diff.html", data)


# --- as captured ---------------------------------------------------------------------------------


def _capture(request: Request, session) -> timeline.CaptureSummary:
    found = timeline.capture(session, request.path_params["capture_id"])
    if found is None:
        raise not_found(f"no capture {request.path_params['capture_id']} in the archive")
    return found


def capture_page(request: Request) -> Response:
    with _session(request) as session:
        found = _capture(request, session)
    data = _capture_dict(found)
    data["raw_path"] = f"/capture/{found.capture_id}/raw"
    return answer(request, "capture.html", data)


def capture_raw(request: Request) -> Response:
    """The page as fetched, made inert, under a sandboxing policy of its own."""
    with _session(request) as session:
        found = _capture(request, session)
        if found.body_hash is None:
            raise not_found(f"capture {found.capture_id} kept no page ({found.outcome})")
        raw = load_body(session, found.body_hash)
        page = captured.inert_page(
            raw, found.url, found.content_type,
            lambda ids: timeline.archived_ids(session, ids), article_path,
        )
    if respond.wants_json(request):
        return JSONResponse({"capture_id": found.capture_id, "url": found.url,
                             "html": page.decode("utf-8")})
    return Response(page, media_type="text/html; charset=utf-8", headers={
        "Content-Security-Policy": captured.RAW_POLICY,
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "no-referrer",
    })


# --- search --------------------------------------------------------------------------------------


def search_page(request: Request) -> Response:
    text = (request.query_params.get("q") or "").strip()
    named = article_id_in_any(text) if text else None
    if named is not None:
        # An article's id or URL (pasted from the publisher's site): its page, not a text search.
        keep = "?format=json" if request.query_params.get("format") == "json" else ""
        return RedirectResponse(article_path(named[1]) + keep, status_code=303)
    filters = {
        "since": _time(request, "since"), "until": _time(request, "until"),
        "section": request.query_params.get("section") or None,
        "reporter": request.query_params.get("reporter") or None,
    }
    publisher = _publisher(request)
    limit = _int(request, "limit", 20)
    hits = []
    if search_terms(text):
        with _session(request) as session:
            hits = search(session, text, limit=limit,
                          publishers=(publisher,) if publisher else None, **filters)
    data = {
        "q": text,
        "filters": {**filters, "since": kst_iso(filters["since"]),
                    "until": kst_iso(filters["until"]), "publisher": publisher, "limit": limit},
        "publishers": list(publishers()),
        "hits": [
            {**asdict(hit), "published_at": kst_iso(hit.published_at),
             "snippet_parts": highlight(hit.snippet, text)}
            for hit in hits
        ],
    }
    return answer(request, "search.html", data)


def highlight(snippet: str, query: str) -> list[tuple[str, bool]]:
    """`snippet` cut into (text, is_match) parts, the query's terms matched case-blind."""
    terms = search_terms(query)
    if not terms:
        return [(snippet, False)]
    pattern = re.compile("|".join(re.escape(term) for term in terms), re.I)
    parts, at = [], 0
    for match in pattern.finditer(snippet):
        if match.start() > at:
            parts.append((snippet[at : match.start()], False))
        parts.append((match.group(0), True))
        at = match.end()
    if at < len(snippet):
        parts.append((snippet[at:], False))
    return parts


# --- crawl health --------------------------------------------------------------------------------


def health_page(request: Request) -> Response:
    with _session(request) as session:
        runs = health.recent_runs(session)
        failures = health.failures(session)
    run_dicts = [
        {**asdict(run), "started_at": kst_iso(run.started_at),
         "finished_at": kst_iso(run.finished_at), "drift": chart.is_drift(run)}
        for run in runs
    ]
    data = {
        "runs": run_dicts,
        "last_run": run_dicts[-1] if run_dicts else None,
        "failures": [
            {**asdict(failure), "fetched_at": kst_iso(failure.fetched_at)} for failure in failures
        ],
    }
    if respond.wants_json(request):
        return JSONResponse(data)
    data["chart"] = chart.chart(runs, respond.kst_day)
    return answer(request, "health.html", data)
