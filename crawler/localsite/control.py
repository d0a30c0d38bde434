"""The local site's control API: JSON over /_control/…, for tests and demos in other processes.

Each listener (Newsis', Yonhap's) answers it on its own port. The clock, the records and the
article actions are the whole site's: either port edits, deletes or restores either publisher's
articles. State, requests, faults and gone are the listener's own: its publisher's articles,
its request log, its fault plan, how its deleted articles answer.

GET  state                      publisher, now, clock, base_url, article_ids (live, newest
                                first), deleted, sitemap_only (live, newest first), gone
GET  requests                   the request log and the faults fired
GET  record/ID                  the record the parser must produce for the article now
POST advance {minutes}          move the clock; answers {now, new: [ids, oldest first]}
POST edit {article_id, what}    what: headline (default), paragraph or caption
POST touch {article_id}         a new 수정 time, content unchanged
POST bump_photo_rnd {article_id}
POST delete {article_id, gone}  gone (optional): newsis, 302, 200, 404 or 410 for a Newsis
                                article; yonhap, script, 404 or 410 for a Yonhap one
POST restore {article_id, what} back under its id; what (optional) edits it as it comes back
POST gone {gone}                how every deleted article of this listener without its own answers
POST faults {…set_faults' arguments}, clear_faults, clear_requests
Article actions answer {article_id, version, modified_at, lastmod}.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from crawler.localsite.model import SiteArticle


class UnknownArticle(KeyError):
    pass


def _state(site: Any, payload: dict[str, Any]) -> dict[str, Any]:
    site.site.catch_up()
    with site._lock:
        deleted = site.deleted_ids()
        live = site.live_articles()
    return {
        "publisher": site.publisher,
        "now": site.site.now.isoformat(),
        "clock": site.site.clock,
        "base_url": site.base_url,
        "article_ids": [a.article_id for a in live],
        "deleted": deleted,
        "sitemap_only": [a.article_id for a in live if a.sitemap_only],
        "gone": site.gone,
    }


def _requests(site: Any, payload: dict[str, Any]) -> dict[str, Any]:
    with site._lock:
        return {
            "requests": [list(entry) for entry in site.requests],
            "faults": [list(entry) for entry in site.faults_fired],
        }


def _advance(site: Any, payload: dict[str, Any]) -> dict[str, Any]:
    new = site.site.advance(float(payload.get("minutes", 0)))
    return {"now": site.site.now.isoformat(), "new": new}


def _clear_requests(site: Any, payload: dict[str, Any]) -> dict[str, Any]:
    with site._lock:
        site.requests.clear()
        site.faults_fired.clear()
    return {}


def _set_faults(site: Any, payload: dict[str, Any]) -> dict[str, Any]:
    site.set_faults(**payload)
    return {}


def _clear_faults(site: Any, payload: dict[str, Any]) -> dict[str, Any]:
    site.clear_faults()
    return {}


def _set_gone(site: Any, payload: dict[str, Any]) -> dict[str, Any]:
    site.set_gone(payload["gone"])
    return {"gone": site.gone}


# Actions on one article: name -> the call, given the site, the id and the JSON payload.
# The newsroom is the whole site's: either listener's control acts on either publisher's ids.
ARTICLE_ACTIONS = {
    "edit": lambda site, i, p: site.site.edit_article(i, p.get("what", "headline")),
    "touch": lambda site, i, p: site.site.touch_article(i),
    "bump_photo_rnd": lambda site, i, p: site.site.bump_photo_rnd(i),
    "delete": lambda site, i, p: site.site.delete_article(i, p.get("gone")),
    "restore": lambda site, i, p: site.site.restore_article(i, p.get("what")),
}
GETS = {"state": _state, "requests": _requests}
POSTS = {
    "advance": _advance,
    "faults": _set_faults,
    "clear_faults": _clear_faults,
    "clear_requests": _clear_requests,
    "gone": _set_gone,
}


def _article_answer(article: SiteArticle) -> dict[str, Any]:
    modified = article.modified_at.isoformat() if article.modified_at else None
    return {
        "article_id": article.article_id,
        "version": article.version,
        "modified_at": modified,
        "lastmod": article.last_modified.isoformat(),
    }


def control(site: Any, method: str, raw_path: str, payload: dict[str, Any]) -> tuple[int, Any]:
    """The status and JSON answer to one control request."""
    action = urlsplit(raw_path).path.removeprefix("/_control/").strip("/")
    try:
        if method == "GET" and action in GETS:
            return 200, GETS[action](site, payload)
        if method == "GET" and action.startswith("record/"):
            return 200, site.site.expected_record(action.removeprefix("record/"))
        if method != "POST":
            return 404, {"error": f"unknown control {method} {action}"}
        if action in ARTICLE_ACTIONS:
            article = ARTICLE_ACTIONS[action](site, payload["article_id"], payload)
            return 200, _article_answer(article)
        if action in POSTS:
            return 200, POSTS[action](site, payload)
        return 404, {"error": f"unknown control {action}"}
    except UnknownArticle as error:
        return 404, {"error": f"unknown article {error.args[0]}"}
    except (KeyError, TypeError, ValueError) as error:
        return 400, {"error": str(error)}
