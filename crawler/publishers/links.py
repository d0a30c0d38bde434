"""What every publisher's discovery shares: the article id a feed, list or sitemap link names."""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import urljoin

# Links longer than this are junk or hostile; no real article URL comes near it.
MAX_LINK_LENGTH = 2048


def article_id_of_link(
    link: str | None, origin: str, article_id_from_url: Callable[[str], str | None]
) -> str | None:
    """The article id a link names, resolved against the publisher's real `origin` (relative
    and protocol-relative links, whatever site we fetch from); None for other hosts,
    javascript:, file:, data: and over-long links."""
    if not link:
        return None
    link = link.strip()
    if len(link) > MAX_LINK_LENGTH:
        return None
    try:
        absolute = urljoin(origin + "/", link)
    except ValueError:
        return None
    return article_id_from_url(absolute)
