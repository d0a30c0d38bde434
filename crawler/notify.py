"""Webhook notifications: after a crawl run, POST its events (and any a failed delivery left)
as JSON, in bounded time; what could not be delivered waits in the archive for the next run."""

from __future__ import annotations

import base64
import json
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from typing import Any
from urllib.parse import unquote, urlsplit, urlunsplit

from sqlalchemy.orm import Session

from storage.changes import list_changes
from storage.db_url import redact_url
from storage.runs import mark_notified, pending_notifications

NOTIFY_ENV_VAR = "NEWSARCHIVE_NOTIFY"
# One attempt's connect-and-answer time, the tries, the pause before each retry; the whole
# delivery stops at TOTAL_SECONDS whatever is left, so a dead webhook costs a cron run ~30 s.
ATTEMPT_TIMEOUT = 10.0
ATTEMPTS = 3
BACKOFF_SECONDS = (1.0, 3.0)
TOTAL_SECONDS = 30.0
USER_AGENT = "newsarchive-notify/1"


class DeliveryFailed(Exception):
    """The webhook did not take the events; str() is the last reason, one line."""


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    """A redirect is a refusal: urllib would follow a 301-303 as a GET without the events and
    take the 200 at its end for a delivery."""

    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


_OPENER = urllib.request.build_opener(_NoRedirects)


def check_webhook_url(url: str) -> str:
    """`url` if it is an http(s) URL with a host; ValueError saying why not (a file: or ftp:
    URL would "take" the events without anyone receiving them)."""
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError for a port that is not a number
    except ValueError as error:
        raise ValueError(f"not a URL: {error}") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError("the webhook must be an http:// or https:// URL with a host")
    return url


def payload(session: Session, crawl_run_ids: list[int]) -> list[dict[str, Any]]:
    """The runs' events as `changes --json` gives them, each with its idempotency key (stable
    across reparses: a receiver that saw a key already drops the event)."""
    return [
        {**change.to_dict(), "idempotency_key": change.key}
        for change in list_changes(session, crawl_run_ids=crawl_run_ids)
    ]


def post_json(
    url: str,
    body: list[dict[str, Any]],
    *,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> None:
    """POST `body` as JSON until a 2xx answer, within ATTEMPTS tries and TOTAL_SECONDS;
    DeliveryFailed otherwise. Credentials in the URL go as HTTP basic auth."""
    target, headers = _split_credentials(check_webhook_url(url))
    data = json.dumps(body, ensure_ascii=False).encode("utf-8")
    headers.update({"Content-Type": "application/json; charset=utf-8", "User-Agent": USER_AGENT})
    deadline = clock() + TOTAL_SECONDS
    reason = "not tried"
    for attempt in range(ATTEMPTS):
        if attempt:
            pause = BACKOFF_SECONDS[min(attempt - 1, len(BACKOFF_SECONDS) - 1)]
            if clock() + pause >= deadline:
                break
            sleep(pause)
        left = deadline - clock()
        if left <= 0:
            break
        request = urllib.request.Request(target, data=data, headers=headers, method="POST")
        try:
            with _OPENER.open(request, timeout=min(ATTEMPT_TIMEOUT, left)) as answer:
                answer.read(65536)
                return
        except urllib.error.HTTPError as error:
            reason = f"HTTP {error.code}"
        except (urllib.error.URLError, OSError, ValueError) as error:
            reason = f"{type(error).__name__}: {getattr(error, 'reason', error)}"
    raise DeliveryFailed(reason)


def notify_run(sessions: Callable[[], Session], crawl_run_id: int, url: str) -> str:
    """Deliver the run's events and those earlier deliveries left; the summary's words for it.
    Never raises: a notification must not change how the crawl ended."""
    shown = redact_url(url)
    try:
        with sessions() as session:
            runs = pending_notifications(session, crawl_run_id)
            events = payload(session, runs)
        if events:
            post_json(url, events)
        with sessions() as session:
            mark_notified(session, runs)
    except DeliveryFailed as error:
        return (
            f"notification to {shown} failed ({error}): {len(events)} events kept"
            " for the next run"
        )
    except Exception as error:  # the archive itself: the run's own outcome stands
        return f"notification to {shown} failed ({type(error).__name__}: {error})"
    return f"{len(events)} events notified to {shown}"


def _split_credentials(url: str) -> tuple[str, dict[str, str]]:
    parts = urlsplit(url)
    if parts.username is None:
        return url, {}
    credentials = f"{unquote(parts.username)}:{unquote(parts.password or '')}".encode()
    host = parts.hostname or ""
    netloc = f"{host}:{parts.port}" if parts.port else host
    target = urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))
    return target, {"Authorization": "Basic " + base64.b64encode(credentials).decode()}
