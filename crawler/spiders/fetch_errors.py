"""Why a fetch failed, in one line: what the spider keeps as a failed capture's fetch_error."""

from __future__ import annotations

from scrapy.exceptions import IgnoreRequest
from scrapy.spidermiddlewares.httperror import HttpError
from twisted.python.failure import Failure

from crawler.middlewares import RequestRefused

# Failures that carry no message of their own, said in words.
_SILENT_FAILURES = {
    "ResponseDataLossError": "the connection closed before the whole body came (cut-off transfer)",
    "DownloadCancelledError": "download cancelled (its body passed DOWNLOAD_MAXSIZE?)",
}


def fetch_error_of(failure: Failure) -> str:
    """Why a fetch failed, in one line: the status, where a refused redirect led, or the error."""
    if failure.check(HttpError):
        response = failure.value.response
        location = response.headers.get("Location")
        if 300 <= response.status < 400 and location:
            where = location.decode("latin-1")[:500]
            return f"redirect not followed: HTTP {response.status} to {where}"
        return f"unexpected HTTP status {response.status}"
    if failure.check(RequestRefused):
        return failure.getErrorMessage()
    message = " ".join(failure.getErrorMessage().split())
    if failure.check(IgnoreRequest) and message == "max redirections reached":
        hops = failure.request.meta.get("redirect_urls", [])
        return f"too many redirects (a loop?): {len(hops)} hops, last {failure.request.url}"
    name = failure.type.__name__
    if not message:
        message = _SILENT_FAILURES.get(name, "")
    return f"{name}: {message}" if message else name
