"""What the spider hands the pipeline: one fetched page, exactly as it came."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime


@dataclass(frozen=True, slots=True)
class FetchedPage:
    """One fetch of one URL. `fetched_at` is timezone-aware UTC; `body` is the raw bytes."""

    url: str
    status: int | None  # None when the fetch itself failed (timeout, reset, cut-off body)
    headers: dict[str, str]  # only the ones that matter: ETag, Last-Modified, Content-Type
    body: bytes
    fetched_at: datetime
    # The article the page is filed under (upper case): the one the request was made for (feed
    # link, list link or due revisit), else the one its URL names; the crawler reads URLs.
    article_id: str | None = None
    # Why the fetch gave no usable page (timeout, reset, 5xx after retries …), when it failed.
    fetch_error: str | None = None
    extra: dict[str, str] = field(default_factory=dict)
    # The article the URL that answered names (a redirect's target), when it names one.
    served_article_id: str | None = None
    # The publisher says the article is gone: its page redirects to the error page, answers 404
    # or 410, or is the error page itself. Set by the crawler's publisher rules, never for a
    # failed fetch (5xx, timeout, 429, captcha): a deletion is recorded only on this word.
    gone: bool = False
    # The publisher plug-in whose site was fetched (its name); None: the one the URL names.
    publisher: str | None = None

    def __post_init__(self) -> None:
        if self.fetched_at.utcoffset() is None:
            raise ValueError("fetched_at must be timezone-aware")
